"""Shared by the channel tests: one realistic page (any field overridable) and a cheap HTTP client."""

from __future__ import annotations

import ssl
from dataclasses import replace
from typing import Any

import httpx

from tocsin.notify.base import Page

PAGE = Page(
    idempotency_key="page:inc_01J0:1:0:usr_01J0:email",
    incident_id="inc_01J0",
    incident_number=42,
    title="High CPU on web-01",
    status="OPEN",
    urgency="HIGH",
    service_name="Payment API",
    incident_url="https://tocsin.example.com/incidents/inc_01J0",
    recipient_name="Ada Lovelace",
    description="CPU above 95% for 10 minutes.",
    source="prometheus",
    ack_url="https://tocsin.example.com/a/inc_01J0?t=sig1&action=ack",
    resolve_url="https://tocsin.example.com/a/inc_01J0?t=sig2&action=resolve",
    details={"instance": "web-01:9100"},
)


def make_page(**overrides: Any) -> Page:
    return replace(PAGE, **overrides)


# Loading the CA bundle costs ~50 ms per client; the tests make one client per test, so share it.
_TLS = ssl.create_default_context()


def http_client() -> httpx.AsyncClient:
    """A fresh client (each test runs its own event loop) without reloading the CA bundle."""
    return httpx.AsyncClient(verify=_TLS)
