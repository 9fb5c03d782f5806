"""The admin CLI run as an operator would: against a real SQLite file, settings from TOCSIN_* vars."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from typer.testing import CliRunner, Result

from tocsin.cli.main import app
from tocsin.config import get_settings
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.domain.scopes import SCOPES
from tocsin.services.access import keys, orgs
from tocsin.services.people import users


@dataclass
class Cli:
    url: str
    home: Path
    runner: CliRunner

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args))

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)

    def database(self) -> Database:
        return Database(self.url, sqlite_synchronous="NORMAL")


@pytest.fixture
def bare_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The CLI pointed at a fresh, unmigrated SQLite file, run from an empty working directory."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOCSIN_DATABASE_URL", url)
    monkeypatch.setenv("TOCSIN_SQLITE_SYNCHRONOUS", "NORMAL")
    get_settings.cache_clear()
    yield Cli(url, tmp_path, CliRunner())
    get_settings.cache_clear()


@pytest.fixture
def cli(bare_cli: Cli) -> Cli:
    bare_cli.ok("migrate")
    return bare_cli


def _authenticate(cli: Cli, secret: str) -> keys.KeyRecord | None:
    db = cli.database()
    try:
        with db.read() as session:
            return keys.authenticate(session=session, secret=secret)
    finally:
        db.dispose()


def _org_id(cli: Cli, slug: str) -> str:
    db = cli.database()
    try:
        with db.read() as session:
            return orgs.get_org_by_slug(session=session, slug=slug).id
    finally:
        db.dispose()


def test_migrate_is_repeatable(bare_cli: Cli) -> None:
    assert "latest schema" in bare_cli.ok("migrate").stdout
    bare_cli.ok("migrate")


def test_commands_before_migrate_fail_with_a_hint(bare_cli: Cli) -> None:
    result = bare_cli("org", "create", "acme", "--name", "Acme")
    assert result.exit_code == 1
    assert result.stderr.startswith("DATABASE_ERROR:")
    assert "tocsin migrate" in result.stderr


def test_org_create(cli: Cli) -> None:
    org = cli.json("org", "create", "acme", "--name", "Acme Corp")
    assert org["slug"] == "acme"
    assert org["name"] == "Acme Corp"
    assert org["id"].startswith("org_")
    assert _org_id(cli, "acme") == org["id"]
    assert "Created org beta" in cli.ok("org", "create", "beta", "--name", "Beta").stdout


def test_org_show_prints_the_api_id(cli: Cli) -> None:
    created = cli.json("org", "create", "acme", "--name", "Acme Corp")
    shown = cli.json("org", "show", "acme")
    assert shown == created
    assert len(shown["api_id"]) == 12
    assert f"api_id:     {shown['api_id']}" in cli.ok("org", "show", "acme").stdout
    missing = cli("org", "show", "nope")
    assert missing.exit_code == 1
    assert missing.stderr.startswith("NOT_FOUND:")


def test_duplicate_org_slug_fails_with_its_code(cli: Cli) -> None:
    cli.ok("org", "create", "acme", "--name", "Acme Corp")
    result = cli("org", "create", "acme", "--name", "Other")
    assert result.exit_code == 1
    assert result.stderr.strip() == "CONFLICT: an org with slug 'acme' already exists"


def test_bad_org_slug_is_a_validation_error(cli: Cli) -> None:
    result = cli("org", "create", "Not A Slug", "--name", "x")
    assert result.exit_code == 1
    assert result.stderr.startswith("VALIDATION_ERROR: slug must be")


def test_key_create_json_authenticates_with_all_scopes(cli: Cli) -> None:
    cli.ok("org", "create", "acme", "--name", "Acme Corp")
    created = cli.json("keys", "create", "--org", "acme", "--name", "admin")
    assert created["key"].startswith("sk_live_")
    assert created["livemode"] is True
    assert set(created["scopes"]) == set(SCOPES)
    record = _authenticate(cli, created["key"])
    assert record is not None
    assert record.id == created["id"]
    assert record.org_id == _org_id(cli, "acme")
    assert record.scopes == frozenset(SCOPES)
    assert record.user_id is None
    assert record.actor.name == "admin"


def test_key_create_plain_output_prints_the_secret_once(cli: Cli) -> None:
    cli.ok("org", "create", "acme", "--name", "Acme Corp")
    lines = cli.ok("keys", "create", "--org", "acme", "--name", "admin").stdout.splitlines()
    [secret] = [line for line in lines if line.startswith("sk_live_")]
    assert _authenticate(cli, secret) is not None


def test_test_key_with_chosen_scopes(cli: Cli) -> None:
    cli.ok("org", "create", "acme", "--name", "Acme Corp")
    created = cli.json(
        "keys", "create", "--org", "acme", "--name", "am", "--scope", "events:write", "--scope",
        "incidents:read", "--test",
    )  # fmt: skip
    assert created["key"].startswith("sk_test_")
    assert created["livemode"] is False
    assert sorted(created["scopes"]) == ["events:write", "incidents:read"]
    record = _authenticate(cli, created["key"])
    assert record is not None
    assert record.livemode is False
    assert record.scopes == frozenset({"events:write", "incidents:read"})


def test_unknown_scope_is_refused(cli: Cli) -> None:
    cli.ok("org", "create", "acme", "--name", "Acme Corp")
    result = cli("keys", "create", "--org", "acme", "--name", "x", "--scope", "incidents:delete")
    assert result.exit_code == 1
    assert result.stderr.strip() == "VALIDATION_ERROR: unknown scopes: incidents:delete"


def test_key_for_unknown_org(cli: Cli) -> None:
    result = cli("keys", "create", "--org", "nope", "--name", "x")
    assert result.exit_code == 1
    assert result.stderr.startswith("NOT_FOUND: org 'nope' not found")


def test_user_key_acts_as_the_user(cli: Cli) -> None:
    cli.ok("org", "create", "acme", "--name", "Acme Corp")
    db = cli.database()
    try:
        with db.write() as session:
            user = users.create_user(
                session=session,
                tenant=Tenant(_org_id(cli, "acme"), True),
                now=datetime.now(UTC),
                name="Alice Smith",
                email="alice@acme.test",
            )
            user_id = user.id
    finally:
        db.dispose()
    created = cli.json("keys", "create", "--org", "acme", "--name", "alice cli", "--user", "ALICE@acme.test")
    assert created["user_id"] == user_id
    record = _authenticate(cli, created["key"])
    assert record is not None
    assert record.actor.type == "user"
    assert record.actor.name == "Alice Smith"
    # Users are per mode: the live user does not exist for a test key.
    result = cli("keys", "create", "--org", "acme", "--name", "x", "--user", "alice@acme.test", "--test")
    assert result.exit_code == 2
    assert "alice@acme.test" in result.stderr
    assert "test mode" in result.stderr


def test_user_key_for_unknown_email_fails_and_creates_nothing(cli: Cli) -> None:
    cli.ok("org", "create", "acme", "--name", "Acme Corp")
    result = cli("keys", "create", "--org", "acme", "--name", "x", "--user", "nobody@acme.test")
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == "NOT_FOUND: no user with email 'nobody@acme.test' in org 'acme' (live mode)"
    )
    db = cli.database()
    try:
        with db.read() as session:
            tenant = Tenant(_org_id(cli, "acme"), True)
            assert keys.list_keys(session=session, tenant=tenant, limit=10, offset=0).total == 0
    finally:
        db.dispose()


def test_org_limits_set_show_and_reset(cli: Cli) -> None:
    cli.ok("org", "create", "acme", "--name", "Acme Corp")
    shown = cli.json("org", "limits", "acme", "--events", "1000/minute", "--org-alerts", "50/5 minutes")
    assert shown["rate_limits"] == {"events": "1000/minute", "org_alerts": "50/5 minutes"}
    assert "events = 1000/minute" in cli.ok("org", "limits", "acme").stdout
    shown = cli.json("org", "limits", "acme", "--events", "default")
    assert shown["rate_limits"] == {"org_alerts": "50/5 minutes"}
    assert _authenticate(cli, cli.json("keys", "create", "--org", "acme", "--name", "k")["key"]) is not None


def test_org_limits_bad_value_fails_clearly_and_changes_nothing(cli: Cli) -> None:
    cli.ok("org", "create", "acme", "--name", "Acme Corp")
    cli.ok("org", "limits", "acme", "--read", "10/second")
    result = cli("org", "limits", "acme", "--events", "lots", "--write", "5/minute")
    assert result.exit_code == 1
    assert result.stderr.strip() == "VALIDATION_ERROR: 'lots' is not a limit such as '100/minute'"
    assert cli.json("org", "limits", "acme")["rate_limits"] == {"read": "10/second"}


def test_org_limits_for_unknown_org(cli: Cli) -> None:
    result = cli("org", "limits", "nope", "--events", "1/minute")
    assert result.exit_code == 1
    assert result.stderr.startswith("NOT_FOUND:")


def test_demo_keeps_one_key_in_an_owner_only_file(cli: Cli) -> None:
    key_file = cli.home / "demo-key"
    first = cli.ok("demo", "--print-quickstart", "--key-file", str(key_file)).stdout
    secret = key_file.read_text().strip()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert f'-H "Authorization: Bearer {secret}"' in first
    assert "curl -X POST http://127.0.0.1:8080/api/events" in first
    assert '"dedup_key": "high-cpu-web01"' in first
    assert 'curl -X GET "http://127.0.0.1:8080/api/incidents?status=OPEN"' in first
    assert '"event_action": "acknowledge"' in first
    assert "http://127.0.0.1:8080/docs" in first
    record = _authenticate(cli, secret)
    assert record is not None
    assert record.scopes == frozenset(SCOPES)
    assert record.livemode is True

    again = cli.json("demo", "--key-file", str(key_file))
    assert again["key"] == secret
    assert again["created"] == []

    key_file.write_text("sk_live_not-a-real-key\n")
    replaced = cli.json("demo", "--key-file", str(key_file))
    assert replaced["key"] != secret
    assert key_file.read_text().strip() == replaced["key"]
    assert _authenticate(cli, replaced["key"]) is not None


@pytest.mark.parametrize(
    "command",
    [
        ["migrate"],
        ["serve"],
        ["demo"],
        ["org", "create"],
        ["org", "limits"],
        ["keys", "create"],
    ],
)
def test_every_command_help_shows_an_example(bare_cli: Cli, command: list[str]) -> None:
    text = " ".join(bare_cli.ok(*command, "--help").stdout.split())
    assert "Example: " in text
    assert f"tocsin {' '.join(command)}" in text.split("Example: ", 1)[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.e2e
def test_serve_answers_http(cli: Cli) -> None:
    port = _free_port()
    env = {**os.environ, "TOCSIN_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [sys.executable, "-m", "tocsin.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else b""
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "tocsin serve did not start within 20 s"
                time.sleep(0.1)
        assert response.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/api/incidents", timeout=5).status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout:
            server.stdout.close()
