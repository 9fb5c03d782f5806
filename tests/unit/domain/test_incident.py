"""The incident state machine and severity mapping, without a database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.incident import (
    SEVERITIES,
    STATUS_RANK,
    URGENCY_RANK,
    Status,
    Urgency,
    can_transition,
    is_open,
    urgency_for_severity,
)


@pytest.mark.parametrize(
    ("severity", "urgency"),
    [("critical", Urgency.HIGH), ("error", Urgency.HIGH), ("warning", Urgency.MEDIUM), ("info", Urgency.LOW)],
)
def test_severity_maps_to_urgency(severity: str, urgency: Urgency) -> None:
    assert urgency_for_severity(severity) == urgency
    assert urgency_for_severity(severity.upper()) == urgency


@given(st.text().filter(lambda s: s.lower() not in SEVERITIES))
def test_unknown_severity_is_rejected(severity: str) -> None:
    with pytest.raises(ValueError, match="severity must be one of"):
        urgency_for_severity(severity)


@given(st.sampled_from(Status))
def test_staying_put_is_always_allowed(status: Status) -> None:
    assert can_transition(status, status)


def test_resolved_only_reopens() -> None:
    allowed = {target for target in Status if can_transition(Status.RESOLVED, target)}
    assert allowed == {Status.RESOLVED, Status.OPEN}


def test_nothing_becomes_suppressed_by_hand() -> None:
    for status in Status:
        if status != Status.SUPPRESSED:
            assert not can_transition(status, Status.SUPPRESSED)


@given(st.sampled_from(Status), st.sampled_from(Status))
def test_every_move_into_resolved_from_an_open_state_is_allowed(current: Status, _: Status) -> None:
    if is_open(current):
        assert can_transition(current, Status.RESOLVED)


def test_ranks_cover_every_member_and_order_by_need() -> None:
    assert set(URGENCY_RANK) == set(Urgency)
    assert set(STATUS_RANK) == set(Status)
    assert URGENCY_RANK[Urgency.HIGH] > URGENCY_RANK[Urgency.MEDIUM] > URGENCY_RANK[Urgency.LOW]
    assert STATUS_RANK[Status.OPEN] > STATUS_RANK[Status.ACKNOWLEDGED] > STATUS_RANK[Status.RESOLVED]
