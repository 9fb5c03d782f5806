"""A script written only against Grafana OnCall's public API runs unchanged against Tocsin.

It knows nothing of Tocsin: it sends ``Authorization: <key>`` and ``X-Grafana-URL`` as the Grafana
OnCall docs say, walks every page of ``alert_groups`` by following ``next`` (absolute URLs built
from ``TOCSIN_BASE_URL``), acknowledges one, and reads a schedule's ``final_shifts``. The server is
a real uvicorn on a real port, so the links it hands out are followed over HTTP as a client would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import settings_for
from tests.e2e.test_cli_oncall import free_port, running_server
from tests.factories.orgs import OrgFactory
from tocsin.api.app import create_app
from tocsin.db.session import Database

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(db_url: str, database: Database) -> Iterator[str]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with running_server(create_app(settings_for(db_url, base_url=base_url), database=database), port) as url:
        yield url


def grafana_script(api_url: str, token: str) -> dict[str, Any]:
    """What a team's existing tooling does, written from Grafana OnCall's API reference only."""
    headers = {"Authorization": token, "X-Grafana-URL": "https://example.grafana.net"}
    seen: list[dict[str, Any]] = []
    pages = 0
    with httpx.Client(headers=headers, timeout=10) as http:
        url: str | None = f"{api_url}/api/v1/alert_groups/?perpage=7"
        while url:
            page = http.get(url)
            page.raise_for_status()
            body = page.json()
            seen.extend(body["results"])
            pages += 1
            url = body["next"]
        firing = next(group for group in seen if group["state"] == "firing")
        http.post(f"{api_url}/api/v1/alert_groups/{firing['id']}/acknowledge").raise_for_status()
        after = http.get(f"{api_url}/api/v1/alert_groups/{firing['id']}").json()
        schedules = http.get(f"{api_url}/api/v1/schedules/").json()["results"]
        shifts = http.get(
            f"{api_url}/api/v1/schedules/{schedules[0]['id']}/final_shifts",
            params={"start_date": "2030-01-07", "end_date": "2030-01-09"},
        )
        shifts.raise_for_status()
    return {"seen": seen, "pages": pages, "acked": after, "shifts": shifts.json()["results"]}


def test_a_grafana_oncall_script_runs_unchanged(orgs: OrgFactory, server: str) -> None:
    org = orgs.new()
    service, _ = org.make_service("Payment API")
    numbers = []
    for index in range(17):
        response = org.post("/api/incidents", json={"title": f"Disk full {index}", "service_id": service})
        assert response.status_code == 201, response.text
        numbers.append(response.json()["data"]["id"])
    alice = org.make_user("Alice", email=f"alice-{org.slug}@example.com")
    bob = org.make_user("Bob", email=f"bob-{org.slug}@example.com")
    layer = {"name": "Daily", "users": [alice, bob], "rotation_unit": "days", "rotation_length": 1,
             "start": "2030-01-07T09:00:00Z"}  # fmt: skip
    created = org.post("/api/schedules", json={"name": "Primary", "time_zone": "UTC", "layers": [layer]})
    assert created.status_code == 201, created.text

    result = grafana_script(server, org.key)

    assert result["pages"] == 3  # 7 + 7 + 3
    assert sorted(group["id"] for group in result["seen"]) == sorted(numbers)
    assert result["acked"]["state"] == "acknowledged"
    people = [(shift["user_pk"], shift["user_username"]) for shift in result["shifts"]]
    assert people[:2] == [(alice, f"alice-{org.slug}"), (bob, f"bob-{org.slug}")]
    assert result["shifts"][0]["shift_start"].startswith("2030-01-07T09:00:00")
    assert result["shifts"][1]["shift_start"].startswith("2030-01-08T09:00:00")
