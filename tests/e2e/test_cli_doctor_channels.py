"""``tocsin doctor``'s Channels section against a live server: each channel's status, last success
and failure, error and 24 h counts as people read them and as JSON, and the exit code that tells a
script the pager cannot page (4) from a refusal (1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import settings_for
from tests.e2e.test_cli_oncall import Cli, running_server
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.db.session import Database
from tocsin.domain.channel_health import CHANNELS
from tocsin.services.deliveries.attempts import record_attempt

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(db_url: str, database: Database) -> Iterator[str]:
    """A live server with SMTP set up (Twilio not), failing after the default five minutes."""
    with running_server(create_app(settings_for(db_url, smtp_host="127.0.0.1"), database=database)) as url:
        yield url


def _record(org: OrgHandle, channel: str, ago: timedelta, error: str | None = None) -> None:
    with org.database.write() as session:
        record_attempt(
            session=session,
            tenant=org.tenant,
            channel=channel,
            ok=error is None,
            error=error,
            now=datetime.now(UTC) - ago,
        )


def _lines(output: str) -> dict[str, list[str]]:
    """The table's rows by channel: Channel, Status, Last success, Last failure, Last error, Last 24 h."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if len(cells) == 6 and cells[0].split(" ")[0] in CHANNELS:
            rows[cells[0].split(" ")[0]] = cells
    return rows


def test_a_healthy_org_passes(orgs: OrgFactory, server: str, tmp_path: Path) -> None:
    org = orgs.new()
    _record(org, "email", timedelta(hours=2), "connection refused")
    _record(org, "email", timedelta(hours=1))
    result = Cli(server, org.key, tmp_path)("doctor")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    rows = _lines(result.stdout)
    assert list(rows) == ["email", "sms", "voice", "push", "slack", "teams", "webhook"]
    channel, status, success, failure, error, counts = rows["email"]
    assert (channel, status, error, counts) == (
        "email (SMTP)",
        "ok",
        "connection refused",
        "1 sent, 1 failed",
    )
    assert success.endswith("(1 h ago)") and failure.endswith("(2 h ago)")
    assert rows["sms"][:2] == ["sms (Twilio)", "not configured"]
    assert rows["push"] == ["push (ntfy)", "not used yet", "", "", "", "0 sent, 0 failed"]
    assert "No channel is failing." in result.stdout and "All checks passed." in result.stdout


def test_a_failing_channel_is_shown_and_exits_4(orgs: OrgFactory, server: str, tmp_path: Path) -> None:
    org = orgs.new()
    _record(org, "email", timedelta(minutes=40), "connection refused")
    _record(org, "email", timedelta(minutes=2), "SMTP 421 service not available")
    _record(org, "push", timedelta(minutes=1), "HTTP 502")  # one minute: not failing yet
    cli = Cli(server, org.key, tmp_path)
    result = cli("doctor")
    assert result.exit_code == 4, (result.stdout, result.stderr)
    rows = _lines(result.stdout)
    assert rows["email"][1] == "FAILING" and rows["email"][4:] == [
        "SMTP 421 service not available",
        "0 sent, 2 failed",
    ]
    assert rows["push"][1] == "ok (last attempt failed)"
    text = " ".join(result.stdout.split())
    assert "email (SMTP) has failed since" in text and "(40 min ago) with no success" in text
    assert "SMTP 421 service not available" in text and "Problems found." in text
    assert "push (ntfy) has failed" not in text

    shown = cli("doctor", "--json")
    assert shown.exit_code == 4
    body = json.loads(shown.stdout)
    assert body["ok"] is False and body["channels"]["failing_after_minutes"] == 5
    by_name = {entry["channel"]: entry for entry in body["channels"]["channels"]}
    assert by_name["email"]["status"] == "failing" and by_name["push"]["status"] == "ok"
    assert by_name["email"]["last_24h"] == {"succeeded": 0, "failed": 2}

    # The test mode of the same org has its own channels: nothing failed there.
    assert Cli(server, org.test_mode().key, tmp_path)("doctor").exit_code == 0
