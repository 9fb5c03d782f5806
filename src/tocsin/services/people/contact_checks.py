"""Proving a contact method works: verification codes and test pages (``ContactCheck`` rows).

A request (``request_check``) writes the row and a durable ``contact_check`` job in one
transaction; the engine, the only caller of channels, makes the code (``start_check``), sends it
with no transaction open, and writes the outcome (``record_check``). The API waits a bounded time
for that outcome and otherwise hands back the row to poll. The code exists in plain text only in
the engine's memory and in the message sent; the row keeps a salted hash.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import ContactCheck, ContactMethod, User
from tocsin.domain.actor import Tenant
from tocsin.domain.verification import (
    CODE_DIGITS,
    CODE_TTL,
    MAX_WRONG_ATTEMPTS,
    TEST_SENDS,
    VERIFICATION_SENDS,
    code_from,
    code_matches,
    hash_code,
    is_code_shaped,
    retry_after,
)
from tocsin.ids import new_id
from tocsin.services import jobs
from tocsin.services.errors import Conflict, Invalid, NotFound, RateLimited, ServiceError
from tocsin.services.people.contacts import get_contact_method
from tocsin.services.sql import tenant_filter

# The engine's job kind for sending one check.
CONTACT_CHECK: Final = "contact_check"
VERIFICATION: Final = "verification"
TEST: Final = "test"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
_ERROR_LIMIT: Final = 500
_LIMITS: Final = {VERIFICATION: VERIFICATION_SENDS, TEST: TEST_SENDS}
_WHAT: Final = {VERIFICATION: "verification codes", TEST: "test notifications"}


def request_check(
    *, session: Session, tenant: Tenant, user_id: str, method_id: str, kind: str, now: datetime
) -> ContactCheck:
    """Queue a verification code or a test page to the method, within the send limits (429 with
    the seconds to wait otherwise). A verified method needs no code: 409."""
    method = get_contact_method(session=session, tenant=tenant, user_id=user_id, method_id=method_id)
    if kind == VERIFICATION and method.verified_at is not None:
        raise Conflict(
            f"contact method {method.id} is already verified; a new address would need a new code",
            {"contact_method_id": method.id, "reason": "already_verified"},
        )
    limits = _LIMITS[kind]
    window = max(limit.window for limit in limits)
    sent = session.scalars(
        select(ContactCheck.created_at).where(
            *tenant_filter(ContactCheck, tenant),
            ContactCheck.contact_method_id == method.id,
            ContactCheck.kind == kind,
            ContactCheck.created_at > now - window,
        )
    ).all()
    wait = retry_after(sent, now, limits)
    if wait is not None:
        allowed = ", ".join(f"{limit.count} per {_span(limit.window.total_seconds())}" for limit in limits)
        raise RateLimited(
            f"Too many {_WHAT[kind]} for this contact method (at most {allowed}). "
            f"Retry after {wait} seconds.",
            wait,
            {"contact_method_id": method.id},
        )
    check = ContactCheck(
        id=new_id("contact_check"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        contact_method_id=method.id,
        user_id=method.user_id,
        kind=kind,
        type=method.type,
        address=method.address,
        status=PENDING,
        wrong_attempts=0,
        expires_at=now + CODE_TTL if kind == VERIFICATION else None,
        created_at=now,
    )
    session.add(check)
    session.flush()
    # One attempt: a person waiting on the answer wants the provider's error now, not a retry
    # in a minute; they can send again.
    jobs.enqueue(
        session=session,
        tenant=tenant,
        kind=CONTACT_CHECK,
        key=f"{CONTACT_CHECK}:{check.id}",
        run_at=now,
        now=now,
        payload={"check_id": check.id},
        max_attempts=1,
    )
    return check


def _span(seconds: float) -> str:
    if seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return "hour" if hours == 1 else f"{hours} hours"
    if seconds % 60 == 0:
        minutes = int(seconds // 60)
        return "minute" if minutes == 1 else f"{minutes} minutes"
    return f"{seconds:g} seconds"


def get_check(
    *, session: Session, tenant: Tenant, user_id: str, method_id: str, check_id: str
) -> ContactCheck:
    """A check of that method of that user; anyone else's is not found."""
    method = get_contact_method(session=session, tenant=tenant, user_id=user_id, method_id=method_id)
    check = session.scalar(
        select(ContactCheck).where(
            *tenant_filter(ContactCheck, tenant),
            ContactCheck.id == check_id,
            ContactCheck.contact_method_id == method.id,
        )
    )
    if check is None:
        raise NotFound("contact_check", check_id)
    return check


def outcome_of(*, session: Session, tenant: Tenant, check_id: str) -> ContactCheck | None:
    """The check as it stands, for a caller waiting on the engine (``None`` once deleted)."""
    return session.scalar(
        select(ContactCheck).where(*tenant_filter(ContactCheck, tenant), ContactCheck.id == check_id)
    )


# --- the engine's side ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckPlan:
    """What the engine sends: ``code`` is set for a verification, in plain text only here."""

    check_id: str
    kind: str
    type: str
    address: str
    user_name: str
    livemode: bool
    code: str | None


def start_check(*, session: Session, tenant: Tenant, check_id: str, now: datetime) -> CheckPlan | str:
    """The message to send for a pending check, or why none is sent any more. A verification gets
    its code here, stored only as a hash in the same transaction."""
    check = outcome_of(session=session, tenant=tenant, check_id=check_id)
    if check is None:
        return "contact method deleted"
    if check.status != PENDING:
        return f"already {check.status}"
    if check.expires_at is not None and now >= check.expires_at:
        _finish(check, FAILED, "the code expired before it could be sent; send a new one", None, now)
        return "expired before it was sent"
    user_name = session.scalar(select(User.name).where(User.id == check.user_id)) or ""
    code = None
    if check.kind == VERIFICATION:
        code = code_from(secrets.randbelow(10**CODE_DIGITS))
        check.code_hash = hash_code(code, secrets.token_hex(8))
        session.flush()
    return CheckPlan(check.id, check.kind, check.type, check.address, user_name, check.livemode, code)


def _finish(
    check: ContactCheck, status: str, error: str | None, provider_id: str | None, now: datetime
) -> None:
    check.status = status
    check.error = None if error is None else error[:_ERROR_LIMIT]
    check.provider_id = None if provider_id is None else provider_id[:200]
    check.finished_at = now


def record_check(
    *,
    session: Session,
    tenant: Tenant,
    check_id: str,
    delivered: bool,
    error: str | None,
    provider_id: str | None,
    now: datetime,
) -> None:
    """The provider's answer: delivered (with its message id) or failed (with its error)."""
    check = outcome_of(session=session, tenant=tenant, check_id=check_id)
    if check is None or check.status != PENDING:
        return
    _finish(
        check, DELIVERED if delivered else FAILED, None if delivered else error or "failed", provider_id, now
    )
    session.flush()


# --- entering the code ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verification:
    """What entering a code did. ``refusal`` is the error to answer once the transaction that
    counted a wrong attempt has committed (raising inside it would roll the count back)."""

    method: ContactMethod
    refusal: ServiceError | None = None


def _refuse(reason: str, message: str, **details: object) -> Invalid:
    error = Invalid("code", reason, message)
    error.details.update(details)
    return error


def verify_code(
    *, session: Session, tenant: Tenant, user_id: str, method_id: str, code: object, now: datetime
) -> Verification:
    """Check ``code`` against the last one sent to the method: right, it is verified; wrong, one
    attempt fewer is left (locked after ``MAX_WRONG_ATTEMPTS``); expired, sent to an address the
    method no longer has, or never sent: say so and what to do."""
    method = get_contact_method(session=session, tenant=tenant, user_id=user_id, method_id=method_id)
    # A code read out or pasted as "123 456" or "123-456" is the same code.
    cleaned = "".join(code.split()).replace("-", "") if isinstance(code, str) else ""
    if not is_code_shaped(cleaned):
        raise Invalid("code", "invalid", f"code must be the {CODE_DIGITS} digits sent to the contact method")
    if method.verified_at is not None:
        raise Conflict(
            f"contact method {method.id} is already verified",
            {"contact_method_id": method.id, "reason": "already_verified"},
        )
    check = session.scalar(
        select(ContactCheck)
        .where(
            *tenant_filter(ContactCheck, tenant),
            ContactCheck.contact_method_id == method.id,
            ContactCheck.kind == VERIFICATION,
        )
        .order_by(ContactCheck.created_at.desc(), ContactCheck.id.desc())
        .limit(1)
    )
    send_new = "send a new one with POST .../send-verification"
    if check is None or check.code_hash is None:
        if check is not None and check.status == PENDING:
            return Verification(
                method, _refuse("not_sent_yet", "The code is still being sent; try again shortly")
            )
        return Verification(
            method, _refuse("no_code", f"No code was sent to this contact method; {send_new}")
        )
    if check.status == FAILED:
        return Verification(
            method,
            _refuse("not_delivered", f"The last code could not be delivered ({check.error}); {send_new}"),
        )
    if check.address != method.address or check.type != method.type:
        return Verification(
            method,
            _refuse("address_changed", f"The code went to an address this method no longer has; {send_new}"),
        )
    if check.expires_at is not None and now >= check.expires_at:
        return Verification(
            method,
            _refuse("expired", f"The code expired at {check.expires_at.isoformat()}; {send_new}"),
        )
    if check.wrong_attempts >= MAX_WRONG_ATTEMPTS:
        return Verification(
            method,
            _refuse("locked", f"Too many wrong codes: this code is locked; {send_new}", attempts_left=0),
        )
    if not code_matches(cleaned, check.code_hash):
        check.wrong_attempts += 1
        left = MAX_WRONG_ATTEMPTS - check.wrong_attempts
        session.flush()
        message = (
            f"Wrong code; {left} attempt{'s' if left != 1 else ''} left"
            if left
            else f"Wrong code; no attempts left, the code is locked: {send_new}"
        )
        return Verification(method, _refuse("wrong_code" if left else "locked", message, attempts_left=left))
    method.verified_at = now
    method.updated_at = now
    # A used code cannot be used again.
    check.code_hash = None
    session.flush()
    return Verification(method)


def latest_checks(*, session: Session, tenant: Tenant, user_id: str) -> dict[tuple[str, str], ContactCheck]:
    """Each of the user's methods' newest check of each kind, by (method id, kind): what the
    profile shows beside a method (a code pending, delivered or failed; the last test's outcome)."""
    rows = session.scalars(
        select(ContactCheck)
        .where(*tenant_filter(ContactCheck, tenant), ContactCheck.user_id == user_id)
        .order_by(ContactCheck.created_at, ContactCheck.id)
    )
    return {(row.contact_method_id, row.kind): row for row in rows}
