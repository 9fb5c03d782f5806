"""Home (``/``) through the real app on both databases: who is on call now per schedule, whom each
service pages first, my next shifts, my open incidents and the counts, in my time zone, and
nothing of another org. Also the live stream opened with the session cookie."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories.orgs import OrgFactory, OrgHandle
from tests.integration.web.test_sign_in import web_app
from tests.web.signed_in import SignedInPerson, signed_in
from tocsin.db.session import Database
from tocsin.web.session import COOKIE

ALWAYS = "2020-01-06T09:00:00Z"  # a one-person daily rotation from then: always on call


@pytest.fixture
def client(db_url: str, database: Database) -> Iterator[TestClient]:
    with TestClient(web_app(db_url, database), follow_redirects=False) as test_client:
        yield test_client


def _created(org: OrgHandle, path: str, body: dict[str, Any]) -> str:
    answer = org.post(path, json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["data"]["id"])


def _schedule(org: OrgHandle, name: str, users: list[str], zone: str = "UTC") -> str:
    layer = {"users": users, "rotation_unit": "days", "rotation_length": 1, "start": ALWAYS}
    return _created(org, "/api/schedules", {"name": name, "time_zone": zone, "layers": [layer]})


def _service_paging(org: OrgHandle, name: str, schedule_id: str) -> str:
    policy = _created(
        org,
        "/api/escalation-policies",
        {
            "name": f"{name} policy",
            "rules": [{"delay_minutes": 0, "targets": [{"type": "schedule", "id": schedule_id}]}],
        },
    )
    return _created(org, "/api/services", {"name": name, "escalation_policy_id": policy})


def _incident(org: OrgHandle, service_id: str, title: str, assignees: list[str]) -> int:
    answer = org.post(
        "/api/incidents", json={"title": title, "service_id": service_id, "assignee_ids": assignees}
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["data"]["number"])


def _home(client: TestClient, person: SignedInPerson) -> str:
    client.cookies.clear()
    client.cookies.set(COOKIE, person.token)
    answer = client.get("/")
    assert answer.status_code == 200, answer.text
    return html.unescape(answer.text)


def _section(page: str, heading: str) -> str:
    """The text of one ``<section>`` by its heading, so an assertion is about that panel."""
    match = re.search(rf"<h2[^>]*>{re.escape(heading)}</h2>(.*?)</section>", page, re.S)
    assert match is not None, f"no section {heading!r}"
    return match.group(1)


def test_home_answers_who_is_on_call_and_what_is_mine(client: TestClient, database: Database) -> None:
    org = OrgFactory(database, client).new()
    dana = signed_in(database, org.tenant, name="Dana Reyes", time_zone="Europe/Berlin")
    bob = org.make_user("Bob Okafor", "bob@example.com")
    primary = _schedule(org, "Payments primary", [dana.user_id])
    _schedule(org, "Database secondary", [bob])
    _schedule(org, "Daily handoffs", [dana.user_id, bob], zone="America/New_York")
    _created(org, "/api/schedules", {"name": "Empty rota", "time_zone": "UTC", "layers": []})
    payments = _service_paging(org, "Payments API", primary)
    _created(org, "/api/services", {"name": "Unrouted batch jobs"})
    mine = _incident(org, payments, "Card declines spiking", [dana.user_id])
    _incident(org, payments, "Bob's disk is full", [bob])
    done = _incident(org, payments, "Yesterday's outage", [dana.user_id])
    assert org.post(f"/api/incidents/{done}/resolve").status_code == 200

    page = _home(client, dana)
    on_call = _section(page, "On call now")
    assert re.search(r"Payments primary</span>.*Dana Reyes.*no handoff ahead", on_call, re.S)
    assert re.search(r"Database secondary</span>.*Bob Okafor", on_call, re.S)
    assert re.search(r"Empty rota</span>.*Nobody on call", on_call, re.S)
    # The daily rotation hands off within a day: in Dana's zone, with the schedule's on hover.
    assert re.search(r"Daily handoffs</span>.*until <time", on_call, re.S)
    assert "Europe/Berlin · " in on_call and "America/New_York (the schedule's zone)" in on_call

    first = _section(page, "First paged, per service")
    assert re.search(r"Payments API</span>.*Dana Reyes", first, re.S)
    assert re.search(r"Unrouted batch jobs</span>.*Nobody: no escalation policy", first, re.S)

    shifts = _section(page, "My next shifts")
    assert "Payments primary" in shifts and "Database secondary" not in shifts

    incidents = _section(page, "My open incidents")
    assert f'href="/incidents/{mine}"' in incidents and "Card declines spiking" in incidents
    assert "Bob's disk is full" not in incidents and "Yesterday's outage" not in incidents

    counts = _section(page, "Incidents")
    assert re.search(r'href="/incidents\?status=open">\s*<span class="count-n">2</span>', counts)
    assert re.search(r'href="/incidents\?status=resolved">\s*<span class="count-n">1</span>', counts)
    assert re.search(r'href="/incidents\?status=acknowledged">\s*<span class="count-n">0</span>', counts)


def test_home_never_shows_another_orgs_data(client: TestClient, database: Database) -> None:
    ours, theirs = OrgFactory(database, client).new(), OrgFactory(database, client).new()
    dana = signed_in(database, ours.tenant)
    stranger = signed_in(database, theirs.tenant, name="Quentin Stranger")
    their_schedule = _schedule(theirs, "Their secret rota", [stranger.user_id])
    their_service = _service_paging(theirs, "Their secret service", their_schedule)
    _incident(theirs, their_service, "Their secret incident", [stranger.user_id])

    page = _home(client, dana)
    for secret in ("Their secret", "Quentin Stranger"):
        assert secret not in page
    counts = _section(page, "Incidents")
    assert re.findall(r'<span class="count-n">(\d+)</span>', counts) == ["0"] * 5
    assert "Their secret incident" in _home(client, stranger)  # it is there, for them


def test_an_observer_sees_home_too(client: TestClient, database: Database) -> None:
    org = OrgFactory(database, client).new()
    observer = signed_in(database, org.tenant, role="observer", name="Olive Watcher")
    page = _home(client, observer)
    assert "Hello, Olive Watcher" in page and ">Sign out</button>" in page


def test_the_live_stream_opens_for_the_session(client: TestClient, database: Database) -> None:
    org = OrgFactory(database, client).new()
    dana = signed_in(database, org.tenant)
    client.cookies.clear()
    assert client.get("/live/incidents").status_code == 401  # nobody signed in, no key
    client.cookies.set(COOKIE, dana.token)
    with client.stream("GET", "/live/incidents") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(line for line in lines if line.startswith("event:")) == "event: refresh"
