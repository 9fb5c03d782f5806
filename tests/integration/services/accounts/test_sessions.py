"""Signing in and out on a real database (SQLite, and PostgreSQL when configured): one error for an
unknown email and a wrong password, a new session id at every sign-in, sliding and absolute expiry
on a clock the test moves, revocation at once, sign out everywhere, and org choice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from tests.factories.orgs import OrgFactory, OrgHandle
from tests.factories.passwords import CHEAP_PARAMETERS, Counting
from tocsin.clock import FakeClock
from tocsin.db.models import User, WebSession
from tocsin.db.session import Database
from tocsin.domain.api_keys import hash_key
from tocsin.domain.roles import Action
from tocsin.domain.web_sessions import SessionPolicy, csrf_matches
from tocsin.services.accounts.hashing import Passwords
from tocsin.services.accounts.passwords import has_password, set_password
from tocsin.services.accounts.sessions import (
    ChooseOrg,
    SignedIn,
    SignInFailed,
    SignInResult,
    authenticate,
    revoke_sessions,
    sign_in,
    sign_in_verified,
    sign_out,
    sign_out_everywhere,
    touch,
)
from tocsin.services.errors import Invalid, NotFound
from tocsin.services.people import users

CHEAP = Passwords(PasswordHasher(**CHEAP_PARAMETERS))
PASSWORD = "correct horse battery staple"
POLICY = SessionPolicy()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


def _email() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.com"


def _person(
    org: OrgHandle,
    clock: FakeClock,
    *,
    email: str | None = None,
    role: str = "user",
    password: str = PASSWORD,
) -> tuple[str, str]:
    address = email or _email()
    user_id = org.make_user(email=address, role=role)
    with org.database.write() as session:
        set_password(
            session=session,
            tenant=org.tenant,
            user_id=user_id,
            password=password,
            now=clock.now(),
            passwords=CHEAP,
        )
    return user_id, address


def _sign_in(
    database: Database, clock: FakeClock, email: str, password: str = PASSWORD, **kw: Any
) -> SignInResult:
    with database.write() as session:
        return sign_in(
            session=session, email=email, password=password, now=clock.now(), passwords=CHEAP, **kw
        )


def _who(database: Database, clock: FakeClock, token: str | None) -> SignedIn | None:
    with database.read() as session:
        return authenticate(session=session, token=token, now=clock.now())


def _use(database: Database, clock: FakeClock, token: str) -> SignedIn | None:
    """A request as the web layer makes it: read, and write the sliding expiry when due."""
    who = _who(database, clock, token)
    if who is not None and who.needs_touch:
        with database.write() as session:
            touch(session=session, signed_in=who, now=clock.now())
    return who


def test_sign_in_gives_a_session_for_that_person(
    database: Database, orgs: OrgFactory, clock: FakeClock
) -> None:
    org = orgs.new()
    user_id, email = _person(org, clock, role="admin")
    result = _sign_in(database, clock, email.upper() + "  ", user_agent="Firefox", ip="192.0.2.7")
    who = _who(database, clock, result.token)
    assert who is not None
    assert (who.user_id, who.email, who.role, who.org_id, who.org_slug, who.livemode) == (
        user_id,
        email,
        "admin",
        org.org_id,
        org.slug,
        True,
    )
    assert who.tenant == org.tenant and who.actor.id == user_id and who.can(Action.MANAGE)
    assert csrf_matches(result.token, result.csrf_token)
    with database.read() as session:
        row = session.get(WebSession, hash_key(result.token))
        assert row is not None
        assert (row.user_agent, row.ip, row.expires_at) == ("Firefox", "192.0.2.7", clock.now() + POLICY.idle)
        # Only the hash is stored: no column holds the token itself.
        assert result.token not in {str(value) for value in vars(row).values()}


def test_unknown_email_wrong_password_and_no_password_get_one_answer(
    database: Database, orgs: OrgFactory, clock: FakeClock
) -> None:
    org = orgs.new()
    _, email = _person(org, clock)
    without = _email()
    org.make_user(email=without)
    hasher = Counting(**CHEAP_PARAMETERS)
    counted = Passwords(hasher)
    answers = []
    for address, password in ((email, "wrong password here"), (_email(), PASSWORD), (without, PASSWORD)):
        before = hasher.verifications
        with pytest.raises(SignInFailed) as failed, database.write() as session:
            sign_in(session=session, email=address, password=password, now=clock.now(), passwords=counted)
        answers.append((failed.value.code, failed.value.message, failed.value.details))
        assert hasher.verifications - before == 1  # the same work whichever way it failed
    assert answers == [("UNAUTHORIZED", "Email or password is incorrect.", {"reason": "sign_in_failed"})] * 3
    with database.read() as session:
        assert session.scalar(select(WebSession).where(WebSession.org_id == org.org_id)) is None


def test_empty_fields_are_asked_for(database: Database, clock: FakeClock) -> None:
    for email, password, field in (
        ("", PASSWORD, "email"),
        ("   ", PASSWORD, "email"),
        ("a@b.c", "", "password"),
    ):
        with pytest.raises(Invalid) as invalid, database.write() as session:
            sign_in(session=session, email=email, password=password, now=clock.now(), passwords=CHEAP)
        assert invalid.value.details["field"] == field


def test_a_test_mode_user_cannot_sign_in(database: Database, orgs: OrgFactory, clock: FakeClock) -> None:
    org = orgs.new().test_mode()
    _, email = _person(org, clock)
    with pytest.raises(SignInFailed):
        _sign_in(database, clock, email)


def test_every_sign_in_is_a_new_session_and_the_old_cookie_is_revoked(
    database: Database, orgs: OrgFactory, clock: FakeClock
) -> None:
    org = orgs.new()
    _, email = _person(org, clock)
    first = _sign_in(database, clock, email)
    second = _sign_in(database, clock, email, replacing=first.token)
    assert second.token != first.token and second.signed_in.session_id != first.signed_in.session_id
    assert second.csrf_token != first.csrf_token
    assert _who(database, clock, first.token) is None
    assert _who(database, clock, second.token) is not None
    # A token the browser made up (a planted cookie) is never promoted to a session.
    planted = "attacker-chosen-token"
    third = _sign_in(database, clock, email, replacing=planted)
    assert third.token != planted and _who(database, clock, planted) is None
    # Two browsers side by side each keep theirs.
    assert _who(database, clock, second.token) is not None and _who(database, clock, third.token) is not None


def test_sessions_slide_while_used_and_end_at_the_absolute_limit(
    database: Database, orgs: OrgFactory, clock: FakeClock
) -> None:
    org = orgs.new()
    _, email = _person(org, clock)
    signed_at = clock.now()
    token = _sign_in(database, clock, email).token
    # Used every 20 days: each use slides the idle expiry, until 90 days after sign-in.
    for _ in range(4):
        clock.advance(timedelta(days=20))
        assert _use(database, clock, token) is not None
    with database.read() as session:
        row = session.get(WebSession, hash_key(token))
        assert row is not None and row.expires_at == signed_at + POLICY.absolute
        assert row.last_seen_at == signed_at + timedelta(days=80)
    clock.set(signed_at + POLICY.absolute - timedelta(seconds=1))
    assert _use(database, clock, token) is not None
    clock.set(signed_at + POLICY.absolute)
    assert _use(database, clock, token) is None


def test_an_idle_session_ends_after_thirty_days(
    database: Database, orgs: OrgFactory, clock: FakeClock
) -> None:
    org = orgs.new()
    _, email = _person(org, clock)
    token = _sign_in(database, clock, email).token
    clock.advance(POLICY.idle - timedelta(seconds=1))
    assert _who(database, clock, token) is not None
    clock.advance(timedelta(seconds=1))
    assert _who(database, clock, token) is None


def test_uses_within_a_few_minutes_write_nothing(
    database: Database, orgs: OrgFactory, clock: FakeClock
) -> None:
    org = orgs.new()
    _, email = _person(org, clock)
    token = _sign_in(database, clock, email).token
    clock.advance(POLICY.touch_every - timedelta(seconds=1))
    who = _who(database, clock, token)
    assert who is not None and not who.needs_touch
    clock.advance(timedelta(seconds=1))
    who = _who(database, clock, token)
    assert who is not None and who.needs_touch
    with database.write() as session:
        touch(session=session, signed_in=who, now=clock.now())
    again = _who(database, clock, token)
    assert again is not None and not again.needs_touch
    assert again.expires_at == clock.now() + POLICY.idle


def test_sign_out_ends_the_session_at_once_and_touch_cannot_revive_it(
    database: Database, orgs: OrgFactory, clock: FakeClock
) -> None:
    org = orgs.new()
    _, email = _person(org, clock)
    token = _sign_in(database, clock, email).token
    clock.advance(timedelta(hours=1))
    who = _who(database, clock, token)
    assert who is not None and who.needs_touch
    with database.write() as session:
        assert sign_out(session=session, token=token, now=clock.now())
        assert not sign_out(session=session, token=token, now=clock.now())
        assert not sign_out(session=session, token=None, now=clock.now())
    assert _who(database, clock, token) is None
    with database.write() as session:
        touch(session=session, signed_in=who, now=clock.now())
    assert _who(database, clock, token) is None


def test_sign_out_everywhere_ends_every_browser_of_that_person_only(
    database: Database, orgs: OrgFactory, clock: FakeClock
) -> None:
    org = orgs.new()
    _, email = _person(org, clock)
    _, colleague = _person(org, clock)
    phone, laptop = _sign_in(database, clock, email).token, _sign_in(database, clock, email).token
    theirs = _sign_in(database, clock, colleague).token
    who = _who(database, clock, laptop)
    assert who is not None
    with database.write() as session:
        assert sign_out_everywhere(session=session, signed_in=who, now=clock.now()) == 2
    assert _who(database, clock, phone) is None and _who(database, clock, laptop) is None
    assert _who(database, clock, theirs) is not None


def test_revoking_is_scoped_to_the_tenant(database: Database, orgs: OrgFactory, clock: FakeClock) -> None:
    org, other = orgs.new(), orgs.new()
    user_id, email = _person(org, clock)
    token = _sign_in(database, clock, email).token
    with database.write() as session:
        assert revoke_sessions(session=session, tenant=other.tenant, user_id=user_id, now=clock.now()) == 0
    assert _who(database, clock, token) is not None


def test_a_new_password_signs_out_everywhere_but_the_session_that_set_it(
    database: Database, orgs: OrgFactory, clock: FakeClock
) -> None:
    org = orgs.new()
    user_id, email = _person(org, clock)
    keep, other = _sign_in(database, clock, email), _sign_in(database, clock, email)
    with database.write() as session:
        set_password(
            session=session,
            tenant=org.tenant,
            user_id=user_id,
            password="a brand new passphrase",
            now=clock.now(),
            keep_session_id=keep.signed_in.session_id,
            passwords=CHEAP,
        )
    assert _who(database, clock, keep.token) is not None and _who(database, clock, other.token) is None
    with pytest.raises(SignInFailed):
        _sign_in(database, clock, email)
    assert _sign_in(database, clock, email, password="a brand new passphrase").token


def test_set_password_refuses_weak_ones_and_other_orgs_people(
    database: Database, orgs: OrgFactory, clock: FakeClock
) -> None:
    org, other = orgs.new(), orgs.new()
    user_id = org.make_user()
    for bad, reason in (("short", "too_short"), (" " * 20, "blank"), (12345678901234, "invalid")):
        with pytest.raises(Invalid) as invalid, database.write() as session:
            set_password(session=session, tenant=org.tenant, user_id=user_id, password=bad, now=clock.now())  # type: ignore[arg-type]
        assert invalid.value.details == {"field": "password", "reason": reason}
    with pytest.raises(NotFound), database.write() as session:
        set_password(
            session=session, tenant=other.tenant, user_id=user_id, password=PASSWORD, now=clock.now()
        )
    with database.read() as session:
        assert not has_password(session=session, tenant=org.tenant, user_id=user_id)


def test_a_role_change_or_removal_counts_at_the_next_request(
    database: Database, orgs: OrgFactory, clock: FakeClock
) -> None:
    org = orgs.new()
    user_id, email = _person(org, clock, role="admin")
    token = _sign_in(database, clock, email).token
    with database.write() as session:
        users.update_user(
            session=session, tenant=org.tenant, user_id=user_id, changes={"role": "observer"}, now=clock.now()
        )
    who = _who(database, clock, token)
    assert who is not None and who.role == "observer" and not who.can(Action.RESPOND) and who.can(Action.READ)
    with database.write() as session:
        users.delete_user(session=session, tenant=org.tenant, user_id=user_id, now=clock.now())
    assert _who(database, clock, token) is None
    with database.read() as session:
        assert session.get(WebSession, hash_key(token)) is None  # gone with the person


def test_rehash_on_sign_in_when_the_parameters_changed(
    database: Database, orgs: OrgFactory, clock: FakeClock
) -> None:
    org = orgs.new()
    user_id, email = _person(org, clock)  # hashed with the cheap parameters
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    with database.read() as session:
        old = session.get(User, user_id).password_hash  # type: ignore[union-attr]
    assert old is not None and stronger.needs_rehash(old)
    with database.write() as session:
        sign_in(session=session, email=email, password=PASSWORD, now=clock.now(), passwords=stronger)
    with database.read() as session:
        new = session.get(User, user_id).password_hash  # type: ignore[union-attr]
    assert new is not None and new != old and not stronger.needs_rehash(new)
    assert stronger.verify(new, PASSWORD)


def test_one_email_in_two_orgs(database: Database, orgs: OrgFactory, clock: FakeClock) -> None:
    first, second = orgs.new(), orgs.new()
    email = _email()
    first_id, _ = _person(first, clock, email=email)
    second_id, _ = _person(second, clock, email=email, password="another passphrase")
    # Each password opens its own org: no choice to make.
    assert _sign_in(database, clock, email).signed_in.user_id == first_id
    assert _sign_in(database, clock, email, password="another passphrase").signed_in.user_id == second_id
    # The same password in both: the person picks, then signs in with the org's slug.
    with database.write() as session:
        set_password(
            session=session,
            tenant=second.tenant,
            user_id=second_id,
            password=PASSWORD,
            now=clock.now(),
            passwords=CHEAP,
        )
    with pytest.raises(ChooseOrg) as choose:
        _sign_in(database, clock, email)
    assert choose.value.code == "CONFLICT"
    assert choose.value.details["orgs"] == sorted(
        [{"slug": first.slug, "name": first.slug}, {"slug": second.slug, "name": second.slug}],
        key=lambda o: o["slug"],
    )
    assert _sign_in(database, clock, email, org_slug=second.slug).signed_in.org_id == second.org_id
    # An org the person is not in: the same failure as a wrong password.
    third = orgs.new()
    with pytest.raises(SignInFailed):
        _sign_in(database, clock, email, org_slug=third.slug)


def test_tokens_that_are_not_ours_are_refused_without_a_match(database: Database, clock: FakeClock) -> None:
    for token in (None, "", "x" * 500, "no-such-session"):
        assert _who(database, clock, token) is None


def test_a_verified_email_starts_a_session_like_a_password_does(
    database: Database, orgs: OrgFactory, clock: FakeClock
) -> None:
    """Single sign-on's entry: no password, the same session start (the old cookie revoked), and
    an email in several orgs refused unless the org is named."""
    first, second = orgs.new(), orgs.new()
    user_id, email = _person(first, clock)
    old = _sign_in(database, clock, email)
    with database.write() as session:
        started = sign_in_verified(session=session, email=email.upper(), now=clock.now(), replacing=old.token)
    assert started.signed_in.user_id == user_id and started.token != old.token
    assert _who(database, clock, old.token) is None and _who(database, clock, started.token) is not None
    _person(second, clock, email=email)
    with pytest.raises(SignInFailed), database.write() as session:
        sign_in_verified(session=session, email=email, now=clock.now())
    with database.write() as session:
        chosen = sign_in_verified(session=session, email=email, now=clock.now(), org_slug=second.slug)
    assert chosen.signed_in.org_id == second.org_id
    nobody = _email()
    with pytest.raises(SignInFailed), database.write() as session:
        sign_in_verified(session=session, email=nobody, now=clock.now(), create_role="user")  # no org named
    with database.write() as session:
        created = sign_in_verified(
            session=session,
            email=nobody,
            now=clock.now(),
            org_slug=first.slug,
            create_role="user",
            name="New One",
        )
    assert (created.signed_in.name, created.signed_in.role, created.signed_in.org_id) == (
        "New One",
        "user",
        first.org_id,
    )
