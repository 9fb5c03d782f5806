"""Where the admin CLI finds its database and which URLs it prints, with no TOCSIN_DATABASE_URL
or TOCSIN_BASE_URL set: the same file from any folder, links that follow TOCSIN_PORT."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from typer.testing import CliRunner, Result

from tests.factories.waiting import eventually
from tocsin.cli.main import app
from tocsin.config import get_settings


class Cli:
    """The CLI run in-process from a chosen folder, settings re-read on every run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.runner = CliRunner()

    def run(self, folder: Path, *args: str) -> Result:
        folder.mkdir(parents=True, exist_ok=True)
        self.monkeypatch.chdir(folder)
        get_settings.cache_clear()
        return self.runner.invoke(app, list(args))

    def ok(self, folder: Path, *args: str) -> Result:
        result = self.run(folder, *args)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    for name in ("TOCSIN_DATABASE_URL", "TOCSIN_BASE_URL", "TOCSIN_HOST", "TOCSIN_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("TOCSIN_SQLITE_SYNCHRONOUS", "NORMAL")
    yield Cli(monkeypatch)
    get_settings.cache_clear()


def test_every_folder_uses_the_one_database_under_xdg_data_home(cli: Cli, tmp_path: Path) -> None:
    database = tmp_path / "xdg" / "tocsin" / "tocsin.db"
    migrated = cli.ok(tmp_path / "project", "migrate")
    assert f"Database {database} is at the latest schema." in migrated.stdout
    assert database.is_file()
    assert (database.parent.stat().st_mode & 0o777) == 0o700

    cli.ok(tmp_path / "somewhere" / "else", "org", "create", "acme", "--name", "Acme")
    shown = cli.ok(tmp_path / "project", "org", "show", "acme")
    assert "acme" in shown.stdout
    assert list(tmp_path.rglob("*.db")) == [database]  # no stray file in the folders it ran from


def test_the_not_migrated_error_names_the_database_file(cli: Cli, tmp_path: Path) -> None:
    result = cli.run(tmp_path / "elsewhere", "org", "create", "acme", "--name", "Acme")
    assert result.exit_code == 1
    database = tmp_path / "xdg" / "tocsin" / "tocsin.db"
    assert result.stderr.startswith("DATABASE_ERROR: no such table: orgs")
    assert f"(database {database}: has `tocsin migrate` been run on it?)" in result.stderr


def test_a_relative_database_url_is_named_by_its_absolute_path(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_DATABASE_URL", "sqlite:///./local.db")
    result = cli.run(tmp_path / "here", "org", "create", "acme", "--name", "Acme")
    assert result.exit_code == 1
    assert f"(database {tmp_path / 'here' / 'local.db'}: " in result.stderr
    assert not (tmp_path / "xdg").exists()  # an explicit URL makes no data folder


def test_a_postgres_database_is_named_without_its_password() -> None:
    from tocsin.cli.common import database_location

    shown = database_location("postgresql+psycopg://tocsin:s3cret@db.internal:5432/tocsin")
    assert shown == "postgresql+psycopg://tocsin:***@db.internal:5432/tocsin"


def test_the_quickstart_follows_tocsin_port(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_PORT", "9099")
    monkeypatch.setenv("TOCSIN_HOST", "0.0.0.0")
    folder = tmp_path / "project"
    cli.ok(folder, "migrate")
    printed = cli.ok(folder, "demo", "--print-quickstart", "--key-file", str(tmp_path / "key")).stdout
    assert "curl -X POST http://127.0.0.1:9099/api/events" in printed
    assert "http://127.0.0.1:9099/docs" in printed
    assert "http://127.0.0.1:9099/integrations/v1/alertmanager/" in printed
    assert ":8080" not in printed and "0.0.0.0" not in printed


def test_a_set_base_url_is_what_the_quickstart_prints(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_PORT", "9099")
    monkeypatch.setenv("TOCSIN_BASE_URL", "https://oncall.example.com/")
    folder = tmp_path / "project"
    cli.ok(folder, "migrate")
    printed = cli.ok(folder, "demo", "--print-quickstart", "--key-file", str(tmp_path / "key")).stdout
    assert "curl -X POST https://oncall.example.com/api/events" in printed
    assert "9099" not in printed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.e2e
def test_serve_port_option_moves_the_links_the_server_builds(cli: Cli, tmp_path: Path) -> None:
    """``tocsin serve --port`` with no TOCSIN_BASE_URL: the integration URLs the API hands out
    name the port it listens on, not the default 8080."""
    folder = tmp_path / "project"
    cli.ok(folder, "migrate")
    demo = json.loads(cli.ok(folder, "demo", "--json", "--key-file", str(tmp_path / "key")).stdout)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tocsin.cli", "serve", "--port", str(port)],
        env={**os.environ, "TOCSIN_LOG_LEVEL": "WARNING"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert eventually(lambda: server.poll() is not None or _answers(f"{base}/healthz"), seconds=30)
        assert server.poll() is None, server.stdout.read() if server.stdout else b""
        listed = httpx.get(
            f"{base}/api/services/{demo['service_ids']['payment-api']}/integrations",
            headers={"Authorization": f"Bearer {demo['key']}"},
            timeout=5,
        )
        assert listed.status_code == 200, listed.text
        assert f"{base}/integrations/v1/alertmanager/payment-api-alertmanager/" in listed.text
        assert ":8080" not in listed.text
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout:
            server.stdout.close()
