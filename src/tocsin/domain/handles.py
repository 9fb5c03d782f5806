"""Handles: the short lowercase names Splunk On-Call and Grafana OnCall identify people and teams by
(``alice.smith``, ``payments-sre``), derived from what we already know and made unique in a tenant."""

from __future__ import annotations

import re
from collections.abc import Container

MAX_HANDLE = 100
_NOT_ALLOWED = re.compile(r"[^a-z0-9._-]+")
_FORMAT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


def is_handle(value: str) -> bool:
    """A valid handle: lowercase letters, digits, dots, dashes and underscores, starting with a letter
    or digit, at most 100 characters."""
    return bool(_FORMAT.match(value))


def handle_from(text: str, fallback: str) -> str:
    """``"Alice.Smith+oncall@example.com"`` → ``alice.smith``; ``"Payments SRE"`` → ``payments-sre``.

    The email's local part, lowercased, with a plus-tag dropped and anything else outside the
    allowed characters turned into a dash; ``fallback`` when nothing is left."""
    base = text.split("@", 1)[0].split("+", 1)[0].strip().lower()
    base = _NOT_ALLOWED.sub("-", base).strip("-._")[:MAX_HANDLE].rstrip("-._")
    return base or fallback


def unique_handle(base: str, taken: Container[str]) -> str:
    """``base`` if free, else ``base-2``, ``base-3`` … (cut so the result stays within the limit)."""
    if base not in taken:
        return base
    suffix = 2
    while True:
        tail = f"-{suffix}"
        candidate = base[: MAX_HANDLE - len(tail)] + tail
        if candidate not in taken:
            return candidate
        suffix += 1
