"""Grafana OnCall: its inbound integration URLs (``inbound``) and its public API (``public``)."""
