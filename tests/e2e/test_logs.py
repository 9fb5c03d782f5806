"""A real ``tocsin serve`` writing to a file (not a terminal): every line is JSON, uvicorn's
included, with no ANSI escape anywhere (uvicorn's ``color_message`` dropped), and the access line
of each request names its route template, status and key id; forced to console lines, a file
still gets no colour. Real processes, real SMTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.engine_proc import HOST, PagingWorld, SmtpProcess, free_port, stop
from tests.factories.waiting import eventually


def _serve_and_call(tmp_path: Path, **env: str) -> str:
    """Serve, call three routes, stop; the log as written."""
    with SmtpProcess(tmp_path) as smtp:
        world = PagingWorld(tmp_path, f"sqlite:///{tmp_path / 'tocsin.db'}", smtp.port, minute_seconds=60.0)
        world.migrate()
        world.seed()
        port = free_port()
        log = tmp_path / "serve.log"
        server = world.serve(port, log, TOCSIN_LOG_LEVEL="INFO", **env)
        try:
            assert httpx.get(f"http://{HOST}:{port}/healthz", timeout=10).status_code == 200
            world.trigger(port, "logged")
            assert httpx.get(f"http://{HOST}:{port}/api/incidents", timeout=10).status_code == 401
            # The third access line (written after the answer) is in: every line the test reads.
            assert eventually(lambda: log.read_text().count(" 401 ") >= 1, 30), log.read_text()
        finally:
            stop(server)
        return log.read_text()


@pytest.mark.e2e
def test_json_lines_without_escapes_and_an_access_line_per_request(tmp_path: Path) -> None:
    text = _serve_and_call(tmp_path)
    assert "\x1b" not in text and "\\u001b" not in text
    lines: list[dict[str, Any]] = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert not any("color_message" in line for line in lines)
    assert any(line["event"].startswith("Uvicorn running on") for line in lines), text  # uvicorn's own
    access = {
        (line["method"], line["route"]): line for line in lines if line.get("logger") == "tocsin.access"
    }
    assert access[("GET", "/healthz")]["status"] == 200
    events = access[("POST", "/api/events")]
    assert events["status"] == 202 and events["key_id"].startswith("key_")
    assert isinstance(events["duration_ms"], float) and len(events["request_id"]) == 32
    unauthenticated = access[("GET", "unmatched")]
    assert unauthenticated["status"] == 401 and unauthenticated["key_id"] is None


@pytest.mark.e2e
def test_console_lines_to_a_file_are_not_coloured(tmp_path: Path) -> None:
    text = _serve_and_call(tmp_path, TOCSIN_LOG_FORMAT="console")
    assert "Uvicorn running on" in text and "GET /healthz 200" in text
    assert "\x1b" not in text
    assert not text.lstrip().startswith("{")
