"""The demo admin's password on both databases: made once, reused while it works, replaced when the
kept copy no longer signs in, and a working sign-in for the first demo admin."""

from __future__ import annotations

from datetime import UTC, datetime

from argon2 import PasswordHasher

from tocsin.db.session import Database
from tocsin.services.accounts.hashing import Passwords
from tocsin.services.accounts.sessions import sign_in
from tocsin.services.demo.seed import seed_demo
from tocsin.services.demo.sign_in import DEMO_SIGN_IN_EMAIL, demo_password

CHEAP = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def test_the_demo_password_is_made_once_and_reused_while_it_works(database: Database) -> None:
    now = datetime.now(UTC)
    assert DEMO_SIGN_IN_EMAIL == "alice@demo.tocsin.dev"
    with database.write() as session:
        org_id = seed_demo(session=session, now=now).org_id
        first, minted = demo_password(session=session, org_id=org_id, now=now, passwords=CHEAP)
    assert minted and len(first) == 20
    with database.write() as session:
        again, minted = demo_password(
            session=session, org_id=org_id, now=now, previous=first, passwords=CHEAP
        )
    assert (again, minted) == (first, False)
    with database.write() as session:
        signed = sign_in(session=session, email=DEMO_SIGN_IN_EMAIL, password=first, now=now, passwords=CHEAP)
    assert signed.signed_in.role == "admin" and signed.signed_in.org_id == org_id
    with database.write() as session:
        replaced, minted = demo_password(
            session=session, org_id=org_id, now=now, previous="a stale copy of it", passwords=CHEAP
        )
    assert minted and replaced != first
