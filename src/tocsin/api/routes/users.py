"""``/api/users``: list with filters, create, read, edit and delete the people of an org (spec 003)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from tocsin.api.deps import DEFAULT_PAGE, Db, Limit, Now, Offset, UsersRead, UsersWrite
from tocsin.api.schemas.common import Envelope, ListEnvelope, envelope, page_envelope
from tocsin.api.schemas.users import UserCreate, UserRead, UserUpdate
from tocsin.services.people import users

router = APIRouter(prefix="/api/users", tags=["users"])


def _read(user: Any) -> UserRead:
    return UserRead.model_validate(user)


@router.get("", response_model=ListEnvelope[UserRead], summary="List users")
def list_users(
    key: UsersRead,
    db: Db,
    email: str | None = None,
    username: str | None = None,
    query: str | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Ordered by name. ``email`` and ``username`` match exactly (any case); ``query`` is a substring
    of name or email."""
    with db.read() as session:
        page = users.list_users(
            session=session,
            tenant=key.tenant,
            email=email,
            username=username,
            query=query,
            limit=limit,
            offset=offset,
        )
        return page_envelope(page, _read)


@router.post("", status_code=201, response_model=Envelope[UserRead], summary="Create a user")
def create_user(body: UserCreate, key: UsersWrite, db: Db, now: Now) -> dict[str, Any]:
    with db.write() as session:
        user = users.create_user(
            session=session,
            tenant=key.tenant,
            now=now,
            name=body.name,
            email=body.email,
            role=body.role,
            time_zone=body.time_zone,
            phone=body.phone,
            username=body.username,
        )
        return envelope(_read(user))


@router.get("/{user_id}", response_model=Envelope[UserRead], summary="Get a user")
def get_user(user_id: str, key: UsersRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        return envelope(_read(users.get_user(session=session, tenant=key.tenant, user_id=user_id)))


@router.patch("/{user_id}", response_model=Envelope[UserRead], summary="Update a user")
def update_user(user_id: str, body: UserUpdate, key: UsersWrite, db: Db, now: Now) -> dict[str, Any]:
    changes = body.model_dump(include=body.model_fields_set)
    with db.write() as session:
        user = users.update_user(
            session=session, tenant=key.tenant, user_id=user_id, changes=changes, now=now
        )
        return envelope(_read(user))


@router.delete("/{user_id}", status_code=204, response_class=Response, summary="Delete a user")
def delete_user(user_id: str, request: Request, key: UsersWrite, db: Db, now: Now) -> Response:
    """Also drops their team memberships and assignments, and revokes their API keys."""
    with db.write() as session:
        users.delete_user(session=session, tenant=key.tenant, user_id=user_id, now=now)
    # Their keys were revoked: drop any cached copy so the next request with one is refused.
    request.app.state.resolver.forget(org_id=key.org_id)
    return Response(status_code=204)
