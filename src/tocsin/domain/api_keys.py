"""API key format: ``sk_live_`` / ``sk_test_`` plus a random secret, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Final

LIVE_PREFIX: Final = "sk_live_"
TEST_PREFIX: Final = "sk_test_"
DISPLAY_CHARS: Final = 12  # "sk_live_AbCd": enough to tell keys apart in a list, useless to an attacker.


def key_mode(secret: str) -> bool | None:
    """``True`` for a live key, ``False`` for a test key, ``None`` for anything that is not a key."""
    if secret.startswith(LIVE_PREFIX):
        return True
    if secret.startswith(TEST_PREFIX):
        return False
    return None


def hash_key(secret: str) -> str:
    """Keys are high-entropy, so a fast hash is enough; a slow one would only slow every request."""
    return hashlib.sha256(secret.encode()).hexdigest()


def hashes_match(stored: str, secret: str) -> bool:
    """Constant-time comparison, so timing says nothing about how much of a key was right."""
    return hmac.compare_digest(stored, hash_key(secret))


def display_prefix(secret: str) -> str:
    return secret[:DISPLAY_CHARS]


def secret_from_headers(headers: Mapping[str, str]) -> str | None:
    """The secret a request presents, read the same way by the API and the web layer:
    ``Authorization: Bearer sk_…``, ``Authorization: Api-Key sk_…`` or ``X-API-Key: sk_…``."""
    authorization = headers.get("authorization", "").strip()
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() in ("bearer", "api-key") and value.strip():
            return value.strip()
    explicit = headers.get("x-api-key", "").strip()
    return explicit or None
