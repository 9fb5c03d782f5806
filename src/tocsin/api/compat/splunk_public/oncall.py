"""Splunk On-Call `oncall`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
