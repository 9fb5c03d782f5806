"""``/api/keys``: list with usage tallies (never the secret), create (secret shown once), revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from tocsin.api.deps import DEFAULT_PAGE, CurrentKey, Db, KeysRead, KeysWrite, Limit, Now, Offset
from tocsin.api.errors import ApiError
from tocsin.api.schemas.common import Envelope, ListEnvelope, envelope, page_envelope
from tocsin.api.schemas.keys import CurrentKey as CurrentKeyRead
from tocsin.api.schemas.keys import KeyCreate, KeyCreated, KeyRead, OrgRef
from tocsin.domain.scopes import grants, unknown_scopes
from tocsin.services.access import keys, orgs

router = APIRouter(prefix="/api/keys", tags=["keys"])


@router.get("", response_model=ListEnvelope[KeyRead], summary="List API keys")
def list_keys(key: KeysRead, db: Db, limit: Limit = DEFAULT_PAGE, offset: Offset = 0) -> dict[str, Any]:
    with db.read() as session:
        page = keys.list_keys(session=session, tenant=key.tenant, limit=limit, offset=offset)
        return page_envelope(page, KeyRead.model_validate)


@router.post("", status_code=201, response_model=Envelope[KeyCreated], summary="Create an API key")
def create_key(body: KeyCreate, key: KeysWrite, db: Db, now: Now) -> dict[str, Any]:
    """The new key is in the caller's mode, and may hold only scopes the caller holds."""
    if not unknown_scopes(body.scopes):
        beyond = [scope for scope in body.scopes if not grants(key.scopes, scope)]
        if beyond:
            raise ApiError(
                "FORBIDDEN",
                f"a key cannot grant scopes it does not hold: {', '.join(sorted(beyond))}",
                {"scopes": sorted(beyond)},
            )
    with db.write() as session:
        created, secret = keys.create_key(
            session=session,
            tenant=key.tenant,
            name=body.name,
            scopes=body.scopes,
            user_id=body.user_id,
            created_by=key.actor.name,
            now=now,
        )
        return envelope(
            KeyCreated.model_validate({**KeyRead.model_validate(created).model_dump(), "key": secret})
        )


@router.get("/current", response_model=Envelope[CurrentKeyRead], summary="The calling key")
def current_key(key: CurrentKey, db: Db) -> dict[str, Any]:
    """The key making this request and its org, whatever its scopes (never the secret)."""
    with db.read() as session:
        record = keys.get_key(session=session, tenant=key.tenant, key_id=key.id)
        org = orgs.get_org(session=session, org_id=key.org_id)
        return envelope(
            CurrentKeyRead(
                org=OrgRef(id=org.id, slug=org.slug, name=org.name), key=KeyRead.model_validate(record)
            )
        )


@router.get("/{key_id}", response_model=Envelope[KeyRead], summary="Get an API key")
def get_key(key_id: str, key: KeysRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        return envelope(
            KeyRead.model_validate(keys.get_key(session=session, tenant=key.tenant, key_id=key_id))
        )


@router.delete("/{key_id}", response_model=Envelope[KeyRead], summary="Revoke an API key")
def revoke_key(key_id: str, request: Request, key: KeysWrite, db: Db, now: Now) -> dict[str, Any]:
    with db.write() as session:
        revoked = keys.revoke_key(session=session, tenant=key.tenant, key_id=key_id, now=now)
        result = envelope(KeyRead.model_validate(revoked))
    request.app.state.resolver.forget(key_id=key_id)
    return result
