"""Rate limits through HTTP: per key (events, reads, writes), per integration and per org for
alerts, headers on every answer, 429 with Retry-After, and 503 when the store is down."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory
from tocsin.api.app import create_app
from tocsin.api.ratelimit import RateLimiter
from tocsin.config import Settings
from tocsin.db.session import Database

HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def test_headers_on_every_api_response(orgs: OrgFactory) -> None:
    org = orgs.new()
    for response in (
        org.get("/api/incidents"),
        org.get("/api/incidents/inc_missing"),
        org.get("/api/incidents", params={"limit": 1000}),
        org.post("/api/incidents", json={}),
        org.get("/api/no-such-route"),
    ):
        assert all(name in response.headers for name in HEADERS), response.request.url
        assert response.headers["X-RateLimit-Limit"] in ("300", "100")
        reset = int(response.headers["X-RateLimit-Reset"])
        assert time.time() - 1 <= reset <= time.time() + 61


def test_remaining_counts_down(orgs: OrgFactory) -> None:
    org = orgs.new()
    first = int(org.get("/api/incidents").headers["X-RateLimit-Remaining"])
    second = int(org.get("/api/incidents").headers["X-RateLimit-Remaining"])
    assert (first, second) == (299, 298)


def test_read_limit_gives_429_with_retry_after(orgs: OrgFactory) -> None:
    org = orgs.new(rate_limits={"read": "3/minute"})
    for _ in range(3):
        assert org.get("/api/incidents").status_code == 200
    response = org.get("/api/incidents")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "RATE_LIMITED"
    assert 1 <= error["retry_after"] <= 60
    assert response.headers["Retry-After"] == str(error["retry_after"])
    assert response.headers["X-RateLimit-Limit"] == "3"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    # writes have their own budget
    assert org.post("/api/incidents", json={}).status_code == 400


def test_limits_are_per_key(orgs: OrgFactory) -> None:
    org = orgs.new(rate_limits={"read": "2/minute"})
    other = org.make_key(["incidents:read"])
    for _ in range(2):
        org.get("/api/incidents")
    assert org.get("/api/incidents").status_code == 429
    assert org.get("/api/incidents", key=other).status_code == 200


def test_write_limit(orgs: OrgFactory) -> None:
    org = orgs.new(rate_limits={"write": "2/minute"})
    svc, _ = org.make_service()
    for n in range(2):
        assert org.post("/api/incidents", json={"title": f"t{n}", "service_id": svc}).status_code == 201
    response = org.post("/api/incidents", json={"title": "t3", "service_id": svc})
    assert response.status_code == 429
    assert org.get("/api/incidents").json()["pagination"]["total"] == 2


def test_events_limit_is_separate_from_writes(orgs: OrgFactory) -> None:
    org = orgs.new(rate_limits={"events": "2/minute"})
    svc, rk = org.make_service()
    assert [org.trigger(rk, dedup_key="e").status_code for _ in range(3)] == [202, 202, 429]
    assert org.post("/api/incidents", json={"title": "t", "service_id": svc}).status_code == 201


def test_per_integration_alert_limit(orgs: OrgFactory) -> None:
    org = orgs.new(rate_limits={"integration": "2/5 minutes"})
    _, rk1 = org.make_service("A")
    _, rk2 = org.make_service("B")
    assert [org.trigger(rk1, dedup_key=str(n)).status_code for n in range(3)] == [202, 202, 429]
    limited = org.trigger(rk1, dedup_key="x")
    assert limited.json()["error"]["details"]["scope"] == "integration"
    assert limited.headers["X-RateLimit-Limit"] == "2"
    assert org.trigger(rk2, dedup_key="y").status_code == 202
    assert org.get("/api/incidents").json()["pagination"]["total"] == 3


def test_per_org_alert_limit_spans_integrations(orgs: OrgFactory) -> None:
    org = orgs.new(rate_limits={"org_alerts": "3/5 minutes"})
    rks = [org.make_service(name)[1] for name in ("A", "B", "C", "D")]
    codes = [org.trigger(rk, dedup_key="k").status_code for rk in rks]
    assert codes == [202, 202, 202, 429]
    assert org.trigger(rks[3]).json()["error"]["details"]["scope"] == "organization"


def test_bad_limit_settings_fail_at_start() -> None:
    with pytest.raises(ValueError):
        RateLimiter(Settings(ratelimit_read="lots"))


def test_store_down_answers_503_never_passes(db_url: str, database: Database) -> None:
    settings = settings_for(db_url, redis_url="redis://127.0.0.1:1/0")
    app = create_app(settings, database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        org = OrgFactory(database, client).new()
        svc, rk = org.make_service()
        for response in (
            org.get("/api/incidents"),
            org.post("/api/incidents", json={"title": "t", "service_id": svc}),
            org.trigger(rk),
            client.get("/api/incidents"),
        ):
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
            assert response.headers["Retry-After"] == "5"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["rate_limiter"].startswith("error")
    with database.read() as session:
        from tocsin.services.incidents import records as incidents

        page = incidents.list_incidents(
            session=session, tenant=org.tenant, filters=incidents.IncidentFilters(), limit=10, offset=0
        )
        assert page.total == 0


@pytest.mark.skipif(not os.environ.get("TOCSIN_TEST_REDIS_URL"), reason="needs TOCSIN_TEST_REDIS_URL")
def test_redis_store_is_shared_by_replicas(db_url: str, database: Database) -> None:
    redis_url = os.environ["TOCSIN_TEST_REDIS_URL"]
    replicas = [create_app(settings_for(db_url, redis_url=redis_url), database=database) for _ in range(2)]
    with TestClient(replicas[0]) as first, TestClient(replicas[1]) as second:
        org = OrgFactory(database, first).new(rate_limits={"read": "3/minute"})
        headers = org.headers()
        codes = [
            client.get("/api/incidents", headers=headers).status_code
            for client in (first, second, first, second)
        ]
        assert codes == [200, 200, 200, 429]


def _limiter(strategy: str, redis_url: str | None = None) -> RateLimiter:
    return RateLimiter(
        Settings(ratelimit_read="3/minute", ratelimit_strategy=strategy, redis_url=redis_url)  # type: ignore[arg-type]
    )


def _stores() -> list[str | None]:
    redis_url = os.environ.get("TOCSIN_TEST_REDIS_URL")
    return [None, redis_url] if redis_url else [None]


@pytest.mark.parametrize("redis_url", _stores(), ids=lambda url: "redis" if url else "memory")
@pytest.mark.parametrize("strategy", ["fixed-window", "sliding-window-counter", "moving-window"])
def test_each_strategy_counts_down_then_refuses(strategy: str, redis_url: str | None) -> None:
    async def run() -> None:
        limiter = _limiter(strategy, redis_url)
        identity = f"key_{time.time_ns()}"  # a fresh window, also in a shared Redis
        try:
            before = time.time()
            decisions = [await limiter.hit("read", identity) for _ in range(4)]
            assert [d.allowed for d in decisions] == [True, True, True, False]
            assert [d.remaining for d in decisions] == [2, 1, 0, 0]
            assert all(d.limit == 3 for d in decisions)
            refused = decisions[-1]
            assert before < refused.reset_at <= time.time() + 61
            assert refused.retry_after(time.time()) >= 1
            # ``allow`` counts the same way and says nothing until it refuses.
            other = identity + "-allow"
            answers = [await limiter.allow("read", other) for _ in range(4)]
            assert answers[:3] == [None, None, None]
            assert answers[3] is not None and not answers[3].allowed and answers[3].remaining == 0
            # Identities do not share a window.
            assert (await limiter.hit("read", identity + "-third")).remaining == 2
        finally:
            await limiter.aclose()

    asyncio.run(run())


def test_a_fixed_window_gives_the_whole_limit_back_at_reset() -> None:
    async def run() -> None:
        limiter = RateLimiter(Settings(ratelimit_read="2/second"))
        assert limiter.strategy == "fixed-window"
        first = await limiter.hit("read", "key_1")
        second = await limiter.hit("read", "key_1")
        third = await limiter.hit("read", "key_1")
        assert [first.remaining, second.remaining, third.allowed] == [1, 0, False]
        # The header's promise: at X-RateLimit-Reset the count starts again. Letting that moment
        # pass is the scenario (the limiter reads the wall clock), so this sleeps, until past it.
        while time.time() <= third.reset_at:
            await asyncio.sleep(third.reset_at - time.time() + 0.01)
        again = await limiter.hit("read", "key_1")
        assert again.allowed and again.remaining == 1

    asyncio.run(run())


def test_an_unknown_strategy_fails_at_start() -> None:
    with pytest.raises(ValidationError):
        Settings(ratelimit_strategy="leaky-bucket")  # type: ignore[arg-type]
