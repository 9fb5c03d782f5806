"""Settings, read once from the environment (prefix ``TOCSIN_``) or a ``.env`` file in the current
directory (the environment wins where both set a name)."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DATABASE_FILE = "tocsin.db"
# A wildcard address is where to listen, not where to connect: links name the same machine's loopback.
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def data_directory() -> Path:
    """Where the installed CLI keeps its SQLite file: ``$XDG_DATA_HOME/tocsin``, else
    ``~/.local/share/tocsin`` (the XDG base directory spec ignores a relative XDG_DATA_HOME)."""
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "tocsin"


def local_base_url(host: str, port: int, *, https: bool = False) -> str:
    """The URL this machine reaches a server listening on ``host:port`` at."""
    shown = _LOOPBACK.get(host, host)
    try:
        if ipaddress.ip_address(shown).version == 6:
            shown = f"[{shown}]"
    except ValueError:
        pass  # a host name, kept as given
    return f"{'https' if https else 'http'}://{shown}:{port}"


class Settings(BaseSettings):
    """Every knob an operator may turn. Defaults make ``tocsin serve`` work on a laptop."""

    model_config = SettingsConfigDict(env_prefix="TOCSIN_", env_file=".env", extra="ignore")

    # Unset: a SQLite file in ``data_directory()``, the same file whichever folder tocsin runs from
    # (a relative default made a new, empty database in each). ``make run`` sets ./tocsin.db.
    database_url: str = ""
    # FULL keeps a 202-answered event through a power cut, not just a process crash.
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    redis_url: str | None = None
    # The public URL, for links in pages and webhooks. Unset: derived from host and port.
    base_url: str = ""

    host: str = "127.0.0.1"
    port: int = 8080
    # HTTPS without a reverse proxy (PagerDuty's client refuses plain http): both files, or neither.
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None

    max_body_bytes: int = Field(default=1024 * 1024, gt=0)

    ratelimit_events: str = "100/minute"
    ratelimit_read: str = "300/minute"
    ratelimit_write: str = "100/minute"
    ratelimit_integration: str = "300/5 minutes"
    ratelimit_org_alerts: str = "500/5 minutes"
    # How a limit counts (the ``limits`` library's strategies). A fixed window is the contract the
    # headers state: Remaining returns to Limit at Reset. It also costs ingest the least (one
    # counter a limit); a sliding window smooths bursts at window edges for twice the work.
    ratelimit_strategy: Literal["fixed-window", "sliding-window-counter", "moving-window"] = "fixed-window"

    # Sign-in attempts (``services/accounts/throttle``): failures per account (the email typed),
    # and all attempts per client address, in moving windows in the rate limiter's store.
    login_limit_account: str = "10/15 minutes"
    login_limit_address: str = "50/15 minutes"

    # Single sign-on with an OpenID Connect provider (``web/routes/sso``): on when the discovery
    # URL and the client are set. People are matched by their verified email in ``oidc_org`` (or
    # in the one org that has the email when empty); with ``oidc_create_role`` set (and
    # ``oidc_org``), a verified email nobody has yet becomes a new user with that role.
    oidc_discovery_url: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_provider_name: str = "single sign-on"
    oidc_org: str = ""
    oidc_create_role: Literal["", "admin", "user", "observer"] = ""

    # How long a resolved key or routing key is trusted from memory. A revoked key stops
    # working on this replica at once and on the others within this many seconds.
    auth_cache_seconds: float = Field(default=10.0, ge=0)
    key_usage_flush_seconds: float = Field(default=10.0, gt=0)

    ingest_batch_max: int = Field(default=512, gt=0)
    # Where the ingest group commit runs: "inline" on the event loop, a "thread", or (``tocsin
    # serve`` only) a child "process", the ingest writer, with the server's CPU left to HTTP.
    # "auto": the process on a SQLite file under ``tocsin serve``, else inline for SQLite (short
    # local calls) and a thread for PostgreSQL (network waits).
    ingest_writer: Literal["auto", "inline", "thread", "process"] = "auto"

    # The engine (escalation steps, pages, webhook deliveries). ``tocsin serve`` runs it unless
    # engine_enabled is false (then run ``tocsin worker`` somewhere).
    engine_enabled: bool = True
    # ``tocsin serve`` runs the engine in a child process of its own (``server.engine_child``): a storm's
    # HTTP intake and its paging do not share one interpreter. False: in the server's process.
    engine_process: bool = True
    engine_concurrency: int = Field(default=16, ge=1, le=256)
    # A worker killed mid-job keeps its jobs this long before another takes them over.
    engine_lease_seconds: float = Field(default=60.0, gt=0)
    # Safety-net poll; wakeups are immediate in-process and through LISTEN/NOTIFY on PostgreSQL.
    engine_poll_seconds: float = Field(default=2.0, gt=0)
    engine_retry_base_seconds: float = Field(default=10.0, gt=0)
    engine_retry_cap_seconds: float = Field(default=600.0, gt=0)
    # The engine's own SQLite commits (job states, timeline lines) skip the fsync: a crash of the
    # process loses nothing (WAL), a power cut may redo the last steps, which idempotency keys make
    # harmless. Events and the jobs they create keep ``sqlite_synchronous`` (FULL).
    engine_sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "NORMAL"
    # Finished jobs are deleted after this many days (their outcome stays on the timeline).
    engine_job_retention_days: float = Field(default=7.0, gt=0)
    # How long a policy "minute" lasts: 60 in production; tests and demos shrink it.
    engine_minute_seconds: float = Field(default=60.0, gt=0)

    # Email (SMTP). Without a host, email pages fail with a clear reason on the timeline.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    smtp_tls: bool = False
    smtp_from: str = "Tocsin <tocsin@localhost>"
    # SMS and voice through a Twilio-compatible API.
    twilio_base_url: str = "https://api.twilio.com"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    # Push through ntfy.
    ntfy_url: str = "https://ntfy.sh"
    ntfy_token: str | None = None
    notify_timeout_seconds: float = Field(default=10.0, gt=0)
    # How long ``POST .../contact-methods/{id}/test`` (and ``send-verification``) waits for the
    # engine's answer before it answers 202 with the check to poll.
    contact_check_wait_seconds: float = Field(default=30.0, ge=0, le=120)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    # A channel whose attempts have all failed for this long is "failing": the channel-health view,
    # ``tocsin doctor`` and the tocsin_channel_failing gauge say so. Shorter ones are retried blips.
    channel_failing_minutes: float = Field(default=5.0, gt=0)

    # How long /metrics keeps the readiness findings it computed (a walk of every org's next week).
    readiness_metric_seconds: float = Field(default=60.0, ge=0)

    # `tocsin worker` alone (not serve's child): serve its engine's series on this port.
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)

    log_level: str = "INFO"
    # A line per answered request (method, route template, status, duration, key id; api.access_log).
    access_log: bool = True
    # auto: console lines on a terminal, JSON lines otherwise (logs.py).
    log_format: Literal["auto", "json", "console"] = "auto"

    _default_database: Path | None = PrivateAttr(default=None)

    def twilio_credentials(self) -> tuple[str, str, str] | None:
        """Account SID, auth token and sender number; SMS and voice need all three, so ``None``
        (no Twilio channel) when one is missing."""
        if self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number:
            return self.twilio_account_sid, self.twilio_auth_token, self.twilio_from_number
        return None

    def channel_types(self) -> frozenset[str]:
        """The contact-method and room types a live page can go out on with these settings: the
        rule ``engine.app.channels_from`` builds the channels by (email needs an SMTP host, SMS and
        voice Twilio; push, Slack, Teams and webhooks need only HTTP). Readiness reads it, since
        nothing outside the engine may import the channels themselves."""
        types = {"push", "slack", "teams", "webhook"}
        if self.smtp_host:
            types.add("email")
        if self.twilio_credentials() is not None:
            types.update(("sms", "voice"))
        return frozenset(types)

    _derived_base_url: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _fill_defaults(self) -> Self:
        if not self.database_url:
            self._default_database = data_directory() / DATABASE_FILE
            self.database_url = f"sqlite:///{self._default_database}"
        if not self.base_url:
            self._derived_base_url = True
            self.base_url = local_base_url(self.host, self.port)
        return self

    def listening_on(self, host: str, port: int, *, https: bool = False) -> Settings:
        """These settings for a server started with ``--host``/``--port`` (and TLS): a derived
        base URL follows the new address and scheme, so links in pages still reach it."""
        copy = self.model_copy(update={"host": host, "port": port})
        if self._derived_base_url:
            copy.base_url = local_base_url(host, port, https=https)
        return copy

    def create_data_directory(self) -> None:
        """Make the default database's folder (owner-only) on first use; an explicit
        TOCSIN_DATABASE_URL is left exactly as given."""
        if self._default_database is not None:
            self._default_database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own ``Settings`` instead."""
    return Settings()
