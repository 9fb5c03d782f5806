"""The engine child's Prometheus series in the server's ``/metrics``: prometheus_client's
multiprocess mode over a private directory.

Why this and not the child answering a scrape over its pipe: the library already solves it, and
solves the hard part, a child that dies. Each process writes its values into memory-mapped files
named by its pid; the server's scrape merges every file in the directory
(``MultiProcessCollector``), so it needs no round trip to a child that may be busy, restarting or
gone. A dead child's files stay and are summed with its successor's, so counters and histograms
stay monotonic across a restart, as Prometheus expects of a ``_total``; the pipe would have lost
the dead child's counts and shown a reset. What it costs: the child's engine writes each
increment to a mapped file (no system call), and the directory must be private to one server.

The server makes the directory when it starts (``EngineMetricsFiles``), hands it to the child
alone (``PROMETHEUS_MULTIPROC_DIR`` in the child's environment, never the server's: the server's
own series stay in its memory and are not counted twice), marks a child dead when it ends (the
library's ``mark_process_dead``: it drops the files of live-only gauges, which the engine does not
use today, and keeps counters), and deletes the directory when it stops, so a server restart
starts its counters at zero like any restarted process."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

ENV_VAR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client reads it when the child first imports it


class EngineMetricsFiles:
    """The private directory of one ``tocsin serve``'s engine child metrics, for its lifetime."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="tocsin-engine-metrics-"))  # mode 0700

    def child_environment(self) -> dict[str, str]:
        """What the child's environment adds, so its engine writes its series here."""
        return {ENV_VAR: str(self.path)}

    def collector(self) -> Collector:
        """The child's series (every life of it) for the server's registry."""
        collector: Collector = MultiProcessCollector(None, path=str(self.path))  # type: ignore[no-untyped-call]
        return collector

    def child_ended(self, pid: int) -> None:
        mark_process_dead(pid, str(self.path))  # type: ignore[no-untyped-call]

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> EngineMetricsFiles:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
