"""The on-call commands as a person runs them: the CLI against a live HTTP server. The server and
``Cli`` helpers here serve the other ``test_cli_*`` client tests too."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner, Result

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.cli.main import app as cli_app
from tocsin.db.session import Database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(app: Any, port: int | None = None) -> Iterator[str]:
    """A real uvicorn server in a thread, serving ``app``; yields its base URL. Pass ``port``
    (from ``free_port()``) when the app must know its own URL first (``TOCSIN_BASE_URL``)."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_url(db_url: str, database: Database) -> Iterator[str]:
    """A real uvicorn server in a thread, on the test database."""
    with running_server(create_app(settings_for(db_url), database=database)) as url:
        yield url


class Cli:
    """The CLI run in-process against ``url`` with ``key``; ``config_home`` stands in for
    ``~/.config`` so that no test reads or writes the real one."""

    def __init__(self, url: str, key: str, config_home: Path) -> None:
        self.runner = CliRunner()
        self.config_home = config_home
        self.env: dict[str, str | None] = {
            "TOCSIN_URL": url,
            "TOCSIN_API_KEY": key,
            "TOCSIN_PROFILE": None,
            "XDG_CONFIG_HOME": str(config_home),
            "COLUMNS": "200",
        }

    def __call__(
        self, *args: str, env: dict[str, str | None] | None = None, input: str | None = None
    ) -> Result:
        return self.runner.invoke(cli_app, list(args), env={**self.env, **(env or {})}, input=input)


@pytest.fixture
def world(orgs: OrgFactory, live_url: str, tmp_path: Path) -> tuple[OrgHandle, Cli, dict[str, str]]:
    """An org with a two-person daily rotation (Alice then Bob, handoff 09:00 UTC) started yesterday."""
    org = orgs.new()
    alice = org.make_user("Alice Smith", email=f"alice-{org.slug}@example.com")
    bob = org.make_user("Bob Jones", email=f"bob-{org.slug}@example.com")
    day = 24 * 3600
    start = time.strftime("%Y-%m-%dT09:00:00Z", time.gmtime(time.time() - 2 * day))
    response = org.post(
        "/api/schedules",
        json={
            "name": "Payment API primary",
            "time_zone": "UTC",
            "layers": [
                {"users": [alice, bob], "rotation_unit": "days", "rotation_length": 1, "start": start}
            ],
        },
    )
    assert response.status_code == 201, response.text
    return (
        org,
        Cli(live_url, org.key, tmp_path / "config"),
        {"alice": alice, "bob": bob, "schedule": response.json()["data"]["id"]},
    )


def _now_on_call(org: OrgHandle, schedule_id: str) -> list[str]:
    return [entry["user"]["id"] for entry in org.get(f"/api/schedules/{schedule_id}/on-call").json()["data"]]


def test_oncall_by_name_as_a_table_and_as_json(world: Any) -> None:
    org, cli, ids = world
    [expected] = _now_on_call(org, ids["schedule"])
    name = "Alice Smith" if expected == ids["alice"] else "Bob Jones"
    table = cli("oncall", "Payment API primary")
    assert table.exit_code == 0, table.output
    assert name in table.output and "Via" in table.output
    as_json = cli("oncall", ids["schedule"], "--json")
    assert as_json.exit_code == 0
    assert '"id": "' + expected + '"' in as_json.output


def test_oncall_across_schedules_and_at_a_relative_time(world: Any) -> None:
    org, cli, ids = world
    everyone = cli("oncall")
    assert everyone.exit_code == 0 and "Payment API primary" in everyone.output
    now_user = _now_on_call(org, ids["schedule"])[0]
    later = cli("oncall", "Payment API primary", "--at", "1d", "--json")
    other = ids["bob"] if now_user == ids["alice"] else ids["alice"]
    assert later.exit_code == 0 and other in later.output


def test_take_shift_by_email(world: Any) -> None:
    org, cli, ids = world
    [current] = _now_on_call(org, ids["schedule"])
    taker = ids["bob"] if current == ids["alice"] else ids["alice"]
    email = org.get(f"/api/users/{taker}").json()["data"]["email"]
    result = cli("schedules", "take-shift", "Payment API primary", "--user", email, "--until", "3h")
    assert result.exit_code == 0, result.output
    assert "Override ovr_" in result.output
    assert _now_on_call(org, ids["schedule"]) == [taker]


@pytest.mark.parametrize(
    ("args", "env", "code", "text"),
    [
        (["oncall", "No such schedule"], {}, 1, "NOT_FOUND"),
        (["oncall"], {"TOCSIN_API_KEY": "sk_live_wrong"}, 1, "UNAUTHORIZED"),
        (["oncall"], {"TOCSIN_API_KEY": ""}, 2, "no API key"),
        (["oncall", "--at", "next tuesday"], {}, 2, "--at"),
        (["oncall"], {"TOCSIN_URL": "http://127.0.0.1:9"}, 3, "UNREACHABLE"),
        (
            ["schedules", "take-shift", "Payment API primary", "--user", "nobody@example.com"],
            {},
            1,
            "NOT_FOUND",
        ),
    ],
)
def test_errors_print_one_line_and_exit_with_the_documented_code(
    world: Any, args: list[str], env: dict[str, str], code: int, text: str
) -> None:
    _, cli, _ = world
    result = cli(*args, env=env)
    assert result.exit_code == code, result.output
    assert text in result.output
