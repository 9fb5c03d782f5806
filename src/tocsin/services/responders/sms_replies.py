"""Replies to SMS pages: "4 ack" from a phone number that belongs to someone acts on incident #4 of
their org, as them. The sender is found through their sms or voice contact methods (live mode
only: test-mode pages are never sent, so nobody can reply to one)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import ContactMethod, Incident, User
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.incident import Status
from tocsin.domain.sms_reply import parse_reply
from tocsin.services.errors import Conflict
from tocsin.services.incidents.actions import transition
from tocsin.services.paging import PagingSettings

HELP = 'Reply "<incident number> ack" or "<incident number> resolve", e.g. "4 ack".'


def handle_reply(
    *, session: Session, from_number: str, body: str, now: datetime, paging: PagingSettings
) -> str:
    """Act on the reply and return the text to answer with."""
    reply = parse_reply(body)
    if reply is None:
        return f"Sorry, I did not understand that. {HELP}"
    senders = session.execute(
        select(User.id, User.name, User.org_id)
        .join(ContactMethod, ContactMethod.user_id == User.id)
        .where(
            ContactMethod.type.in_(("sms", "voice")),
            ContactMethod.address == from_number,
            ContactMethod.livemode.is_(True),
        )
        .distinct()
    ).all()
    for user_id, name, org_id in senders:
        tenant = Tenant(org_id, True)
        incident = session.scalar(
            select(Incident).where(
                Incident.org_id == tenant.org_id, Incident.livemode.is_(True), Incident.number == reply.number
            )
        )
        if incident is None:
            continue
        target = Status.ACKNOWLEDGED if reply.action == "acknowledge" else Status.RESOLVED
        done = "acknowledged" if target == Status.ACKNOWLEDGED else "resolved"
        if incident.status == target.value:
            return f"Incident #{reply.number} is already {done}."
        try:
            transition(
                session=session,
                incident=incident,
                target=target,
                actor=Actor(type="user", id=user_id, name=name),
                now=now,
                via="SMS reply",
                paging=paging,
            )
        except Conflict as error:
            return f"Incident #{reply.number}: {error}"
        return f"Incident #{reply.number} {done}: {incident.title[:100]}"
    return f"No incident #{reply.number} found for this phone number."
