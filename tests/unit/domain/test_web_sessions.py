"""Session lifetimes and CSRF tokens, without a database or a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.web_sessions import (
    SessionPolicy,
    csrf_matches,
    csrf_token,
    expires_at,
    is_live,
    needs_touch,
)

POLICY = SessionPolicy()
START = datetime(2026, 1, 1, tzinfo=UTC)
offsets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))


@given(first=offsets, second=offsets)
def test_expiry_slides_with_use_but_never_past_the_absolute_end(first: timedelta, second: timedelta) -> None:
    earlier, later = sorted((first, second))
    end_earlier = expires_at(created_at=START, last_seen_at=START + earlier, policy=POLICY)
    end_later = expires_at(created_at=START, last_seen_at=START + later, policy=POLICY)
    assert end_earlier <= end_later  # using a session never shortens it
    assert end_later <= START + POLICY.absolute
    assert end_later <= START + later + POLICY.idle


def test_the_defaults_keep_a_phone_signed_in_for_weeks_and_no_longer_than_a_quarter() -> None:
    assert expires_at(created_at=START, last_seen_at=START, policy=POLICY) == START + timedelta(days=30)
    used_daily = START + timedelta(days=80)
    assert expires_at(created_at=START, last_seen_at=used_daily, policy=POLICY) == START + timedelta(days=90)


@given(offset=offsets)
def test_live_until_the_expiry_and_never_once_revoked(offset: timedelta) -> None:
    end = START + timedelta(days=30)
    now = START + offset
    assert is_live(expires=end, revoked_at=None, now=now) == (now < end)
    assert not is_live(expires=end, revoked_at=START, now=now)


@given(offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=2)))
def test_a_use_is_written_down_at_most_every_few_minutes(offset: timedelta) -> None:
    assert needs_touch(last_seen_at=START, now=START + offset, policy=POLICY) == (
        offset >= POLICY.touch_every
    )


@given(token=st.text(min_size=1, max_size=64), other=st.text(min_size=1, max_size=64))
def test_csrf_token_belongs_to_its_session(token: str, other: str) -> None:
    assert csrf_matches(token, csrf_token(token))
    assert csrf_matches(other, csrf_token(token)) == (csrf_token(other) == csrf_token(token))
    assert not csrf_matches(token, None)
    assert not csrf_matches(token, "")
    assert not csrf_matches(token, csrf_token(token)[:-1])


def test_csrf_token_is_url_safe_and_not_the_session_token() -> None:
    token = "abc123"
    value = csrf_token(token)
    assert token not in value
    assert len(value) == 43 and set(value) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
