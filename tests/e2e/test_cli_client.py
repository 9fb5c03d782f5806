"""The API client commands as people and scripts run them: the CLI against a live HTTP server.

Covers login and profiles, incident lists (filters, table and JSON, every page, the live view),
acting on incidents by number, events, the catalog commands, keys through the API, schedules, the
error lines and exit codes, and a 429 waited out."""

from __future__ import annotations

import json
import os
import stat
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import settings_for
from tests.e2e.test_cli_oncall import Cli, running_server
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.cli import client as client_module
from tocsin.cli import incidents as incidents_module
from tocsin.db.session import Database

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(db_url: str, database: Database) -> Iterator[str]:
    """One live server for the module; tests isolate by org."""
    with running_server(create_app(settings_for(db_url), database=database)) as url:
        yield url


@dataclass
class World:
    org: OrgHandle
    cli: Cli
    url: str
    service: str
    routing_key: str
    other_service: str
    alice: str
    bob: str

    def incident(
        self, title: str, *, urgency: str = "HIGH", other: bool = False, assignee: str | None = None
    ) -> int:
        body: dict[str, Any] = {
            "title": title,
            "service_id": self.other_service if other else self.service,
            "urgency": urgency,
        }
        if assignee:
            body["assignee_ids"] = [assignee]
        response = self.org.post("/api/incidents", json=body)
        assert response.status_code == 201, response.text
        number: int = response.json()["data"]["number"]
        return number

    def status(self, number: int) -> str:
        status: str = self.org.get(f"/api/incidents/{number}").json()["data"]["status"]
        return status


@pytest.fixture
def world(orgs: OrgFactory, server: str, tmp_path: Any) -> World:
    org = orgs.new()
    alice = org.make_user("Alice Smith", email=f"alice-{org.slug}@example.com")
    bob = org.make_user("Bob Jones", email=f"bob-{org.slug}@example.com")
    service, routing_key = org.make_service("Payment API")
    other, _ = org.make_service("Checkout Web")
    return World(
        org, Cli(server, org.key, tmp_path / "config"), server, service, routing_key, other, alice, bob
    )


def ok(result: Any) -> Any:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def as_json(result: Any) -> Any:
    return json.loads(ok(result).stdout)


NO_ENV = {"TOCSIN_URL": None, "TOCSIN_API_KEY": None}

# --- login, profiles, whoami -----------------------------------------------------------------------


def test_login_with_a_bad_key_is_refused_and_saves_nothing(world: World) -> None:
    result = world.cli("login", "--url", world.url, "--key", "sk_live_not-a-key", env=NO_ENV)
    assert result.exit_code == 1
    assert result.stderr.strip() == "UNAUTHORIZED: Invalid API key"
    assert not (world.cli.config_home / "tocsin" / "config.toml").exists()


def test_login_to_an_unreachable_server_exits_3(world: World) -> None:
    result = world.cli("login", "--url", "http://127.0.0.1:9", "--key", world.org.key, env=NO_ENV)
    assert result.exit_code == 3
    assert result.stderr.startswith("UNREACHABLE:")
    assert not (world.cli.config_home / "tocsin").exists()


def test_login_saves_an_owner_only_profile_that_later_commands_use(world: World) -> None:
    result = ok(world.cli("login", input=f"{world.url}\n{world.org.key}\n", env=NO_ENV))
    assert "Logged in to" in result.stdout and "key admin (live)" in result.stdout
    path = world.cli.config_home / "tocsin" / "config.toml"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    saved = tomllib.loads(path.read_text())
    assert saved["profiles"]["default"] == {"url": world.url, "api_key": world.org.key}

    shown = as_json(world.cli("whoami", "--json", env=NO_ENV))
    assert shown["url"] == world.url and shown["url_from"] == "profile 'default'"
    assert shown["key_from"] == "profile 'default'"
    assert shown["livemode"] is True
    assert shown["key"]["name"] == "admin"
    assert "incidents:write" in shown["key"]["scopes"]
    assert shown["org"]["slug"] == world.org.slug
    table = ok(world.cli("whoami", env=NO_ENV)).stdout
    assert "admin (key_" in table and "live" in table and "Org" in table

    world.incident("Disk full")
    assert "Disk full" in ok(world.cli("incidents", "list", env=NO_ENV)).stdout


def test_profiles_and_which_setting_wins(world: World) -> None:
    test_org = world.org.test_mode()
    ok(world.cli("login", "--url", world.url, "--key", world.org.key, env=NO_ENV))
    ok(world.cli("login", "--profile", "sandbox", "--url", world.url, "--key", test_org.key, env=NO_ENV))
    profiles = tomllib.loads((world.cli.config_home / "tocsin" / "config.toml").read_text())["profiles"]
    assert set(profiles) == {"default", "sandbox"}

    assert as_json(world.cli("whoami", "--json", "--profile", "sandbox", env=NO_ENV))["livemode"] is False
    by_env = {**NO_ENV, "TOCSIN_PROFILE": "sandbox"}
    assert as_json(world.cli("whoami", "--json", env=by_env))["livemode"] is False
    # The environment overrides the file...
    bad = {"TOCSIN_URL": None, "TOCSIN_API_KEY": "sk_live_wrong"}
    refused = world.cli("whoami", env=bad)
    assert refused.exit_code == 1 and refused.stderr.strip() == "UNAUTHORIZED: Invalid API key"
    # ...and an explicit --profile overrides the environment.
    chosen = as_json(world.cli("whoami", "--json", "--profile", "default", env=bad))
    assert chosen["key_from"] == "profile 'default'" and chosen["livemode"] is True

    missing = world.cli("whoami", "--profile", "nope", env=NO_ENV)
    assert missing.exit_code == 2 and "no profile 'nope'" in missing.stderr
    bad_name = world.cli("login", "--profile", "a b", "--url", world.url, "--key", "x", env=NO_ENV)
    assert bad_name.exit_code == 2


def test_whoami_with_a_key_that_may_not_read_keys(world: World) -> None:
    """GET /api/keys/current answers any valid key about itself, whatever its scopes."""
    narrow = world.org.make_key(["incidents:read"], name="dashboard")
    shown = as_json(world.cli("whoami", "--json", env={"TOCSIN_API_KEY": narrow}))
    assert shown["key"]["name"] == "dashboard" and shown["key"]["scopes"] == ["incidents:read"]
    assert shown["livemode"] is True and shown["note"] is None
    assert shown["org"]["id"] == world.org.org_id
    assert shown["key_from"] == "TOCSIN_API_KEY"


# --- incidents -------------------------------------------------------------------------------------


def test_incidents_list_with_filters_as_a_table_and_as_json(world: World) -> None:
    mine = world.incident("Payments down", assignee=world.alice)
    acked = world.incident("Latency up", urgency="HIGH", assignee=world.alice)
    world.org.post(f"/api/incidents/{acked}/acknowledge")
    low = world.incident("Certificate expires soon", urgency="LOW", assignee=world.alice)
    elsewhere = world.incident("Checkout slow", other=True, assignee=world.alice)
    bobs = world.incident("Bob's problem", assignee=world.bob)
    resolved = world.incident("Old news", assignee=world.alice)
    world.org.post(f"/api/incidents/{resolved}/resolve")

    filters = [
        "--status", "open,ACKNOWLEDGED", "--urgency", "high", "--service", "payment api",
        "--assignee", f"alice-{world.org.slug}@example.com", "--since", "1h",
    ]  # fmt: skip
    table = ok(world.cli("incidents", "list", *filters)).stdout
    assert "Payments down" in table and "Latency up" in table
    for title in ("Certificate", "Checkout slow", "Bob's problem", "Old news"):
        assert title not in table
    assert "Payment API" in table and "Alice Smith" in table and "(now)" in table

    body = as_json(
        world.cli("incidents", "list", *filters, "--sort", "created_at", "--order", "asc", "--json")
    )
    assert [row["number"] for row in body["data"]] == [mine, acked]
    assert body["pagination"]["total"] == 2

    assert [
        r["number"] for r in as_json(world.cli("incidents", "list", "--urgency", "low", "--json"))["data"]
    ] == [low]
    by_service = as_json(world.cli("incidents", "list", "--service", "Checkout Web", "--json"))["data"]
    assert [r["number"] for r in by_service] == [elsewhere]
    assert [
        r["number"]
        for r in as_json(world.cli("incidents", "list", "--assignee", world.bob, "--json"))["data"]
    ] == [bobs]
    assert as_json(world.cli("incidents", "list", "--until", "1h", "--json"))["data"] == []

    limited = ok(world.cli("incidents", "list", "--limit", "2")).stdout
    assert "2 of 6 incidents" in limited


def test_incidents_list_all_follows_the_pages(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    numbers = [world.incident(f"Incident {i}") for i in range(5)]
    monkeypatch.setattr(client_module, "PAGE", 2)
    body = as_json(world.cli("incidents", "list", "--all", "--json", "--order", "asc"))
    assert [row["number"] for row in body["data"]] == numbers
    assert body["pagination"] == {"total": 5, "limit": 5, "offset": 0, "has_more": False}
    assert len(as_json(world.cli("incidents", "list", "--limit", "3", "--json"))["data"]) == 3


def test_incidents_watch_redraws_until_ctrl_c(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.incident("First fire")
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 1:
            world.incident("Second fire")
            return
        raise KeyboardInterrupt

    monkeypatch.setattr(incidents_module, "pause", pause)
    out = ok(world.cli("incidents", "list", "--watch", "--interval", "2")).stdout
    assert pauses == [2.0, 2.0]
    first, second = out.split("Every 2 s")[1:]
    assert "First fire" in first and "Second fire" not in first
    assert "First fire" in second and "Second fire" in second


def test_ack_and_resolve_by_number_several_at_once(world: World) -> None:
    one, two, three = (world.incident(f"Fire {i}") for i in range(3))
    acked = ok(world.cli("incidents", "ack", f"#{one}", str(two)))
    assert f"#{one} Fire 0: acknowledged" in acked.stdout and f"#{two} Fire 1: acknowledged" in acked.stdout
    assert world.status(one) == world.status(two) == "ACKNOWLEDGED"
    assert world.status(three) == "OPEN"

    incident_id = world.org.get(f"/api/incidents/{three}").json()["data"]["id"]
    body = as_json(world.cli("incidents", "resolve", str(one), incident_id, "--json"))
    assert [row["status"] for row in body["data"]] == ["RESOLVED", "RESOLVED"]

    # One bad number does not stop the others; it is one red line, and the exit code is 1.
    mixed = world.cli("incidents", "ack", "999999", str(two), "#12345678")
    assert mixed.exit_code == 1
    lines = mixed.stderr.strip().splitlines()
    assert len(lines) == 2
    assert lines[0] == "NOT_FOUND: incident '999999' not found (incident 999999)"
    assert "acknowledged" in mixed.stdout


def test_the_other_incident_actions(world: World) -> None:
    number = world.incident("Queue backlog")
    ok(world.cli("incidents", "snooze", str(number), "--for", "30m"))
    assert world.status(number) == "SNOOZED"
    ok(world.cli("incidents", "unsnooze", str(number)))
    assert world.status(number) == "OPEN"
    ok(world.cli("incidents", "note", f"#{number}", "-m", "Rolled back deploy 1234"))
    ok(world.cli("incidents", "reassign", str(number), "--user", f"bob-{world.org.slug}@example.com"))
    assert world.org.get(f"/api/incidents/{number}").json()["data"]["assignee_ids"] == [world.bob]

    shown = ok(world.cli("incidents", "show", f"#{number}")).stdout
    assert f"#{number} Queue backlog" in shown and "Bob Jones" in shown
    assert "added a note: Rolled back deploy 1234" in shown and "snoozed" in shown.lower()
    body = as_json(world.cli("incidents", "show", str(number), "--json"))
    assert body["data"]["number"] == number
    assert [note["content"] for note in body["notes"]] == ["Rolled back deploy 1234"]
    assert any(entry["type"] == "reassigned" for entry in body["timeline"])

    usage = world.cli("incidents", "snooze", str(number))
    assert usage.exit_code == 2 and "--for or --until" in usage.stderr
    refused = world.cli("incidents", "escalate", str(number))  # the service has no escalation policy
    assert refused.exit_code == 1 and len(refused.stderr.strip().splitlines()) == 1


# --- events ----------------------------------------------------------------------------------------


def test_events_trigger_ack_resolve_from_a_script(world: World) -> None:
    args = ["--routing-key", world.routing_key, "--dedup-key", "disk-web01"]
    sent = as_json(
        world.cli(
            "events", "trigger", *args, "--summary", "Disk 95% on web-01", "--severity", "critical",
            "--source", "web-01", "--detail", "used=95", "--json",
        )
    )  # fmt: skip
    assert sent == {"status": "success", "message": "Event processed", "dedup_key": "disk-web01"}
    [incident] = world.org.get("/api/incidents").json()["data"]
    assert incident["title"] == "Disk 95% on web-01" and incident["custom_details"] == {"used": "95"}
    assert "dedup key: disk-web01" in ok(world.cli("events", "ack", *args)).stdout
    assert world.status(incident["number"]) == "ACKNOWLEDGED"
    ok(world.cli("events", "resolve", *args, env={"TOCSIN_ROUTING_KEY": "ignored"}))
    assert world.status(incident["number"]) == "RESOLVED"

    from_env = world.cli(
        "events", "trigger", "--summary", "x", "--severity", "info", "--source", "cron",
        env={"TOCSIN_ROUTING_KEY": world.routing_key},
    )  # fmt: skip
    assert ok(from_env).stdout.startswith("Event processed")


# --- services, users, teams, keys, schedules -------------------------------------------------------


def test_services_users_teams_create_list_show(world: World) -> None:
    user = as_json(
        world.cli(
            "users", "create", "--name", "Dan Brown", "--email", f"dan-{world.org.slug}@example.com", "--json"
        )
    )["data"]
    assert user["role"] == "user"
    assert "Dan Brown" in ok(world.cli("users", "list", "--query", "dan")).stdout
    assert f"dan-{world.org.slug}@example.com" in ok(world.cli("users", "show", user["email"])).stdout

    created = ok(
        world.cli("teams", "create", "Ops", "--member", f"{user['email']}=manager", "--member", "Bob Jones")
    )
    assert created.stdout.startswith("Created team Ops (tm_")
    team = as_json(world.cli("teams", "show", "ops", "--json"))["data"]
    assert {(m["name"], m["role"]) for m in team["members"]} == {
        ("Dan Brown", "manager"),
        ("Bob Jones", "responder"),
    }

    made = ok(world.cli("services", "create", "Search", "--team", "Ops", "--description", "Full-text search"))
    assert "Routing key: " in made.stdout
    shown = ok(world.cli("services", "show", "search")).stdout
    assert "Full-text search" in shown and "Ops" in shown and "Events API" in shown
    names = [s["name"] for s in as_json(world.cli("services", "list", "--team", "Ops", "--json"))["data"]]
    assert names == ["Search"]
    assert "Checkout Web" in ok(world.cli("services", "list")).stdout


def test_keys_through_the_api(world: World) -> None:
    created = as_json(world.cli("keys", "create", "--name", "ci", "--scope", "incidents:read", "--json"))[
        "data"
    ]
    assert created["key"].startswith("sk_live_") and created["scopes"] == ["incidents:read"]
    listed = ok(world.cli("keys", "list")).stdout
    assert "ci" in listed and created["prefix"] in listed and "all" in listed

    ok(world.cli("keys", "revoke", created["prefix"]))
    refused = world.cli("incidents", "list", env={"TOCSIN_API_KEY": created["key"]})
    assert refused.exit_code == 1 and refused.stderr.startswith("UNAUTHORIZED")
    again = world.cli("keys", "revoke", created["id"], "key_nope")
    assert again.exit_code == 1 and "NOT_FOUND" in again.stderr

    test_flag = world.cli("keys", "create", "--name", "x", "--test")
    assert test_flag.exit_code == 2
    nothing = world.cli("keys", "create", "--name", "x", env=NO_ENV)
    assert nothing.exit_code == 2 and "--org" in nothing.stderr


def test_schedules_list_show_export(world: World, tmp_path: Any) -> None:
    response = world.org.post(
        "/api/schedules",
        json={
            "name": "Payments primary",
            "time_zone": "UTC",
            "layers": [
                {
                    "users": [world.alice, world.bob],
                    "rotation_unit": "days",
                    "rotation_length": 1,
                    "start": "2024-01-01T09:00:00Z",
                }
            ],
        },
    )
    assert response.status_code == 201, response.text
    assert "Payments primary" in ok(world.cli("schedules", "list")).stdout
    shown = ok(world.cli("schedules", "show", "payments primary")).stdout
    assert "every day" in shown and "Alice Smith, Bob Jones" in shown and "On call now" in shown
    body = as_json(world.cli("schedules", "show", "Payments primary", "--json"))
    assert len(body["on_call"]) == 1
    calendar = ok(
        world.cli("schedules", "export", "Payments primary", "--since", "1d", "--until", "2d")
    ).stdout
    assert calendar.startswith("BEGIN:VCALENDAR") and calendar.count("BEGIN:VEVENT") >= 3
    target = tmp_path / "oncall.ics"
    ok(world.cli("schedules", "export", "Payments primary", "-o", str(target)))
    assert target.read_text().startswith("BEGIN:VCALENDAR")


# --- errors and exit codes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "code", "line"),
    [
        (["incidents", "show", "999999"], {}, 1, "NOT_FOUND: incident '999999' not found"),
        (["incidents", "list"], {"TOCSIN_API_KEY": "sk_live_wrong"}, 1, "UNAUTHORIZED: Invalid API key"),
        (["incidents", "list"], {"TOCSIN_URL": "http://127.0.0.1:9"}, 3, "UNREACHABLE: cannot reach"),
        (["incidents", "list"], {"TOCSIN_URL": "ftp://example.com"}, 2, "USAGE: server URL"),
        (["incidents", "list"], {"TOCSIN_API_KEY": None}, 2, "USAGE: no API key"),
        (["incidents", "list", "--status", "burning"], {}, 2, "USAGE: --status: burning is not one of"),
        (["incidents", "list", "--since", "last week"], {}, 2, "USAGE: --since:"),
        (["incidents", "list", "--watch", "--json"], {}, 2, "USAGE: --watch draws a table"),
        (["incidents", "ack", "forty-two"], {}, 2, "USAGE: 'forty-two' is not an incident number"),
        (["incidents", "list", "--service", "No such service"], {}, 1, "NOT_FOUND: no single service"),
        (["events", "ack", "--routing-key", "rk"], {}, 2, "USAGE: --dedup-key is required to acknowledge"),
        (["schedules", "show", "Nope"], {}, 1, "NOT_FOUND: no single schedule"),
    ],
)
def test_errors_are_one_red_line_and_a_documented_exit_code(
    world: World, args: list[str], env: dict[str, str | None], code: int, line: str
) -> None:
    result = world.cli(*args, env=env)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stderr.startswith(line), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_a_key_without_the_scope_gets_the_servers_code(world: World) -> None:
    events_only = world.org.make_key(["events:write"])
    result = world.cli("incidents", "list", env={"TOCSIN_API_KEY": events_only})
    assert result.exit_code == 1
    assert result.stderr.strip() == "FORBIDDEN: API key lacks the 'incidents:read' scope"


def test_usage_errors_from_the_parser_exit_2(world: World) -> None:
    assert world.cli("incidents", "list", "--sort", "title").exit_code == 2
    assert world.cli("incidents", "list", "--bogus").exit_code == 2


def test_a_429_is_waited_out_with_a_note(orgs: OrgFactory, server: str, tmp_path: Any) -> None:
    org = orgs.new(rate_limits={"read": "2/second"})
    service, _ = org.make_service("Payment API")
    number = org.post("/api/incidents", json={"title": "Slow", "service_id": service}).json()["data"][
        "number"
    ]
    cli = Cli(server, org.key, tmp_path / "config")
    # show reads the incident, its timeline and its notes: the third read of the second is refused.
    # The limiter's windows are whole seconds and it floors the previous window's weighted share,
    # so three reads straddling a second's edge would all pass: start them just after one begins.
    time.sleep(1 - time.time() % 1 + 0.01)
    result = cli("incidents", "show", str(number), "--json")
    assert result.exit_code == 0, result.stderr
    assert "Rate limited (429); retrying in" in result.stderr
    assert json.loads(result.stdout)["data"]["number"] == number
