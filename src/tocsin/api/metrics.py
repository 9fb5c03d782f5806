"""Prometheus metrics, one registry per app so several apps (tests, replicas in one process) never clash."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger("tocsin.metrics")


class ReadAtScrape(Collector):
    """One gauge family counted at scrape time (from the database), so the figure is never stale
    or double-counted across replicas. A read that fails is logged and its family left out of that
    scrape: a database hiccup must not turn the whole ``/metrics`` into a 500, and the engine's
    and HTTP series (which Alertmanager may be watching for exactly that hiccup) still answer."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str],
        read: Callable[[], Mapping[tuple[str, ...], float]],
    ) -> None:
        self.name = name
        self._documentation = documentation
        self._labels = list(labels)
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            values = self._read()
        except Exception:  # noqa: BLE001 - one family lost, not the scrape
            log.warning("could not read %s for /metrics; left out of this scrape", self.name, exc_info=True)
            return
        family = GaugeMetricFamily(self.name, self._documentation, labels=self._labels)
        for label_values, value in sorted(values.items()):
            family.add_metric(list(label_values), value)
        yield family


class _Guarded(Collector):
    """Another source's collector, whose failure leaves only its own series out of the scrape."""

    def __init__(self, collector: Collector, name: str) -> None:
        self._collector = collector
        self.name = name

    def collect(self) -> Iterable[Metric]:
        try:
            return list(self._collector.collect())
        except Exception:  # noqa: BLE001 - its series lost, not the scrape
            log.warning("could not read %s for /metrics; left out of this scrape", self.name, exc_info=True)
            return []


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

    def read_at_scrape(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str],
        read: Callable[[], Mapping[tuple[str, ...], float]],
    ) -> None:
        """Add a gauge family counted by ``read`` at each scrape (``ReadAtScrape``)."""
        self.registry.register(ReadAtScrape(name, documentation, labels, read))

    def include(self, collector: Collector, name: str = "the engine's series") -> None:
        """Serve another source's series in this scrape too: the in-process engine's registry, or
        the engine child's files (``server.engine_metrics``). A source that fails (a damaged
        file) is logged and left out, as a failing database gauge is."""
        self.registry.register(_Guarded(collector, name))

    def watch_readiness(self, count: Callable[[], Mapping[tuple[str, str], int]], ttl: float) -> None:
        """``tocsin_readiness_findings``, computed at most every ``ttl`` seconds (``ReadinessFindings``)."""
        self.registry.register(ReadinessFindings(count, ttl))
