"""Grafana OnCall API helpers: a client that sends the key as Grafana's clients do (the bare key in
``Authorization``), and small builders for incidents fed by a real integration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2 as httpx

from tests.factories.orgs import OrgHandle

API = "/api/v1"


@dataclass
class Grafana:
    """``org`` seen through Grafana OnCall's API with ``key`` (the org's admin key by default)."""

    org: OrgHandle
    key: str | None = None

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": self.key or self.org.key, **kwargs.pop("headers", {})}
        return self.org.client.request(method, API + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


def open_incident(org: OrgHandle, routing_key: str, summary: str = "Disk full", **payload: Any) -> str:
    """Trigger an event through the Events API; the id of the incident it opened or extended."""
    response = org.trigger(routing_key, summary=summary, **payload)
    assert response.status_code == 202, response.text
    dedup_key = response.json()["dedup_key"]
    incidents = org.get("/api/incidents", params={"limit": 100}).json()["data"]
    return str(next(item["id"] for item in incidents if item["dedup_key"] == dedup_key))
