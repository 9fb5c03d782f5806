"""The wire between ``tocsin serve`` and its ingest writer child (``services.ingest.writer``).

A frame is a 4-byte length and a pickle. Pickle is safe here: both ends are this program, joined
by a socket pair that only a child of the server inherits. Items travel as plain tuples, each
route once per frame, and results as tuples or ``Failure``s: pickle handles builtins in C, while
dataclasses and exception classes cost a Python call each (and not all of ours unpickle)."""

from __future__ import annotations

import asyncio
import pickle
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tocsin.domain.actor import Actor
from tocsin.services.catalog.services import IngestRoute
from tocsin.services.errors import ServiceError
from tocsin.services.ingest.bulk import IngestItem
from tocsin.services.ingest.events import Event, IngestResult

_HEADER = struct.Struct("!I")
_MAX_FRAME = 256 * 1024 * 1024
READY = b"ready"  # the writer's first frame: it is connected to the database and listening


@dataclass(frozen=True, slots=True)
class Failure:
    """An item's exception, as plain fields: ``ServiceError`` subclasses do not all unpickle."""

    code: str
    message: str
    details: dict[str, Any]
    service: bool

    @classmethod
    def of(cls, exc: BaseException) -> Failure:
        if isinstance(exc, ServiceError):
            return cls(exc.code, exc.message, exc.details, True)
        return cls("INTERNAL_ERROR", f"{type(exc).__name__}: {exc}", {}, False)

    def exception(self) -> Exception:
        if not self.service:
            return RuntimeError(self.message)
        error = ServiceError(self.message, self.details)
        error.code = self.code
        return error


def pack_items(items: Sequence[IngestItem]) -> tuple[list[IngestRoute], list[tuple[Any, ...]]]:
    """Items as plain tuples, each route once: pickle handles builtins in C, while a slotted
    dataclass costs a Python call and a ``fields()`` walk per object."""
    routes: dict[int, int] = {}
    unique: list[IngestRoute] = []
    rows: list[tuple[Any, ...]] = []
    for item in items:
        slot = routes.get(id(item.route))
        if slot is None:
            slot = routes[id(item.route)] = len(unique)
            unique.append(item.route)
        event, actor = item.event, item.actor
        rows.append(
            (
                slot, event.action, event.dedup_key, event.summary, event.severity, event.source,
                event.custom_details, event.links, event.raw, event.priority, event.description,
                event.retitles, actor.type, actor.id, actor.name, item.now,
            )
        )  # fmt: skip
    return unique, rows


def unpack_items(packed: tuple[list[IngestRoute], list[tuple[Any, ...]]]) -> list[IngestItem]:
    routes, rows = packed
    return [
        IngestItem(
            route=routes[row[0]],
            event=Event(*row[1:12]),
            actor=Actor(type=row[12], id=row[13], name=row[14]),
            now=row[15],
        )
        for row in rows
    ]


def pack_result(result: Any) -> Any:
    if isinstance(result, IngestResult):
        return (result.dedup_key, result.outcome, result.incident_id, result.incident_number)
    if isinstance(result, BaseException):
        return Failure.of(result)
    raise TypeError(f"unexpected ingest result {result!r}")


def unpack_result(packed: Any) -> Any:
    return packed.exception() if isinstance(packed, Failure) else IngestResult(*packed)


def encode_frame(payload: Any) -> bytes:
    """``payload`` as one frame."""
    body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next frame's object; ``asyncio.IncompleteReadError`` at end-of-file."""
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    if size > _MAX_FRAME:
        raise ValueError(f"frame of {size} bytes")
    return pickle.loads(await reader.readexactly(size))


def complete_frames(buffer: bytearray) -> list[Any]:
    """Take every whole frame off the front of ``buffer``."""
    frames: list[Any] = []
    offset = 0
    while len(buffer) - offset >= _HEADER.size:
        (size,) = _HEADER.unpack_from(buffer, offset)
        if size > _MAX_FRAME:
            raise ValueError(f"frame of {size} bytes")
        end = offset + _HEADER.size + size
        if len(buffer) < end:
            break
        frames.append(pickle.loads(buffer[offset + _HEADER.size : end]))
        offset = end
    del buffer[:offset]
    return frames
