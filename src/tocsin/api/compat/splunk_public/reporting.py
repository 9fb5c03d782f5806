"""Splunk On-Call `reporting`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
