"""``GET /live/incidents`` on a real ``tocsin serve``: an incident triggered through
``POST /api/events`` (committed by the ingest writer child on SQLite, by the server on PostgreSQL)
arrives on an open stream without asking again."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import httpx

from tests.web.server import LiveServer
from tests.web.sse import events


def test_a_new_incident_reaches_an_open_stream(live_server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {live_server.key}", "Accept": "text/event-stream"}
    timeout = httpx.Timeout(30.0)  # only there to fail a hang
    with (
        httpx.Client(base_url=live_server.url, timeout=timeout) as client,
        client.stream("GET", "/live/incidents", headers=headers) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        received = events(stream.iter_lines())
        first = next(received)
        assert first.name == "refresh" and isinstance(first.json(), list)
        dedup_key = uuid.uuid4().hex
        incident = live_server.trigger("Queue depth above 10k on orders", dedup_key)
        for event in received:  # a change may come first (another test's commit); ours follows
            assert event.name in ("changed", "refresh")
            rows = {row["id"]: row for row in event.json()}
            if incident in rows:
                assert rows[incident]["status"] == "OPEN"
                assert rows[incident]["title"] == "Queue depth above 10k on orders"
                break
        else:
            raise AssertionError("the stream ended before the new incident arrived")


def test_a_server_with_open_streams_still_stops_on_sigterm(db_url: str, tmp_path: Path) -> None:
    """uvicorn waits for open responses before it shuts down, and a stream never ends by itself:
    ``tocsin serve`` ends its streams first, so an open tab cannot hold a restart forever."""
    server = LiveServer(tmp_path, db_url).start()
    try:
        headers = {"Authorization": f"Bearer {server.key}"}
        with (
            httpx.Client(base_url=server.url, timeout=httpx.Timeout(30.0)) as client,
            client.stream("GET", "/live/incidents", headers=headers) as stream,
        ):
            received = events(stream.iter_lines())
            assert next(received).name == "refresh"
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            assert list(received) is not None  # the stream ends (a hang would fail on the timeout)
            # uvicorn shuts down gracefully, then re-raises the signal it caught (its convention)
            assert server.process.wait(timeout=30) == -signal.SIGTERM
    finally:
        server.stop()
