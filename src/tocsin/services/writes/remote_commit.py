"""What ``GroupCommitter`` needs of an applier that commits its batches elsewhere (the ingest
writer child, ``server.ingest_writer``), kept apart so that neither module imports the other's insides."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Protocol

# handler(session=..., items=[...]) -> one result per item, in order.
BatchHandler = Callable[..., Sequence[Any]]


class RemoteUnavailable(Exception):
    """A remote applier cannot take a batch now, and nothing of it was sent: commit it here."""


class RemoteApplier(Protocol):
    """Commits batches of ``handler`` elsewhere (``server.ingest_writer.IngestWriter``)."""

    handler: BatchHandler

    def send(self, items: Sequence[Any]) -> asyncio.Future[list[Any]]:
        """Hand ``items`` over, in order after every earlier batch; the future gives one result or
        exception per item, after the COMMIT that holds it. ``RemoteUnavailable`` if it cannot."""
        ...


class ManagedApplier(RemoteApplier, Protocol):
    """A remote applier the app starts with itself and closes after its last request."""

    def start(self) -> None:
        """Begin (in the background): batches commit locally until it is connected."""
        ...

    async def close(self) -> None:
        """Finish the batches in hand and let go."""
        ...
