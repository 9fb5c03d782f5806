"""The readiness gauge: computed at scrape time, kept for its TTL, and never a failed scrape."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from tocsin.api.metrics import ReadinessFindings


class Counts:
    """Answers each scrape with the next figure, or raises when the figure is an exception."""

    def __init__(self, *answers: Mapping[tuple[str, str], int] | Exception) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self) -> Mapping[tuple[str, str], int]:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        if isinstance(answer, Exception):
            raise answer
        return answer


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def scrape(count: Counts, ticks: Ticks, ttl: float = 60.0) -> tuple[CollectorRegistry, ReadinessFindings]:
    registry = CollectorRegistry()
    collector = ReadinessFindings(count, ttl, monotonic=ticks)
    registry.register(collector)
    return registry, collector


def test_findings_are_labelled_by_severity_and_kind_and_kept_for_the_ttl() -> None:
    count = Counts(
        {("error", "coverage_gap"): 2, ("warning", "user_without_rule"): 1}, {("error", "coverage_gap"): 5}
    )
    ticks = Ticks()
    registry, _ = scrape(count, ticks)
    text = generate_latest(registry).decode()
    assert 'tocsin_readiness_findings{kind="coverage_gap",severity="error"} 2.0' in text
    assert 'tocsin_readiness_findings{kind="user_without_rule",severity="warning"} 1.0' in text
    ticks.now += 59
    assert 'severity="error"} 2.0' in generate_latest(registry).decode()
    assert count.calls == 1
    ticks.now += 2
    assert (
        'tocsin_readiness_findings{kind="coverage_gap",severity="error"} 5.0'
        in generate_latest(registry).decode()
    )
    assert count.calls == 2


def test_a_failing_computation_keeps_the_last_figure_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    count = Counts({("error", "service_without_policy"): 3}, RuntimeError("database is down"))
    ticks = Ticks()
    registry, _ = scrape(count, ticks, ttl=10)
    generate_latest(registry)
    ticks.now += 11
    with caplog.at_level(logging.ERROR, logger="tocsin.metrics"):
        text = generate_latest(registry).decode()
    assert 'tocsin_readiness_findings{kind="service_without_policy",severity="error"} 3.0' in text
    assert "computing the findings failed" in caplog.text


def test_a_failure_before_any_figure_answers_an_empty_gauge() -> None:
    registry, _ = scrape(Counts(RuntimeError("no tables")), Ticks())
    text = generate_latest(registry).decode()
    assert "# TYPE tocsin_readiness_findings gauge" in text
    assert "tocsin_readiness_findings{" not in text
