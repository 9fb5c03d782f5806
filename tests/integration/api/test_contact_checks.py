"""Verifying contact methods and sending them test notifications, through the HTTP app, the engine
and the real channels: codes read from the mail a real SMTP server (aiosmtpd) received and from the
SMS a Twilio-compatible recording server was asked to send.

The app here answers at once (``contact_check_wait_seconds=0``: 202 and a check to poll) and the
test runs the engine by hand on a clock it moves, so expiry and the send limits are exact. The
bounded wait with a live engine is covered end to end with the CLI (``tests/e2e``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory, OrgHandle
from tests.factories.recorder import RecordedRequest, Recorder, unused_port
from tests.factories.smtp import ReceivedMail, SmtpServer
from tests.scenario.engine_harness import Harness
from tocsin.api.app import create_app
from tocsin.clock import FakeClock
from tocsin.db.models import ContactCheck
from tocsin.db.session import Database
from tocsin.notify.email import EmailConfig
from tocsin.notify.registry import Channels
from tocsin.notify.twilio import TwilioConfig

SID = "AC0123456789"
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
CALLS = f"/2010-04-01/Accounts/{SID}/Calls.json"
CODE = re.compile(r"Your Tocsin verification code is ([0-9]{6})")
TEST_LABEL = "[TEST] Tocsin test notification — no action needed"


@dataclass
class World:
    h: Harness
    smtp: SmtpServer
    twilio: Recorder
    smtp_port: int

    @property
    def org(self) -> OrgHandle:
        return self.h.org


def _channels(world: World, http: httpx.AsyncClient) -> Channels:
    return Channels(
        http,
        email=EmailConfig(
            host="127.0.0.1", port=world.smtp_port, from_address="tocsin@pager.example", timeout=5
        ),
        twilio=TwilioConfig(SID, "secret-token", "+15550001111", base_url=world.twilio.url, timeout=5),
    )


@pytest.fixture
def world(orgs: OrgFactory, database: Database, db_url: str) -> Iterator[World]:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(settings_for(db_url, contact_check_wait_seconds=0), database=database, clock=clock)
    with SmtpServer() as smtp, Recorder() as twilio, TestClient(app, raise_server_exceptions=False) as client:
        twilio.set_default(201, json={"sid": "SM0001", "status": "queued"})
        org = replace(orgs.new(), client=client)
        holder: dict[str, World] = {}
        h = Harness(org, clock, database, db_url, channels_factory=lambda http: _channels(holder["w"], http))
        holder["w"] = World(h, smtp, twilio, smtp.port)
        yield holder["w"]


def _method(org: OrgHandle, user_id: str, kind: str, address: str) -> dict[str, Any]:
    response = org.post(f"/api/users/{user_id}/contact-methods", json={"type": kind, "address": address})
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _path(user_id: str, method_id: str) -> str:
    return f"/api/users/{user_id}/contact-methods/{method_id}"


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


def _send(world: World, user_id: str, method_id: str, action: str = "send-verification") -> dict[str, Any]:
    """Ask for a code (or a test page), run the engine, and return the check's outcome."""
    response = world.org.post(f"{_path(user_id, method_id)}/{action}")
    assert response.status_code == 202, response.text
    pending = response.json()["data"]
    assert pending["outcome"] == "pending" and pending["contact_method_id"] == method_id
    assert response.headers["Location"] == f"{_path(user_id, method_id)}/checks/{pending['id']}"
    world.h.drain()
    done = world.org.get(response.headers["Location"])
    assert done.status_code == 200, done.text
    data: dict[str, Any] = done.json()["data"]
    return data


def _mail_to(world: World, address: str, count: int) -> list[ReceivedMail]:
    world.smtp.wait_for(1)
    mails = [m for m in world.smtp.messages if m.rcpt_tos == [address]]
    assert len(mails) == count, [m.message["Subject"] for m in mails]
    return mails


def _texts_to(world: World, number: str, path: str = MESSAGES) -> list[RecordedRequest]:
    return [r for r in world.twilio.to(path) if (r.form or {}).get("To") == number]


def _code_of(text: str) -> str:
    found = CODE.search(text)
    assert found, text
    return found.group(1)


def _verify(world: World, user_id: str, method_id: str, code: Any) -> Any:
    return world.org.post(f"{_path(user_id, method_id)}/verify", json={"code": code})


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- verification ----------------------------------------------------------------------------------


def test_an_email_method_is_verified_with_the_code_the_real_smtp_server_received(
    world: World, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="tocsin")
    org = world.org
    alice = org.make_user("Alice")
    address = f"alice-{org.slug}@pager.example"
    method = _method(org, alice, "email", address)
    assert (method["verified"], method["verified_at"]) == (False, None)

    check = _send(world, alice, method["id"])
    assert check["kind"] == "verification" and check["outcome"] == "delivered" and check["error"] is None
    [mail] = _mail_to(world, address, 1)
    assert check["provider_id"] == mail.message["Message-ID"]
    assert mail.message["Subject"].startswith("Your Tocsin verification code is ")
    code = _code_of(mail.part("text/plain"))
    assert f"contact check {check['id']}: verification by email delivered" in caplog.text
    assert code not in caplog.text
    # The database keeps a salted hash, never the code.
    with database.read() as session:
        row = session.scalars(select(ContactCheck).where(ContactCheck.id == check["id"])).one()
        assert row.code_hash is not None and row.code_hash.startswith("sha256$")
        assert code not in row.code_hash

    wrong = _error(_verify(world, alice, method["id"], _wrong(code)), 400, "VALIDATION_ERROR")
    assert wrong["details"] == {"field": "code", "reason": "wrong_code", "attempts_left": 4}
    assert "4 attempts left" in wrong["message"]
    assert org.get(_path(alice, method["id"])).json()["data"]["verified"] is False

    # A code read out with a space still counts.
    right = _verify(world, alice, method["id"], f"{code[:3]} {code[3:]}")
    assert right.status_code == 200, right.text
    verified = right.json()["data"]
    assert verified["verified"] is True and verified["verified_at"] is not None
    assert org.get(_path(alice, method["id"])).json()["data"] == verified
    # Verified: no new code, no second verify, and the used code is gone.
    again = _error(org.post(f"{_path(alice, method['id'])}/send-verification"), 409, "CONFLICT")
    assert again["details"]["reason"] == "already_verified"
    _error(_verify(world, alice, method["id"], code), 409, "CONFLICT")
    with database.read() as session:
        assert (
            session.scalars(select(ContactCheck.code_hash).where(ContactCheck.id == check["id"])).one()
            is None
        )


def test_sms_and_voice_methods_are_verified_with_the_code_sent_through_the_twilio_api(world: World) -> None:
    org = world.org
    bob = org.make_user("Bob")
    sms = _method(org, bob, "sms", "+14155550123")
    check = _send(world, bob, sms["id"])
    assert (check["outcome"], check["provider_id"]) == ("delivered", "SM0001")
    [text] = _texts_to(world, "+14155550123")
    assert text.form is not None and text.form["From"] == "+15550001111"
    assert re.fullmatch(r"Your Tocsin verification code is [0-9]{6}", text.form["Body"].splitlines()[0])
    assert (text.header("Authorization") or "").startswith("Basic ")
    ok = _verify(world, bob, sms["id"], _code_of(text.form["Body"]))
    assert ok.status_code == 200 and ok.json()["data"]["verified"] is True

    voice = _method(org, bob, "voice", "+14155550199")
    assert _send(world, bob, voice["id"])["outcome"] == "delivered"
    [call] = _texts_to(world, "+14155550199", CALLS)
    assert call.form is not None
    spoken = re.search(r"code is ((?:[0-9], ){5}[0-9])\.", call.form["Twiml"])
    assert spoken, call.form["Twiml"]
    ok = _verify(world, bob, voice["id"], spoken.group(1).replace(", ", ""))
    assert ok.status_code == 200 and ok.json()["data"]["verified"] is True


def test_wrong_codes_lock_the_code_until_a_new_one_is_sent(world: World) -> None:
    org = world.org
    carol = org.make_user("Carol")
    method = _method(org, carol, "sms", "+14155550142")
    _send(world, carol, method["id"])
    code = _code_of(_texts_to(world, "+14155550142")[0].form["Body"])  # type: ignore[index]
    for left in (4, 3, 2, 1):
        error = _error(_verify(world, carol, method["id"], _wrong(code)), 400, "VALIDATION_ERROR")
        assert error["details"]["attempts_left"] == left
    last = _error(_verify(world, carol, method["id"], _wrong(code)), 400, "VALIDATION_ERROR")
    assert last["details"] == {"field": "code", "reason": "locked", "attempts_left": 0}
    # Even the right code is refused now.
    locked = _error(_verify(world, carol, method["id"], code), 400, "VALIDATION_ERROR")
    assert locked["details"]["reason"] == "locked" and "send a new one" in locked["message"]
    assert org.get(_path(carol, method["id"])).json()["data"]["verified"] is False

    world.h.clock.advance(timedelta(seconds=61))
    _send(world, carol, method["id"])
    texts = _texts_to(world, "+14155550142")
    assert len(texts) == 2
    new_code = _code_of(texts[1].form["Body"])  # type: ignore[index]
    ok = _verify(world, carol, method["id"], new_code)
    assert ok.status_code == 200, ok.text


def test_an_expired_code_says_so(world: World) -> None:
    org = world.org
    dana = org.make_user("Dana")
    address = f"dana-{org.slug}@pager.example"
    method = _method(org, dana, "email", address)
    check = _send(world, dana, method["id"])
    code = _code_of(_mail_to(world, address, 1)[0].part("text/plain"))
    assert check["expires_at"] is not None
    world.h.clock.advance(timedelta(minutes=10))
    error = _error(_verify(world, dana, method["id"], code), 400, "VALIDATION_ERROR")
    assert error["details"]["reason"] == "expired" and "expired" in error["message"]
    assert org.get(_path(dana, method["id"])).json()["data"]["verified"] is False


def test_sending_codes_is_rate_limited_per_method(world: World) -> None:
    org = world.org
    erik = org.make_user("Erik")
    method = _method(org, erik, "sms", "+14155550111")
    _send(world, erik, method["id"])
    refused = org.post(f"{_path(erik, method['id'])}/send-verification")
    error = _error(refused, 429, "RATE_LIMITED")
    assert refused.headers["Retry-After"] == "60"
    assert refused.json()["error"]["retry_after"] == 60 and error["details"]["retry_after"] == 60
    assert "1 per minute" in error["message"] and "5 per hour" in error["message"]
    # The refused request sent nothing and counts for nothing.
    assert len(_texts_to(world, "+14155550111")) == 1
    for _ in range(4):
        world.h.clock.advance(timedelta(seconds=60))
        _send(world, erik, method["id"])
    world.h.clock.advance(timedelta(seconds=60))
    hourly = _error(org.post(f"{_path(erik, method['id'])}/send-verification"), 429, "RATE_LIMITED")
    # The first of the five leaves the hour 60 minutes after it was sent: 55 minutes from now.
    assert hourly["details"]["retry_after"] == 55 * 60
    # Another method of the same person has its own count.
    other = _method(org, erik, "sms", "+14155550112")
    assert _send(world, erik, other["id"])["outcome"] == "delivered"


def test_bad_verification_requests_change_nothing(world: World, orgs: OrgFactory) -> None:
    org = world.org
    fay = org.make_user("Fay")
    method = _method(org, fay, "sms", "+14155550177")
    path = _path(fay, method["id"])
    # Nothing sent yet.
    none = _error(_verify(world, fay, method["id"], "123456"), 400, "VALIDATION_ERROR")
    assert none["details"]["reason"] == "no_code"
    _send(world, fay, method["id"])
    for body, field in (
        ({}, "code"),
        ({"code": 123456}, "code"),
        ({"code": None}, "code"),
        ({"code": "12345"}, "code"),
        ({"code": "abcdef"}, "code"),
        ({"code": "123456", "extra": 1}, "extra"),
    ):
        error = _error(org.post(f"{path}/verify", json=body), 400, "VALIDATION_ERROR")
        assert error["details"]["field"] == field, (body, error)
    not_json = org.post(f"{path}/verify", content=b"not json", headers={"Content-Type": "application/json"})
    _error(not_json, 400, "VALIDATION_ERROR")
    # Shape errors cost no attempt: the first wrong code still leaves four.
    code = _code_of(_texts_to(world, "+14155550177")[0].form["Body"])  # type: ignore[index]
    wrong = _error(_verify(world, fay, method["id"], _wrong(code)), 400, "VALIDATION_ERROR")
    assert wrong["details"]["attempts_left"] == 4

    # Unknown ids, another user's method, another org's ids: 404, and nothing sent.
    gus = org.make_user("Gus")
    for target in (
        f"/api/users/{fay}/contact-methods/cm_nope",
        f"/api/users/usr_nope/contact-methods/{method['id']}",
        f"/api/users/{gus}/contact-methods/{method['id']}",
    ):
        for action in ("send-verification", "test"):
            _error(org.post(f"{target}/{action}"), 404, "NOT_FOUND")
        _error(org.post(f"{target}/verify", json={"code": "123456"}), 404, "NOT_FOUND")
    _error(org.get(f"{path}/checks/cmc_nope"), 404, "NOT_FOUND")
    other = orgs.new()
    for action in ("send-verification", "test"):
        _error(other.post(f"{path}/{action}"), 404, "NOT_FOUND")
    _error(other.post(f"{path}/verify", json={"code": "123456"}), 404, "NOT_FOUND")
    # A key of another user without users:write may not act on Fay's methods; Fay's own key may.
    gus_key = org.make_key(["incidents:write"], user_id=gus)
    _error(org.post(f"{path}/test", key=gus_key), 403, "FORBIDDEN")
    _error(org.post(f"{path}/verify", json={"code": code}, key=gus_key), 403, "FORBIDDEN")
    fay_key = org.make_key(["incidents:write"], user_id=fay)
    world.h.clock.advance(timedelta(seconds=61))
    assert org.post(f"{path}/test", key=fay_key).status_code == 202
    assert len(_texts_to(world, "+14155550177")) == 1
    assert org.get(path).json()["data"]["verified"] is False
    assert _verify(world, fay, method["id"], code).status_code == 200


def test_a_new_address_unverifies_the_method(world: World) -> None:
    org = world.org
    hal = org.make_user("Hal")
    method = _method(org, hal, "sms", "+14155550188")
    _send(world, hal, method["id"])
    code = _code_of(_texts_to(world, "+14155550188")[0].form["Body"])  # type: ignore[index]
    assert _verify(world, hal, method["id"], code).status_code == 200
    path = _path(hal, method["id"])
    relabelled = org.patch(path, json={"label": "Mobile"}).json()["data"]
    assert relabelled["verified"] is True
    moved = org.patch(path, json={"address": "+14155550189"}).json()["data"]
    assert (moved["verified"], moved["verified_at"]) == (False, None)
    # The old code went to the old number.
    world.h.clock.advance(timedelta(seconds=61))
    _send(world, hal, method["id"])
    org.patch(path, json={"address": "+14155550190"})
    new_code = _code_of(_texts_to(world, "+14155550189")[0].form["Body"])  # type: ignore[index]
    error = _error(_verify(world, hal, method["id"], new_code), 400, "VALIDATION_ERROR")
    assert error["details"]["reason"] == "address_changed"


def test_an_email_method_at_the_users_own_address_needs_no_code(world: World) -> None:
    """Tocsin already emails a person's account address when they have no rule; a method for that
    address is as trusted, verified from the start (and again when moved back to it)."""
    org = world.org
    own = f"uma-{org.slug}@example.com"
    uma = org.make_user("Uma", own)
    method = _method(org, uma, "email", own.upper())
    assert method["verified"] is True
    path = _path(uma, method["id"])
    _error(org.post(f"{path}/send-verification"), 409, "CONFLICT")
    moved = org.patch(path, json={"address": f"uma-pager-{org.slug}@example.com"}).json()["data"]
    assert moved["verified"] is False
    assert org.patch(path, json={"address": own}).json()["data"]["verified"] is True


# --- test notifications ----------------------------------------------------------------------------


def test_a_test_notification_is_delivered_by_email_and_sms(world: World) -> None:
    org = world.org
    ivy = org.make_user("Ivy")
    address = f"ivy-{org.slug}@pager.example"
    email = _method(org, ivy, "email", address)
    check = _send(world, ivy, email["id"], "test")
    assert (check["kind"], check["outcome"], check["error"], check["expires_at"]) == (
        "test",
        "delivered",
        None,
        None,
    )
    [mail] = _mail_to(world, address, 1)
    assert mail.message["Subject"] == TEST_LABEL and check["provider_id"] == mail.message["Message-ID"]
    assert mail.message["X-Tocsin-Event"] == "contact.test"
    assert TEST_LABEL in mail.part("text/plain")

    sms = _method(org, ivy, "sms", "+14155550155")
    world.twilio.respond(201, json={"sid": "SMtest42", "status": "queued"}, path=MESSAGES)
    check = _send(world, ivy, sms["id"], "test")
    assert (check["outcome"], check["provider_id"]) == ("delivered", "SMtest42")
    [text] = _texts_to(world, "+14155550155")
    assert text.form is not None and text.form["Body"].startswith(TEST_LABEL)
    # A test proves the path but verifies nothing.
    assert org.get(_path(ivy, sms["id"])).json()["data"]["verified"] is False
    # At most one every 30 seconds.
    error = _error(org.post(f"{_path(ivy, sms['id'])}/test"), 429, "RATE_LIMITED")
    assert error["details"]["retry_after"] == 30


def test_a_failed_test_notification_returns_the_providers_error(world: World) -> None:
    org = world.org
    jon = org.make_user("Jon")
    sms = _method(org, jon, "sms", "+14155550166")
    world.twilio.respond(
        400,
        json={
            "code": 21211,
            "message": "The 'To' number +14155550166 is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        },
        path=MESSAGES,
    )
    check = _send(world, jon, sms["id"], "test")
    assert check["outcome"] == "failed" and check["provider_id"] is None
    assert "The 'To' number +14155550166 is not a valid phone number. (Twilio error 21211)" in check["error"]
    assert "secret-token" not in check["error"]

    # SMTP down: the refused connection is the answer.
    address = f"jon-{org.slug}@pager.example"
    email = _method(org, jon, "email", address)
    world.smtp_port = unused_port()
    check = _send(world, jon, email["id"], "test")
    assert check["outcome"] == "failed"
    assert check["error"].startswith("email: cannot deliver through 127.0.0.1:")
    # A verification code that could not go out says so when entered.
    world.h.clock.advance(timedelta(seconds=61))
    assert _send(world, jon, email["id"])["outcome"] == "failed"
    error = _error(_verify(world, jon, email["id"], "123456"), 400, "VALIDATION_ERROR")
    assert error["details"]["reason"] == "not_delivered" and "cannot deliver" in error["message"]


def test_a_test_mode_method_is_tested_against_the_sink(world: World) -> None:
    test_org = world.org.test_mode()
    kim = test_org.make_user("Kim")
    method = _method(test_org, kim, "sms", "+14155550133")
    # Test mode sends nothing to anyone, so nobody could read a code back: verified from the start.
    assert method["verified"] is True
    response = test_org.post(f"{_path(kim, method['id'])}/test")
    assert response.status_code == 202, response.text
    world.h.drain()
    check = test_org.get(response.headers["Location"]).json()["data"]
    assert check["outcome"] == "delivered" and check["provider_id"].startswith("sink-")
    assert check["livemode"] is False
    assert _texts_to(world, "+14155550133") == []
    # The live half of the org cannot see it.
    _error(world.org.get(response.headers["Location"]), 404, "NOT_FOUND")
