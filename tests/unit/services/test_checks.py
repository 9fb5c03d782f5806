"""The shared field checks: what each accepts (and stores), and for each bad value the reason code
and a message that names the field and says what to send."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tocsin.services import checks
from tocsin.services.errors import Invalid


def _refused(check: Callable[[], Any]) -> Invalid:
    with pytest.raises(Invalid) as caught:
        check()
    return caught.value


# --- integers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "stored"), [(0, 0), (5, 5), (10, 10)])
def test_int_in_range_is_kept(value: int, stored: int) -> None:
    assert checks.check_int(value, "repeat_count", 0, 10) == stored


@pytest.mark.parametrize(
    ("value", "reason", "words"),
    [
        (None, "required", "repeat_count is required, an integer from 0 to 10"),
        (True, "int_type", "repeat_count must be an integer from 0 to 10, not true"),
        (False, "int_type", "not false"),
        ("5", "int_type", "not a string"),
        (5.0, "int_type", "not a number"),
        ([5], "int_type", "not a list"),
        (-1, "range", "repeat_count must be between 0 and 10; -1 is out of range"),
        (11, "range", "11 is out of range"),
    ],
)
def test_int_refusals(value: Any, reason: str, words: str) -> None:
    error = _refused(lambda: checks.check_int(value, "repeat_count", 0, 10))
    assert error.details == {"field": "repeat_count", "reason": reason}
    assert words in error.message


# --- booleans ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, False])
def test_bool_is_kept(value: bool) -> None:
    assert checks.check_bool(value, "enabled") is value


@pytest.mark.parametrize(
    ("value", "kind"),
    [("yes", "a string"), (1, "a number"), (0, "a number"), (None, "null"), ({}, "an object")],
)
def test_bool_refuses_anything_else(value: Any, kind: str) -> None:
    error = _refused(lambda: checks.check_bool(value, "rules.0.important"))
    assert error.details == {"field": "rules.0.important", "reason": "bool_type"}
    assert error.message == f"rules.0.important must be true or false, not {kind}"


# --- names and free text -----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "stored"), [("Payments", "Payments"), ("  Pay ments \n", "Pay ments"), ("x" * 200, "x" * 200), (" " + "x" * 200 + " ", "x" * 200)])  # fmt: skip
def test_name_is_trimmed(value: str, stored: str) -> None:
    assert checks.check_name(value) == stored


@pytest.mark.parametrize(
    ("value", "reason", "message"),
    [
        (None, "required", "name is required and cannot be blank"),
        ("", "required", "name is required and cannot be blank"),
        (" \t\n", "required", "name is required and cannot be blank"),
        (7, "string_type", "name must be a string, not a number"),
        (["a"], "string_type", "name must be a string, not a list"),
        ("x" * 201, "too_long", "name is at most 200 characters (201 given); shorten it"),
    ],
)
def test_name_refusals(value: Any, reason: str, message: str) -> None:
    error = _refused(lambda: checks.check_name(value))
    assert (error.details, error.message) == ({"field": "name", "reason": reason}, message)


def test_name_names_the_field_it_is_given() -> None:
    error = _refused(lambda: checks.check_name("", "layers.1.name"))
    assert error.details == {"field": "layers.1.name", "reason": "required"}
    assert error.message.startswith("layers.1.name ")


@pytest.mark.parametrize(
    ("value", "stored"),
    [(None, None), ("", None), ("   ", None), (" on call ", "on call"), ("d" * 10, "d" * 10), ("  " + "d" * 10 + "  ", "d" * 10)],
)  # fmt: skip
def test_optional_text_is_trimmed_and_blank_is_none(value: str | None, stored: str | None) -> None:
    assert checks.check_optional_text(value, "description", 10) == stored


@pytest.mark.parametrize(
    ("value", "reason", "message"),
    [
        (5, "string_type", "description must be a string (or null), not a number"),
        (False, "string_type", "description must be a string (or null), not false"),
        ("d" * 11, "too_long", "description is at most 10 characters (11 given); shorten it"),
    ],
)
def test_optional_text_refusals(value: Any, reason: str, message: str) -> None:
    error = _refused(lambda: checks.check_optional_text(value, "description", 10))
    assert (error.details, error.message) == ({"field": "description", "reason": reason}, message)


# --- URLs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("https://hooks.example.com/x", "https://hooks.example.com/x"),
        ("  https://hooks.example.com/x\n", "https://hooks.example.com/x"),
        ("http://10.0.0.5:8080/hook", "http://10.0.0.5:8080/hook"),  # a receiver on the local network
        ("HTTPS://Hooks.Example.com/Path?q=1#f", "HTTPS://Hooks.Example.com/Path?q=1#f"),  # kept as sent
        ("https://[::1]:9000/hook", "https://[::1]:9000/hook"),
        ("https://hooks.example.com/" + "x" * (checks.MAX_URL - 26), "https://hooks.example.com/" + "x" * (checks.MAX_URL - 26)),
    ],
)  # fmt: skip
def test_url_is_trimmed_and_otherwise_kept(value: str, stored: str) -> None:
    assert checks.check_url(value) == stored


@pytest.mark.parametrize(
    ("value", "reason", "words"),
    [
        (None, "required", "url is required: an https:// URL such as https://hooks.example.com/tocsin"),
        ("", "required", "url is required"),
        ("   ", "required", "url is required"),
        (42, "string_type", "url must be a string, an https:// URL, not a number"),
        (["https://hooks.example.com"], "string_type", "not a list"),
        ("https://hooks.example.com/" + "x" * 2048, "too_long", "url is at most 2048 characters (2074 given)"),
        ("https://hooks.example.com/a b", "invalid", "url must not contain spaces or control characters; percent-encode"),
        ("https://hooks.example.com/\x00", "invalid", "control characters"),
        ("https://hooks.example.com:99999/x", "invalid", "url is not a valid URL (Port out of range"),
        ("https://hooks.example.com:http/x", "invalid", "url is not a valid URL"),
        ("https://[::1/x", "invalid", "url is not a valid URL"),
        ("ftp://hooks.example.com/x", "scheme", "url must start with https:// (or http:// for a receiver on your own network)"),
        ("javascript:alert(1)", "scheme", "must start with https://"),
        ("hooks.example.com/x", "scheme", "must start with https://"),
        ("https://", "invalid", "url needs a host, e.g. https://hooks.example.com/tocsin"),
        ("https:///path", "invalid", "needs a host"),
        ("https://user:pass@hooks.example.com/x", "credentials", "url must not carry a user name or password"),
        ("https://token@hooks.example.com/x", "credentials", "remove the 'user:password@' part"),
    ],
)  # fmt: skip
def test_url_refusals(value: Any, reason: str, words: str) -> None:
    error = _refused(lambda: checks.check_url(value))
    assert error.details == {"field": "url", "reason": reason}
    assert words in error.message


def test_url_names_the_field_it_is_given() -> None:
    error = _refused(lambda: checks.check_url("ftp://x", "address"))
    assert error.details == {"field": "address", "reason": "scheme"}
    assert error.message.startswith("address must start with https://")


# --- time zones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [("UTC", "UTC"), ("Europe/Berlin", "Europe/Berlin"), ("  America/New_York\t", "America/New_York"), ("Etc/GMT+5", "Etc/GMT+5")],
)  # fmt: skip
def test_time_zone_is_trimmed(value: str, stored: str) -> None:
    assert checks.check_time_zone(value) == stored


@pytest.mark.parametrize(
    ("value", "reason", "message"),
    [
        (None, "required", "time_zone is required: an IANA name such as Europe/Berlin or UTC"),
        ("", "required", "time_zone is required: an IANA name such as Europe/Berlin or UTC"),
        ("  ", "required", "time_zone is required: an IANA name such as Europe/Berlin or UTC"),
        (5, "string_type", "time_zone must be a string, an IANA name such as Europe/Berlin or UTC, not a number"),
        ("Mars/Olympus", "invalid", "time_zone: unknown time zone 'Mars/Olympus'; use an IANA name such as Europe/Berlin or UTC"),
        ("Europe", "invalid", "time_zone: unknown time zone 'Europe'; use an IANA name such as Europe/Berlin or UTC"),
        ("../../etc/passwd", "invalid", "time_zone: unknown time zone '../../etc/passwd'; use an IANA name such as Europe/Berlin or UTC"),
        ("utc", "invalid", "time_zone: unknown time zone 'utc' (did you mean UTC?); use an IANA name such as Europe/Berlin or UTC"),
        ("europe/berlin", "invalid", "time_zone: unknown time zone 'europe/berlin' (did you mean Europe/Berlin?); use an IANA name such as Europe/Berlin or UTC"),
    ],
)  # fmt: skip
def test_time_zone_refusals(value: Any, reason: str, message: str) -> None:
    error = _refused(lambda: checks.check_time_zone(value))
    assert (error.details, error.message) == ({"field": "time_zone", "reason": reason}, message)


def test_time_zone_case_is_refused_even_where_the_disk_would_load_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a case-insensitive disk ``ZoneInfo("utc")`` loads; the check must still refuse it."""
    monkeypatch.setattr(checks, "load_zone", lambda name: None)
    error = _refused(lambda: checks.check_time_zone("utc", "timezone"))
    assert error.details == {"field": "timezone", "reason": "invalid"}
    assert error.message == "timezone: time zone names are case-sensitive; use 'UTC'"
