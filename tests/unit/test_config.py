"""Settings' derived defaults: the database file does not depend on the current folder, and the
base URL follows the address the server listens on unless it is set."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from tocsin.config import Settings, data_directory, local_base_url
from tocsin.engine.app import channels_from


@pytest.fixture(autouse=True)
def _no_tocsin_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("TOCSIN_DATABASE_URL", "TOCSIN_BASE_URL", "TOCSIN_HOST", "TOCSIN_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no .env here


def test_the_default_database_is_under_xdg_data_home(tmp_path: Path) -> None:
    settings = Settings()
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'tocsin' / 'tocsin.db'}"
    assert not (tmp_path / "data").exists()  # made by the commands that open it, not by reading settings
    settings.create_data_directory()
    assert (tmp_path / "data" / "tocsin").is_dir()
    assert (tmp_path / "data" / "tocsin").stat().st_mode & 0o777 == 0o700


def test_without_xdg_data_home_the_database_is_under_local_share(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_DATA_HOME")
    assert data_directory() == Path.home() / ".local" / "share" / "tocsin"


def test_a_relative_xdg_data_home_is_ignored_as_the_spec_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "relative/data")
    assert data_directory() == Path.home() / ".local" / "share" / "tocsin"


def test_an_explicit_database_url_is_kept_and_no_folder_is_made(tmp_path: Path) -> None:
    settings = Settings(database_url="sqlite:///./here.db")
    assert settings.database_url == "sqlite:///./here.db"
    settings.create_data_directory()
    assert not (tmp_path / "data").exists()


def test_the_environment_sets_the_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOCSIN_DATABASE_URL", "postgresql+psycopg://u@db/tocsin")
    assert Settings().database_url == "postgresql+psycopg://u@db/tocsin"


def test_a_dot_env_file_in_the_current_folder_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TOCSIN_PORT=9100\n")
    assert Settings().base_url == "http://127.0.0.1:9100"


def test_the_base_url_follows_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().base_url == "http://127.0.0.1:8080"
    monkeypatch.setenv("TOCSIN_PORT", "9099")
    assert Settings().base_url == "http://127.0.0.1:9099"
    monkeypatch.setenv("TOCSIN_HOST", "oncall.internal")
    assert Settings().base_url == "http://oncall.internal:9099"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8080"),
        ("::", "http://[::1]:8080"),
        ("::1", "http://[::1]:8080"),
        ("192.0.2.7", "http://192.0.2.7:8080"),
        ("localhost", "http://localhost:8080"),
    ],
)
def test_a_wildcard_address_is_shown_as_loopback(host: str, url: str) -> None:
    assert local_base_url(host, 8080) == url


def test_a_set_base_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOCSIN_BASE_URL", "https://tocsin.example.com")
    monkeypatch.setenv("TOCSIN_PORT", "9099")
    settings = Settings()
    assert settings.base_url == "https://tocsin.example.com"
    assert settings.listening_on("0.0.0.0", 9200).base_url == "https://tocsin.example.com"


def test_serve_options_move_a_derived_base_url() -> None:
    moved = Settings().listening_on("0.0.0.0", 9200)
    assert (moved.host, moved.port, moved.base_url) == ("0.0.0.0", 9200, "http://127.0.0.1:9200")


def test_a_port_that_is_not_a_number_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOCSIN_PORT", "eighty")
    with pytest.raises(ValidationError, match="port"):
        Settings()


def test_a_derived_base_url_follows_https_when_serving_tls() -> None:
    settings = Settings(database_url="sqlite:///x.db", host="127.0.0.1", port=8443)
    assert settings.listening_on("0.0.0.0", 8443, https=True).base_url == "https://127.0.0.1:8443"
    explicit = Settings(database_url="sqlite:///x.db", base_url="https://tocsin.example.com")
    assert explicit.listening_on("0.0.0.0", 8443, https=True).base_url == "https://tocsin.example.com"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, {"push", "slack", "teams", "webhook"}),
        ({"smtp_host": "mail.example.com"}, {"email", "push", "slack", "teams", "webhook"}),
        (
            {"twilio_account_sid": "AC1", "twilio_auth_token": "t", "twilio_from_number": "+15550001111"},
            {"sms", "voice", "push", "slack", "teams", "webhook"},
        ),
        ({"twilio_account_sid": "AC1", "twilio_auth_token": "t"}, {"push", "slack", "teams", "webhook"}),
    ],
)
def test_channel_types_are_the_channels_the_engine_builds(values: dict[str, str], expected: set[str]) -> None:
    """Readiness reads ``channel_types``; the engine sends through ``channels_from``: they agree."""
    settings = Settings(database_url="sqlite:///x.db", **values)  # type: ignore[arg-type]
    assert settings.channel_types() == expected

    async def built() -> frozenset[str]:
        async with httpx.AsyncClient() as http:
            return channels_from(settings, http).configured

    assert asyncio.run(built()) == expected
