"""``tocsin serve`` over HTTPS: a self-signed certificate made here with the ``openssl`` command,
the server started as an operator would (the options, or TOCSIN_SSL_* in the environment), and an
event posted over https by httpx verifying against that certificate. Bad TLS settings end the
command with exit code 2 and one clear line, before anything listens."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx
import pytest
from typer.testing import CliRunner

from tests.factories.waiting import eventually
from tocsin.cli.main import app
from tocsin.config import get_settings
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.domain.scopes import SCOPES
from tocsin.services.access import keys, orgs


def _self_signed(directory: Path, name: str = "server") -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its unencrypted key."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _admin_key(url: str) -> str:
    """An admin key of a new org on the migrated database at ``url``."""
    database = Database(url, sqlite_synchronous="NORMAL")
    try:
        with database.write() as session:
            now = datetime.now(UTC)
            slug = f"tls-{uuid.uuid4().hex[:8]}"
            org = orgs.create_org(session=session, slug=slug, name=slug, now=now)
            _, secret = keys.create_key(
                session=session, tenant=Tenant(org.id, True), name="admin", scopes=SCOPES, now=now
            )
        return secret
    finally:
        database.dispose()


def _serve(url: str, port: int, options: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tocsin.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    environment = {**os.environ, "TOCSIN_DATABASE_URL": url, "TOCSIN_LOG_LEVEL": "WARNING", **env}
    return subprocess.Popen(
        [*command, *options], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


@pytest.fixture
def stop() -> Iterator[list[subprocess.Popen[bytes]]]:
    servers: list[subprocess.Popen[bytes]] = []
    yield servers
    for server in servers:
        server.terminate()
        server.wait(timeout=20)
        if server.stdout:
            server.stdout.close()


@pytest.mark.e2e
@pytest.mark.parametrize("given_by", ["options", "environment"])
def test_an_event_over_https(
    tmp_path: Path, db_url: str, stop: list[subprocess.Popen[bytes]], given_by: str
) -> None:
    """On SQLite and PostgreSQL (``db_url``), the certificate given either way."""
    cert, key = _self_signed(tmp_path)
    secret = _admin_key(db_url)
    routing_key = f"rk-{uuid.uuid4().hex}"
    port = _free_port()
    if given_by == "options":
        server = _serve(db_url, port, ["--ssl-certfile", str(cert), "--ssl-keyfile", str(key)], {})
    else:
        server = _serve(db_url, port, [], {"TOCSIN_SSL_CERTFILE": str(cert), "TOCSIN_SSL_KEYFILE": str(key)})
    stop.append(server)
    trusted = ssl.create_default_context(cafile=str(cert))
    base = f"https://127.0.0.1:{port}"

    def healthy() -> bool:
        assert server.poll() is None, server.stdout.read() if server.stdout else b""
        try:
            return httpx.get(f"{base}/healthz", verify=trusted, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    assert eventually(healthy, seconds=30), "tocsin serve did not answer https within 30 s"
    with httpx.Client(base_url=base, verify=trusted, timeout=10) as client:
        auth = {"Authorization": f"Bearer {secret}"}
        created = client.post(
            "/api/services",
            headers=auth,
            json={"name": "Payments", "integrations": [{"name": "Events", "routing_key": routing_key}]},
        )
        assert created.status_code == 201, created.text
        event = {
            "routing_key": routing_key,
            "event_action": "trigger",
            "payload": {"summary": "Disk full over TLS", "severity": "critical", "source": "db-01"},
        }
        accepted = client.post("/api/events", headers=auth, json=event)
        assert accepted.status_code == 202, accepted.text
        listed = client.get("/api/incidents", headers=auth).json()["data"]
        assert [incident["title"] for incident in listed] == ["Disk full over TLS"]
    with pytest.raises(httpx.TransportError):  # a client that does not trust the certificate
        httpx.get(f"{base}/healthz", timeout=5)
    with pytest.raises(httpx.TransportError):  # nor is plain http served on that port
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=3)


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The CLI on a database it never reaches: the TLS check comes first."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOCSIN_DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    for name in ("TOCSIN_SSL_CERTFILE", "TOCSIN_SSL_KEYFILE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _refused(runner: CliRunner, *options: str) -> str:
    result = runner.invoke(app, ["serve", "--port", str(_free_port()), *options])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("INVALID_TLS_CONFIG: "), result.stderr
    return " ".join(result.stderr.split())


def test_bad_tls_settings_fail_before_serving(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _self_signed(tmp_path)
    other_cert, other_key = _self_signed(tmp_path, "other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    missing = tmp_path / "nowhere.pem"

    assert "--ssl-keyfile (TOCSIN_SSL_KEYFILE) is not set" in _refused(runner, "--ssl-certfile", str(cert))
    assert "--ssl-certfile (TOCSIN_SSL_CERTFILE) is not set" in _refused(runner, "--ssl-keyfile", str(key))
    message = _refused(runner, "--ssl-certfile", str(missing), "--ssl-keyfile", str(key))
    assert f"Cannot read the TLS certificate file {missing}" in message
    message = _refused(runner, "--ssl-certfile", str(cert), "--ssl-keyfile", str(tmp_path))
    assert f"Cannot read the TLS private key file {tmp_path}" in message  # a directory
    message = _refused(runner, "--ssl-certfile", str(garbage), "--ssl-keyfile", str(key))
    assert "are not a PEM certificate and its unencrypted private key" in message
    message = _refused(runner, "--ssl-certfile", str(cert), "--ssl-keyfile", str(other_key))  # not its key
    assert "are not a PEM certificate and its unencrypted private key" in message
    encrypted = tmp_path / "encrypted.key"
    subprocess.run(
        ["openssl", "pkey", "-in", str(key), "-aes256", "-passout", "pass:secret", "-out", str(encrypted)],
        check=True,
        capture_output=True,
    )
    message = _refused(runner, "--ssl-certfile", str(cert), "--ssl-keyfile", str(encrypted))
    assert "unencrypted private key" in message
    monkeypatch.setenv("TOCSIN_SSL_CERTFILE", str(other_cert))  # the environment is checked the same way
    get_settings.cache_clear()
    assert "--ssl-keyfile (TOCSIN_SSL_KEYFILE) is not set" in _refused(runner)
