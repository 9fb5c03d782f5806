"""Reading a Server-Sent Events stream the way a browser's EventSource does: events are blocks of
``field: value`` lines ended by a blank line; lines starting with ``:`` are comments (keep-alives)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    name: str
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


def events(lines: Iterator[str]) -> Iterator[Event]:
    name, data = "message", []
    for line in lines:
        if line == "":
            if data:
                yield Event(name, "\n".join(data))
            name, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
