"""The demo's web sign-in: the demo admin (Alice) gets a generated password, made once and kept by
the caller beside the demo key, so ``make run`` prints the same working login every time."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from tocsin.domain.actor import Tenant
from tocsin.domain.roles import ADMIN
from tocsin.services.accounts.hashing import DEFAULT_PASSWORDS, Passwords
from tocsin.services.accounts.passwords import set_password
from tocsin.services.demo.people import DEMO_USERS
from tocsin.services.errors import NotFound
from tocsin.services.people import users

# The first demo admin signs in: the one person who can show every screen.
DEMO_SIGN_IN_EMAIL: Final = next(spec.email for spec in DEMO_USERS if spec.role == ADMIN)


def demo_password(
    *,
    session: Session,
    org_id: str,
    now: datetime,
    previous: str | None = None,
    passwords: Passwords = DEFAULT_PASSWORDS,
) -> tuple[str, bool]:
    """The demo admin's password: ``previous`` again while it still signs them in, else a new one
    (set now). Returns ``(password, minted)``; only its hash is stored, so the caller keeps it."""
    tenant = Tenant(org_id, True)
    found = users.list_users(
        session=session, tenant=tenant, email=DEMO_SIGN_IN_EMAIL, limit=1, offset=0
    ).items
    if not found:
        raise NotFound("user", DEMO_SIGN_IN_EMAIL)
    user = found[0]
    if previous and passwords.verify(user.password_hash, previous.strip()):
        return previous.strip(), False
    password = secrets.token_urlsafe(15)  # 20 characters, 120 random bits
    set_password(
        session=session, tenant=tenant, user_id=user.id, password=password, now=now, passwords=passwords
    )
    return password, True
