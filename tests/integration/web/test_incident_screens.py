"""The Incidents and Incident screens through the app's test client, on each database: the URL's
filters (and the API's messages for bad ones), pages, the bulk and single actions with their
checks (CSRF, role, org), each checked through the API."""

from __future__ import annotations

import gzip
import re
import uuid
from typing import Any

import httpx2 as httpx
import pytest

from tests.factories.orgs import OrgFactory, OrgHandle
from tests.integration.web.test_assets import JS_BUDGET_GZIPPED
from tests.web.signed_in import SignedInPerson, signed_in
from tocsin.db.session import Database
from tocsin.web.templating import STATIC

HTML = {"Accept": "text/html"}


def _incident(
    org: OrgHandle, routing_key: str, summary: str = "Disk full on db-01", **payload: Any
) -> dict[str, Any]:
    dedup = uuid.uuid4().hex
    assert org.trigger(routing_key, summary, dedup_key=dedup, **payload).status_code == 202
    found = org.get("/api/incidents", params={"limit": 100}).json()["data"]
    return next(item for item in found if item["dedup_key"] == dedup)


def _get(org: OrgHandle, who: SignedInPerson, path: str, **params: Any) -> httpx.Response:
    return org.client.get(
        path, params=params, headers={**HTML, "Cookie": f"tocsin_session={who.token}"}, follow_redirects=False
    )


def _post(
    org: OrgHandle, who: SignedInPerson, path: str, data: dict[str, Any], *, csrf: bool = True
) -> httpx.Response:
    body = {**data, "csrf_token": who.csrf} if csrf else data
    return org.client.post(
        path, data=body, headers={**HTML, "Cookie": f"tocsin_session={who.token}"}, follow_redirects=False
    )


def _status(org: OrgHandle, incident: dict[str, Any]) -> str:
    return str(org.get(f"/api/incidents/{incident['id']}").json()["data"]["status"])


@pytest.fixture
def org(orgs: OrgFactory) -> OrgHandle:
    return orgs.new()


@pytest.fixture
def person(database: Database, org: OrgHandle) -> SignedInPerson:
    return signed_in(database, org.tenant, time_zone="Europe/Paris")


def test_signed_out_visitors_go_to_sign_in_and_back(org: OrgHandle) -> None:
    answer = org.client.get("/incidents?status=OPEN", headers=HTML, follow_redirects=False)
    assert (
        answer.status_code == 303 and answer.headers["location"] == "/login?next=/incidents%3Fstatus%3DOPEN"
    )
    assert org.client.get("/incidents/1", headers=HTML, follow_redirects=False).status_code == 303
    refused = org.client.post("/incidents/1/acknowledge", data={}, headers=HTML, follow_redirects=False)
    assert refused.status_code == 303  # never acted: the form has no session behind it


def test_the_list_shows_rows_and_filters_by_the_url(org: OrgHandle, person: SignedInPerson) -> None:
    _, routing_key = org.make_service("Checkout")
    first = _incident(org, routing_key, "Checkout latency above 2 s")
    second = _incident(org, routing_key, "Card processor answers 502")
    org.post(f"/api/incidents/{second['id']}/acknowledge")
    page = _get(org, person, "/incidents")
    assert page.status_code == 200
    assert "Checkout latency above 2 s" in page.text and "Card processor answers 502" in page.text
    assert f'href="/incidents/{first["number"]}"' in page.text and "Checkout" in page.text
    assert "<title>(1 open) Incidents · Tocsin</title>" in page.text  # one OPEN, one acknowledged
    only_open = _get(org, person, "/incidents", status="open")
    assert (
        "Checkout latency above 2 s" in only_open.text and "Card processor answers 502" not in only_open.text
    )
    assert '<option value="OPEN" selected>' in only_open.text  # the form shows the URL's filter
    acked = _get(org, person, "/incidents", status="ACKNOWLEDGED", sort="urgency", order="asc")
    assert "Card processor answers 502" in acked.text and "Checkout latency above 2 s" not in acked.text
    mine = _get(org, person, "/incidents", assignee_id=person.user_id)
    assert "No incidents match these filters." in mine.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "BURNING"}, "status: &#39;BURNING&#39; is not one of OPEN, ACKNOWLEDGED"),
        ({"urgency": "7"}, "urgency: &#39;7&#39; is not one of HIGH, MEDIUM, LOW"),
        ({"sort": "title"}, "sort must be one of created_at, updated_at, urgency, status"),
        ({"order": "sideways"}, "order must be one of asc, desc"),
        ({"created_after": "yesterday"}, "created_after: &#39;yesterday&#39; is not an ISO 8601 date"),
        ({"offset": "-3"}, "offset must be a whole number of 0 or more"),
        ({"offset": "ten"}, "offset must be a whole number of 0 or more"),
    ],
)
def test_bad_filters_get_the_apis_message(
    org: OrgHandle, person: SignedInPerson, params: dict[str, str], message: str
) -> None:
    page = _get(org, person, "/incidents", **params)
    assert page.status_code == 400 and message in page.text
    api = org.get("/api/incidents", params=params)  # the same words as the API (offset aside)
    if "offset" not in params:
        assert api.status_code == 400 and api.json()["error"]["message"].replace("'", "&#39;") in page.text


def test_pages_of_25(org: OrgHandle, person: SignedInPerson) -> None:
    _, routing_key = org.make_service()
    for index in range(27):
        _incident(org, routing_key, f"Incident number {index:02d}")
    first = _get(org, person, "/incidents", sort="created_at", order="asc")
    assert first.text.count('class="irow"') == 25 and "1–25 of 27" in first.text
    assert "Incident number 00" in first.text and "Incident number 25" not in first.text
    next_link = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert next_link is not None
    second = org.client.get(
        next_link.group(1).replace("&amp;", "&"), headers={**HTML, "Cookie": f"tocsin_session={person.token}"}
    )
    assert second.text.count('class="irow"') == 2 and "26–27 of 27" in second.text
    assert (
        "Incident number 26" in second.text
        and 'rel="next"' not in second.text
        and 'rel="prev"' in second.text
    )


def test_bulk_acknowledge_and_resolve(orgs: OrgFactory, org: OrgHandle, person: SignedInPerson) -> None:
    _, routing_key = org.make_service()
    one, two, three = (_incident(org, routing_key, f"Queue {n} backs up") for n in range(3))
    org.post(f"/api/incidents/{three['id']}/resolve")
    other = orgs.new()
    _, their_key = other.make_service()
    theirs = _incident(other, their_key)
    answer = _post(
        org,
        person,
        "/incidents/bulk",
        {
            "action": "acknowledge",
            "incident": [one["id"], two["id"], three["id"], theirs["id"]],
            "back": "/incidents?status=OPEN",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/incidents?status=OPEN&done=acknowledge&n=2&skipped=2"
    assert (_status(org, one), _status(org, two), _status(org, three)) == (
        "ACKNOWLEDGED",
        "ACKNOWLEDGED",
        "RESOLVED",
    )
    assert _status(other, theirs) == "OPEN"  # another org's id is not found, so not acted on
    notice = _get(org, person, "/incidents", done="acknowledge", n="2", skipped="2")
    assert "Acknowledged 2 incidents; 2 could not be." in notice.text
    detail = org.get(f"/api/incidents/{one['id']}").json()["data"]
    assert person.user_id in detail["assignee_ids"]  # who acknowledges owns it, as on the API
    resolved = _post(
        org,
        person,
        "/incidents/bulk",
        {"action": "resolve", "incident": [one["id"]], "back": "https://evil.example/"},
    )
    assert resolved.headers["location"].startswith("/incidents?done=resolve&n=1")
    assert _status(org, one) == "RESOLVED"


def test_bulk_refuses_bad_input(org: OrgHandle, person: SignedInPerson) -> None:
    _, routing_key = org.make_service()
    incident = _incident(org, routing_key)
    empty = _post(org, person, "/incidents/bulk", {"action": "acknowledge"})
    assert empty.status_code == 400 and "Select at least one incident" in empty.text
    unknown = _post(org, person, "/incidents/bulk", {"action": "delete", "incident": incident["id"]})
    assert unknown.status_code == 400 and "Choose Acknowledge or Resolve." in unknown.text
    assert _status(org, incident) == "OPEN"


def test_csrf_is_required_on_every_action(org: OrgHandle, person: SignedInPerson) -> None:
    _, routing_key = org.make_service()
    incident = _incident(org, routing_key)
    number = incident["number"]
    for path, data in [
        ("/incidents/bulk", {"action": "acknowledge", "incident": incident["id"]}),
        (f"/incidents/{number}/acknowledge", {}),
        (f"/incidents/{number}/snooze", {"duration": "15"}),
        (f"/incidents/{number}/notes", {"content": "forged"}),
    ]:
        missing = _post(org, person, path, data, csrf=False)
        assert missing.status_code == 403 and "reload the page" in missing.text.lower()
        forged = _post(org, person, path, {**data, "csrf_token": "x" * 43}, csrf=False)
        assert forged.status_code == 403
    assert _status(org, incident) == "OPEN"
    assert org.get(f"/api/incidents/{incident['id']}/notes").json()["data"] == []


def test_an_observer_sees_no_buttons_and_cannot_act(database: Database, org: OrgHandle) -> None:
    observer = signed_in(database, org.tenant, role="observer")
    _, routing_key = org.make_service()
    incident = _incident(org, routing_key)
    listing = _get(org, observer, "/incidents")
    assert listing.status_code == 200 and incident["title"] in listing.text
    assert ">Acknowledge</button>" not in listing.text and 'type="checkbox"' not in listing.text
    detail = _get(org, observer, f"/incidents/{incident['number']}")
    assert detail.status_code == 200
    for word in ("Acknowledge", "Resolve", "Snooze", "Escalate", "Reassign", "Add note"):
        assert f">{word}</button>" not in detail.text
    for path in ("/incidents/bulk", f"/incidents/{incident['number']}/acknowledge"):
        refused = _post(org, observer, path, {"action": "acknowledge", "incident": incident["id"]})
        assert refused.status_code == 403 and "Your role in this organization cannot do this" in refused.text
    assert _status(org, incident) == "OPEN"


def test_the_incident_screen(org: OrgHandle, person: SignedInPerson) -> None:
    _, routing_key = org.make_service("Payments")
    incident = _incident(
        org,
        routing_key,
        "Payment webhooks failing",
        custom_details={"region": "eu-west-1", "error_rate": 0.31},
    )
    page = _get(org, person, f"/incidents/{incident['number']}")
    assert page.status_code == 200
    text = page.text
    assert "Payment webhooks failing" in text and "Payments" in text and "eu-west-1" in text
    assert "Triggered" in text or "Open" in text
    assert f'sse-connect="/incidents/{incident["number"]}/live"' in text
    for word in ("Acknowledge", "Resolve", "Snooze", "Reassign", "Add note"):
        assert f">{word}</button>" in text
    assert "CET" in text  # the viewer's zone (Europe/Paris in winter)
    assert "UTC" in text  # the exact instant on hover


def test_another_orgs_number_is_a_404_page(orgs: OrgFactory, org: OrgHandle, person: SignedInPerson) -> None:
    other = orgs.new()
    _, their_key = other.make_service()
    theirs = _incident(other, their_key)
    _, routing_key = org.make_service()
    ours = _incident(org, routing_key)
    page = _get(org, person, f"/incidents/{theirs['id']}")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert _get(org, person, "/incidents/999999").status_code == 404
    assert _get(org, person, "/incidents/abc").status_code == 404
    assert _post(org, person, f"/incidents/{theirs['id']}/acknowledge", {}).status_code == 404
    assert _status(other, theirs) == "OPEN"
    assert _get(org, person, f"/incidents/{ours['number']}").status_code == 200


def test_acknowledge_then_resolve_from_the_screen(org: OrgHandle, person: SignedInPerson) -> None:
    _, routing_key = org.make_service()
    incident = _incident(org, routing_key)
    number = incident["number"]
    done = _post(org, person, f"/incidents/{number}/acknowledge", {})
    assert done.status_code == 303 and done.headers["location"] == f"/incidents/{number}"
    assert _status(org, incident) == "ACKNOWLEDGED"
    again = _post(org, person, f"/incidents/{number}/acknowledge", {})
    assert again.status_code == 303  # the same state is no change, as on the API
    assert _post(org, person, f"/incidents/{number}/resolve", {}).status_code == 303
    assert _status(org, incident) == "RESOLVED"
    late = _post(org, person, f"/incidents/{number}/snooze", {"duration": "60"})
    assert late.status_code == 409 and f"cannot move incident #{number} from RESOLVED to SNOOZED" in late.text


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"duration": "forever"}, 400, "Choose how long to snooze"),
        ({"duration": "custom", "minutes": ""}, 400, "Enter the number of minutes to snooze for."),
        (
            {"duration": "custom", "minutes": "soon"},
            400,
            "duration_minutes must be a whole number of minutes",
        ),
        ({"duration": "custom", "minutes": "0"}, 400, "duration_minutes must be positive"),
        ({"duration": "custom", "minutes": "50000"}, 400, "an incident can be snoozed for at most 30 days"),
    ],
)
def test_snooze_refuses_bad_durations(
    org: OrgHandle, person: SignedInPerson, form: dict[str, str], status: int, message: str
) -> None:
    _, routing_key = org.make_service()
    incident = _incident(org, routing_key)
    answer = _post(org, person, f"/incidents/{incident['number']}/snooze", form)
    assert answer.status_code == status and message in answer.text
    assert 'id="error-snooze"' in answer.text  # beside its form
    assert _status(org, incident) == "OPEN"


def test_snooze_for_a_chosen_and_a_custom_time(org: OrgHandle, person: SignedInPerson) -> None:
    _, routing_key = org.make_service()
    first, second = _incident(org, routing_key), _incident(org, routing_key)
    assert _post(org, person, f"/incidents/{first['number']}/snooze", {"duration": "240"}).status_code == 303
    assert (
        _post(
            org, person, f"/incidents/{second['number']}/snooze", {"duration": "custom", "minutes": "45"}
        ).status_code
        == 303
    )
    snoozed = [org.get(f"/api/incidents/{i['id']}").json()["data"] for i in (first, second)]
    assert [s["status"] for s in snoozed] == ["SNOOZED", "SNOOZED"]
    assert snoozed[0]["snoozed_until"] > snoozed[1]["snoozed_until"]


def test_escalate_and_its_refusals(org: OrgHandle, person: SignedInPerson) -> None:
    _, routing_key = org.make_service()
    incident = _incident(org, routing_key)
    number = incident["number"]
    bad = _post(org, person, f"/incidents/{number}/escalate", {"level": "two"})
    assert bad.status_code == 400 and "level must be a whole number" in bad.text
    none = _post(org, person, f"/incidents/{number}/escalate", {"level": ""})
    assert (
        none.status_code == 409
        and f"incident #{number} has no escalation policy to escalate through" in none.text
    )


def test_escalate_through_a_policy(org: OrgHandle, person: SignedInPerson) -> None:
    responder = org.make_user("Sam Second")
    policy = org.post(
        "/api/escalation-policies",
        json={
            "name": "Payments primary",
            "rules": [
                {"delay_minutes": 5, "targets": [{"type": "user", "id": person.user_id}]},
                {"delay_minutes": 5, "targets": [{"type": "user", "id": responder}]},
            ],
        },
    ).json()["data"]
    service = org.post("/api/services", json={"name": "Ledger", "escalation_policy_id": policy["id"]})
    assert service.status_code == 201, service.text
    created = org.post(
        "/api/incidents", json={"title": "Ledger drift", "service_id": service.json()["data"]["id"]}
    )
    number = created.json()["data"]["number"]
    page = _get(org, person, f"/incidents/{number}")
    assert "Payments primary" in page.text and '<option value="2">Level 2</option>' in page.text
    far = _post(org, person, f"/incidents/{number}/escalate", {"level": "9"})
    assert far.status_code == 400 and "level must be between 1 and 2" in far.text
    assert _post(org, person, f"/incidents/{number}/escalate", {"level": "2"}).status_code == 303
    timeline = org.get(f"/api/incidents/{number}/timeline").json()["data"]
    assert any(entry["type"] == "escalate_requested" and "level 2" in entry["message"] for entry in timeline)


def test_reassign_and_its_refusals(orgs: OrgFactory, org: OrgHandle, person: SignedInPerson) -> None:
    _, routing_key = org.make_service()
    incident = _incident(org, routing_key)
    number = incident["number"]
    colleague = org.make_user("Robin Colleague")
    stranger = orgs.new().make_user("Not Ours")
    empty = _post(org, person, f"/incidents/{number}/reassign", {"user_id": "", "escalation_policy_id": ""})
    assert empty.status_code == 400 and "give either user_ids or escalation_policy_id" in empty.text
    foreign = _post(org, person, f"/incidents/{number}/reassign", {"user_id": stranger})
    assert foreign.status_code == 400 and f"unknown user id(s): {stranger}" in foreign.text
    nowhere = _post(org, person, f"/incidents/{number}/reassign", {"escalation_policy_id": "esc_nope"})
    assert nowhere.status_code == 400 and "no escalation policy" in nowhere.text
    assert _post(org, person, f"/incidents/{number}/reassign", {"user_id": colleague}).status_code == 303
    assert org.get(f"/api/incidents/{incident['id']}").json()["data"]["assignee_ids"] == [colleague]


def test_add_note(org: OrgHandle, person: SignedInPerson) -> None:
    _, routing_key = org.make_service()
    incident = _incident(org, routing_key)
    number = incident["number"]
    blank = _post(org, person, f"/incidents/{number}/notes", {"content": "   "})
    assert blank.status_code == 400 and "a note needs some content" in blank.text
    missing = _post(org, person, f"/incidents/{number}/notes", {})
    assert missing.status_code == 400
    long = _post(org, person, f"/incidents/{number}/notes", {"content": "x" * 10_001})
    assert long.status_code == 400 and "a note is at most 10000 characters" in long.text
    assert (
        _post(org, person, f"/incidents/{number}/notes", {"content": "Rolled back 4.2.1"}).status_code == 303
    )
    notes = org.get(f"/api/incidents/{incident['id']}/notes").json()["data"]
    assert [(n["content"], n["author_name"]) for n in notes] == [("Rolled back 4.2.1", "Dana Reyes")]
    page = _get(org, person, f"/incidents/{number}")
    assert "Rolled back 4.2.1" in page.text and "Dana Reyes added a note" in page.text


def test_find_by_number(org: OrgHandle, person: SignedInPerson) -> None:
    found = _get(org, person, "/incidents/find", number="#42")
    assert found.status_code == 303 and found.headers["location"] == "/incidents/42"
    bad = _get(org, person, "/incidents/find", number="checkout")
    assert bad.status_code == 400 and "Type an incident&#39;s number" in bad.text


def test_the_screens_javascript_fits_the_budget(org: OrgHandle, person: SignedInPerson) -> None:
    _, routing_key = org.make_service()
    incident = _incident(org, routing_key)
    for path in ("/incidents", f"/incidents/{incident['number']}"):
        page = _get(org, person, path).text
        scripts = re.findall(r'<script src="/static/([^"?]+)\?v=', page)
        assert "incidents.js" in scripts or "incident.js" in scripts
        total = sum(len(gzip.compress((STATIC / name).read_bytes(), 9)) for name in scripts)
        assert total < JS_BUDGET_GZIPPED, f"{path}: {total} bytes of JavaScript gzipped"


def test_streams_refuse_before_they_start(orgs: OrgFactory, org: OrgHandle, person: SignedInPerson) -> None:
    """A stream cannot answer an error once it has begun: bad filters, another org's incident and a
    signed-out visitor are answered first."""
    other = orgs.new()
    _, their_key = other.make_service()
    theirs = _incident(other, their_key)
    assert _get(org, person, "/incidents/live", status="BURNING").status_code == 400
    assert _get(org, person, f"/incidents/{theirs['number'] + 1000}/live").status_code == 404
    assert _get(org, person, f"/incidents/{theirs['id']}/live").status_code == 404
    signed_out = org.client.get("/incidents/live", follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")
