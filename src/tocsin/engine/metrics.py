"""The engine's own Prometheus series: what it sent, failed, retried and skipped, how late.

One ``EngineMetrics`` per engine, with its own registry. An engine in the server's process adds its
registry to the server's ``/metrics``; the engine child of ``tocsin serve`` writes its values where
the server's scrape reads them too, so one scrape sees everything. Counts read from the database at
scrape time (jobs pending, heartbeat states, failing channels) are the server's, not the engine's.

Outcomes of a page or notice attempt: ``sent`` (the provider accepted it), ``failed`` (given up:
permanent error, attempts or deadline spent), ``retried`` (a transient failure, tried again later),
``skipped`` (dropped before sending: the incident was acknowledged or resolved, or its escalation
moved past the level that paged)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

PAGE_OUTCOMES = ("sent", "failed", "retried", "skipped")


class EngineMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.pages = Counter(
            "tocsin_pages_total",
            "Page and notice attempts by channel and outcome (sent, failed, retried, skipped)",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.page_latency = Histogram(
            "tocsin_page_latency_seconds",
            "From the event that opened the incident to the channel accepting its page",
            ["channel"],
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
            registry=self.registry,
        )
        self.job_lag = Histogram(
            "tocsin_engine_job_lag_seconds",
            "How late a job was claimed: now minus its run_at, at claim",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.webhook_deliveries = Counter(
            "tocsin_webhook_deliveries_total",
            "Outbound webhook delivery attempts by outcome (succeeded, retried, failed)",
            ["outcome"],
            registry=self.registry,
        )

    def page(self, channel: str, outcome: str) -> None:
        """One page or notice attempt on ``channel`` ended in ``outcome`` (one of PAGE_OUTCOMES)."""
        self.pages.labels(channel, outcome).inc()

    def page_accepted(self, channel: str, seconds: float) -> None:
        """The channel accepted a page ``seconds`` after the event that opened its incident."""
        self.page_latency.labels(channel).observe(max(0.0, seconds))

    def claimed(self, kind: str, lag_seconds: float) -> None:
        self.job_lag.labels(kind).observe(max(0.0, lag_seconds))

    def webhook_delivery(self, outcome: str) -> None:
        self.webhook_deliveries.labels(outcome).inc()
