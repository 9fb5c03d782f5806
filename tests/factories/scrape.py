"""Reading a ``/metrics`` answer as Prometheus does (its text parser), so a test asserts on the
values a scraper sees, not on substrings of the text."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample: (sample name, its labels) to value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(text: str, name: str, labels: Mapping[str, str] | None = None) -> float | None:
    """One sample's value, None when the scrape does not have it."""
    return samples(text).get((name, frozenset((labels or {}).items())))


def families(text: str) -> set[str]:
    """The metric family names in a scrape."""
    return {family.name for family in text_string_to_metric_families(text)}
