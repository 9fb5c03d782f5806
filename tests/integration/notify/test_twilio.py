"""SMS and voice against a local server that records what a Twilio-compatible API would get."""

from __future__ import annotations

import asyncio
import base64
import xml.etree.ElementTree as ET

import pytest

from tests.factories import recorder as recorder_factory
from tests.factories.recorder import Recorder
from tests.unit.notify.support import http_client, make_page
from tocsin.notify.base import Page, Permanent, Receipt, Transient
from tocsin.notify.twilio import TwilioConfig, TwilioSms, TwilioVoice

recorder = recorder_factory.recorder  # the fixture, requested by name below

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-auth-token-secret"
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
CALLS = f"/2010-04-01/Accounts/{SID}/Calls.json"


def config(server: Recorder, **overrides: object) -> TwilioConfig:
    values: dict[str, object] = {
        "account_sid": SID,
        "auth_token": TOKEN,
        "from_number": "+15550001111",
        "base_url": server.url,
        "timeout": 5.0,
    }
    values.update(overrides)
    return TwilioConfig(**values)  # type: ignore[arg-type]


def send(
    kind: type[TwilioSms | TwilioVoice], cfg: TwilioConfig, page: Page, to: str = "+15557654321"
) -> Receipt:
    async def go() -> Receipt:
        async with http_client() as http:
            return await kind(http, cfg).send(to, page)

    return asyncio.run(go())


def test_sms_wire_format(recorder: Recorder) -> None:
    recorder.respond(201, json={"sid": "SM0001", "status": "queued"}, path=MESSAGES)
    page = make_page()
    receipt = send(TwilioSms, config(recorder), page)

    [request] = recorder.wait_for(1)
    assert (request.method, request.path) == ("POST", MESSAGES)
    assert request.header("Authorization") == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.header("I-Twilio-Idempotency-Token") == page.idempotency_key
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form == {
        "To": "+15557654321",
        "From": "+15550001111",
        "Body": "[Tocsin] #42 HIGH: High CPU on web-01 [instance=web-01:9100] (Payment API) "
        'Reply "42 ack" or "42 resolve"',
    }
    assert receipt == Receipt(provider_id="SM0001", detail="queued")


def test_sms_body_is_short_for_a_long_title(recorder: Recorder) -> None:
    recorder.respond(201, json={"sid": "SM0002"})
    send(TwilioSms, config(recorder), make_page(title="disk full " * 200))
    [request] = recorder.wait_for(1)
    assert request.form is not None
    body = request.form["Body"]
    assert len(body) < 320 and body.endswith('Reply "42 ack" or "42 resolve"')


def test_voice_call_reads_the_incident_from_inline_twiml(recorder: Recorder) -> None:
    recorder.respond(201, json={"sid": "CA0001", "status": "queued"}, path=CALLS)
    page = make_page(title="<Hangup/> & <Play>x</Play>")
    receipt = send(TwilioVoice, config(recorder), page)

    [request] = recorder.wait_for(1)
    assert request.path == CALLS
    assert request.header("I-Twilio-Idempotency-Token") == page.idempotency_key
    assert request.form is not None
    assert (request.form["To"], request.form["From"]) == ("+15557654321", "+15550001111")
    script = ET.fromstring(request.form["Twiml"])
    assert script.tag == "Response"
    assert {child.tag for child in script} == {"Say", "Pause"}  # nothing injected
    assert "<Hangup/> & <Play>x</Play>" in (script[0].text or "")
    assert receipt.provider_id == "CA0001"


def test_a_base_url_with_a_trailing_slash(recorder: Recorder) -> None:
    recorder.respond(201, json={"sid": "SM3"})
    send(TwilioSms, config(recorder, base_url=recorder.url + "/"), make_page())
    assert recorder.wait_for(1)[0].path == MESSAGES


def test_twilio_error_message_is_the_permanent_reason(recorder: Recorder) -> None:
    recorder.respond(
        400,
        json={
            "code": 21211,
            "message": "The 'To' number +15557654321 is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        },
    )
    with pytest.raises(Permanent) as caught:
        send(TwilioSms, config(recorder), make_page())
    assert caught.value.reason == (
        "sms: HTTP 400 from 127.0.0.1: The 'To' number +15557654321 is not a valid phone number."
        " (Twilio error 21211)"
    )


def test_bad_credentials_are_permanent_without_the_token(recorder: Recorder) -> None:
    recorder.respond(401, json={"code": 20003, "message": "Authenticate", "status": 401})
    with pytest.raises(Permanent) as caught:
        send(TwilioVoice, config(recorder), make_page())
    assert "Authenticate" in caught.value.reason
    assert TOKEN not in caught.value.reason and TOKEN not in repr(caught.value)


def test_too_many_requests_waits_as_told(recorder: Recorder) -> None:
    recorder.respond(429, json={"code": 20429, "message": "Too Many Requests"}, headers={"Retry-After": "30"})
    with pytest.raises(Transient) as caught:
        send(TwilioSms, config(recorder), make_page())
    assert caught.value.retry_after == 30.0
    assert "Too Many Requests" in caught.value.reason


def test_a_non_json_5xx_is_transient_with_a_clipped_body(recorder: Recorder) -> None:
    recorder.respond(502, body="<html>" + "bad gateway " * 100 + "</html>")
    with pytest.raises(Transient) as caught:
        send(TwilioSms, config(recorder), make_page())
    assert caught.value.reason.startswith("sms: HTTP 502 from 127.0.0.1: <html>bad gateway")
    assert len(caught.value.reason) < 360


@pytest.mark.parametrize("number", ["5557654321", "+0123456789", "+1 555 765 4321", "ada@example.com", ""])
def test_a_number_that_is_not_e164_is_permanent_and_not_sent(recorder: Recorder, number: str) -> None:
    with pytest.raises(Permanent, match="E.164"):
        send(TwilioSms, config(recorder), make_page(), to=number)
    assert recorder.requests == []
