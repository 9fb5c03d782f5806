"""The field checks every concept package shares: one rule per kind of value, so a URL, a time
zone or a team id is never accepted by one endpoint and refused by another.

Each check raises ``Invalid(field, reason, message)``: the message names the field, says what is
wrong and what to send instead. Types come first: the API's request models already refuse a wrong
type (with pydantic's reason, the same word as here), so the type branches answer callers that do
not go through them (the CLI, the demo seed, the compat dialects).

A bottom module of ``services``: it imports the domain, the models, ``errors`` and ``sql``, and no
concept package, so every concept package may import it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import EscalationPolicy, Team
from tocsin.domain.actor import Tenant
from tocsin.domain.restrictions import load_zone
from tocsin.services.errors import Invalid
from tocsin.services.sql import tenant_filter

MAX_NAME: Final = 200
MAX_LABEL: Final = 200
MAX_URL: Final = 2048
URL_EXAMPLE: Final = "https://hooks.example.com/tocsin"
ZONE_EXAMPLE: Final = "an IANA name such as Europe/Berlin or UTC"


# Scalars ----------------------------------------------------------------------------------------


def check_int(value: Any, field: str, low: int, high: int) -> int:
    """An integer in ``[low, high]``; ``true`` and ``"5"`` are not integers: a client sending them
    has a bug better told than guessed around."""
    if value is None:
        raise Invalid(field, "required", f"{field} is required, an integer from {low} to {high}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(
            field, "int_type", f"{field} must be an integer from {low} to {high}, not {_kind(value)}"
        )
    if not low <= value <= high:
        raise Invalid(field, "range", f"{field} must be between {low} and {high}; {value} is out of range")
    return value


def check_bool(value: Any, field: str) -> bool:
    """``true`` or ``false`` only: ``"yes"``, ``1`` or ``null`` are refused, not guessed at."""
    if not isinstance(value, bool):
        raise Invalid(field, "bool_type", f"{field} must be true or false, not {_kind(value)}")
    return value


def check_name(value: Any, field: str = "name", longest: int = MAX_NAME) -> str:
    """A required display name, trimmed; the limit applies to what is stored (the trimmed text)."""
    text = _required_text(value, field, expected="", required=" and cannot be blank")
    if len(text) > longest:
        raise Invalid(
            field, "too_long", f"{field} is at most {longest} characters ({len(text)} given); shorten it"
        )
    return text


def check_optional_text(value: Any, field: str, longest: int) -> str | None:
    """A free-text note for people (a description, a label): trimmed, ``None`` when blank, never
    required. The limit applies to the trimmed text, since surrounding spaces are not stored."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(field, "string_type", f"{field} must be a string (or null), not {_kind(value)}")
    text = value.strip()
    if len(text) > longest:
        raise Invalid(
            field, "too_long", f"{field} is at most {longest} characters ({len(text)} given); shorten it"
        )
    return text or None


# URLs and time zones ----------------------------------------------------------------------------


def check_url(value: Any, field: str = "url") -> str:
    """A URL Tocsin will POST to, trimmed: ``https://`` or ``http://`` (a self-hosted receiver on
    the local network often has no certificate), a host, a valid port, at most ``MAX_URL``
    characters, no spaces or control characters, and no ``user:password@``: the URL is shown back
    by the API and logged in clear, so a secret belongs in the receiver's settings (a webhook's
    receiver checks our signature instead)."""
    url = _required_text(
        value, field, expected=", an https:// URL", required=f": an https:// URL such as {URL_EXAMPLE}"
    )
    if len(url) > MAX_URL:
        raise Invalid(field, "too_long", f"{field} is at most {MAX_URL} characters ({len(url)} given)")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise Invalid(
            field,
            "invalid",
            f"{field} must not contain spaces or control characters; percent-encode them (%20)",
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise Invalid(field, "invalid", f"{field} is not a valid URL ({exc}); e.g. {URL_EXAMPLE}") from None
    if parts.scheme.lower() not in ("https", "http"):
        raise Invalid(
            field,
            "scheme",
            f"{field} must start with https:// (or http:// for a receiver on your own network)",
        )
    if not parts.hostname:
        raise Invalid(field, "invalid", f"{field} needs a host, e.g. {URL_EXAMPLE}")
    if parts.username is not None or parts.password is not None:
        raise Invalid(
            field,
            "credentials",
            f"{field} must not carry a user name or password (URLs are shown and logged in clear); "
            "remove the 'user:password@' part and keep the secret in the receiver's settings",
        )
    return url


def check_time_zone(value: Any, field: str = "time_zone") -> str:
    """An IANA zone name, trimmed and required, checked by the rule the rotation math applies
    (``load_zone``). Case counts, as in the tz database: ``utc`` is refused (on a case-insensitive
    disk it would load, and then differ between hosts), with the right spelling suggested."""
    name = _required_text(value, field, expected=f", {ZONE_EXAMPLE}", required=f": {ZONE_EXAMPLE}")
    spelled = _zone_spellings().get(name.lower())
    try:
        load_zone(name)
    except ValueError:
        hint = f" (did you mean {spelled}?)" if spelled else ""
        raise Invalid(
            field, "invalid", f"{field}: unknown time zone {name!r}{hint}; use {ZONE_EXAMPLE}"
        ) from None
    if spelled is not None and spelled != name:  # it loaded only because the disk ignores case
        raise Invalid(field, "invalid", f"{field}: time zone names are case-sensitive; use {spelled!r}")
    return name


@lru_cache(maxsize=1)
def _zone_spellings() -> dict[str, str]:
    """The tz database's names by their lower case, read once."""
    return {name.lower(): name for name in available_timezones()}


# References to the tenant's rows ----------------------------------------------------------------


def check_team(*, session: Session, tenant: Tenant, team_id: Any, field: str = "team_id") -> str | None:
    """A team id of the tenant, or ``None`` to unset. Another org's (or mode's) team is "unknown"
    on the field, a 400 like any other bad value: it never tells whether the id exists elsewhere."""
    return _reference(session, tenant, Team, team_id, field, ("team", "teams"))


def check_policy_ref(
    *, session: Session, tenant: Tenant, policy_id: Any, field: str = "escalation_policy_id"
) -> str | None:
    """An escalation policy id of the tenant, or ``None`` to unset; for services that page
    through one. Another org's policy is "unknown", as for ``check_team``."""
    return _reference(
        session, tenant, EscalationPolicy, policy_id, field, ("escalation policy", "escalation policies")
    )


def _reference(
    session: Session, tenant: Tenant, model: Any, ident: Any, field: str, nouns: tuple[str, str]
) -> str | None:
    noun, plural = nouns
    if ident is None:
        return None
    if not isinstance(ident, str):
        raise Invalid(
            field,
            "string_type",
            f"{field} must be the id (a string) of one of this org's {plural}, not {_kind(ident)}",
        )
    found = session.scalar(select(model.id).where(*tenant_filter(model, tenant), model.id == ident))
    if found is None:
        raise Invalid(
            field,
            "not_found",
            f"{field}: unknown {noun} id {ident!r}; use the id of one of this org's {plural}",
        )
    return str(found)


def _required_text(value: Any, field: str, *, expected: str, required: str) -> str:
    """The trimmed text of a required string field; ``expected`` and ``required`` end the two
    messages with what the field takes."""
    if value is not None and not isinstance(value, str):
        raise Invalid(field, "string_type", f"{field} must be a string{expected}, not {_kind(value)}")
    text = (value or "").strip()
    if not text:
        raise Invalid(field, "required", f"{field} is required{required}")
    return text


def _kind(value: Any) -> str:
    """How a JSON client would name the wrong value it sent."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    kinds = {str: "a string", int: "a number", float: "a number", list: "a list", dict: "an object"}
    return next((word for kind, word in kinds.items() if isinstance(value, kind)), type(value).__name__)
