"""What every inbound path (native events and each compat dialect) does before the ingest call:
find the routing key (cached) and apply the alert limits of spec 000 (per integration, per org)."""

from __future__ import annotations

from tocsin.api.cache import CachedLookup
from tocsin.api.middleware import limiter_unavailable, too_many
from tocsin.api.ratelimit import LimiterUnavailable, RateLimiter
from tocsin.db.session import Database
from tocsin.services.catalog import services as catalog
from tocsin.services.catalog.services import IngestRoute


class RouteResolver:
    def __init__(self, database: Database, ttl: float) -> None:
        self._db = database
        self._cache: CachedLookup[IngestRoute | None] = CachedLookup(ttl)

    async def resolve(self, routing_key: str) -> IngestRoute | None:
        def lookup() -> IngestRoute | None:
            with self._db.read() as session:
                return catalog.find_route(session=session, routing_key=routing_key)

        return await self._cache.get(routing_key, lookup)

    def forget(self) -> None:
        """After an integration or org change; cheap enough to drop everything."""
        self._cache.clear()


class AlertLimits:
    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    async def check(self, route: IngestRoute) -> None:
        """Raise RATE_LIMITED (429) if the integration or the org has sent too many alerts."""
        try:
            for category, identity in (("integration", route.integration_id), ("org_alerts", route.org_id)):
                decision = await self._limiter.allow(category, identity, route.org_rate_limits)
                if decision is not None:
                    scope = "integration" if category == "integration" else "organization"
                    raise too_many(decision, f"alerts from this {scope}", {"scope": scope})
        except LimiterUnavailable:
            raise limiter_unavailable() from None
