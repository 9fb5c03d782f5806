"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives, parsed.

    with SmtpServer() as smtp:                        # or the ``smtp_server`` fixture
        smtp.refuse("RCPT", 550, "5.1.1 No such user")   # next RCPT only
        smtp.refuse("DATA", 451, "4.3.0 Try later", times=None)  # until clear()
        ... send to smtp.host:smtp.port ...
        [mail] = smtp.wait_for(1)
        assert mail.rcpt_tos == ["oncall@example.com"] and mail.message["Subject"] == "..."

``SmtpServer(credentials=("user", "secret"))`` offers AUTH PLAIN/LOGIN without TLS and refuses
other logins with 535; ``mail.login`` says who sent. The port is chosen by the OS (port 0), so
parallel tests never collide; ``SmtpServer(port=stopped.port)`` brings a stopped server back on its
port (an outage that ends).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Literal, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Stage = Literal["MAIL", "RCPT", "DATA"]


class _QuietLoginData(logging.Filter):
    """aiosmtpd 1.4 warns about its own deprecated ``login_data`` on every successful AUTH."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Session.login_data is deprecated")


_quiet = _QuietLoginData()
logging.getLogger("mail.log").addFilter(_quiet)


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    login: str | None
    # ``time.time()`` when the DATA was accepted: benchmarks measure page latency with it.
    received_at: float = field(default_factory=time.time)

    def part(self, content_type: str) -> str:
        """The decoded body of the first part of ``content_type`` (``text/plain``, ``text/html``)."""
        for part in self.message.walk():
            if part.get_content_type() == content_type and not part.is_multipart():
                return cast(str, part.get_content())
        raise AssertionError(f"no {content_type} part in {self.message.get_content_type()}")


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self._server._refusal("MAIL")
        if refusal:
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self._server._refusal("RCPT")
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        refusal = self._server._refusal("DATA")
        if refusal:
            return refusal
        raw = envelope.original_content or b""
        # Parsed with plain newlines, as Python writes text; ``raw`` keeps the wire's CRLF.
        message = message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default)
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        self._server._receive(
            ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), message, raw, login)
        )
        return "250 2.0.0 OK: queued"


class _Controller(Controller):
    """Binds port 0 and learns the port the OS picked before aiosmtpd's start-up probe."""

    def _trigger_server(self) -> None:
        server = cast(asyncio.Server, self.server)
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpServer:
    def __init__(self, *, credentials: tuple[str, str] | None = None, port: int = 0) -> None:
        self.host = "127.0.0.1"
        self.credentials = credentials
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._messages: list[ReceivedMail] = []
        self._refusals: dict[Stage, deque[tuple[str, int | None]]] = {}
        kwargs: dict[str, Any] = {}
        if credentials is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        self._controller = _Controller(
            _Handler(self), hostname=self.host, port=port, server_hostname="smtp.test", **kwargs
        )
        self._running = False

    def start(self) -> SmtpServer:
        self._controller.start()
        self._running = True
        return self

    def stop(self) -> None:
        if self._running:
            self._controller.stop()
            self._running = False

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self._controller.port)

    # programming refusals

    def refuse(self, stage: Stage, code: int, message: str, *, times: int | None = 1) -> None:
        """Answer the next ``times`` MAIL/RCPT/DATA commands with ``code message`` (None: every
        one until ``clear()``). 5xx is a permanent refusal to a client, 4xx a transient one."""
        with self._lock:
            self._refusals.setdefault(stage, deque()).append((f"{code} {message}", times))

    def _refusal(self, stage: Stage) -> str | None:
        with self._lock:
            queue = self._refusals.get(stage)
            if not queue:
                return None
            reply, times = queue[0]
            if times is not None:
                if times <= 1:
                    queue.popleft()
                else:
                    queue[0] = (reply, times - 1)
            return reply

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self.credentials is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    # reading what arrived

    def _receive(self, mail: ReceivedMail) -> None:
        with self._arrived:
            self._messages.append(mail)
            self._arrived.notify_all()

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._messages)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """Block until at least ``count`` messages were accepted; fail the test after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} messages, got {len(self._messages)}")
                self._arrived.wait(left)
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self._refusals.clear()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A started ``SmtpServer`` without auth, stopped after the test."""
    with SmtpServer() as server:
        yield server
