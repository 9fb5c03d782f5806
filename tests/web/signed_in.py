"""A signed-in browser without the sign-in screen: a user with a password and a session made
through the services (with cheap argon2 parameters), whose token goes in the ``tocsin_session``
cookie. The sign-in screen's own tests sign in through the form; these are for the other screens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher

from tests.factories.passwords import CHEAP_PARAMETERS
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.services.accounts.hashing import Passwords
from tocsin.services.accounts.passwords import set_password
from tocsin.services.accounts.sessions import sign_in
from tocsin.services.people import users
from tocsin.web.session import COOKIE

CHEAP = Passwords(PasswordHasher(**CHEAP_PARAMETERS))
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Browser:
    """One signed-in person: the cookie to send and the CSRF token their forms carry."""

    user_id: str
    email: str
    token: str
    csrf: str

    @property
    def cookies(self) -> dict[str, str]:
        return {COOKIE: self.token}


def signed_in(
    database: Database,
    tenant: Tenant,
    *,
    role: str = "user",
    name: str = "Dana Responder",
    time_zone: str = "UTC",
) -> Browser:
    """A new user of ``tenant`` with ``role``, signed in."""
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    now = datetime.now(UTC)
    with database.write() as session:
        user = users.create_user(
            session=session, tenant=tenant, now=now, name=name, email=email, role=role, time_zone=time_zone
        )
        set_password(
            session=session, tenant=tenant, user_id=user.id, password=PASSWORD, now=now, passwords=CHEAP
        )
        result = sign_in(session=session, email=email, password=PASSWORD, now=now, passwords=CHEAP)
        return Browser(user.id, email, result.token, result.csrf_token)
