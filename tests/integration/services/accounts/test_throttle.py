"""The login throttle on the API limiter's own store (memory, and Redis when TOCSIN_TEST_REDIS_URL is
set), around real sign-ins on a real database: failures lock an account, a success forgives
them, one address is slowed across emails, and a store that is down refuses, never admits."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher

from tests.factories.orgs import OrgFactory
from tocsin.api.ratelimit import RateLimiter
from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.services.accounts.hashing import Passwords
from tocsin.services.accounts.passwords import set_password
from tocsin.services.accounts.sessions import SignInFailed, SignInResult, sign_in
from tocsin.services.accounts.throttle import LoginThrottle, SignInUnavailable, TooManyAttempts

CHEAP = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
PASSWORD = "correct horse battery staple"


def _stores() -> list[str | None]:
    redis_url = os.environ.get("TOCSIN_TEST_REDIS_URL")
    return [None, redis_url] if redis_url else [None]


@pytest.fixture
def loop() -> Iterator[asyncio.Runner]:
    """One event loop for the whole test: a Redis client belongs to the loop it first ran on."""
    with asyncio.Runner() as runner:
        yield runner


@pytest.fixture(params=_stores(), ids=lambda url: "redis" if url else "memory")
def limiter(request: pytest.FixtureRequest, loop: asyncio.Runner) -> Iterator[RateLimiter]:
    limiter = RateLimiter(Settings(redis_url=request.param))
    yield limiter
    loop.run(limiter.aclose())


class Attempts:
    """Sign-ins through the throttle, as the web layer makes them; counts those that ran."""

    def __init__(self, loop: asyncio.Runner, database: Database, throttle: LoginThrottle) -> None:
        self.loop = loop
        self.database = database
        self.throttle = throttle
        self.ran = 0

    def _sign_in(self, email: str, password: str) -> SignInResult:
        self.ran += 1
        with self.database.write() as session:
            return sign_in(
                session=session, email=email, password=password, now=datetime.now(UTC), passwords=CHEAP
            )

    def __call__(self, email: str, password: str, ip: str) -> SignInResult:
        async def run() -> SignInResult:
            return await self.throttle.attempt(
                email=email, ip=ip, sign_in=lambda: asyncio.to_thread(self._sign_in, email, password)
            )

        return self.loop.run(run())


def _person(database: Database, orgs: OrgFactory) -> str:
    org = orgs.new()
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    user_id = org.make_user(email=email)
    with database.write() as session:
        set_password(
            session=session,
            tenant=org.tenant,
            user_id=user_id,
            password=PASSWORD,
            now=datetime.now(UTC),
            passwords=CHEAP,
        )
    return email


def _ip() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:6]}"


def test_failures_lock_the_account_even_for_the_right_password(
    database: Database, orgs: OrgFactory, limiter: RateLimiter, loop: asyncio.Runner
) -> None:
    email = _person(database, orgs)
    attempts = Attempts(
        loop, database, LoginThrottle(limiter.storage, per_account="3/15 minutes", per_address="100/hour")
    )
    for _ in range(3):
        with pytest.raises(SignInFailed):
            attempts(email, "a wrong guess", _ip())
    with pytest.raises(TooManyAttempts) as refused:
        attempts(email.upper(), PASSWORD, _ip())  # from elsewhere, any spelling: still this account
    assert attempts.ran == 3  # the password was not even looked at
    assert refused.value.code == "RATE_LIMITED"
    assert refused.value.details["scope"] == "account"
    assert 1 <= refused.value.retry_after <= 15 * 60
    assert f"Wait {refused.value.retry_after} seconds" in refused.value.message


def test_unknown_emails_are_throttled_like_known_ones(
    database: Database, orgs: OrgFactory, limiter: RateLimiter, loop: asyncio.Runner
) -> None:
    attempts = Attempts(
        loop, database, LoginThrottle(limiter.storage, per_account="2/15 minutes", per_address="100/hour")
    )
    nobody = f"{uuid.uuid4().hex[:10]}@example.com"
    for _ in range(2):
        with pytest.raises(SignInFailed):
            attempts(nobody, PASSWORD, _ip())
    with pytest.raises(TooManyAttempts):
        attempts(nobody, PASSWORD, _ip())


def test_a_success_forgives_earlier_failures(
    database: Database, orgs: OrgFactory, limiter: RateLimiter, loop: asyncio.Runner
) -> None:
    email = _person(database, orgs)
    attempts = Attempts(
        loop, database, LoginThrottle(limiter.storage, per_account="3/15 minutes", per_address="100/hour")
    )
    for _ in range(2):
        with pytest.raises(SignInFailed):
            attempts(email, "a wrong guess", _ip())
    assert attempts(email, PASSWORD, _ip()).token
    for _ in range(3):  # a fresh allowance: the owner's typo this morning does not count
        with pytest.raises(SignInFailed):
            attempts(email, "a wrong guess", _ip())
    with pytest.raises(TooManyAttempts):
        attempts(email, PASSWORD, _ip())


def test_one_address_is_slowed_across_emails(
    database: Database, orgs: OrgFactory, limiter: RateLimiter, loop: asyncio.Runner
) -> None:
    email = _person(database, orgs)
    attempts = Attempts(
        loop, database, LoginThrottle(limiter.storage, per_account="100/hour", per_address="3/15 minutes")
    )
    address = _ip()
    for _ in range(3):
        with pytest.raises(SignInFailed):
            attempts(f"{uuid.uuid4().hex[:10]}@example.com", PASSWORD, address)
    with pytest.raises(TooManyAttempts) as refused:
        attempts(email, PASSWORD, address)
    assert refused.value.details["scope"] == "address"
    assert attempts.ran == 3
    assert attempts(email, PASSWORD, _ip()).token  # the person, from their own address, gets in


def test_a_store_that_is_down_refuses_every_attempt(
    database: Database, orgs: OrgFactory, loop: asyncio.Runner
) -> None:
    email = _person(database, orgs)
    limiter = RateLimiter(Settings(redis_url="redis://127.0.0.1:1/0"))
    try:
        attempts = Attempts(loop, database, LoginThrottle.from_settings(limiter.storage, Settings()))
        with pytest.raises(SignInUnavailable) as down:
            attempts(email, PASSWORD, _ip())
        assert attempts.ran == 0
        assert (down.value.code, down.value.retry_after) == ("SERVICE_UNAVAILABLE", 5)
    finally:
        loop.run(limiter.aclose())


def test_limits_come_from_settings() -> None:
    settings = Settings(login_limit_account="1/minute", login_limit_address="2/minute")
    throttle = LoginThrottle.from_settings(RateLimiter(settings).storage, settings)

    async def run() -> list[str]:
        refused = []
        for email in ("a@example.com", "b@example.com", "c@example.com"):
            try:
                await throttle.admit(email=email, ip="203.0.113.9")
            except TooManyAttempts as exc:
                refused.append(str(exc.details["scope"]))
        await throttle.failed(email="a@example.com")
        try:
            await throttle.admit(email="a@example.com", ip="203.0.113.10")
        except TooManyAttempts as exc:
            refused.append(str(exc.details["scope"]))
        return refused

    assert asyncio.run(run()) == ["address", "account"]
