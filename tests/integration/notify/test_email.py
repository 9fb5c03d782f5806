"""The email channel against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.factories import smtp as smtp_factory
from tests.factories.recorder import silent_listener, unused_port
from tests.factories.smtp import SmtpServer
from tests.unit.notify.support import make_page
from tocsin.notify.base import Page, Permanent, Receipt, Transient
from tocsin.notify.email import EmailChannel, EmailConfig, message_id

FROM = "Tocsin <pager@example.com>"

smtp_server = smtp_factory.smtp_server  # the fixture, requested by name below


def config(server: SmtpServer, **overrides: object) -> EmailConfig:
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "from_address": FROM,
        "starttls": False,
        "timeout": 5.0,
    }
    values.update(overrides)
    return EmailConfig(**values)  # type: ignore[arg-type]


def send(cfg: EmailConfig, page: Page, address: str = "ada@example.com") -> Receipt:
    return asyncio.run(EmailChannel(cfg).send(address, page))


def test_a_page_is_one_multipart_alternative_message(smtp_server: SmtpServer) -> None:
    page = make_page()
    receipt = send(config(smtp_server), page)

    [mail] = smtp_server.wait_for(1)
    assert mail.mail_from == "pager@example.com"
    assert mail.rcpt_tos == ["ada@example.com"]
    message = mail.message
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == "[Tocsin] #42 HIGH: High CPU on web-01 (Payment API)"
    assert message["From"] == FROM and message["To"] == "ada@example.com"
    assert message["Message-ID"] == message_id(page.idempotency_key, FROM)
    assert message["Message-ID"].endswith("@example.com>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["References"] == message["In-Reply-To"]
    assert receipt.provider_id == message["Message-ID"]


def test_links_are_buttons_in_html_and_plain_urls_in_text(smtp_server: SmtpServer) -> None:
    page = make_page()
    send(config(smtp_server), page)
    [mail] = smtp_server.wait_for(1)

    text = mail.part("text/plain")
    assert f"Acknowledge: {page.ack_url}" in text
    assert f"Resolve: {page.resolve_url}" in text
    assert f"View incident: {page.incident_url}" in text

    html = mail.part("text/html")
    assert page.ack_url and page.resolve_url
    assert f'href="{page.ack_url.replace("&", "&amp;")}"' in html
    assert f'href="{page.resolve_url.replace("&", "&amp;")}"' in html
    assert f'href="{page.incident_url}"' in html
    assert ">Acknowledge</a>" in html and ">Resolve</a>" in html


def test_everything_in_the_html_is_escaped(smtp_server: SmtpServer) -> None:
    page = make_page(
        title="<script>alert(1)</script>",
        description='<img src=x onerror="steal()">',
        service_name="Pay & <b>Go</b>",
        details={"<k>": "<v>"},
        incident_url='https://tocsin.example.com/i/1"><script>x()</script>',
    )
    send(config(smtp_server), page)
    [mail] = smtp_server.wait_for(1)
    html = mail.part("text/html")
    assert "<script>" not in html and "<img" not in html and "<b>" not in html and "<k>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Pay &amp; &lt;b&gt;Go&lt;/b&gt;" in html
    assert "<script>alert(1)</script>" in mail.part("text/plain")  # plain text stays as typed
    assert mail.message["Subject"] == "[Tocsin] #42 HIGH: <script>alert(1)</script> (Pay & <b>Go</b>)"


def test_a_retried_page_is_the_same_message(smtp_server: SmtpServer) -> None:
    cfg = config(smtp_server)
    send(cfg, make_page())
    send(cfg, make_page())
    send(cfg, make_page(idempotency_key="another page"))
    first, retry, other = smtp_server.wait_for(3)
    assert first.message["Message-ID"] == retry.message["Message-ID"]
    assert other.message["Message-ID"] != first.message["Message-ID"]
    assert other.message["References"] == first.message["References"]  # one incident, one thread


@pytest.mark.parametrize(
    ("event", "label", "buttons"),
    [
        ("incident.acknowledged", "ACKNOWLEDGED", [">Resolve</a>"]),
        ("incident.resolved", "RESOLVED", []),
    ],
)
def test_notices_say_so_in_the_subject(
    smtp_server: SmtpServer, event: str, label: str, buttons: list[str]
) -> None:
    send(config(smtp_server), make_page(event=event))
    [mail] = smtp_server.wait_for(1)
    assert mail.message["Subject"] == f"[Tocsin] #42 {label}: High CPU on web-01 (Payment API)"
    html = mail.part("text/html")
    assert [b for b in (">Acknowledge</a>", ">Resolve</a>") if b in html] == buttons
    assert ">View incident</a>" in html


def test_a_page_without_one_click_links_still_links_the_incident(smtp_server: SmtpServer) -> None:
    send(config(smtp_server), make_page(ack_url=None, resolve_url=None))
    [mail] = smtp_server.wait_for(1)
    assert "Acknowledge" not in mail.part("text/plain")
    assert "View incident: https://tocsin.example.com/incidents/inc_01J0" in mail.part("text/plain")


@pytest.fixture
def auth_smtp() -> Iterator[SmtpServer]:
    with SmtpServer(credentials=("pager", "hunter2")) as server:
        yield server


def test_smtp_auth(auth_smtp: SmtpServer) -> None:
    send(config(auth_smtp, username="pager", password="hunter2"), make_page())
    [mail] = auth_smtp.wait_for(1)
    assert mail.login == "pager"


def test_wrong_smtp_password_is_permanent_and_not_repeated(auth_smtp: SmtpServer) -> None:
    with pytest.raises(Permanent) as caught:
        send(config(auth_smtp, username="pager", password="wrong-secret"), make_page())
    assert caught.value.reason.startswith("email: SMTP 535")
    assert "wrong-secret" not in caught.value.reason
    assert auth_smtp.messages == []


@pytest.mark.parametrize(
    ("stage", "code", "outcome"),
    [
        ("RCPT", 550, Permanent),
        ("RCPT", 451, Transient),
        ("MAIL", 553, Permanent),
        ("MAIL", 421, Transient),
        ("DATA", 554, Permanent),
        ("DATA", 452, Transient),
    ],
)
def test_smtp_replies_map_to_outcomes(
    smtp_server: SmtpServer, stage: str, code: int, outcome: type[Exception]
) -> None:
    smtp_server.refuse(stage, code, "5.1.1 refused by test")  # type: ignore[arg-type]
    with pytest.raises(outcome) as caught:
        send(config(smtp_server), make_page())
    assert f"SMTP {code}" in str(caught.value) and "refused by test" in str(caught.value)
    assert smtp_server.messages == []


def test_a_transient_refusal_then_success(smtp_server: SmtpServer) -> None:
    smtp_server.refuse("RCPT", 451, "4.7.1 greylisted")
    with pytest.raises(Transient):
        send(config(smtp_server), make_page())
    send(config(smtp_server), make_page())
    assert len(smtp_server.wait_for(1)) == 1


def test_connection_refused_is_transient() -> None:
    cfg = EmailConfig(host="127.0.0.1", port=unused_port(), from_address=FROM, starttls=False)
    with pytest.raises(Transient, match="cannot deliver through 127.0.0.1"):
        send(cfg, make_page())


def test_a_server_that_never_greets_times_out_as_transient() -> None:
    with silent_listener() as port:
        cfg = EmailConfig(host="127.0.0.1", port=port, from_address=FROM, timeout=0.2)
        with pytest.raises(Transient, match="no answer from 127.0.0.1"):
            send(cfg, make_page())


@pytest.mark.parametrize("address", ["not-an-address", "a@b.com, c@d.com", "a b@c.com", ""])
def test_a_bad_address_is_permanent_and_nothing_is_sent(smtp_server: SmtpServer, address: str) -> None:
    with pytest.raises(Permanent, match="not a single email address"):
        send(config(smtp_server), make_page(), address=address)
    assert smtp_server.messages == []
