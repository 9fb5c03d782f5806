"""User shapes on the wire (spec 003). Email, time zone and phone are checked by the service, which
answers VALIDATION_ERROR naming the field, so the rules live in one place."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tocsin.api.schemas.common import ReadModel, Timestamp, WriteModel

UserRole = Literal["admin", "user", "observer"]


class UserRead(ReadModel):
    id: str
    name: str
    email: str
    username: str | None
    role: UserRole
    time_zone: str
    phone: str | None
    status_notices: bool
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp


class UserCreate(WriteModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(description="Unique within the org (case-insensitive); stored lower-cased.")
    role: UserRole = "user"
    time_zone: str = Field(default="UTC", max_length=64, description="IANA zone, e.g. Europe/Berlin")
    phone: str | None = Field(default=None, description="E.164, e.g. +14155550123")
    username: str | None = Field(
        default=None,
        max_length=100,
        description="Handle for Splunk On-Call/Grafana OnCall clients; derived from the email if absent.",
    )


class UserUpdate(WriteModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = None
    role: UserRole | None = None
    time_zone: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, description="null clears it")
    username: str | None = Field(default=None, max_length=100)
    status_notices: bool | None = Field(
        default=None,
        description="Send a short notice on the channels that paged this user when someone else "
        "acknowledges or resolves the incident (on by default).",
    )
