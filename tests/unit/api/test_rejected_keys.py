"""``api.auth.RejectedKeys``: a refused key is logged, but a flood is not: one line per source
(client address and key prefix) per window with the count of refusals it summed up, and a cap on
lines per window in all, on a clock the test moves."""

from __future__ import annotations

import logging

import pytest

from tocsin.api.auth import UNKNOWN_OR_REVOKED, RejectedKeys

KEY = "sk_live_AbCdEfGhIjKlMnOpQrStUvWxYz"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "tocsin.auth"]


def test_one_line_per_source_per_window_then_the_count(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="tocsin.auth")
    clock = Clock()
    rejected = RejectedKeys(every=60, burst=20, clock=clock)
    logged = [rejected.refused(KEY, "203.0.113.9", UNKNOWN_OR_REVOKED) for _ in range(500)]
    assert logged == [True] + [False] * 499
    clock.now += 59.9
    assert not rejected.refused(KEY, "203.0.113.9", UNKNOWN_OR_REVOKED)
    clock.now += 0.1
    assert rejected.refused(KEY, "203.0.113.9", UNKNOWN_OR_REVOKED)
    first, second = _lines(caplog)
    assert first.getMessage() == "rejected API key sk_live_AbCd from 203.0.113.9: unknown or revoked key"
    assert second.getMessage() == (
        "rejected API key sk_live_AbCd from 203.0.113.9: unknown or revoked key (500 more from there not logged)"
    )
    assert [line.suppressed for line in (first, second)] == [0, 500]
    assert all(KEY not in str(vars(line)) for line in (first, second))  # the prefix only


def test_sources_are_apart_and_a_non_key_shows_none_of_itself(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="tocsin.auth")
    rejected = RejectedKeys(clock=Clock())
    assert rejected.refused(KEY, "203.0.113.9", UNKNOWN_OR_REVOKED)
    assert rejected.refused(KEY, "198.51.100.7", UNKNOWN_OR_REVOKED)  # another client
    assert rejected.refused("sk_test_Zz" + KEY[10:], "203.0.113.9", UNKNOWN_OR_REVOKED)  # another key
    assert rejected.refused("hunter2-my-password", "203.0.113.9", "not a Tocsin API key")
    lines = _lines(caplog)
    assert len(lines) == 4
    assert lines[3].getMessage() == "rejected API key (not a key) from 203.0.113.9: not a Tocsin API key"
    assert "hunter2" not in str(vars(lines[3])) and lines[3].key_prefix is None


def test_a_spray_of_keys_from_many_addresses_is_capped_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="tocsin.auth")
    clock = Clock()
    rejected = RejectedKeys(every=60, burst=5, clock=clock)
    for n in range(1000):
        rejected.refused(f"sk_live_{n:04d}rest", f"10.0.{n // 250}.{n % 250}", UNKNOWN_OR_REVOKED)
    assert len(_lines(caplog)) == 5
    clock.now += 60
    # The next window lets a source that was held back out, with its count.
    assert rejected.refused("sk_live_0999rest", "10.0.3.249", UNKNOWN_OR_REVOKED)
    assert _lines(caplog)[-1].suppressed == 1
    assert len(_lines(caplog)) == 6
