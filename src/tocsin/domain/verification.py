"""Proving a contact method reaches its person: the code's shape, how it is kept (salted hash, never
the code), how it is compared (constant time), and how often a code or a test page may be sent.

Pure: the random code and salt and the clock come in as arguments, so the rules are tested without
a database or a wall clock.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

CODE_DIGITS: Final = 6
CODE_TTL: Final = timedelta(minutes=10)
# Wrong codes a sent code survives; then it is locked until a new one is sent. Five guesses out of
# a million codes is a 1 in 200,000 chance, and sends are limited too (``VERIFICATION_SENDS``).
MAX_WRONG_ATTEMPTS: Final = 5
# Contact types a person must verify before they are paged: a typo in an address, number or
# inbox pages a stranger or nobody. Push topics, chat and webhook URLs are endpoints a person
# configures (and sees fail on a test page); they need no code.
VERIFIED_TYPES: Final = frozenset({"email", "sms", "voice"})

_CODE: Final = re.compile(rf"[0-9]{{{CODE_DIGITS}}}")
_HASH_SCHEME: Final = "sha256"


@dataclass(frozen=True, slots=True)
class SendLimit:
    """At most ``count`` sends in any ``window``."""

    count: int
    window: timedelta


# A code a minute, five an hour: SMS and calls cost money and annoy, and a code lives ten minutes.
VERIFICATION_SENDS: Final = (SendLimit(1, timedelta(minutes=1)), SendLimit(5, timedelta(hours=1)))
# Test pages: enough to try a fix and test again, not enough to spam a phone.
TEST_SENDS: Final = (SendLimit(1, timedelta(seconds=30)), SendLimit(10, timedelta(hours=1)))


def needs_verification(contact_type: str) -> bool:
    """Whether a new method of ``contact_type`` starts unverified."""
    return contact_type in VERIFIED_TYPES


def code_from(number: int) -> str:
    """The code for a random ``number`` in [0, 10**CODE_DIGITS): leading zeros kept."""
    if not 0 <= number < 10**CODE_DIGITS:
        raise ValueError(f"a code number is in [0, {10**CODE_DIGITS})")
    return f"{number:0{CODE_DIGITS}d}"


def is_code_shaped(value: object) -> bool:
    """Exactly six ASCII digits (a code read out or pasted with spaces is cleaned by the caller)."""
    return isinstance(value, str) and _CODE.fullmatch(value) is not None


def hash_code(code: str, salt: str) -> str:
    """``sha256$<salt>$<hex>``. A fast hash is enough here: a code lives ten minutes and locks
    after five wrong tries, so a stolen hash is worth less than the time a slow hash would buy."""
    digest = hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()
    return f"{_HASH_SCHEME}${salt}${digest}"


def code_matches(code: str, stored: str) -> bool:
    """Whether ``code`` is the one ``stored`` was made from; the comparison takes the same time
    whichever digit differs."""
    scheme, _, rest = stored.partition("$")
    salt, _, _ = rest.partition("$")
    if scheme != _HASH_SCHEME or not salt:
        return False
    return hmac.compare_digest(hash_code(code, salt).encode(), stored.encode())


def retry_after(sent_at: Iterable[datetime], now: datetime, limits: Iterable[SendLimit]) -> int | None:
    """Seconds until one more send fits every limit, given the times of earlier sends; ``None``
    when it fits now. Whole seconds, rounded up, at least 1 (what ``Retry-After`` carries)."""
    times = sorted(sent_at, reverse=True)
    wait = timedelta(0)
    for limit in limits:
        recent = [t for t in times if now - t < limit.window]
        if len(recent) >= limit.count:
            # The send that must leave the window first is the ``count``-th most recent.
            oldest_counted = recent[limit.count - 1]
            wait = max(wait, oldest_counted + limit.window - now)
    if wait <= timedelta(0):
        return None
    return max(1, math.ceil(wait.total_seconds()))
