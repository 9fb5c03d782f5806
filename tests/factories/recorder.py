"""A real HTTP server that records every request and answers what a test programs.

Stands in for Slack, Teams, Twilio, ntfy and webhook receivers: channels talk real HTTP to it.

    with Recorder() as recorder:                      # or the ``recorder`` fixture
        recorder.respond(status=429, headers={"Retry-After": "7"})   # next request only
        recorder.respond(status=201, json={"sid": "SM1"}, path="/2010-04-01/Accounts/AC1/Messages.json")
        recorder.respond(delay=5)                     # hold the answer: provokes a client timeout
        ... send to recorder.url + "/hook" ...
        [request] = recorder.wait_for(1)
        assert request.json == {...} and request.header("Idempotency-Key") == "k"

Queued replies are used once, in order, path-specific ones before global ones; when none is
queued the ``default`` reply answers (200 ``ok``). Requests are recorded as they arrive, before
any delay. Stopping the server releases delayed handlers at once and joins every thread, so no
test leaves a thread or a socket behind.
"""

from __future__ import annotations

import json as jsonlib
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it. Header lookups ignore case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: tuple[tuple[str, str], ...]
    body: bytes
    received_at: datetime
    monotonic: float

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return jsonlib.loads(self.body)
        except ValueError:
            return None

    @property
    def form(self) -> dict[str, str] | None:
        """A form-encoded body as a dict (last value wins), or None for other bodies."""
        if self.content_type != "application/x-www-form-urlencoded":
            return None
        pairs = parse_qs(self.text, keep_blank_values=True)
        return {key: values[-1] for key, values in pairs.items()}


@dataclass(frozen=True)
class Reply:
    """What the server answers: status, headers, body bytes, after ``delay`` seconds."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0

    @staticmethod
    def make(
        status: int = 200,
        *,
        body: str | bytes | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> Reply:
        all_headers = dict(headers or {})
        if json is not None:
            payload = jsonlib.dumps(json).encode()
            all_headers.setdefault("Content-Type", "application/json")
        elif body is None:
            payload = b"ok" if 200 <= status < 300 else b""
        else:
            payload = body.encode() if isinstance(body, str) else body
        return Reply(status, all_headers, payload, delay)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers at shutdown

    def _serve(self) -> None:
        recorder = self.server.recorder
        body = self._read_body()
        target = urlsplit(self.path)
        recorder._record(
            RecordedRequest(
                method=self.command,
                path=target.path,
                query=parse_qs(target.query, keep_blank_values=True),
                headers=tuple(self.headers.items()),
                body=body,
                received_at=datetime.now(UTC),
                monotonic=time.monotonic(),
            )
        )
        reply = recorder._next_reply(target.path)
        if reply.delay and recorder._stopping.wait(reply.delay):
            return  # the server is stopping: the client gave up long ago
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and closed

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # joined on close, so a test never leaks a handler thread
    block_on_close = True

    def __init__(self, recorder: Recorder) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.recorder = recorder

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-request is part of what tests provoke


class Recorder:
    """The server. ``url`` is ``http://127.0.0.1:<port>`` (no trailing slash)."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._requests: list[RecordedRequest] = []
        self._queued: deque[Reply] = deque()
        self._queued_by_path: dict[str, deque[Reply]] = {}
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> Recorder:
        assert self._server is None, "already started"
        self._stopping.clear()
        self._server = _Server(self)
        # A short poll interval: ``shutdown()`` waits for one poll, and every test stops a server.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.01,), name="recorder", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        assert self._thread is not None
        self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # programming answers

    def respond(
        self,
        status: int = 200,
        *,
        body: str | bytes | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        path: str | None = None,
        times: int = 1,
    ) -> None:
        """Queue a reply for the next ``times`` requests (to ``path`` only, when given)."""
        reply = Reply.make(status, body=body, json=json, headers=headers, delay=delay)
        with self._lock:
            queue = self._queued if path is None else self._queued_by_path.setdefault(path, deque())
            queue.extend([reply] * times)

    def set_default(
        self,
        status: int = 200,
        *,
        body: str | bytes | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Change what every request answers once the queues are empty."""
        reply = Reply.make(status, body=body, json=json, headers=headers, delay=delay)
        with self._lock:
            self.default = reply

    def _next_reply(self, path: str) -> Reply:
        with self._lock:
            for queue in (self._queued_by_path.get(path), self._queued):
                if queue:
                    return queue.popleft()
            return self.default

    # reading what arrived

    def _record(self, request: RecordedRequest) -> None:
        with self._arrived:
            self._requests.append(request)
            self._arrived.notify_all()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests arrived; fail the test after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} requests, got {len(self._requests)}")
                self._arrived.wait(left)
            return list(self._requests)

    def clear(self) -> None:
        """Forget recorded requests and queued replies (the default reply stays)."""
        with self._lock:
            self._requests.clear()
            self._queued.clear()
            self._queued_by_path.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._requests)


def unused_port() -> int:
    """A localhost port nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def silent_listener() -> Iterator[int]:
    """A localhost port that accepts connections (the kernel completes the handshake) and never
    says a word: an HTTP or SMTP client times out waiting for the answer or the greeting."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A started ``Recorder``, stopped after the test."""
    with Recorder() as server:
        yield server
