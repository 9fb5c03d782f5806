"""``tocsin schedules swap`` against a live server: ask for cover with relative times, list as a
table and as JSON, take one as another person (the on-call changes in the window), cancel, and the
error lines a person sees for a request no longer open."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import settings_for
from tests.e2e.test_cli_oncall import Cli, running_server
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.db.session import Database

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(db_url: str, database: Database) -> Iterator[str]:
    with running_server(create_app(settings_for(db_url), database=database)) as url:
        yield url


@pytest.fixture
def world(orgs: OrgFactory, server: str, tmp_path: Path) -> tuple[OrgHandle, dict[str, str], Cli, Cli]:
    """Alice on call around the clock; a CLI with Alice's key and one with Bob's."""
    org = orgs.new()
    alice = org.make_user("Alice Smith", email=f"alice-{org.slug}@example.com")
    bob = org.make_user("Bob Jones", email=f"bob-{org.slug}@example.com")
    start = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    response = org.post(
        "/api/schedules",
        json={
            "name": "Payment API primary",
            "time_zone": "UTC",
            "layers": [{"users": [alice], "rotation_unit": "weeks", "rotation_length": 1, "start": start}],
        },
    )
    assert response.status_code == 201, response.text
    scopes = ["schedules:write", "users:read"]
    ids = {"alice": alice, "bob": bob, "schedule": response.json()["data"]["id"]}
    as_alice = Cli(server, org.make_key(scopes, user_id=alice), tmp_path / "alice")
    as_bob = Cli(server, org.make_key(scopes, user_id=bob), tmp_path / "bob")
    return org, ids, as_alice, as_bob


def ok(result: Any) -> Any:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def test_request_list_take_cancel(world: tuple[OrgHandle, dict[str, str], Cli, Cli]) -> None:
    org, ids, as_alice, as_bob = world
    asked = json.loads(
        ok(
            as_alice(
                "schedules", "swap", "request", "Payment API primary",
                "--start", "+2h", "--end", "+5h", "-d", "Dentist", "--json",
            )
        ).stdout
    )["data"]  # fmt: skip
    assert asked["status"] == "open" and asked["beneficiary"]["id"] == ids["alice"]
    printed = ok(
        as_alice(
            "schedules", "swap", "request", "Payment API primary",
            "--start", "tomorrow 23:00", "--end", "+50h",
        )
    ).stdout  # fmt: skip
    assert printed.startswith("Swap request ssr_") and "Alice Smith" in printed

    table = ok(as_bob("schedules", "swap", "list", "Payment API primary", "--status", "open")).stdout
    assert asked["id"] in table and "Dentist" in table and "Payment API primary" in table
    listed = json.loads(ok(as_bob("schedules", "swap", "list", "--json")).stdout)
    assert [s["id"] for s in listed["data"]][0] == asked["id"] and listed["pagination"]["total"] == 2

    taken = ok(as_bob("schedules", "swap", "take", asked["id"])).stdout
    assert "Taken: Bob Jones covers Alice Smith" in taken and "override ovr_" in taken
    inside = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    on_call = org.get(f"/api/schedules/{ids['schedule']}/on-call", params={"at": inside}).json()["data"]
    assert [entry["user"]["id"] for entry in on_call] == [ids["bob"]]

    again = as_bob("schedules", "swap", "take", asked["id"])
    assert again.exit_code == 1 and again.stderr.startswith("CONFLICT: ") and "already taken" in again.stderr

    other = [s["id"] for s in listed["data"] if s["id"] != asked["id"]][0]
    refused = as_bob("schedules", "swap", "cancel", other)
    assert refused.exit_code == 1 and refused.stderr.startswith("FORBIDDEN: ")
    cancelled = json.loads(ok(as_alice("schedules", "swap", "cancel", other, "--json")).stdout)
    assert cancelled["data"]["status"] == "cancelled"
    assert "No swap requests." in ok(as_alice("schedules", "swap", "list", "--status", "open")).stdout


def test_usage_errors(world: tuple[OrgHandle, dict[str, str], Cli, Cli]) -> None:
    _, _, as_alice, _ = world
    bad_time = as_alice(
        "schedules", "swap", "request", "Payment API primary", "--start", "soon", "--end", "+2h"
    )
    assert bad_time.exit_code == 2 and bad_time.stderr.startswith("USAGE: --start")
    late = as_alice("schedules", "swap", "request", "Payment API primary", "--start", "-1h", "--end", "+2h")
    assert late.exit_code == 1 and late.stderr.startswith("VALIDATION_ERROR: start must be in the future")
    missing = as_alice("schedules", "swap", "take", "ssr_nope")
    assert missing.exit_code == 1 and missing.stderr.startswith("NOT_FOUND: ")
