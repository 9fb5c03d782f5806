"""Structured logs: one JSON object per line (or readable console lines), stdlib loggers included.

Which of the two: ``auto`` (the default) renders console lines, coloured, when the log stream is
a terminal (a person is reading) and JSON when it is not (a file, a pipe, journald, a container
log collector: a program is reading). ``TOCSIN_LOG_FORMAT=json|console`` overrides it; console
lines written to a pipe are never coloured.

No ANSI escape ever reaches a JSON line: uvicorn passes a coloured copy of its messages as the
``color_message`` extra, which the generic extra-to-field step would have put in every line as
raw escapes; it is dropped, and any other escape sequence is stripped from JSON fields.

Hot lines (the access line of every event) take a lane of their own (``write_fields``): a record
built without the caller lookup, rendered to JSON in one ``orjson`` call instead of structlog's
processor chain. The chain cost about 35 µs a line, a third of the server's whole CPU per event
under a storm; the lane, a few. The line is the same JSON object either way."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson
import structlog

LogFormat = Literal["auto", "json", "console"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# The record attribute that carries a hot line's fields (``write_fields``) to the JSON lane.
_FIELDS = "tocsin_fields"


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
    event.pop(_FIELDS, None)  # a hot line's fields are attributes of their own as well
    return event


def write_fields(logger: logging.Logger, level: int, message: str, *args: object, **fields: Any) -> None:
    """Log one line with ``fields`` (JSON-safe scalars) as its own keys, cheaply: for a line per
    request. The caller checks ``logger.isEnabledFor(level)`` first."""
    record = logger.makeRecord(logger.name, level, "", 0, message, args, None, extra=fields)
    setattr(record, _FIELDS, fields)
    logger.handle(record)


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """structlog's formatter, with the JSON lane for ``write_fields`` lines."""

    def __init__(self, *, json_lane: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._json_lane = json_lane

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, _FIELDS, None)
        if fields is None or not self._json_lane:
            return super().format(record)
        line = {
            "event": record.getMessage(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            **fields,
        }
        return orjson.dumps(line).decode()


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
    formatter = _Formatter(
        json_lane=chosen == "json",
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
