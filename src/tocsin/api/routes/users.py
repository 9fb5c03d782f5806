"""`/api/users`: filled in by the users API work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/users", tags=["users"])
