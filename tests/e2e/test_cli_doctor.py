"""``tocsin doctor`` against a live server: the Readiness section grouped by severity and kind,
exit 4 while anything is an error (0 with warnings only), ``--json`` for scripts, colour only when
asked for a terminal, and a refused check shown as that section's error."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import settings_for
from tests.e2e.test_cli_oncall import Cli, running_server
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.cli.doctor import EXIT_NOT_READY, EXIT_REFUSED
from tocsin.db.session import Database

ANSI = "\x1b["


@pytest.fixture
def smtp_url(db_url: str, database: Database) -> Iterator[str]:
    """A live server that can send email (SMTP host set): what readiness counts as configured."""
    with running_server(create_app(settings_for(db_url, smtp_host="127.0.0.1"), database=database)) as url:
        yield url


def _ok(response: object) -> dict[str, str]:
    assert response.status_code in (200, 201), response.text  # type: ignore[attr-defined]
    data: dict[str, str] = response.json()["data"]  # type: ignore[attr-defined]
    return data


def _ready_org(orgs: OrgFactory) -> OrgHandle:
    """One person on call round the clock, reachable by email, paged by a service's policy."""
    org = orgs.new()
    alice = org.make_user("Alice Smith")
    email = _ok(org.get(f"/api/users/{alice}"))["email"]
    method = _ok(org.post(f"/api/users/{alice}/contact-methods", json={"type": "email", "address": email}))
    for urgency in ("high", "low"):
        rule = {"contact_method_id": method["id"], "urgency": urgency, "delay_minutes": 0}
        _ok(org.post(f"/api/users/{alice}/notification-rules", json=rule))
    start = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() - 86400))
    layer = {"users": [alice], "rotation_unit": "days", "rotation_length": 1, "start": start}
    schedule = _ok(
        org.post("/api/schedules", json={"name": "Primary", "time_zone": "UTC", "layers": [layer]})
    )
    rules = [{"delay_minutes": 0, "targets": [{"type": "schedule", "id": schedule["id"]}]}]
    policy = _ok(org.post("/api/escalation-policies", json={"name": "Payments", "rules": rules}))
    _ok(org.post("/api/services", json={"name": "Payments", "escalation_policy_id": policy["id"]}))
    return org


def test_a_ready_org_exits_zero(orgs: OrgFactory, smtp_url: str, tmp_path: Path) -> None:
    org = _ready_org(orgs)
    cli = Cli(smtp_url, org.key, tmp_path / "config")
    result = cli("doctor")
    assert result.exit_code == 0, result.output
    assert "Readiness" in result.output
    assert "Ready: every page reaches someone over the next 7 days" in result.output
    assert ANSI not in result.output
    as_json = cli("doctor", "--json")
    assert as_json.exit_code == 0
    body = json.loads(as_json.stdout)
    assert body["readiness"]["ready"] is True and body["readiness"]["findings"] == []


def test_errors_are_grouped_and_exit_four(orgs: OrgFactory, smtp_url: str, tmp_path: Path) -> None:
    org = _ready_org(orgs)
    _ok(org.post("/api/services", json={"name": "Checkout"}))
    dana = org.make_user("Dana Lee")
    _ok(
        org.post(
            "/api/escalation-policies",
            json={"name": "Direct", "rules": [{"targets": [{"type": "user", "id": dana}]}]},
        )
    )
    cli = Cli(smtp_url, org.key, tmp_path / "config")
    result = cli("doctor")
    assert result.exit_code == EXIT_NOT_READY, result.output
    out = result.output
    assert "Not ready: 1 error, 1 warning over the next 7 days" in out
    assert out.index("Errors: a page will reach nobody") < out.index("Warnings")
    assert "Services without an escalation policy (service_without_policy)" in out
    assert "• 'Checkout' has no escalation policy: its incidents page nobody" in out
    assert "People without a contact method (user_without_contact)" in out
    assert "• Dana Lee has no contact method: pages fall back to one email to" in out
    assert ANSI not in out  # not a terminal: no colour

    as_json = cli("doctor", "--json")
    assert as_json.exit_code == EXIT_NOT_READY
    report = json.loads(as_json.stdout)["readiness"]
    assert report["summary"] == {"errors": 1, "warnings": 1}
    assert [f["kind"] for f in report["findings"]] == ["service_without_policy", "user_without_contact"]

    coloured = cli("doctor", env={"FORCE_COLOR": "1", "TERM": "xterm-256color"})
    assert coloured.exit_code == EXIT_NOT_READY and ANSI in coloured.output


def test_refused_checks_are_their_sections_errors(orgs: OrgFactory, smtp_url: str, tmp_path: Path) -> None:
    org = _ready_org(orgs)
    cli = Cli(smtp_url, org.make_key(["incidents:read"]), tmp_path / "config")
    result = cli("doctor")
    # Every check refused: nothing could be checked, which is a refusal (1), not "not ready" (4).
    assert result.exit_code == EXIT_REFUSED
    text = " ".join(result.output.split())
    assert text.count("Could not check: FORBIDDEN: API key lacks the 'services:read' scope") == 2
    body = json.loads(cli("doctor", "--json").stdout)
    assert body["readiness"]["error"]["code"] == body["channels"]["error"]["code"] == "FORBIDDEN"
