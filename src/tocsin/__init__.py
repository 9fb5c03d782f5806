"""Tocsin: a self-hosted on-call and incident-response server."""

__version__ = "0.1.0"
