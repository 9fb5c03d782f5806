"""``GET /api/org``: the calling key's org, with the API id Splunk On-Call clients send as
``X-VO-Api-Id`` next to the key, and its paging settings. Any valid key may read it (it names the
org, it grants nothing); ``PATCH /api/org`` changes the settings and needs ``users:write``, since
they decide how the org's people are reached."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import StrictBool

from tocsin.api.deps import CurrentKey, Db, UsersWrite
from tocsin.api.schemas.common import Envelope, ReadModel, Timestamp, WriteModel, envelope
from tocsin.db.models import Org
from tocsin.services.access import orgs
from tocsin.services.access.keys import KeyRecord

router = APIRouter(prefix="/api/org", tags=["org"])


class OrgRead(ReadModel):
    id: str
    slug: str
    name: str
    api_id: str | None
    # Page contact methods nobody verified; off (the default), they are skipped and the incident's
    # timeline says so.
    page_unverified_contacts: bool
    livemode: bool
    created_at: Timestamp


class OrgUpdate(WriteModel):
    page_unverified_contacts: StrictBool | None = None


def _read(org: Org, key: KeyRecord) -> dict[str, Any]:
    return envelope(
        OrgRead(
            id=org.id,
            slug=org.slug,
            name=org.name,
            api_id=org.api_id,
            page_unverified_contacts=org.page_unverified_contacts,
            livemode=key.livemode,
            created_at=org.created_at,
        )
    )


@router.get("", response_model=Envelope[OrgRead], summary="The calling key's org")
def get_org(key: CurrentKey, db: Db) -> dict[str, Any]:
    """``livemode`` is the calling key's mode: test keys see the test half of the same org."""
    with db.read() as session:
        return _read(orgs.get_org(session=session, org_id=key.org_id), key)


@router.patch("", response_model=Envelope[OrgRead], summary="Change the org's settings")
def update_org(body: OrgUpdate, key: UsersWrite, db: Db) -> dict[str, Any]:
    """``page_unverified_contacts``: page contact methods that were never verified (default false)."""
    with db.write() as session:
        org = orgs.update_settings(
            session=session, org_id=key.org_id, page_unverified_contacts=body.page_unverified_contacts
        )
        return _read(org, key)
