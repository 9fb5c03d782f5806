"""``/api/users/{user_id}/contact-methods`` and ``/api/users/{user_id}/notification-rules``: how a
person is reached. ``users:read``/``users:write`` reach anyone's; a key that belongs to a user may
read and manage that user's own (self-service), whatever its scopes, except that a read-only key
stays read-only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from tocsin.api.deps import DEFAULT_PAGE, CurrentKey, Db, Limit, Now, Offset
from tocsin.api.errors import ApiError
from tocsin.api.schemas.common import Envelope, ListEnvelope, envelope, page_envelope
from tocsin.api.schemas.contacts import (
    ContactMethodCreate,
    ContactMethodRead,
    ContactMethodUpdate,
    NotificationRuleCreate,
    NotificationRuleRead,
    NotificationRuleUpdate,
)
from tocsin.domain.scopes import grants
from tocsin.services.access.keys import KeyRecord
from tocsin.services.people import contacts

router = APIRouter(prefix="/api/users/{user_id}", tags=["users"])


def self_or(scope: str) -> Callable[[str, KeyRecord], KeyRecord]:
    """A dependency that yields the calling key if it holds ``scope`` or belongs to ``user_id``."""

    def check(user_id: str, key: CurrentKey) -> KeyRecord:
        if key.user_id != user_id and not grants(key.scopes, scope):
            raise ApiError(
                "FORBIDDEN",
                f"API key lacks the '{scope}' scope; a user's own key may manage that user's contact "
                "methods and notification rules",
                {"required_scope": scope},
            )
        return key

    return check


SelfRead = Annotated[KeyRecord, Depends(self_or("users:read"))]
SelfWrite = Annotated[KeyRecord, Depends(self_or("users:write"))]


# --- contact methods -----------------------------------------------------------------------------


@router.get(
    "/contact-methods", response_model=ListEnvelope[ContactMethodRead], summary="List contact methods"
)
def list_contact_methods(
    user_id: str, key: SelfRead, db: Db, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> dict[str, Any]:
    """Oldest first."""
    with db.read() as session:
        page = contacts.list_contact_methods(
            session=session, tenant=key.tenant, user_id=user_id, limit=limit, offset=offset
        )
        return page_envelope(page, ContactMethodRead.model_validate)


@router.post(
    "/contact-methods",
    status_code=201,
    response_model=Envelope[ContactMethodRead],
    summary="Add a contact method",
)
def create_contact_method(
    user_id: str, body: ContactMethodCreate, key: SelfWrite, db: Db, now: Now
) -> dict[str, Any]:
    """The address is checked for its type; the same type and address twice is 409 CONFLICT."""
    with db.write() as session:
        method = contacts.create_contact_method(
            session=session,
            tenant=key.tenant,
            user_id=user_id,
            type=body.type,
            address=body.address,
            label=body.label,
            now=now,
        )
        return envelope(ContactMethodRead.model_validate(method))


@router.get(
    "/contact-methods/{method_id}", response_model=Envelope[ContactMethodRead], summary="Get a contact method"
)
def get_contact_method(user_id: str, method_id: str, key: SelfRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        method = contacts.get_contact_method(
            session=session, tenant=key.tenant, user_id=user_id, method_id=method_id
        )
        return envelope(ContactMethodRead.model_validate(method))


@router.patch(
    "/contact-methods/{method_id}",
    response_model=Envelope[ContactMethodRead],
    summary="Update a contact method",
)
def update_contact_method(
    user_id: str, method_id: str, body: ContactMethodUpdate, key: SelfWrite, db: Db, now: Now
) -> dict[str, Any]:
    changes = body.model_dump(include=body.model_fields_set)
    with db.write() as session:
        method = contacts.update_contact_method(
            session=session, tenant=key.tenant, user_id=user_id, method_id=method_id, changes=changes, now=now
        )
        return envelope(ContactMethodRead.model_validate(method))


@router.delete(
    "/contact-methods/{method_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a contact method",
)
def delete_contact_method(user_id: str, method_id: str, key: SelfWrite, db: Db) -> Response:
    """Its notification rules are deleted with it."""
    with db.write() as session:
        contacts.delete_contact_method(
            session=session, tenant=key.tenant, user_id=user_id, method_id=method_id
        )
    return Response(status_code=204)


# --- notification rules --------------------------------------------------------------------------


@router.get(
    "/notification-rules",
    response_model=ListEnvelope[NotificationRuleRead],
    summary="List notification rules",
)
def list_notification_rules(
    user_id: str, key: SelfRead, db: Db, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> dict[str, Any]:
    """``high`` before ``low``, then by delay: the order the user is reached in."""
    with db.read() as session:
        page = contacts.list_notification_rules(
            session=session, tenant=key.tenant, user_id=user_id, limit=limit, offset=offset
        )
        return page_envelope(page, NotificationRuleRead.model_validate)


@router.post(
    "/notification-rules",
    status_code=201,
    response_model=Envelope[NotificationRuleRead],
    summary="Add a notification rule",
)
def create_notification_rule(
    user_id: str, body: NotificationRuleCreate, key: SelfWrite, db: Db, now: Now
) -> dict[str, Any]:
    """The contact method must be the user's own; the same method, urgency and delay twice is 409."""
    with db.write() as session:
        rule = contacts.create_notification_rule(
            session=session,
            tenant=key.tenant,
            user_id=user_id,
            contact_method_id=body.contact_method_id,
            urgency=body.urgency,
            delay_minutes=body.delay_minutes,
            now=now,
        )
        return envelope(NotificationRuleRead.model_validate(rule))


@router.get(
    "/notification-rules/{rule_id}",
    response_model=Envelope[NotificationRuleRead],
    summary="Get a notification rule",
)
def get_notification_rule(user_id: str, rule_id: str, key: SelfRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        rule = contacts.get_notification_rule(
            session=session, tenant=key.tenant, user_id=user_id, rule_id=rule_id
        )
        return envelope(NotificationRuleRead.model_validate(rule))


@router.patch(
    "/notification-rules/{rule_id}",
    response_model=Envelope[NotificationRuleRead],
    summary="Update a notification rule",
)
def update_notification_rule(
    user_id: str, rule_id: str, body: NotificationRuleUpdate, key: SelfWrite, db: Db
) -> dict[str, Any]:
    changes = body.model_dump(include=body.model_fields_set)
    with db.write() as session:
        rule = contacts.update_notification_rule(
            session=session, tenant=key.tenant, user_id=user_id, rule_id=rule_id, changes=changes
        )
        return envelope(NotificationRuleRead.model_validate(rule))


@router.delete(
    "/notification-rules/{rule_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a notification rule",
)
def delete_notification_rule(user_id: str, rule_id: str, key: SelfWrite, db: Db) -> Response:
    with db.write() as session:
        contacts.delete_notification_rule(
            session=session, tenant=key.tenant, user_id=user_id, rule_id=rule_id
        )
    return Response(status_code=204)
