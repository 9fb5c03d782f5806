"""Hand-written SQL on the DBAPI connection, for the ingest hot path only.

Why: SQLAlchemy spends ~50-100 µs of Python per statement, which is most of the cost of a
group-commit batch. These statements run on the very connection (and transaction) the session
holds, with values adapted the way the ORM stores them, so ORM reads see the same rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Self

import orjson
from sqlalchemy import Connection

_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite DATETIME storage format


class RawSQL:
    def __init__(self, dbapi: Any, *, postgres: bool) -> None:
        """On a DBAPI connection (sqlite3 or psycopg) inside the caller's transaction."""
        self.postgres = postgres
        self._dbapi = dbapi
        self.mark = "%s" if self.postgres else "?"
        if self.postgres:
            from psycopg.types.json import Jsonb

            self._jsonb = Jsonb

    @classmethod
    def of(cls, connection: Connection) -> Self:
        """On the DBAPI connection under a SQLAlchemy connection (a session's)."""
        return cls(connection.connection.driver_connection, postgres=connection.dialect.name == "postgresql")

    def marks(self, count: int) -> str:
        """``?, ?, ?`` (or ``%s, …``): ``count`` placeholders."""
        return ", ".join([self.mark] * count)

    def sql(self, text: str) -> str:
        """Statements are written with ``?``; PostgreSQL's driver wants ``%s``."""
        return text.replace("?", "%s") if self.postgres else text

    def time(self, value: datetime) -> Any:
        if self.postgres:
            return value
        return value.astimezone(UTC).strftime(_SQLITE_TIME)

    def json(self, value: Any) -> Any:
        if value is None:
            return None
        return self._jsonb(value) if self.postgres else orjson.dumps(value).decode()

    def rows(self, text: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        cursor = self._dbapi.cursor()
        try:
            cursor.execute(self.sql(text), params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def many(self, text: str, params: Iterable[Sequence[Any]]) -> None:
        cursor = self._dbapi.cursor()
        try:
            cursor.executemany(self.sql(text), list(params))
        finally:
            cursor.close()
