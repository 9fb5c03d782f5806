"""Email over SMTP (aiosmtplib): one multipart/alternative message, plain text and HTML.

The ``Message-ID`` is derived from the page's idempotency key, so a retried page is recognisably
the same message (and mail systems that deduplicate on it drop the twin); every page of one
incident references the same thread id, so clients group them. SMTP 4xx, timeouts and connection
errors are ``Transient``; 5xx (a refused recipient, a rejected sender, failed auth) is
``Permanent``. The password never appears in a reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Final

import aiosmtplib

from tocsin.notify.base import Message, Page, Permanent, Receipt, Transient
from tocsin.notify.render import all_links, clip, facts, one_line, plain_text, state_label, subject

DEFAULT_TIMEOUT: Final = 10.0
_REASON_LIMIT: Final = 300
_COLORS: Final = {"HIGH": "#c62828", "MEDIUM": "#ef6c00", "LOW": "#546e7a", "ACKNOWLEDGED": "#1565c0"}
_BUTTON: Final = {"ack": "#c62828", "resolve": "#2e7d32", "link": "#1565c0", "view": "#455a64"}


@dataclass(frozen=True, slots=True)
class EmailConfig:
    """``starttls``: True requires STARTTLS, False never uses it, None upgrades when the server
    offers it. ``use_tls`` is implicit TLS from the first byte (usually port 465)."""

    host: str
    from_address: str
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool | None = None
    use_tls: bool = False
    validate_certs: bool = True
    timeout: float = DEFAULT_TIMEOUT


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _mail_domain(from_address: str) -> str:
    _, at, domain = parseaddr(from_address)[1].rpartition("@")
    return domain.strip() if at and domain.strip() else "tocsin"


def message_id(idempotency_key: str, from_address: str) -> str:
    """Same key, same id: ``<sha256(key)[:32]@from-domain>``."""
    return f"<{_digest(idempotency_key)}@{_mail_domain(from_address)}>"


def thread_id(incident_id: str, from_address: str) -> str:
    return f"<incident-{_digest(incident_id)}@{_mail_domain(from_address)}>"


def html_body(page: Page) -> str:
    """The HTML part; every piece of page text is escaped, including URLs in attributes."""
    e = html.escape
    label = state_label(page)
    color = _COLORS.get(label, "#2e7d32" if label == "RESOLVED" else "#546e7a")
    rows = "".join(
        f'<tr><td style="padding:2px 12px 2px 0;color:#666">{e(name)}</td><td>{e(value)}</td></tr>'
        for name, value in facts(page)
    )
    description = ""
    if page.description:
        description = f'<p style="white-space:pre-wrap">{e(page.description.strip())}</p>'
    buttons = " ".join(
        f'<a href="{e(link.url)}" style="display:inline-block;padding:10px 18px;margin:4px 8px 4px 0;'
        f'background:{_BUTTON[link.kind]};color:#fff;text-decoration:none;border-radius:4px">'
        f"{e(link.label)}</a>"
        for link in all_links(page)
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        '<body style="font-family:sans-serif;font-size:14px;color:#222">'
        f'<p style="margin:0;font-weight:bold;color:{color}">{e(label)}</p>'
        f'<h2 style="margin:4px 0 12px">#{page.incident_number} {e(one_line(page.title))}</h2>'
        f"<table>{rows}</table>{description}<p>{buttons}</p>"
        f'<p style="color:#888;font-size:12px">Sent by Tocsin ({e(page.event)}).</p>'
        "</body></html>"
    )


def build_message(config: EmailConfig, recipient: str, page: Page) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.from_address
    message["To"] = recipient
    message["Subject"] = subject(page)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(page.idempotency_key, config.from_address)
    thread = thread_id(page.incident_id, config.from_address)
    message["In-Reply-To"] = thread
    message["References"] = thread
    # RFC 3834: out-of-office robots must not answer a page.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Tocsin-Incident"] = page.incident_id
    message["X-Tocsin-Event"] = page.event
    message.set_content(plain_text(page))
    message.add_alternative(html_body(page), subtype="html")
    return message


def build_plain_message(config: EmailConfig, recipient: str, note: Message) -> EmailMessage:
    """A short plain-text mail (a verification code, a test page): no incident thread to join."""
    message = EmailMessage()
    message["From"] = config.from_address
    message["To"] = recipient
    message["Subject"] = one_line(note.subject)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(note.idempotency_key, config.from_address)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Tocsin-Event"] = note.kind
    message.set_content(note.text.rstrip("\n") + "\n")
    return message


def _response_outcome(code: int, text: str, host: str) -> Transient | Permanent:
    reason = f"email: SMTP {code} from {host}: {clip(one_line(text), _REASON_LIMIT)}"
    return Permanent(reason) if 500 <= code < 600 else Transient(reason)


def _why(exc: BaseException) -> str:
    return clip(one_line(str(exc)), _REASON_LIMIT) or type(exc).__name__


class EmailChannel:
    name = "email"

    def __init__(self, config: EmailConfig) -> None:
        self._config = config
        self._closing: set[asyncio.Task[None]] = set()

    async def _deliver(self, message: EmailMessage, recipient: str) -> str:
        """Send and return the server's DATA reply as soon as it accepted the message. The polite
        QUIT is left to a background task: the engine records the page the moment this returns,
        and a QUIT round trip in between would be a window in which a crash pages twice."""
        config = self._config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            use_tls=config.use_tls,
            start_tls=config.starttls,
            validate_certs=config.validate_certs,
            timeout=config.timeout,
        )
        try:
            await client.connect()
            _, reply = await client.send_message(
                message,
                sender=parseaddr(config.from_address)[1] or config.from_address,
                recipients=[recipient],
            )
        except BaseException:
            client.close()
            raise
        task = asyncio.create_task(self._quit(client))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        return reply

    @staticmethod
    async def _quit(client: aiosmtplib.SMTP) -> None:
        try:
            await client.quit()
        except asyncio.CancelledError:  # the loop is shutting down: drop the connection
            client.close()
            raise
        except (aiosmtplib.SMTPException, OSError):
            client.close()

    async def send(self, address: str, page: Page) -> Receipt:
        return await self._send_built(address, lambda recipient: build_message(self._config, recipient, page))

    async def send_message(self, address: str, message: Message) -> Receipt:
        return await self._send_built(
            address, lambda recipient: build_plain_message(self._config, recipient, message)
        )

    async def _send_built(self, address: str, build: Callable[[str], EmailMessage]) -> Receipt:
        """Check the address, build the mail for it, send it, and map SMTP's answer to an outcome."""
        config = self._config
        recipient = address.strip()
        if recipient.count("@") != 1 or any(ch.isspace() for ch in recipient) or "," in recipient:
            raise Permanent("email: the address is not a single email address")
        try:
            message = build(recipient)
        except (ValueError, TypeError) as exc:
            raise Permanent(f"email: cannot address a message to it ({clip(str(exc), 200)})") from exc
        host = config.host
        try:
            reply = await self._deliver(message, recipient)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = (
                exc.recipients[0] if exc.recipients else aiosmtplib.SMTPRecipientRefused(550, "", recipient)
            )
            raise _response_outcome(first.code, first.message, host) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _response_outcome(exc.code, exc.message, host) from exc
        except aiosmtplib.SMTPTimeoutError as exc:
            raise Transient(f"email: no answer from {host}:{config.port} within {config.timeout:g}s") from exc
        except aiosmtplib.SMTPException as exc:
            if isinstance(exc, aiosmtplib.SMTPNotSupported) or "not supported" in str(exc):
                # STARTTLS, AUTH or SMTPUTF8 missing: configuration, not luck, must change.
                raise Permanent(f"email: {host} does not support it: {_why(exc)}") from exc
            raise Transient(f"email: cannot deliver through {host}:{config.port}: {_why(exc)}") from exc
        except OSError as exc:
            raise Transient(f"email: cannot deliver through {host}:{config.port}: {_why(exc)}") from exc
        return Receipt(provider_id=message["Message-ID"], detail=clip(one_line(reply), 200) or None)
