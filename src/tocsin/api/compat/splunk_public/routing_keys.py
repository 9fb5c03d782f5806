"""Splunk On-Call `routing_keys`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
