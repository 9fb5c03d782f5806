"""Which database errors mean "run the same transaction again".

PostgreSQL rolls a transaction back to break a deadlock (SQLSTATE 40P01) or a serialization
conflict (40001); its documentation's remedy is to retry the whole transaction, which then
usually succeeds at once (the other side has committed meanwhile). Nothing of the transaction
was kept, so a retry cannot write anything twice."""

from __future__ import annotations

RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def is_retryable_conflict(error: BaseException) -> bool:
    """True for a deadlock or serialization failure, raised by psycopg itself (the raw ingest
    statements) or wrapped by SQLAlchemy (``DBAPIError.orig``), anywhere in the cause chain."""
    seen: BaseException | None = error
    for _ in range(8):  # a cause chain is short; bounded all the same
        if seen is None:
            return False
        for candidate in (seen, getattr(seen, "orig", None)):
            if getattr(candidate, "sqlstate", None) in RETRYABLE_SQLSTATES:
                return True
        seen = seen.__cause__ or seen.__context__
    return False
