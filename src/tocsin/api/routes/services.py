"""`/api/services`: filled in by the services API work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/services", tags=["services"])
