"""The sent journal: one line per page a provider accepted, appended the instant it answers.

Between a provider accepting a page and the database recording it, a ``kill -9`` would leave the
job looking unsent, and the retry after the lease would page the person twice. Recording in the
database takes milliseconds (a transaction, maybe a wait for SQLite's write lock); appending a line
to a file takes microseconds and survives a process crash (the kernel has the bytes once
``write`` returns). A retried page first looks here: if it is listed, it was delivered, and only
the database record is caught up.

SQLite only: every engine on one SQLite database shares its directory, so the journal sits next
to the database file. On PostgreSQL the record is a row update without a global lock, and
replicas on other hosts could not read another's journal anyway.
"""

from __future__ import annotations

import os
from pathlib import Path


class SentJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def record(self, job_id: str) -> None:
        """Append ``job_id``; one ``write`` of a short line, atomic under ``O_APPEND``."""
        os.write(self._fd, f"{job_id}\n".encode())

    def contains(self, job_id: str) -> bool:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return False
        return f"{job_id}\n" in text

    def compact(self, settled: set[str]) -> None:
        """Drop the lines of jobs the database already records as settled (keeps the file small).
        Another engine appending at the same instant may lose its line; it then only risks the
        duplicate the journal exists to avoid, if it also crashes before its own record."""
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return
        keep = [line for line in lines if line and line not in settled]
        temporary = self.path.with_suffix(self.path.suffix + ".tmp")
        temporary.write_text("".join(f"{line}\n" for line in keep))
        os.replace(temporary, self.path)
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def listed(self) -> set[str]:
        try:
            return {line for line in self.path.read_text().splitlines() if line}
        except FileNotFoundError:
            return set()

    def close(self) -> None:
        os.close(self._fd)


def journal_for(database_url: str) -> SentJournal | None:
    """The journal beside a SQLite database file; None for PostgreSQL or an in-memory database."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415 - keep module import light

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return SentJournal(Path(url.database + ".sent"))
