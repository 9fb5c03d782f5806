"""The login throttle: per account and per client address, counted in the API rate limiter's store
(``limits``; memory, or Redis shared by every replica), so guessing passwords is slow everywhere
at once. The web layer builds it on ``app.state.limiter.storage`` and wraps each sign-in in
``attempt``.

- Per address, every attempt counts: one machine trying many emails is slowed.
- Per account (the email as typed, whether or not it exists, so the answer tells nothing), only
  failures count, and a success clears them: the owner signing in each morning is never locked
  out by their own use, while a guesser gets ``per_account`` tries per window.
- The account window is checked before the password is: once it is spent, not even a right
  password is looked at, so the lockout cannot be used to test guesses.
- It never fails open: a store that does not answer refuses the sign-in (``SignInUnavailable``).

A moving window (each failure expires on its own) rather than the API's fixed window: a guesser
cannot spend a window's tries at its end and the next window's at the start of it."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from tocsin.config import Settings
from tocsin.services.accounts.sessions import SignInFailed
from tocsin.services.errors import ServiceError

T = TypeVar("T")

# Settings.login_limit_account and login_limit_address; an office or a phone carrier puts many
# people behind one address, hence the larger second number.
DEFAULT_PER_ACCOUNT: Final = "10/15 minutes"
DEFAULT_PER_ADDRESS: Final = "50/15 minutes"


class TooManyAttempts(ServiceError):
    code = "RATE_LIMITED"

    def __init__(self, retry_after: int, scope: str) -> None:
        super().__init__(
            f"Too many sign-in attempts. Wait {retry_after} seconds, then try again.",
            {"reason": "too_many_attempts", "scope": scope, "retry_after": retry_after},
        )
        self.retry_after = retry_after


class SignInUnavailable(ServiceError):
    """The throttle's store did not answer: no attempt is let through unchecked."""

    code = "SERVICE_UNAVAILABLE"
    retry_after = 5

    def __init__(self) -> None:
        super().__init__(
            "Signing in is unavailable for a moment; try again shortly.", {"reason": "throttle_down"}
        )


class LoginThrottle:
    def __init__(
        self,
        storage: Storage,
        *,
        per_account: str = DEFAULT_PER_ACCOUNT,
        per_address: str = DEFAULT_PER_ADDRESS,
    ) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._account: RateLimitItem = parse(per_account)
        self._address: RateLimitItem = parse(per_address)

    @classmethod
    def from_settings(cls, storage: Storage, settings: Settings) -> LoginThrottle:
        """On the API limiter's store (``app.state.limiter.storage``), with the operator's limits."""
        return cls(
            storage, per_account=settings.login_limit_account, per_address=settings.login_limit_address
        )

    async def _retry_after(self, item: RateLimitItem, *identity: str) -> int:
        stats = await self._limiter.get_window_stats(item, *identity)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def admit(self, *, email: str, ip: str | None) -> None:
        """Count this attempt against the address, and refuse it if either window is spent."""
        account = ("login-account", email.strip().lower())
        address = ("login-address", ip or "unknown")
        try:
            if not await self._limiter.hit(self._address, *address):
                raise TooManyAttempts(await self._retry_after(self._address, *address), "address")
            if not await self._limiter.test(self._account, *account):
                raise TooManyAttempts(await self._retry_after(self._account, *account), "account")
        except (StorageError, ConnectionError, OSError) as exc:
            raise SignInUnavailable() from exc

    async def failed(self, *, email: str) -> None:
        """A wrong password (or unknown email) for this account."""
        try:
            await self._limiter.hit(self._account, "login-account", email.strip().lower())
        except (StorageError, ConnectionError, OSError) as exc:
            raise SignInUnavailable() from exc

    async def succeeded(self, *, email: str) -> None:
        """The account's failures are forgiven once its owner gets in."""
        try:
            await self._limiter.clear(self._account, "login-account", email.strip().lower())
        except (StorageError, ConnectionError, OSError) as exc:
            raise SignInUnavailable() from exc

    async def attempt(self, *, email: str, ip: str | None, sign_in: Callable[[], Awaitable[T]]) -> T:
        """Run ``sign_in`` (e.g. ``services.accounts.sessions.sign_in`` in a worker thread) only if
        the throttle admits it, and count its outcome."""
        await self.admit(email=email, ip=ip)
        try:
            result = await sign_in()
        except SignInFailed:
            await self.failed(email=email)
            raise
        await self.succeeded(email=email)
        return result
