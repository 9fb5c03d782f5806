"""The one-click link pages' refusals as pages: too many requests from one address, and a rate
limiter that cannot be reached (a refusal, never a pass). The flow itself is tested end to end in
``tests/scenario/test_escalation.py`` and in a browser in ``tests/web/``."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import settings_for
from tocsin.db.session import Database
from tocsin.server.app import create_app


def test_too_many_requests_from_one_address_get_a_page(db_url: str, database: Database) -> None:
    app = create_app(settings_for(db_url, ratelimit_read="2/minute"), database=database)
    with TestClient(app) as client:
        assert [client.get("/links/not-a-token").status_code for _ in range(2)] == [400, 400]
        refused = client.get("/links/not-a-token")
        assert refused.status_code == 429 and refused.headers["content-type"].startswith("text/html")
        assert int(refused.headers["retry-after"]) >= 1
        assert "Too many requests" in refused.text and "Try again in" in refused.text
        assert client.post("/links/not-a-token").status_code == 429  # the button too


def test_an_unreachable_limiter_refuses_with_a_page(db_url: str, database: Database) -> None:
    app = create_app(settings_for(db_url, redis_url="redis://127.0.0.1:1/0"), database=database)
    with TestClient(app) as client:
        refused = client.get("/links/not-a-token")
        assert refused.status_code == 503 and "Try again shortly" in refused.text
        assert refused.headers["cache-control"] == "no-store"
