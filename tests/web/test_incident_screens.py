"""The Incidents and Incident screens in a real Chromium against a real ``tocsin serve``: an
incident triggered through ``POST /api/events`` appears on the open list without a reload, the
keyboard acknowledges it (checked through the API), the Incident screen adds a note, shows a new
alert live and resolves; axe-core is silent, 390 px does not scroll sideways, dark mode applies."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import FloatRect

from tests.factories.waiting import eventually
from tests.web.conftest import (
    PHONE,
    Browsing,
    Scheme,
    assert_axe_clean,
    assert_no_horizontal_scroll,
    background_is_dark,
    screenshot,
)
from tests.web.server import LiveServer
from tests.web.signed_in import SignedInPerson, signed_in
from tests.web.sse import events
from tocsin.db.session import Database

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def responder(live_server: LiveServer) -> Iterator[SignedInPerson]:
    database = Database(live_server.db_url)
    try:
        yield signed_in(database, live_server.tenant, name="Dana Reyes", time_zone="America/New_York")
    finally:
        database.dispose()


def _number(server: LiveServer, incident_id: str) -> int:
    with server.api() as client:
        return int(client.get(f"/api/incidents/{incident_id}").json()["data"]["number"])


def _retrigger(server: LiveServer, summary: str, dedup_key: str) -> None:
    with server.api() as client:
        body = {
            "routing_key": server.routing_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {"summary": summary, "severity": "critical", "source": "web-test"},
        }
        assert client.post("/api/events", json=body).status_code == 202


def _tall_enough(box: FloatRect | None) -> bool:
    return box is not None and box["height"] >= 44


def test_work_an_incident_live_from_the_list_to_resolved(
    browsing: Browsing, live_server: LiveServer, responder: SignedInPerson
) -> None:
    page = browsing.open("/incidents", cookies=responder.cookies)
    page.get_by_text("Live", exact=True).wait_for()
    page.evaluate("() => { window.notReloaded = true; }")
    assert_axe_clean(page)

    summary = f"Orders queue above 10k ({uuid.uuid4().hex[:6]})"
    dedup_key = uuid.uuid4().hex
    incident = live_server.trigger(summary, dedup_key)
    number = _number(live_server, incident)
    row = page.locator(f"#row-{incident}")
    row.wait_for()  # pushed over SSE: nobody reloaded
    assert page.evaluate("() => window.notReloaded") is True
    assert "Triggered" in row.inner_text() or "Open" in row.inner_text()
    assert page.title().startswith("(")  # the open count in the tab's title

    page.keyboard.press("j")  # the newest incident is the first row
    assert page.locator(".irow.is-cursor").get_attribute("data-id") == incident
    with page.expect_navigation():
        page.keyboard.press("a")
    page.get_by_text("Acknowledged 1 incident.").wait_for()
    assert eventually(lambda: live_server.status(incident) == "ACKNOWLEDGED")

    page.locator(f"#row-{incident} .irow-link").click()
    page.wait_for_url(f"**/incidents/{number}")
    page.get_by_role("heading", name=summary).wait_for()
    page.get_by_text("Live", exact=True).wait_for()
    assert_axe_clean(page)
    page.get_by_label("Note").fill("Drained the queue by hand; watching.")
    page.get_by_role("button", name="Add note").click()
    page.get_by_text("Drained the queue by hand; watching.").wait_for()
    with live_server.api() as client:
        notes = client.get(f"/api/incidents/{incident}/notes").json()["data"]
    assert [note["content"] for note in notes] == ["Drained the queue by hand; watching."]

    page.evaluate("() => { window.notReloaded = true; }")
    _retrigger(live_server, summary, dedup_key)  # a second alert: the facts change live
    page.locator("#incident-facts").get_by_text("2", exact=True).wait_for()
    assert page.evaluate("() => window.notReloaded") is True

    page.get_by_role("button", name="Resolve").click()
    page.locator("#incident-facts").get_by_text("Resolved", exact=True).wait_for()
    assert eventually(lambda: live_server.status(incident) == "RESOLVED")
    assert_axe_clean(page)


def test_a_new_row_does_not_move_the_row_being_read(
    browsing: Browsing, live_server: LiveServer, responder: SignedInPerson
) -> None:
    for index in range(8):
        live_server.trigger(f"Replica lag on db-{index:02d}", uuid.uuid4().hex)
    page = browsing.open("/incidents", width=PHONE, cookies=responder.cookies)
    page.get_by_text("Live", exact=True).wait_for()
    rows = page.locator("#incident-rows .irow")
    # Not the last row: on a full page of 25 the newcomer pushes the last one to the next page.
    last_id = rows.nth(rows.count() - 3).get_attribute("data-id")
    page.evaluate("(id) => document.getElementById('row-' + id).scrollIntoView()", last_id)
    assert page.evaluate("() => window.scrollY") > 0
    where = "(id) => document.getElementById('row-' + id).getBoundingClientRect().top"
    before = page.evaluate(where, last_id)
    arrived = live_server.trigger("Replica lag on db-99", uuid.uuid4().hex)
    page.locator(f"#row-{arrived}").wait_for()  # above the rows being read
    assert abs(page.evaluate(where, last_id) - before) <= 1, "the row under the reader's eyes jumped"


def test_the_shortcuts_open_with_a_question_mark_and_not_while_typing(
    browsing: Browsing, live_server: LiveServer, responder: SignedInPerson
) -> None:
    page = browsing.open("/incidents", cookies=responder.cookies)
    search = page.get_by_label("Find incident by number")
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "find-number"
    search.type("?j")  # typed into the field, not taken as shortcuts
    assert search.input_value() == "?j" and not page.locator("#shortcuts").is_visible()
    page.keyboard.press("Escape")
    page.locator("h1").click()
    page.keyboard.press("?")
    page.get_by_role("heading", name="Keyboard shortcuts").wait_for()
    assert_axe_clean(page)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_both_screens_fit_a_phone_in_both_themes(
    browsing: Browsing, live_server: LiveServer, responder: SignedInPerson, scheme: Scheme
) -> None:
    incident = live_server.trigger(
        "Payment webhooks from the card processor are failing in eu-west-1 (HTTP 502)", uuid.uuid4().hex
    )
    number = _number(live_server, incident)
    for width, size in ((PHONE, "phone"), (1280, "desktop")):
        listing = browsing.open("/incidents", width=width, scheme=scheme, cookies=responder.cookies)
        listing.get_by_text("Live", exact=True).wait_for()
        assert_no_horizontal_scroll(listing)
        assert background_is_dark(listing) == (scheme == "dark")
        link = listing.locator(f"#row-{incident} .irow-link")
        link.wait_for()
        # The live rows may replace the list between two looks: measure whichever row is there.
        assert eventually(lambda link=link: _tall_enough(link.bounding_box()))
        assert_axe_clean(listing)
        screenshot(listing, f"incidents-{size}-{scheme}")
        detail = browsing.open(f"/incidents/{number}", width=width, scheme=scheme, cookies=responder.cookies)
        detail.get_by_text("Live", exact=True).wait_for()
        assert_no_horizontal_scroll(detail)
        for name in ("Acknowledge", "Resolve", "Snooze", "Reassign", "Add note"):
            button = detail.get_by_role("button", name=name, exact=True).bounding_box()
            assert button is not None and button["height"] >= 44, name
        assert_axe_clean(detail)
        screenshot(detail, f"incident-{size}-{scheme}")


def test_the_list_stream_sends_rendered_rows(live_server: LiveServer, responder: SignedInPerson) -> None:
    headers = {"Cookie": f"tocsin_session={responder.token}", "Accept": "text/event-stream"}
    with (
        httpx.Client(base_url=live_server.url, timeout=httpx.Timeout(30.0)) as client,
        client.stream("GET", "/incidents/live?status=open", headers=headers) as stream,
    ):
        assert stream.status_code == 200
        first = next(event for event in events(stream.iter_lines()))
        assert first.name == "rows" and first.data.startswith('<ul class="irows" id="incident-rows"')
        assert 'data-status="resolved"' not in first.data  # the URL's filter holds on the stream
    refused = httpx.get(f"{live_server.url}/incidents/live?status=BURNING", headers=headers)
    assert refused.status_code == 400
