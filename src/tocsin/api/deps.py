"""Typed dependencies that keep routes thin: the database, the clock, the calling key and scopes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request

from tocsin.api.errors import ApiError
from tocsin.clock import Clock
from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.domain.scopes import grants
from tocsin.services.access.keys import KeyRecord
from tocsin.services.pagination import DEFAULT_LIMIT, MAX_LIMIT
from tocsin.services.paging import PagingSettings


def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def _paging(request: Request) -> PagingSettings:
    paging: PagingSettings = request.app.state.paging
    return paging


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _now(request: Request) -> datetime:
    return _clock(request).now()


def _key(request: Request) -> KeyRecord:
    record: KeyRecord | None = getattr(request.state, "key", None)
    if record is None:  # the gate always sets it under /api; this guards a mis-mounted route
        raise ApiError("UNAUTHORIZED", "Missing API key")
    return record


Db = Annotated[Database, Depends(_database)]
Now = Annotated[datetime, Depends(_now)]
AppSettings = Annotated[Settings, Depends(_settings)]
# What the services that write paging jobs need (policy minutes, webhook links and attempts).
Paging = Annotated[PagingSettings, Depends(_paging)]
CurrentKey = Annotated[KeyRecord, Depends(_key)]

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (max 100)")]
Offset = Annotated[int, Query(ge=0, description="Items to skip")]
DEFAULT_PAGE = DEFAULT_LIMIT


def require(scope: str) -> Callable[[Request], KeyRecord]:
    """A dependency that yields the calling key if it holds ``scope`` (a write scope implies read)."""

    def check(request: Request) -> KeyRecord:
        record = _key(request)
        if not grants(record.scopes, scope):
            raise ApiError("FORBIDDEN", f"API key lacks the '{scope}' scope", {"required_scope": scope})
        return record

    return check


IncidentsRead = Annotated[KeyRecord, Depends(require("incidents:read"))]
IncidentsWrite = Annotated[KeyRecord, Depends(require("incidents:write"))]
ServicesRead = Annotated[KeyRecord, Depends(require("services:read"))]
ServicesWrite = Annotated[KeyRecord, Depends(require("services:write"))]
UsersRead = Annotated[KeyRecord, Depends(require("users:read"))]
UsersWrite = Annotated[KeyRecord, Depends(require("users:write"))]
TeamsRead = Annotated[KeyRecord, Depends(require("teams:read"))]
TeamsWrite = Annotated[KeyRecord, Depends(require("teams:write"))]
KeysRead = Annotated[KeyRecord, Depends(require("keys:read"))]
KeysWrite = Annotated[KeyRecord, Depends(require("keys:write"))]
SchedulesRead = Annotated[KeyRecord, Depends(require("schedules:read"))]
SchedulesWrite = Annotated[KeyRecord, Depends(require("schedules:write"))]
