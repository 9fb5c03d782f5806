"""Prometheus metrics, one registry per app so several apps (tests, replicas in one process) never clash."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from tocsin.domain.channel_health import CHANNELS

log = logging.getLogger("tocsin.metrics")

T = TypeVar("T")


def scraped(read: Callable[[], T], what: str) -> T | None:
    """``read()``, or None (logged) when it fails: a series read from the database is left out of a
    scrape the database cannot answer, and /metrics still answers with everything else."""
    try:
        return read()
    except Exception:  # noqa: BLE001 - a scrape reports what it can
        log.warning("could not read %s for /metrics", what, exc_info=True)
        return None


class IncidentsByStatus(Collector):
    """Counted at scrape time from the database, so the figure is never stale or double-counted."""

    def __init__(self, count: Callable[[], Mapping[tuple[str, bool], int]]) -> None:
        self._count = count

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = scraped(self._count, "incident counts")
        if counts is None:
            return
        family = GaugeMetricFamily("tocsin_incidents", "Incidents by status", labels=["status", "livemode"])
        for (status, livemode), value in sorted(counts.items()):
            family.add_metric([status, str(livemode).lower()], value)
        yield family


class FailingChannels(Collector):
    """``tocsin_channel_failing{channel}``, read from the database at scrape time: how many orgs have
    had the channel failing for the configured minutes with no success since (live mode). Every
    known channel is there, at 0 when healthy, so ``> 0`` is the whole alert rule. A failed read
    leaves the series out (and logs why) instead of failing the scrape: /metrics must answer while
    the database is in trouble, and ``absent()`` can alert on the gap."""

    def __init__(self, count: Callable[[], Mapping[str, int]], minutes: float) -> None:
        self._count = count
        self._help = (
            f"Orgs whose channel has failed for at least {minutes:g} minutes with no success since "
            "(TOCSIN_CHANNEL_FAILING_MINUTES), live mode"
        )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("tocsin_channel_failing", self._help, labels=["channel"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = scraped(self._count, "channel health")
        if counts is None:
            return
        family = GaugeMetricFamily("tocsin_channel_failing", self._help, labels=["channel"])
        for channel in sorted(set(CHANNELS) | set(counts)):
            family.add_metric([channel], counts.get(channel, 0))
        yield family


class ReadinessFindings(Collector):
    """Readiness findings of every live org, by severity and kind, so an alert can say "a page
    would reach nobody" before an incident proves it. Computing them walks every schedule's next
    week, so the figure is kept ``ttl`` seconds (scrapes come every 15-60 s); a failing
    computation is logged and the scrape answers the last figure it had, never a 500."""

    def __init__(
        self,
        count: Callable[[], Mapping[tuple[str, str], int]],
        ttl: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._count = count
        self._ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._value: Mapping[tuple[str, str], int] | None = None
        self._taken = 0.0

    def _current(self) -> Mapping[tuple[str, str], int] | None:
        with self._lock:
            if self._value is not None and self._monotonic() - self._taken < self._ttl:
                return self._value
            try:
                self._value = dict(self._count())
            except Exception:  # noqa: BLE001 - a scrape reports what it can, never fails
                log.exception("readiness metric: computing the findings failed; keeping the last figure")
            self._taken = self._monotonic()
            return self._value

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "tocsin_readiness_findings",
            "Readiness findings of live orgs (GET /api/readiness), by severity and kind",
            labels=["severity", "kind"],
        )
        for (severity, kind), value in sorted((self._current() or {}).items()):
            family.add_metric([severity, kind], value)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tocsin_http_requests_total",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tocsin_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._event_children: dict[tuple[str, str], Any] = {}
        self.events = Counter(
            "tocsin_events_ingested_total",
            "Events accepted and committed, by action and outcome",
            ["action", "outcome"],
            registry=self.registry,
        )

        self.batch_size = Histogram(
            "tocsin_ingest_batch_size",
            "Events committed together by the ingest group commit",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "tocsin_ingest_commit_seconds",
            "Time to apply and commit one ingest batch",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request. Children are cached per label set: ``labels()`` costs more
        than the increment itself, on every request of the hot path."""
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_event(self, action: str, outcome: str) -> None:
        """Count one committed event (children cached, as for requests)."""
        key = (action, outcome)
        child = self._event_children.get(key)
        if child is None:
            child = self._event_children[key] = self.events.labels(action, outcome)
        child.inc()

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)

    def watch_incidents(self, count: Callable[[], Mapping[tuple[str, bool], int]]) -> None:
        self.registry.register(IncidentsByStatus(count))

    def watch_channels(self, count: Callable[[], Mapping[str, int]], minutes: float) -> None:
        """``count``: failing orgs per channel, read at each scrape."""
        self.registry.register(FailingChannels(count, minutes))

    def watch_readiness(self, count: Callable[[], Mapping[tuple[str, str], int]], ttl: float) -> None:
        self.registry.register(ReadinessFindings(count, ttl))
