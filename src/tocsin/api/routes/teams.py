"""`/api/teams`: filled in by the teams API work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/teams", tags=["teams"])
