"""SQLite-only write-lock machinery: the ingest-first flag shared between processes and the wait for
the write lock. PostgreSQL needs none of it (row locks and MVCC), so it lives apart."""
