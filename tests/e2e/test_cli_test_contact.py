"""``tocsin users test-contact`` against a live server with a live engine: the test page goes
through the real channels (a real SMTP server, a Twilio-compatible recording server), the route
waits for the engine's answer, and the CLI prints it (exit 0) or the provider's error (exit 1)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import settings_for
from tests.e2e.test_cli_oncall import Cli, running_server
from tests.factories.orgs import OrgFactory
from tests.factories.recorder import Recorder
from tests.factories.smtp import SmtpServer
from tocsin.api.app import create_app
from tocsin.db.session import Database
from tocsin.engine.app import build_engine
from tocsin.notify.email import EmailConfig
from tocsin.notify.registry import Channels
from tocsin.notify.twilio import TwilioConfig

pytestmark = pytest.mark.e2e

SID = "AC0123456789"
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"


class EngineThread:
    """The real engine loop on its own event loop in a thread, woken by the API's commits."""

    def __init__(self, database: Database, db_url: str, smtp: SmtpServer, twilio: Recorder) -> None:
        self._args = (database, db_url, smtp, twilio)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="test-engine")

    async def _main(self) -> None:
        database, db_url, smtp, twilio = self._args
        async with httpx.AsyncClient() as http:
            channels = Channels(
                http,
                email=EmailConfig(host=smtp.host, port=smtp.port, from_address="tocsin@pager.example"),
                twilio=TwilioConfig(SID, "secret-token", "+15550001111", base_url=twilio.url),
            )
            engine = build_engine(
                settings_for(db_url), database, http=http, channels=channels, owner="test-contact-engine"
            )
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            self._ready.set()
            try:
                await engine.run(self._stop)
            finally:
                engine.close()

    def __enter__(self) -> EngineThread:
        self._thread.start()
        assert self._ready.wait(10), "engine did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@pytest.fixture
def live(db_url: str, database: Database) -> Iterator[tuple[str, SmtpServer, Recorder]]:
    with (
        SmtpServer() as smtp,
        Recorder() as twilio,
        EngineThread(database, db_url, smtp, twilio),
        running_server(create_app(settings_for(db_url), database=database)) as url,
    ):
        twilio.set_default(201, json={"sid": "SMlive1", "status": "queued"})
        yield url, smtp, twilio


def test_test_contact_prints_the_outcome_and_fails_with_the_providers_error(
    orgs: OrgFactory, live: tuple[str, SmtpServer, Recorder], tmp_path: Path
) -> None:
    url, smtp, twilio = live
    org = orgs.new()
    email = f"lee-{org.slug}@example.com"
    lee = org.make_user("Lee Park", email=email)
    methods = (
        ("email", f"lee-pager-{org.slug}@pager.example"),
        ("sms", "+14155550101"),
        ("sms", "+14155550102"),
    )
    for kind, address in methods:
        made = org.post(f"/api/users/{lee}/contact-methods", json={"type": kind, "address": address})
        assert made.status_code == 201, made.text
    cli = Cli(url, org.key, tmp_path / "config")

    # The route waits for the live engine: the answer is the outcome, not a 202.
    result = cli("users", "test-contact", email, "email")
    assert result.exit_code == 0, result.output
    assert "Delivered: test notification sent by email" in result.output
    mails = [m for m in smtp.messages if m.rcpt_tos == [f"lee-pager-{org.slug}@pager.example"]]
    assert [m.message["Subject"] for m in mails] == ["[TEST] Tocsin test notification — no action needed"]
    assert mails[0].message["Message-ID"] in result.output

    result = cli("users", "test-contact", "Lee Park", "+14155550101", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["data"]["outcome"], body["data"]["provider_id"]) == ("delivered", "SMlive1")

    twilio.respond(
        400,
        json={"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400},
        path=MESSAGES,
    )
    result = cli("users", "test-contact", email, "+14155550102")
    assert result.exit_code == 1, result.output
    assert "FAILED: test notification by sms (+14155550102)" in result.output
    assert "Attempt to send to unsubscribed recipient (Twilio error 21610)" in result.output

    missing = cli("users", "test-contact", email, "voice")
    assert missing.exit_code == 1 and "NOT_FOUND: the user has no contact method 'voice'" in missing.output
    ambiguous = cli("users", "test-contact", email, "sms")
    assert ambiguous.exit_code == 2 and "names more than one contact method" in ambiguous.output
