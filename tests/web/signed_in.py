"""Signed-in people for web tests, without the sign-in screen: a user with a password (real
argon2id, cheap parameters) and a session made by the real sign-in service; put ``token`` in the
``tocsin_session`` cookie (a test client's ``cookies``, or Playwright's ``context.add_cookies``).

``signed_in`` makes a new user; ``sign_in`` signs in a user who exists already."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher

from tests.factories.passwords import CHEAP_PARAMETERS
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.services.accounts import sessions
from tocsin.services.accounts.hashing import Passwords
from tocsin.services.accounts.passwords import set_password
from tocsin.services.people import users
from tocsin.web.session import COOKIE

CHEAP = Passwords(PasswordHasher(**CHEAP_PARAMETERS))
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class SignedInPerson:
    user_id: str
    email: str
    password: str
    token: str  # the session cookie's value
    csrf: str  # the session's CSRF token (forms' hidden field, htmx's header)

    @property
    def cookies(self) -> dict[str, str]:
        return {COOKIE: self.token}


def make_person(
    database: Database,
    tenant: Tenant,
    *,
    name: str = "Dana Reyes",
    role: str = "user",
    email: str | None = None,
    time_zone: str = "UTC",
) -> tuple[str, str]:
    """A user with ``PASSWORD``; (user id, email)."""
    email = email or f"{uuid.uuid4().hex[:10]}@example.com"
    now = datetime.now(UTC)
    with database.write() as session:
        user = users.create_user(
            session=session, tenant=tenant, now=now, name=name, email=email, role=role, time_zone=time_zone
        )
        set_password(
            session=session, tenant=tenant, user_id=user.id, password=PASSWORD, now=now, passwords=CHEAP
        )
        return user.id, email


def _session_of(database: Database, user_id: str, email: str) -> SignedInPerson:
    with database.write() as session:
        result = sessions.sign_in(
            session=session, email=email, password=PASSWORD, now=datetime.now(UTC), passwords=CHEAP
        )
    return SignedInPerson(user_id, email, PASSWORD, result.token, result.csrf_token)


def signed_in(database: Database, tenant: Tenant, **person: str) -> SignedInPerson:
    """A new user (``make_person``) and a live session of theirs."""
    user_id, email = make_person(database, tenant, **person)
    return _session_of(database, user_id, email)


def sign_in(database: Database, tenant: Tenant, user_id: str, email: str) -> SignedInPerson:
    """Give an existing (live-mode) user ``PASSWORD`` and open a session for them."""
    with database.write() as session:
        set_password(
            session=session,
            tenant=tenant,
            user_id=user_id,
            password=PASSWORD,
            now=datetime.now(UTC),
            passwords=CHEAP,
        )
    return _session_of(database, user_id, email)
