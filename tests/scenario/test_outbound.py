"""What leaves the server besides pages, through the engine and real HTTP: signed webhooks for
each incident event (a 500 is retried to exactly one success), and service rooms (Slack, Teams)
told about triggers, acknowledgements and resolutions."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.factories.orgs import OrgFactory
from tests.factories.recorder import Recorder
from tests.scenario.engine_harness import Harness, harness
from tocsin.db.session import Database
from tocsin.domain.signing import verify
from tocsin.notify.registry import Channels


@pytest.fixture
def h(orgs: OrgFactory, app_client: TestClient, database: Database, db_url: str) -> Iterator[Harness]:
    yield from harness(orgs, app_client, database, db_url, engine_retry_base_seconds=10)


@pytest.fixture
def receiver() -> Iterator[Recorder]:
    with Recorder() as recorder:
        yield recorder


def _incident(h: Harness, routing_key: str, dedup_key: str) -> str:
    assert h.org.trigger(routing_key, dedup_key=dedup_key).status_code == 202
    [incident] = [i for i in h.org.get("/api/incidents").json()["data"] if i["dedup_key"] == dedup_key]
    return str(incident["id"])


def test_signed_webhooks_for_each_event_and_a_500_retried_once(h: Harness, receiver: Recorder) -> None:
    h.channels_factory = lambda http: Channels(http)
    created = h.org.post("/api/webhooks", json={"url": receiver.url + "/hooks", "description": "ops bot"})
    assert created.status_code == 201, created.text
    webhook = created.json()["data"]
    secret = webhook["secret"]
    _, routing_key = h.org.make_service()
    incident = _incident(h, routing_key, "hook")
    receiver.respond(status=500)  # the first delivery fails, its retry succeeds
    h.drain()
    [failed] = receiver.requests
    assert failed.json["event"] == "incident.triggered"
    h.advance(seconds=11)
    assert [r.json["event"] for r in receiver.requests] == ["incident.triggered"] * 2
    assert receiver.requests[0].body == receiver.requests[1].body
    assert receiver.requests[0].header("X-Tocsin-Delivery") == receiver.requests[1].header(
        "X-Tocsin-Delivery"
    )

    assert h.org.post(f"/api/incidents/{incident}/acknowledge").status_code == 200
    assert h.org.post(f"/api/incidents/{incident}/resolve").status_code == 200
    h.drain()
    # Deliveries run concurrently: receivers order by the payload's timestamp, not by arrival.
    events = sorted(r.json["event"] for r in receiver.requests[2:])
    assert events == ["incident.acknowledged", "incident.resolved"]
    for request in receiver.requests:
        signature = request.header("X-Tocsin-Signature")
        assert signature and verify(secret, request.body, signature)
        assert request.header("X-OpsKnight-Signature") == signature
        assert request.json["incident"]["id"] == incident
    assert not verify("wrong-secret-0123456789", receiver.requests[0].body, str(signature))
    deliveries = h.org.get(f"/api/webhooks/{webhook['id']}/deliveries").json()["data"]
    assert sorted(d["status"] for d in deliveries) == ["succeeded"] * 3
    [triggered] = [d for d in deliveries if d["event"] == "incident.triggered"]
    assert [a["status_code"] for a in triggered["attempts"]] == [500, 200]
    h.advance(minutes=30)
    assert len(receiver.requests) == 4  # nothing more, ever


def test_service_rooms_hear_trigger_ack_and_resolve(h: Harness, receiver: Recorder) -> None:
    h.channels_factory = lambda http: Channels(http)
    service_id, routing_key = h.org.make_service()
    for kind in ("slack", "teams"):
        response = h.org.post(
            f"/api/services/{service_id}/channels", json={"type": kind, "url": f"{receiver.url}/{kind}"}
        )
        assert response.status_code == 201, response.text
    incident = _incident(h, routing_key, "room")
    h.drain()
    assert sorted(r.path for r in receiver.requests) == ["/slack", "/teams"]
    slack = receiver.to("/slack")[0].json
    assert "High CPU on web-01" in slack["text"]
    assert h.org.post(f"/api/incidents/{incident}/acknowledge").status_code == 200
    assert h.org.post(f"/api/incidents/{incident}/resolve").status_code == 200
    h.drain()
    assert len(receiver.to("/slack")) == len(receiver.to("/teams")) == 3
    texts = sorted(r.text for r in receiver.to("/slack")[1:])
    assert any("ACKNOWLEDGED" in text for text in texts) and any("RESOLVED" in text for text in texts)
    # Rooms never carry acknowledge or resolve links; their one link opens the Incident screen,
    # behind sign-in.
    assert not any("/links/" in r.text for r in receiver.requests)
    urls = {
        url for r in receiver.requests for url in re.findall(r"https?://[^\"\s|<>]+/incidents/\d+", r.text)
    }
    base = h.org.client.app.state.settings.base_url.rstrip("/")  # type: ignore[attr-defined]
    number = h.org.get(f"/api/incidents/{incident}").json()["data"]["number"]
    assert urls == {f"{base}/incidents/{number}"}
