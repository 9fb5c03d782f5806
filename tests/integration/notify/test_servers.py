"""The test servers other tests rely on: the HTTP recorder and the SMTP server."""

from __future__ import annotations

import smtplib

import httpx
import pytest

from tests.factories import recorder as recorder_factory
from tests.factories import smtp as smtp_factory
from tests.factories.recorder import Recorder
from tests.factories.smtp import SmtpServer

recorder = recorder_factory.recorder  # the fixtures, requested by name below
smtp_server = smtp_factory.smtp_server


def test_recorder_records_requests_and_answers_the_default(recorder: Recorder) -> None:
    with httpx.Client(base_url=recorder.url) as client:
        answer = client.post("/a/b?x=1&x=2", data={"To": "+1555", "Body": "hi there"}, headers={"X-Y": "z"})
        client.get("/c")
    assert (answer.status_code, answer.text) == (200, "ok")
    first, second = recorder.wait_for(2)
    assert (first.method, first.path, first.query) == ("POST", "/a/b", {"x": ["1", "2"]})
    assert first.header("x-y") == first.header("X-Y") == "z"
    assert first.form == {"To": "+1555", "Body": "hi there"}
    assert first.json is None
    assert (second.method, second.body, second.form) == ("GET", b"", None)
    assert first.monotonic <= second.monotonic and first.received_at.tzinfo is not None
    assert [r.path for r in recorder.to("/c")] == ["/c"] and len(recorder) == 2


def test_recorder_queues_replies_per_path_then_global_then_default(recorder: Recorder) -> None:
    recorder.respond(500, times=2)
    recorder.respond(201, json={"sid": "SM1"}, headers={"X-A": "1"}, path="/special")
    with httpx.Client(base_url=recorder.url) as client:
        special = client.post("/special", json={"k": [1]})
        statuses = [client.post("/any").status_code for _ in range(3)]
        again = client.post("/special")
    assert (special.status_code, special.json(), special.headers["X-A"]) == (201, {"sid": "SM1"}, "1")
    assert statuses == [500, 500, 200]
    assert again.status_code == 200
    assert recorder.requests[0].json == {"k": [1]}


def test_recorder_default_can_change_and_clear_forgets(recorder: Recorder) -> None:
    recorder.set_default(404, body="no_service")
    recorder.respond(429)
    recorder.clear()
    with httpx.Client(base_url=recorder.url) as client:
        answer = client.post("/x")
    assert (answer.status_code, answer.text) == (404, "no_service")
    assert len(recorder.requests) == 1


def test_recorder_reads_chunked_bodies(recorder: Recorder) -> None:
    with httpx.Client(base_url=recorder.url) as client:
        client.post("/stream", content=iter([b'{"a"', b": 1}"]))
    [request] = recorder.wait_for(1)
    assert request.header("Transfer-Encoding") == "chunked"
    assert request.json == {"a": 1}


def test_recorder_wait_for_fails_the_test_when_nothing_comes(recorder: Recorder) -> None:
    with pytest.raises(AssertionError, match="expected 1 requests, got 0"):
        recorder.wait_for(1, timeout=0.05)


def test_recorder_stops_promptly_while_a_reply_is_held() -> None:
    with Recorder() as server:
        server.respond(delay=60)
        with httpx.Client(base_url=server.url, timeout=0.1) as client, pytest.raises(httpx.ReadTimeout):
            client.get("/slow")
        # leaving the block stops the server: the held handler is released and joined


def test_smtp_server_refuses_as_programmed(smtp_server: SmtpServer) -> None:
    smtp_server.refuse("RCPT", 550, "5.1.1 No such user", times=None)
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("a@example.com", ["b@example.com"], b"Subject: x\r\n\r\nbody\r\n")
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("a@example.com", ["b@example.com"], b"Subject: x\r\n\r\nbody\r\n")
    smtp_server.clear()
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        client.sendmail("a@example.com", ["b@example.com", "c@example.com"], b"Subject: hi\r\n\r\nbody\r\n")
    [mail] = smtp_server.wait_for(1)
    assert (mail.mail_from, mail.rcpt_tos, mail.message["Subject"]) == (
        "a@example.com",
        ["b@example.com", "c@example.com"],
        "hi",
    )
    assert mail.part("text/plain") == "body\n" and mail.login is None


def test_smtp_server_wait_for_fails_the_test_when_nothing_comes(smtp_server: SmtpServer) -> None:
    with pytest.raises(AssertionError, match="expected 1 messages, got 0"):
        smtp_server.wait_for(1, timeout=0.05)


def test_two_smtp_servers_get_different_ports() -> None:
    with SmtpServer() as one, SmtpServer() as two:
        assert one.port != two.port and one.port > 0
