"""A page's retries: never past its attempts, never at or after its deadline (the next escalation
step, or the cap after its first failure), a permanent failure never retried; waits and addresses
read as people and logs should see them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.delivery import (
    LAST_LEVEL_RETRY_CAP,
    after_failure,
    channel_label,
    loggable_address,
    retry_deadline,
    spoken_wait,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
seconds = st.integers(min_value=0, max_value=7200).map(lambda s: timedelta(seconds=s))


@given(
    attempt=st.integers(min_value=1, max_value=20),
    max_attempts=st.integers(min_value=1, max_value=20),
    wait=seconds,
    until_deadline=seconds,
    permanent=st.booleans(),
)
def test_a_retry_comes_only_with_attempts_left_and_before_the_deadline(
    attempt: int, max_attempts: int, wait: timedelta, until_deadline: timedelta, permanent: bool
) -> None:
    deadline = T0 + until_deadline
    verdict = after_failure(
        attempt=attempt, max_attempts=max_attempts, now=T0, wait=wait, deadline=deadline, permanent=permanent
    )
    if verdict.retry_at is None:
        assert verdict.stop is not None
        assert permanent or attempt >= max_attempts or T0 + wait >= deadline
    else:
        assert verdict.stop is None and not permanent
        assert attempt < max_attempts
        assert verdict.retry_at == T0 + wait < deadline
    # The reasons are told apart in this order: a permanent failure is never "out of attempts".
    if permanent:
        assert verdict.stop == "permanent"
    elif attempt >= max_attempts:
        assert verdict.stop == "attempts"


@given(next_step=st.none() | seconds, first_failure=seconds)
def test_the_deadline_is_the_next_step_or_the_cap_whichever_is_sooner(
    next_step: timedelta | None, first_failure: timedelta
) -> None:
    first_failed_at = T0 + first_failure
    next_step_at = None if next_step is None else T0 + next_step
    deadline = retry_deadline(next_step_at=next_step_at, first_failed_at=first_failed_at)
    assert deadline <= first_failed_at + LAST_LEVEL_RETRY_CAP
    if next_step_at is None:
        assert deadline == first_failed_at + LAST_LEVEL_RETRY_CAP
    else:
        assert deadline == min(next_step_at, first_failed_at + LAST_LEVEL_RETRY_CAP)


def test_the_last_retry_before_the_next_step_is_made_and_the_one_at_it_is_not() -> None:
    step = T0 + timedelta(seconds=60)
    deadline = retry_deadline(next_step_at=step, first_failed_at=T0)
    just_before = after_failure(
        attempt=2, max_attempts=8, now=T0, wait=timedelta(seconds=59), deadline=deadline, permanent=False
    )
    at_it = after_failure(
        attempt=2, max_attempts=8, now=T0, wait=timedelta(seconds=60), deadline=deadline, permanent=False
    )
    assert just_before.retry_at == T0 + timedelta(seconds=59)
    assert at_it.retry_at is None and at_it.stop == "deadline"


def test_waits_read_in_the_largest_units_that_keep_them_exact() -> None:
    assert [spoken_wait(timedelta(seconds=s)) for s in (0, 20, 60, 80, 160, 600, 3600, 3900)] == [
        "0 s",
        "20 s",
        "1 min",
        "1 min 20 s",
        "2 min 40 s",
        "10 min",
        "1 h",
        "1 h 5 min",
    ]


def test_channel_labels_start_a_sentence() -> None:
    assert [channel_label(c) for c in ("email", "sms", "voice", "push")] == [
        "Email",
        "SMS",
        "Voice call",
        "Push notification",
    ]


def test_logs_show_an_email_whole_a_phone_masked_and_no_url() -> None:
    assert loggable_address("email", "dana@example.com") == "dana@example.com"
    assert loggable_address("sms", "+15551234567") == "+15*******67"
    assert loggable_address("voice", "+4930") == "*****"
    assert loggable_address("slack", "https://hooks.slack.com/services/T/B/secret") is None
    assert loggable_address("webhook", "https://example.com/hook?token=x") is None
