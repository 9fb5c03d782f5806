"""Setting a person's password: checked (``domain.passwords``), hashed (``hashing``), and every
session of theirs ended, since a new password is what someone does after a suspected leak."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.db.models import User
from tocsin.domain.actor import Tenant
from tocsin.domain.passwords import password_problem
from tocsin.services.accounts.hashing import DEFAULT_PASSWORDS, Passwords
from tocsin.services.accounts.sessions import revoke_sessions
from tocsin.services.errors import Invalid
from tocsin.services.people.users import get_user


def check_password(password: object) -> str:
    """``password`` if it may be used, else ``Invalid`` naming the field and saying what to do."""
    if not isinstance(password, str):
        raise Invalid("password", "invalid", "password must be a string")
    problem = password_problem(password)
    if problem is not None:
        reason, message = problem
        raise Invalid("password", reason, message)
    return password


def set_password(
    *,
    session: Session,
    tenant: Tenant,
    user_id: str,
    password: str,
    now: datetime,
    keep_session_id: str | None = None,
    passwords: Passwords = DEFAULT_PASSWORDS,
) -> User:
    """Give ``user_id`` this password and sign them out everywhere except ``keep_session_id`` (the
    session that changed its own password stays signed in)."""
    check_password(password)
    user = get_user(session=session, tenant=tenant, user_id=user_id)
    user.password_hash = passwords.hash(password)
    user.updated_at = now
    revoke_sessions(session=session, tenant=tenant, user_id=user.id, now=now, except_id=keep_session_id)
    session.flush()
    return user


def has_password(*, session: Session, tenant: Tenant, user_id: str) -> bool:
    """Whether this person can sign in with a password at all (the profile screen says so)."""
    return get_user(session=session, tenant=tenant, user_id=user_id).password_hash is not None
