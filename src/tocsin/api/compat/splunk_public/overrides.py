"""Splunk On-Call `overrides`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
