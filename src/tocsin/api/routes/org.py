"""``GET /api/org``: the calling key's org, with the API id Splunk On-Call clients send as
``X-VO-Api-Id`` next to the key. Any valid key may read it (it names the org, it grants nothing)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tocsin.api.deps import CurrentKey, Db
from tocsin.api.schemas.common import Envelope, ReadModel, Timestamp, envelope
from tocsin.services.access import orgs

router = APIRouter(prefix="/api/org", tags=["org"])


class OrgRead(ReadModel):
    id: str
    slug: str
    name: str
    api_id: str | None
    livemode: bool
    created_at: Timestamp


@router.get("", response_model=Envelope[OrgRead], summary="The calling key's org")
def get_org(key: CurrentKey, db: Db) -> dict[str, Any]:
    """``livemode`` is the calling key's mode: test keys see the test half of the same org."""
    with db.read() as session:
        org = orgs.get_org(session=session, org_id=key.org_id)
        return envelope(
            OrgRead(
                id=org.id,
                slug=org.slug,
                name=org.name,
                api_id=org.api_id,
                livemode=key.livemode,
                created_at=org.created_at,
            )
        )
