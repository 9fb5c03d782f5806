"""What a contact address may be, per type: an email, an E.164 number, an ntfy topic or an
``https://`` URL (``checks.check_url``, the rule webhooks follow too). Apart from ``contacts`` because
service channels hold their URLs and labels to the same rules: one set of checks, so an address is
never fine in one place and refused in another.
"""

from __future__ import annotations

import re
from typing import Any

from tocsin.services.checks import check_url
from tocsin.services.errors import Invalid

CONTACT_TYPES = ("email", "sms", "voice", "push", "slack", "teams", "webhook")
URL_TYPES = ("slack", "teams", "webhook")
MAX_EMAIL = 320

_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_NTFY_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PHONE_PUNCTUATION = str.maketrans("", "", " -().")


def _check_email(value: str, field: str) -> str:
    local, at, domain = value.rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or len(value) > MAX_EMAIL
        or not _EMAIL_LOCAL.match(local)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
        or len(labels) < 2
        or not all(_DOMAIN_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise Invalid(field, "invalid", f"{field} must be an email address such as alice@example.com")
    return f"{local}@{domain.lower()}"


def _check_phone(value: str, field: str) -> str:
    number = value.translate(_PHONE_PUNCTUATION)
    if not _E164.match(number):
        raise Invalid(
            field, "invalid", f"{field} must be an E.164 number: + and 8-15 digits, e.g. +14155550123"
        )
    return number


def check_address(kind: str, value: Any, field: str = "address") -> str:
    """The address normalised for its type (trimmed; a phone number without spaces or dashes; an
    email with its domain lower-cased), or a 400 saying what that type expects."""
    if kind in URL_TYPES:
        return check_url(value, field)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(field, "required", f"{field} is required")
    text = value.strip()
    if kind == "email":
        return _check_email(text, field)
    if kind in ("sms", "voice"):
        return _check_phone(text, field)
    if kind == "push":
        if not _NTFY_TOPIC.match(text):
            raise Invalid(
                field, "invalid", f"{field} must be an ntfy topic: 1-64 letters, digits, '_' or '-'"
            )
        return text
    raise Invalid("type", "invalid", f"type must be one of {', '.join(CONTACT_TYPES)}")


def check_contact_type(value: Any) -> str:
    """One of ``CONTACT_TYPES``, checked before the address because the type says how to read it."""
    if value not in CONTACT_TYPES:
        raise Invalid("type", "invalid", f"type must be one of {', '.join(CONTACT_TYPES)}")
    return str(value)
