"""Signatures on outbound webhook bodies: ``sha256=<hex HMAC-SHA256 of the raw body>`` (spec 003).

Receivers verify the raw bytes they got, before parsing, so the signature covers exactly what was
sent; a re-serialized body would not match."""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

SCHEME: Final = "sha256="


def signature(secret: str, body: bytes) -> str:
    """The header value for ``body`` signed with ``secret``: ``sha256=`` and 64 hex digits."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return SCHEME + digest


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` signs ``body`` with ``secret``; constant-time, so timing leaks nothing."""
    if not header:
        return False
    expected = signature(secret, body).encode("ascii")
    try:
        given = header.strip().lower().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected, given)
