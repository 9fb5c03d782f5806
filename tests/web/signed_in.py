"""A person signed in without the sign-in screen: a password set and a session opened through the
services (``accounts.passwords``, ``accounts.sessions``) with a cheap argon2, and the cookie and
CSRF token the browser or test client then sends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher

from tests.factories.passwords import CHEAP_PARAMETERS
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.services.accounts import passwords, sessions
from tocsin.services.accounts.hashing import Passwords
from tocsin.web.session import COOKIE

CHEAP = Passwords(PasswordHasher(**CHEAP_PARAMETERS))
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class SignedInPerson:
    user_id: str
    email: str
    token: str  # the cookie's value
    csrf: str  # the forms' hidden field

    @property
    def cookies(self) -> dict[str, str]:
        return {COOKIE: self.token}


def sign_in(database: Database, tenant: Tenant, user_id: str, email: str) -> SignedInPerson:
    """Give the (live-mode) user a password and open a session for them."""
    now = datetime.now(UTC)
    with database.write() as session:
        passwords.set_password(
            session=session, tenant=tenant, user_id=user_id, password=PASSWORD, now=now, passwords=CHEAP
        )
    with database.write() as session:
        result = sessions.sign_in(session=session, email=email, password=PASSWORD, now=now, passwords=CHEAP)
    return SignedInPerson(user_id, email, result.token, result.csrf_token)
