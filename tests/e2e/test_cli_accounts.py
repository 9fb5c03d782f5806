"""``tocsin users add``, ``tocsin users password`` and the demo's sign-in, run as an operator would:
against a real SQLite file, the password piped or typed at a real terminal (a pty), and checked by
signing in with the services the web layer uses."""

from __future__ import annotations

import fcntl
import json
import os
import select
import stat
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.e2e.test_cli_admin import Cli
from tocsin.cli.main import app
from tocsin.config import get_settings
from tocsin.db.models import User
from tocsin.services.accounts.sessions import SignInFailed, SignInResult, authenticate, sign_in

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The CLI on a fresh, migrated SQLite file, with an org ``acme``."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOCSIN_DATABASE_URL", url)
    monkeypatch.setenv("TOCSIN_SQLITE_SYNCHRONOUS", "NORMAL")
    get_settings.cache_clear()
    runner = Cli(url, tmp_path, CliRunner())
    runner.ok("migrate")
    runner.ok("org", "create", "acme", "--name", "Acme")
    yield runner
    get_settings.cache_clear()


def _sign_in(cli: Cli, email: str, password: str) -> SignInResult:
    db = cli.database()
    try:
        with db.write() as session:
            return sign_in(session=session, email=email, password=password, now=datetime.now(UTC))
    finally:
        db.dispose()


def _signed_in(cli: Cli, token: str) -> bool:
    db = cli.database()
    try:
        with db.read() as session:
            return authenticate(session=session, token=token, now=datetime.now(UTC)) is not None
    finally:
        db.dispose()


def test_users_add_makes_a_person_who_cannot_sign_in_until_given_a_password(cli: Cli) -> None:
    added = cli.json(
        "users",
        "add",
        "--org",
        "acme",
        "--email",
        "Dana@Acme.test",
        "--name",
        "Dana Lee",
        "--role",
        "observer",
    )
    assert added["id"].startswith("usr_")
    assert {k: added[k] for k in ("org", "name", "email", "role", "time_zone")} == {
        "org": "acme",
        "name": "Dana Lee",
        "email": "dana@acme.test",
        "role": "observer",
        "time_zone": "UTC",
    }
    text = cli.ok("users", "add", "--org", "acme", "--email", "eve@acme.test", "--name", "Eve").stdout
    assert "Added Eve <eve@acme.test> to acme as user." in text
    assert "tocsin users password --org acme eve@acme.test" in text
    with pytest.raises(SignInFailed):
        _sign_in(cli, "dana@acme.test", PASSWORD)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--org", "nope", "--email", "x@acme.test", "--name", "X"], 1, "NOT_FOUND: org 'nope' not found"),
        (["--org", "acme", "--email", "dana@acme.test", "--name", "Again"], 1, "CONFLICT: a user with email"),
        (
            ["--org", "acme", "--email", "not-an-email", "--name", "X"],
            1,
            "VALIDATION_ERROR: 'not-an-email' is not",
        ),
        (["--org", "acme", "--email", "x@acme.test", "--name", "X", "--role", "owner"], 2, "owner"),
        (
            ["--org", "acme", "--email", "x@acme.test", "--name", "X", "--time-zone", "Mars/Base"],
            1,
            "VALIDATION_ERROR",
        ),
        (["--email", "x@acme.test", "--name", "X"], 2, "--org"),
    ],
)
def test_users_add_refuses_bad_input_and_changes_nothing(
    cli: Cli, args: list[str], code: int, message: str
) -> None:
    cli.ok("users", "add", "--org", "acme", "--email", "dana@acme.test", "--name", "Dana")
    result = cli("users", "add", *args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert message in " ".join(result.stderr.split())
    db = cli.database()
    try:
        with db.read() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    finally:
        db.dispose()


def test_a_piped_password_signs_the_person_in_and_their_old_sessions_out(cli: Cli) -> None:
    cli.ok("users", "add", "--org", "acme", "--email", "dana@acme.test", "--name", "Dana", "--role", "admin")
    done = cli.runner.invoke(
        app,
        ["users", "password", "--org", "acme", "DANA@acme.test", "--json"],
        input=PASSWORD + "\n",
    )
    assert done.exit_code == 0, (done.stdout, done.stderr)
    assert json.loads(done.stdout)["password_set"] is True
    first = _sign_in(cli, "dana@acme.test", PASSWORD)
    assert first.signed_in.role == "admin" and _signed_in(cli, first.token)
    # A new password (no trailing newline this time): the old one stops working, and so do sessions.
    again = cli.runner.invoke(
        app,
        ["users", "password", "--org", "acme", "dana@acme.test"],
        input="another long passphrase",
    )
    assert again.exit_code == 0, again.stderr
    assert "Password set for dana@acme.test in acme" in again.stdout
    assert not _signed_in(cli, first.token)
    with pytest.raises(SignInFailed):
        _sign_in(cli, "dana@acme.test", PASSWORD)
    assert _sign_in(cli, "dana@acme.test", "another long passphrase").token


@pytest.mark.parametrize(
    ("args", "piped", "code", "message"),
    [
        (
            ["--org", "acme", "dana@acme.test"],
            "short\n",
            2,
            "VALIDATION_ERROR: a password needs at least 12 characters",
        ),
        (["--org", "acme", "dana@acme.test"], "\n", 2, "VALIDATION_ERROR: a password needs at least 12"),
        (
            ["--org", "acme", "nobody@acme.test"],
            PASSWORD,
            1,
            "NOT_FOUND: no user with email 'nobody@acme.test'",
        ),
        (["--org", "nope", "dana@acme.test"], PASSWORD, 1, "NOT_FOUND: org 'nope' not found"),
    ],
)
def test_users_password_refuses_and_changes_nothing(
    cli: Cli, args: list[str], piped: str, code: int, message: str
) -> None:
    cli.ok("users", "add", "--org", "acme", "--email", "dana@acme.test", "--name", "Dana")
    result = cli.runner.invoke(app, ["users", "password", *args], input=piped)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert message in " ".join(result.stderr.split())
    with pytest.raises(SignInFailed):
        _sign_in(cli, "dana@acme.test", PASSWORD)


def _controlling_terminal() -> None:
    """In the child: make the pty (its stdin) the controlling terminal, so getpass opens /dev/tty."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _read_until(fd: int, wanted: str, seen: list[str]) -> str:
    """What the terminal showed, up to ``wanted``; the deadline only stops a hung test."""
    deadline = time.monotonic() + 60
    while wanted not in "".join(seen):
        assert time.monotonic() < deadline, f"never saw {wanted!r}; saw {''.join(seen)!r}"
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                seen.append(os.read(fd, 4096).decode(errors="replace"))
            except OSError:  # the child closed the terminal
                break
    return "".join(seen)


def _at_a_terminal(cli: Cli, typed: list[str]) -> tuple[int, str]:
    """Run ``tocsin users password`` with a real terminal; type ``typed`` at each prompt."""
    master, slave = os.openpty()
    env = {**os.environ, "TOCSIN_DATABASE_URL": cli.url, "TOCSIN_SQLITE_SYNCHRONOUS": "NORMAL"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tocsin.cli", "users", "password", "--org", "acme", "dana@acme.test"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=cli.home,
        start_new_session=True,
        preexec_fn=_controlling_terminal,
    )
    os.close(slave)
    seen: list[str] = []
    try:
        for prompt, text in zip(("New password:", "Repeat it:"), typed, strict=True):
            _read_until(master, prompt, seen)
            os.write(master, (text + "\n").encode())
        code = process.wait(timeout=120)
        try:
            while select.select([master], [], [], 0.2)[0]:
                seen.append(os.read(master, 4096).decode(errors="replace"))
        except OSError:
            pass
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return code, "".join(seen)


def test_at_a_terminal_the_password_is_typed_twice_and_never_echoed(cli: Cli) -> None:
    cli.ok("users", "add", "--org", "acme", "--email", "dana@acme.test", "--name", "Dana")
    code, screen = _at_a_terminal(cli, [PASSWORD, PASSWORD])
    assert code == 0, screen
    assert "Password set for dana@acme.test" in screen
    assert PASSWORD not in screen  # getpass turned echo off
    assert _sign_in(cli, "dana@acme.test", PASSWORD).token


def test_at_a_terminal_two_different_passwords_change_nothing(cli: Cli) -> None:
    cli.ok("users", "add", "--org", "acme", "--email", "dana@acme.test", "--name", "Dana")
    code, screen = _at_a_terminal(cli, [PASSWORD, PASSWORD + "!"])
    assert code == 2, screen
    assert "the two passwords differ; nothing was changed" in screen
    with pytest.raises(SignInFailed):
        _sign_in(cli, "dana@acme.test", PASSWORD)


def test_demo_prints_a_sign_in_kept_beside_the_key(cli: Cli) -> None:
    key_file, password_file = cli.home / "demo-key", cli.home / "demo-password"
    files = ["--key-file", str(key_file), "--password-file", str(password_file)]
    first = cli.ok("demo", "--print-quickstart", *files).stdout
    password = password_file.read_text().strip()
    assert stat.S_IMODE(os.stat(password_file).st_mode) == 0o600
    assert len(password) >= 12
    assert "Sign in\n  Web UI:   http://" in first  # Home answers at the base URL's "/"
    assert "/\n  Email:    alice@demo.tocsin.dev\n" in first
    assert f"  Password: {password}\n" in first
    assert f"new password, saved to {password_file}" in first
    signed = _sign_in(cli, "alice@demo.tocsin.dev", password)
    assert signed.signed_in.role == "admin" and signed.signed_in.org_slug == "demo"

    again = cli.json("demo", *files)
    assert again["sign_in"]["web_url"].endswith("/")
    assert {k: v for k, v in again["sign_in"].items() if k != "web_url"} == {
        "email": "alice@demo.tocsin.dev",
        "password": password,
        "password_file": str(password_file),
    }
    assert _signed_in(cli, signed.token)  # reusing the password signed nobody out
    assert f"reused from {password_file}" in cli.ok("demo", *files).stdout

    password_file.write_text("not the password at all\n")
    replaced = cli.json("demo", *files)["sign_in"]["password"]
    assert replaced != password and password_file.read_text().strip() == replaced
    assert _sign_in(cli, "alice@demo.tocsin.dev", replaced).token
    with pytest.raises(SignInFailed):
        _sign_in(cli, "alice@demo.tocsin.dev", password)


@pytest.mark.parametrize("command", [["users", "add"], ["users", "password"]])
def test_help_shows_an_example(cli: Cli, command: list[str]) -> None:
    text = " ".join(cli.ok(*command, "--help").stdout.split())
    assert (
        f"Example: tocsin {' '.join(command)} --org acme" in text
        or f"| tocsin {' '.join(command)} --org acme" in text
    )
