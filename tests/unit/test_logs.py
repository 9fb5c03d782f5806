"""Which format the logs take (``logs.configure_logging``): console lines on a real terminal (a
pseudo-terminal here), JSON lines on a pipe, ``TOCSIN_LOG_FORMAT`` overriding either; no colour on
a pipe; and no ANSI escape inside a JSON line, even from uvicorn's ``color_message``."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import TextIO

import pytest

from tocsin.config import Settings
from tocsin.logs import chosen_format, configure_logging, write_fields

COLOURED = "\x1b[32mGET /healthz\x1b[0m 200"  # what uvicorn passes as color_message


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers, root.level = handlers, level


@pytest.fixture
def terminal() -> Iterator[tuple[TextIO, int]]:
    """A real terminal: the writing end of a pseudo-terminal, and the fd its output is read from."""
    reader, writer = os.openpty()
    stream = open(writer, "w", buffering=1)
    yield stream, reader
    stream.close()
    os.close(reader)


@pytest.fixture
def pipe() -> Iterator[tuple[TextIO, int]]:
    reader, writer = os.pipe()
    stream = open(writer, "w", buffering=1)
    yield stream, reader
    stream.close()
    os.close(reader)


def _emit(stream: TextIO, reader: int, fmt: str) -> str:
    configure_logging("INFO", fmt, stream)  # type: ignore[arg-type]
    logging.getLogger("uvicorn.error").info("GET /healthz 200", extra={"color_message": COLOURED})
    stream.flush()
    return os.read(reader, 65536).decode()


def test_auto_is_console_on_a_terminal_and_json_on_a_pipe(
    terminal: tuple[TextIO, int], pipe: tuple[TextIO, int]
) -> None:
    assert chosen_format("auto", terminal[0]) == "console"
    assert chosen_format("auto", pipe[0]) == "json"
    assert Settings(database_url="sqlite://").log_format == "auto"


def test_the_setting_overrides_either_way(terminal: tuple[TextIO, int], pipe: tuple[TextIO, int]) -> None:
    assert chosen_format("json", terminal[0]) == "json"
    assert chosen_format("console", pipe[0]) == "console"


def test_json_on_a_pipe_has_no_escapes_and_no_color_message(pipe: tuple[TextIO, int]) -> None:
    output = _emit(*pipe, "auto")
    line = json.loads(output)
    assert line["event"] == "GET /healthz 200" and line["logger"] == "uvicorn.error"
    assert "color_message" not in line
    assert "\x1b" not in output and "\\u001b" not in output


def test_json_strips_escapes_from_any_field(pipe: tuple[TextIO, int]) -> None:
    stream, reader = pipe
    configure_logging("INFO", "json", stream)
    logging.getLogger("tocsin.test").warning(
        "red \x1b[31malert\x1b[0m", extra={"detail": "\x1b[1mbold\x1b[0m"}
    )
    output = os.read(reader, 65536).decode()
    line = json.loads(output)
    assert (line["event"], line["detail"]) == ("red alert", "bold")
    assert "\x1b" not in output and "\\u001b" not in output


def test_console_on_a_pipe_is_not_coloured(pipe: tuple[TextIO, int]) -> None:
    output = _emit(*pipe, "console")
    assert "GET /healthz 200" in output and "\x1b" not in output
    with pytest.raises(json.JSONDecodeError):
        json.loads(output)


def test_console_on_a_terminal_is_coloured(terminal: tuple[TextIO, int]) -> None:
    output = _emit(*terminal, "auto")
    assert "GET /healthz 200" in output and "\x1b[" in output
    assert "color_message" not in output


def test_a_hot_line_is_the_same_json_object_as_any_other(pipe: tuple[TextIO, int]) -> None:
    """``write_fields`` (the access line's lane) and the ordinary path give the same keys."""
    stream, reader = pipe
    configure_logging("INFO", "json", stream)
    logger = logging.getLogger("tocsin.test")
    write_fields(logger, logging.INFO, "%s %d", "GET", 200, method="GET", status=200, key_id=None)
    logger.info("GET 200", extra={"method": "GET", "status": 200, "key_id": None})
    hot, ordinary = (json.loads(line) for line in os.read(reader, 65536).decode().splitlines())
    assert (
        hot.keys()
        == ordinary.keys()
        == {"event", "level", "logger", "timestamp", "method", "status", "key_id"}
    )
    assert {k: v for k, v in hot.items() if k != "timestamp"} == {
        k: v for k, v in ordinary.items() if k != "timestamp"
    }
    assert hot["timestamp"].endswith("Z") and hot["timestamp"][:4] == ordinary["timestamp"][:4]


def test_a_hot_line_on_the_console_shows_its_fields(pipe: tuple[TextIO, int]) -> None:
    stream, reader = pipe
    configure_logging("INFO", "console", stream)
    write_fields(
        logging.getLogger("tocsin.test"), logging.INFO, "GET /healthz 200", route="/healthz", key_id="key_1"
    )
    output = os.read(reader, 65536).decode()
    assert "GET /healthz 200" in output and "key_id=key_1" in output and "tocsin_fields" not in output
