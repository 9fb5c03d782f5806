"""Verification codes: their shape, the salted hash that is all the database keeps, and the send
limits' arithmetic (a send fits, or the wait until one does)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.verification import (
    TEST_SENDS,
    VERIFICATION_SENDS,
    SendLimit,
    code_from,
    code_matches,
    hash_code,
    is_code_shaped,
    needs_verification,
    retry_after,
)

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
numbers = st.integers(min_value=0, max_value=999_999)
salts = st.text(alphabet="0123456789abcdef", min_size=1, max_size=32)


@given(numbers)
def test_every_number_makes_a_six_digit_code(number: int) -> None:
    code = code_from(number)
    assert is_code_shaped(code) and int(code) == number


@pytest.mark.parametrize("number", [-1, 1_000_000])
def test_numbers_outside_the_code_range_are_refused(number: int) -> None:
    with pytest.raises(ValueError):
        code_from(number)


@pytest.mark.parametrize("value", ["12345", "1234567", "12a456", " 123456", "١٢٣٤٥٦", 123456, None])
def test_only_six_ascii_digits_are_a_code(value: object) -> None:
    assert not is_code_shaped(value)


@given(numbers, numbers, salts)
def test_a_hash_matches_its_own_code_only(number: int, other: int, salt: str) -> None:
    code, guess = code_from(number), code_from(other)
    stored = hash_code(code, salt)
    scheme, kept_salt, digest = stored.split("$")
    assert (scheme, kept_salt, len(digest)) == ("sha256", salt, 64)
    assert code_matches(code, stored)
    assert code_matches(guess, stored) == (guess == code)


@given(numbers, salts, salts)
def test_the_salt_changes_the_hash(number: int, salt: str, other: str) -> None:
    code = code_from(number)
    assert (hash_code(code, salt) == hash_code(code, other)) == (salt == other)


@pytest.mark.parametrize("stored", ["", "sha256$$abc", "md5$salt$abc", "plain"])
def test_a_malformed_stored_hash_matches_nothing(stored: str) -> None:
    assert not code_matches("123456", stored)


def test_which_types_need_a_code() -> None:
    assert [
        t for t in ("email", "sms", "voice", "push", "slack", "teams", "webhook") if needs_verification(t)
    ] == [
        "email",
        "sms",
        "voice",
    ]


def test_no_earlier_sends_fit_now() -> None:
    assert retry_after([], NOW, VERIFICATION_SENDS) is None


def test_one_code_a_minute() -> None:
    sent = [NOW - timedelta(seconds=20)]
    assert retry_after(sent, NOW, VERIFICATION_SENDS) == 40
    assert retry_after(sent, NOW + timedelta(seconds=40), VERIFICATION_SENDS) is None


def test_five_codes_an_hour() -> None:
    sent = [NOW - timedelta(minutes=m) for m in (50, 40, 30, 20, 10)]
    # The oldest of the five leaves the hour in 10 minutes.
    assert retry_after(sent, NOW, VERIFICATION_SENDS) == 600
    assert retry_after(sent, NOW + timedelta(minutes=10), VERIFICATION_SENDS) is None


def test_test_pages_have_their_own_limits() -> None:
    assert retry_after([NOW - timedelta(seconds=10)], NOW, TEST_SENDS) == 20


@given(
    st.lists(st.integers(min_value=0, max_value=7200), max_size=12),
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=1, max_value=3600),
)
def test_the_wait_is_exactly_what_makes_a_send_fit(ages: list[int], count: int, window: int) -> None:
    limits = (SendLimit(count, timedelta(seconds=window)),)
    sent = [NOW - timedelta(seconds=age) for age in ages]
    wait = retry_after(sent, NOW, limits)

    def fits(at: datetime) -> bool:
        return sum(1 for t in sent if at - t < timedelta(seconds=window)) < count

    if wait is None:
        assert fits(NOW)
    else:
        assert wait >= 1 and not fits(NOW)
        assert fits(NOW + timedelta(seconds=wait))
        assert wait == 1 or not fits(NOW + timedelta(seconds=wait - 1))
