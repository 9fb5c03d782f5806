"""Heartbeats on the wire. Bounds are checked by the service (VALIDATION_ERROR naming the field);
integers are strict, so ``"60"`` is a client bug told, not guessed around."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tocsin.api.schemas.common import ReadModel, Timestamp, WriteModel

StrictInt = Annotated[int, Field(strict=True)]


class HeartbeatRead(ReadModel):
    id: str
    service_id: str
    integration_id: str
    name: str
    interval_seconds: int
    timeout_seconds: int
    state: Literal["waiting", "up", "missed"]
    last_beat_at: Timestamp | None
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp


class HeartbeatCreated(HeartbeatRead):
    """The create answer: the beat URL carries a secret, stored hashed and shown only here."""

    beat_url: str


class HeartbeatCreate(WriteModel):
    name: str = Field(max_length=200)
    interval_seconds: StrictInt = Field(description="Seconds between beats (1 to 604800)")
    timeout_seconds: StrictInt | None = Field(
        default=None, description="Seconds without a beat before an incident opens; default the interval"
    )
    integration_id: str | None = Field(
        default=None, description="An integration of the service to open incidents through; default a new one"
    )


class HeartbeatUpdate(WriteModel):
    name: str | None = Field(default=None, max_length=200)
    interval_seconds: StrictInt | None = None
    timeout_seconds: StrictInt | None = None
