"""One-click acknowledge and resolve links: signed, expiring, single-use, usable without a login.

The token is signed with a key the server makes for itself and keeps in the database (so every
replica and a restarted server accept the links already sent). It names the incident, the action,
the tenant and a random token id; using it records the id in ``link_uses`` in the same transaction
as the action, so a second use (even a concurrent one) is refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.db.models import Incident, LinkUse, ServerSecret
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.incident import Status
from tocsin.services.errors import Conflict, Invalid, NotFound
from tocsin.services.incidents.actions import transition
from tocsin.services.paging import PagingSettings
from tocsin.services.sql import dialect_insert

# "view" only shows the incident (the "View incident" link of a page, which a browser can open
# without an API key until the web UI lands); it never acts and is never spent.
Action = Literal["acknowledge", "resolve", "view"]
ACTIONS: Final = ("acknowledge", "resolve", "view")
LINK_LIFETIME: Final = timedelta(hours=24)
_SALT: Final = "tocsin.one-click"
_SECRET_NAME: Final = "link_signing_key"


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a valid token says."""

    token_id: str
    incident_id: str
    action: Action
    tenant: Tenant
    user_id: str | None
    user_name: str | None


def signing_key(*, session: Session, now: datetime) -> str:
    """The server's link key, made on first use; concurrent first uses agree on one."""
    session.execute(
        dialect_insert(session, ServerSecret)
        .values(name=_SECRET_NAME, value=secrets.token_urlsafe(48), created_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return session.execute(select(ServerSecret.value).where(ServerSecret.name == _SECRET_NAME)).scalar_one()


def _serializer(key: str) -> URLSafeSerializer:
    return URLSafeSerializer(key, salt=_SALT)


def make_token(
    key: str,
    *,
    incident_id: str,
    action: Action,
    tenant: Tenant,
    user_id: str | None,
    user_name: str | None,
    issued_at: datetime,
) -> str:
    """A signed link token. ``issued_at`` comes from the server's clock (not the signer's), so the
    expiry follows the same clock the rest of the server uses."""
    return str(
        _serializer(key).dumps(
            {
                "s": int(issued_at.timestamp()),
                "t": secrets.token_urlsafe(16),
                "i": incident_id,
                "a": action,
                "o": tenant.org_id,
                "l": tenant.livemode,
                "u": user_id,
                "n": user_name,
            }
        )
    )


def read_token(key: str, token: str, *, now: datetime, max_age: timedelta = LINK_LIFETIME) -> LinkClaim:
    """The claim of a valid token, or ``Invalid`` saying why not (expired, tampered)."""
    try:
        data = _serializer(key).loads(token)
    except BadSignature:
        raise Invalid("token", "invalid", "this link is not valid") from None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        raise Invalid("token", "invalid", "this link is not valid")
    if now.timestamp() - data["s"] > max_age.total_seconds():
        raise Invalid("token", "expired", "this link has expired; open the incident instead")
    action = data.get("a")
    if action not in ACTIONS:
        raise Invalid("token", "invalid", "this link is not valid")
    return LinkClaim(
        token_id=str(data["t"]),
        incident_id=str(data["i"]),
        action=action,
        tenant=Tenant(str(data["o"]), bool(data["l"])),
        user_id=data.get("u"),
        user_name=data.get("n"),
    )


def preview(*, session: Session, claim: LinkClaim) -> Incident:
    """The incident a link acts on, for the confirmation page; a used link is refused here too."""
    if session.get(LinkUse, claim.token_id) is not None:
        raise Conflict("this link was already used", {"token": "used"})
    incident = session.get(Incident, claim.incident_id)
    if incident is None or (incident.org_id, incident.livemode) != (
        claim.tenant.org_id,
        claim.tenant.livemode,
    ):
        raise NotFound("incident", claim.incident_id)
    return incident


def use(*, session: Session, claim: LinkClaim, now: datetime, paging: PagingSettings) -> Incident:
    """Act once: record the use and move the incident, in the caller's transaction."""
    if claim.action == "view":
        raise Invalid("token", "view_only", "this link shows the incident; it cannot change it")
    incident = preview(session=session, claim=claim)
    try:
        with session.begin_nested():
            session.add(
                LinkUse(
                    token_id=claim.token_id,
                    org_id=claim.tenant.org_id,
                    incident_id=claim.incident_id,
                    action=claim.action,
                    used_at=now,
                )
            )
    except IntegrityError:
        raise Conflict("this link was already used", {"token": "used"}) from None
    actor = (
        Actor(type="user", id=claim.user_id, name=claim.user_name or "one-click link")
        if claim.user_id
        else Actor(type="system", id=None, name="one-click link")
    )
    target = Status.ACKNOWLEDGED if claim.action == "acknowledge" else Status.RESOLVED
    if incident.status == Status.RESOLVED.value or (
        target == Status.ACKNOWLEDGED and incident.status == Status.ACKNOWLEDGED.value
    ):
        return incident  # nothing left to do; the link is spent all the same
    transition(
        session=session,
        incident=incident,
        target=target,
        actor=actor,
        now=now,
        via="one-click link",
        paging=paging,
    )
    return incident
