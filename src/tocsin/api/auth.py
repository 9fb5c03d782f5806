"""Finding the key behind a request: three header forms (spec 003), and a short in-memory cache
(by the secret's hash, never the secret) so the ingest path does not read the database per request."""

from __future__ import annotations

from tocsin.api.cache import CachedLookup
from tocsin.db.session import Database
from tocsin.domain.api_keys import hash_key
from tocsin.services.access import keys as key_service
from tocsin.services.access.keys import KeyRecord


class KeyResolver:
    def __init__(self, database: Database, ttl: float) -> None:
        self._db = database
        self._cache: CachedLookup[KeyRecord | None] = CachedLookup(ttl)

    async def resolve(self, secret: str) -> KeyRecord | None:
        def lookup() -> KeyRecord | None:
            with self._db.read() as session:
                return key_service.authenticate(session=session, secret=secret)

        return await self._cache.get(hash_key(secret), lookup)

    def forget(self, *, key_id: str | None = None, org_id: str | None = None) -> None:
        self._cache.forget_where(
            lambda record: record is not None and (record.id == key_id or record.org_id == org_id)
        )
