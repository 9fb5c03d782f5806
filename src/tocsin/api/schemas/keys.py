"""API key shapes. The secret appears in exactly one response: the one that creates the key."""

from __future__ import annotations

from pydantic import Field

from tocsin.api.schemas.common import ReadModel, Timestamp, WriteModel


class KeyRead(ReadModel):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    user_id: str | None
    livemode: bool
    call_count: int
    last_used_at: Timestamp | None
    created_at: Timestamp
    revoked_at: Timestamp | None
    created_by: str | None


class KeyCreated(KeyRead):
    key: str = Field(description="The secret. Shown once; store it now.")


class KeyCreate(WriteModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1, max_length=32)
    user_id: str | None = None


class OrgRef(ReadModel):
    id: str
    slug: str
    name: str


class CurrentKey(ReadModel):
    """Who the calling key is: any valid key may ask (the CLI's ``whoami`` and ``login``)."""

    org: OrgRef
    key: KeyRead
