"""Structured logs: one JSON object per line (or readable console lines), stdlib loggers included.

Which of the two: ``auto`` (the default) renders console lines, coloured, when the log stream is
a terminal (a person is reading) and JSON when it is not (a file, a pipe, journald, a container
log collector: a program is reading). ``TOCSIN_LOG_FORMAT=json|console`` overrides it; console
lines written to a pipe are never coloured.

No ANSI escape ever reaches a JSON line: uvicorn passes a coloured copy of its messages as the
``color_message`` extra, which the generic extra-to-field step would have put in every line as
raw escapes; it is dropped, and any other escape sequence is stripped from JSON fields."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import structlog

LogFormat = Literal["auto", "json", "console"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def chosen_format(fmt: LogFormat, stream: TextIO) -> Literal["json", "console"]:
    """The format for ``stream``: as asked, or for ``auto`` console on a terminal, JSON elsewhere."""
    if fmt != "auto":
        return fmt
    return "console" if _is_terminal(stream) else "json"


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        return False


def _drop_color_message(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event.pop("color_message", None)
    return event


def _strip_ansi(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if isinstance(value, str) and "\x1b" in value:
            event[key] = _ANSI.sub("", value).replace("\x1b", "")
    return event


def configure_logging(level: str = "INFO", fmt: LogFormat = "auto", stream: TextIO | None = None) -> None:
    """Route every stdlib logger (ours, uvicorn's, SQLAlchemy's) through one handler on ``stream``
    (standard error by default) in the chosen format."""
    stream = stream if stream is not None else sys.stderr
    chosen = chosen_format(fmt, stream)
    renderers: list[structlog.types.Processor]
    if chosen == "json":
        renderers = [_strip_ansi, structlog.processors.JSONRenderer()]
    else:
        renderers = [structlog.dev.ConsoleRenderer(colors=_is_terminal(stream))]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.stdlib.ExtraAdder(),
            _drop_color_message,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            *renderers,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # httpx logs every request URL at INFO; Slack, Teams and webhook URLs are secrets.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
