"""The client CLI's parts that need no server: the config file writer, where settings come from,
what people type (times, incident numbers), Retry-After, help examples, and the rule that the
client commands never load the server's database code."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import click
import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from tocsin.cli import client, config
from tocsin.cli.events import Severity
from tocsin.cli.main import app
from tocsin.cli.when import parse_duration, parse_when
from tocsin.domain.incident import SEVERITIES

NOW = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=20),
        st.dictionaries(st.text(max_size=10), st.text(max_size=60), max_size=3),
        max_size=3,
    )
)
def test_config_writer_round_trips_any_text(profiles: dict[str, dict[str, str]]) -> None:
    assert config.loads(config.dumps(profiles)) == profiles


@pytest.mark.parametrize(
    "value", ['a"b', "back\\slash", "new\nline", "tab\t", "\x00\x1f\x7f", "ünïcødé ☃", "'''", '"""', "#x"]
)
def test_config_writer_escapes_what_toml_needs(value: str) -> None:
    text = config.dumps({value: {"url": value, "api_key": value}})
    assert tomllib.loads(text)["profiles"][value] == {"url": value, "api_key": value}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    for name in ("TOCSIN_URL", "TOCSIN_API_KEY", "TOCSIN_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_save_keeps_other_profiles_and_stays_owner_only(home: Path) -> None:
    config.save_profile("default", {"url": "http://a", "api_key": "k1"})
    path = config.save_profile("work", {"url": "http://b", "api_key": "k2"})
    assert path == home / "tocsin" / "config.toml"
    assert path.stat().st_mode & 0o777 == 0o600
    config.save_profile("default", {"url": "http://c", "api_key": "k3"})
    assert config.load() == {
        "default": {"url": "http://c", "api_key": "k3"},
        "work": {"url": "http://b", "api_key": "k2"},
    }
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]  # no temporary files left


def test_settings_come_from_flags_then_environment_then_the_file(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.target() == client.Target(client.DEFAULT_URL, None, "default", "nowhere")
    config.save_profile("default", {"url": "http://file", "api_key": "file-key"})
    config.save_profile("work", {"url": "http://work", "api_key": "work-key"})
    assert client.target() == client.Target(
        "http://file", "file-key", "profile 'default'", "profile 'default'"
    )
    monkeypatch.setenv("TOCSIN_API_KEY", "env-key")
    found = client.target()
    assert (found.url, found.key, found.key_from) == ("http://file", "env-key", "TOCSIN_API_KEY")
    assert client.target(profile="work").key == "work-key"  # an explicit --profile wins over the env
    assert client.target(key="flag-key", profile="work").key == "flag-key"
    monkeypatch.setenv("TOCSIN_PROFILE", "work")
    assert client.target().url == "http://work" and client.target().key == "env-key"


def test_a_broken_config_file_is_a_usage_error(home: Path) -> None:
    path = home / "tocsin" / "config.toml"
    path.parent.mkdir()
    path.write_text("[profiles.default\nurl = 1\n")
    with pytest.raises(typer.Exit) as raised:
        config.load()
    assert raised.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "past", "expected"),
    [
        ("2h", False, NOW + timedelta(hours=2)),
        ("2h", True, NOW - timedelta(hours=2)),
        ("-30m", False, NOW - timedelta(minutes=30)),
        ("+1d", True, NOW + timedelta(days=1)),
        ("3d ago", False, NOW - timedelta(days=3)),
        ("now", True, NOW),
        ("2024-03-30T09:00:00Z", True, datetime(2024, 3, 30, 9, tzinfo=UTC)),
    ],
)
def test_relative_times(text: str, past: bool, expected: datetime) -> None:
    assert parse_when(text, NOW, past=past) == expected


def test_durations() -> None:
    assert parse_duration("90m") == timedelta(minutes=90)
    for bad in ("-1h", "soon", "2"):
        with pytest.raises(ValueError):
            parse_duration(bad)


@pytest.mark.parametrize(("ref", "path"), [("#42", "42"), ("42", "42"), (" 7 ", "7"), ("inc_01J", "inc_01J")])
def test_incident_numbers_and_ids(ref: str, path: str) -> None:
    assert client.incident_path(ref) == path


@pytest.mark.parametrize(
    ("header", "seconds"), [(None, 1.0), ("3", 3.0), ("0", 0.0), ("9999", 60.0), ("x", 1.0)]
)
def test_retry_after(header: str | None, seconds: float) -> None:
    assert client.retry_after(header) == seconds


def test_retry_after_as_an_http_date() -> None:
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 <= client.retry_after(later.strftime("%a, %d %b %Y %H:%M:%S GMT")) <= 30


def test_severities_match_the_domain() -> None:
    assert get_args(Severity) == SEVERITIES


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


@pytest.mark.parametrize("path", _commands(typer.main.get_group(app)), ids=lambda p: " ".join(p) or "tocsin")
def test_every_command_help_has_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "Example: " in text
    assert " ".join(("tocsin", *path)) in text.split("Example: ", 1)[1]


def test_client_commands_never_load_the_servers_database_code() -> None:
    modules = [
        "account",
        "client",
        "config",
        "directory",
        "doctor",
        "doctor.channels",
        "doctor.readiness",
        "events",
        "incidents",
        "keys",
        "refs",
        "schedules",
    ]
    code = (
        "import sys\n"
        + "".join(f"import tocsin.cli.{name}\n" for name in modules)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy' or "
        "m.startswith(('tocsin.db', 'tocsin.services', 'tocsin.api', 'tocsin.engine')))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
