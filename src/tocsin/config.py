"""Settings, read once from the environment (prefix ``TOCSIN_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob an operator may turn. Defaults make ``tocsin serve`` work on a laptop."""

    model_config = SettingsConfigDict(env_prefix="TOCSIN_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./tocsin.db"
    # FULL keeps a 202-answered event through a power cut, not just a process crash.
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    redis_url: str | None = None
    base_url: str = "http://127.0.0.1:8080"

    host: str = "127.0.0.1"
    port: int = 8080

    max_body_bytes: int = Field(default=1024 * 1024, gt=0)

    ratelimit_events: str = "100/minute"
    ratelimit_read: str = "300/minute"
    ratelimit_write: str = "100/minute"
    ratelimit_integration: str = "300/5 minutes"
    ratelimit_org_alerts: str = "500/5 minutes"

    # How long a resolved key or routing key is trusted from memory. A revoked key stops
    # working on this replica at once and on the others within this many seconds.
    auth_cache_seconds: float = Field(default=10.0, ge=0)
    key_usage_flush_seconds: float = Field(default=10.0, gt=0)

    ingest_batch_max: int = Field(default=512, gt=0)
    # Where the ingest group commit runs: "inline" on the event loop, or a "thread". "auto" picks
    # inline for SQLite (short local calls) and a thread for PostgreSQL (network waits).
    ingest_writer: Literal["auto", "inline", "thread"] = "auto"

    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own ``Settings`` instead."""
    return Settings()
