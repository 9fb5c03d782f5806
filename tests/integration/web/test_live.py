"""The live broadcaster on a real database: commits made by another process, or by another
connection of this one, reach the subscribers of their org and no other org's."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.db.session import Database
from tocsin.server.app import create_app
from tocsin.services.incidents.changes import PostgresWatch, SqliteWatch, watch_for
from tocsin.web.live import Broadcaster, Notice, Subscription

ROOT = Path(__file__).resolve().parents[3]
DEADLINE = 20.0  # only there to fail a hang; never a speed threshold


def _incident(org: OrgHandle) -> str:
    _, routing_key = org.make_service()
    assert org.trigger(routing_key).status_code == 202
    [incident] = org.get("/api/incidents").json()["data"]
    return str(incident["id"])


async def _next(subscription: Subscription) -> Notice:
    return await asyncio.wait_for(subscription.next(), DEADLINE)


def _pending(subscription: Subscription) -> bool:
    return subscription._ready.is_set()


def test_the_watch_fits_the_database(database: Database) -> None:
    expected = PostgresWatch if database.is_postgres else SqliteWatch
    assert isinstance(watch_for(database), expected)


def test_a_commit_in_another_process_reaches_its_org_only(
    db_url: str, database: Database, orgs: OrgFactory
) -> None:
    ours, theirs = orgs.new(), orgs.new()
    incident = _incident(ours)
    _incident(theirs)

    async def scenario() -> None:
        broadcaster = Broadcaster(watch_for(database))
        async with broadcaster.running_for_app():
            with broadcaster.subscribe(ours.tenant) as mine, broadcaster.subscribe(theirs.tenant) as other:
                # The watch says once it is connected: everyone refreshes (it may have missed commits).
                assert await _next(mine) == Notice(refresh=True)
                assert await _next(other) == Notice(refresh=True)
                writer = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "tests.integration.web.note_writer", db_url, incident, cwd=ROOT
                )
                assert await asyncio.wait_for(writer.wait(), DEADLINE) == 0
                assert await _next(mine) == Notice(refresh=False)
                # Both would be told by the same publish: the other org was not.
                assert not _pending(other)

    asyncio.run(scenario())


def test_ingest_commits_reach_subscribers(database: Database, orgs: OrgFactory) -> None:
    """The bulk ingest path writes hand-written SQL (no ORM flush): it announces by itself."""
    ours, theirs = orgs.new(), orgs.new()
    _, routing_key = ours.make_service()

    async def scenario() -> None:
        broadcaster = Broadcaster(watch_for(database))
        async with broadcaster.running_for_app():
            with broadcaster.subscribe(ours.tenant) as mine, broadcaster.subscribe(theirs.tenant) as other:
                await _next(mine)
                await _next(other)
                response = await asyncio.to_thread(ours.trigger, routing_key, dedup_key="disk")
                assert response.status_code == 202
                assert await _next(mine) == Notice(refresh=False)
                # A second alert on the same incident: an append, no new timeline row on PostgreSQL's
                # side of the path but a new alert row, announced all the same.
                response = await asyncio.to_thread(ours.trigger, routing_key, dedup_key="disk")
                assert response.status_code == 202
                assert await _next(mine) == Notice(refresh=False)
                assert not _pending(other)

    asyncio.run(scenario())


def test_the_app_lifespan_starts_and_stops_the_broadcaster(db_url: str, database: Database) -> None:
    app = create_app(settings_for(db_url), database=database)
    with TestClient(app):
        broadcaster: Broadcaster = app.state.live
        assert broadcaster.running
    assert not broadcaster.running


def test_the_stream_refuses_without_a_valid_key(app_client: TestClient, orgs: OrgFactory) -> None:
    missing = app_client.get("/live/incidents")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "UNAUTHORIZED"
    wrong = app_client.get("/live/incidents", headers={"Authorization": "Bearer sk_live_nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "UNAUTHORIZED"
    org = orgs.new()
    limited = org.make_key(scopes=["services:read"])
    refused = app_client.get("/live/incidents", headers=org.headers(limited))
    assert refused.status_code == 403
    assert refused.json()["error"]["details"] == {"required_scope": "incidents:read"}


@pytest.mark.parametrize("accept", ["application/json", "*/*"])
def test_api_clients_keep_the_json_404(app_client: TestClient, accept: str) -> None:
    response = app_client.get("/no/such/page", headers={"Accept": accept})
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"


def test_a_browser_gets_a_page_for_a_missing_path(app_client: TestClient) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = app_client.get("/no/such/<page>", headers={"Accept": accept})
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text and "/no/such/&lt;page&gt;" in response.text
    # Inside the API's URL space a browser still gets the envelope: the API answers programs.
    api = app_client.get("/api/nothing-here", headers={"Accept": accept, "Authorization": "Bearer x"})
    assert api.headers["content-type"].startswith("application/json")
