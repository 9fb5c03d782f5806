"""/api/webhooks through HTTP: CRUD, the secret shown once, validation, test deliveries, rotation,
tenancy, modes and scopes. Delivery itself is tested in tests/integration/engine."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories.errors import expect_error as _error
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.domain.actor import Tenant
from tocsin.services import jobs

# Nothing listens there: even if some engine ran these jobs, nothing would leave the machine.
URL = "http://127.0.0.1:9/hooks/tocsin"


def _create(org: OrgHandle, **body: Any) -> dict[str, Any]:
    response = org.post("/api/webhooks", json={"url": URL, **body})
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def test_crud_and_the_secret_shown_once(orgs: OrgFactory) -> None:
    org = orgs.new()
    created = _create(
        org, events=["incident.resolved", "incident.triggered", "incident.resolved"], description="ops"
    )
    assert created["id"].startswith("wh_") and created["url"] == URL
    assert created["events"] == ["incident.resolved", "incident.triggered"]
    assert (created["description"], created["enabled"], created["livemode"]) == ("ops", True, True)
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert created["created_at"].endswith("Z") and created["created_at"] == created["updated_at"]

    masked = f"whsec_…{secret[-4:]}"
    fetched = org.get(f"/api/webhooks/{created['id']}").json()["data"]
    assert fetched == {**created, "secret": masked}
    listed = org.get("/api/webhooks").json()
    assert listed["data"] == [fetched]
    assert listed["pagination"] == {"total": 1, "limit": 25, "offset": 0, "has_more": False}
    assert secret not in str(listed) and secret not in org.get(f"/api/webhooks/{created['id']}").text

    patched = org.patch(
        f"/api/webhooks/{created['id']}",
        json={"events": [], "enabled": False, "url": "https://example.com/h"},
    )
    assert patched.status_code == 200, patched.text
    after = patched.json()["data"]
    assert (after["events"], after["enabled"], after["url"], after["description"]) == (
        [],
        False,
        "https://example.com/h",
        "ops",
    )
    assert after["secret"] == masked
    assert (
        org.patch(f"/api/webhooks/{created['id']}", json={"description": None}).json()["data"]["description"]
        is None
    )

    rotated = org.post(f"/api/webhooks/{created['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["data"]["secret"]
    assert new_secret.startswith("whsec_") and new_secret != secret
    assert org.get(f"/api/webhooks/{created['id']}").json()["data"]["secret"] == f"whsec_…{new_secret[-4:]}"
    chosen = org.post(
        f"/api/webhooks/{created['id']}/rotate-secret", json={"secret": "my-own-secret-value-1234"}
    )
    assert chosen.json()["data"]["secret"] == "my-own-secret-value-1234"

    assert org.delete(f"/api/webhooks/{created['id']}").status_code == 204
    _error(org.get(f"/api/webhooks/{created['id']}"), 404, "NOT_FOUND")
    _error(org.delete(f"/api/webhooks/{created['id']}"), 404, "NOT_FOUND")


def test_a_chosen_secret_is_kept(orgs: OrgFactory) -> None:
    org = orgs.new()
    created = _create(org, secret="opsknight-secret-from-before")
    assert created["secret"] == "opsknight-secret-from-before"
    assert org.get(f"/api/webhooks/{created['id']}").json()["data"]["secret"] == "whsec_…fore"


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({}, "url", "required"),
        ({"url": None}, "url", "string_type"),
        ({"url": 42}, "url", "string_type"),
        ({"url": ""}, "url", "required"),
        ({"url": "ftp://example.com/x"}, "url", "scheme"),
        ({"url": "javascript:alert(1)"}, "url", "scheme"),
        ({"url": "example.com/hook"}, "url", "scheme"),
        ({"url": "https://"}, "url", "invalid"),
        ({"url": "https://user:pass@example.com/hook"}, "url", "credentials"),
        ({"url": "https://token@example.com/hook"}, "url", "credentials"),
        ({"url": "https://example.com:99999/hook"}, "url", "invalid"),
        ({"url": "https://example.com/a b"}, "url", "invalid"),
        ({"url": "https://example.com/" + "a" * 2100}, "url", "too_long"),
        ({"url": URL, "events": "incident.triggered"}, "events", "list_type"),
        ({"url": URL, "events": [1]}, "events.0", "string_type"),
        ({"url": URL, "events": ["incident.triggered", "incident.closed"]}, "events.1", "unknown"),
        ({"url": URL, "events": ["webhook.test"]}, "events.0", "unknown"),
        ({"url": URL, "enabled": "yes"}, "enabled", "bool_type"),
        ({"url": URL, "secret": "short"}, "secret", "length"),
        ({"url": URL, "secret": "x" * 201}, "secret", "length"),
        ({"url": URL, "secret": "has spaces in the secret"}, "secret", "length"),
        ({"url": URL, "description": "d" * 2001}, "description", "string_too_long"),
        ({"url": URL, "colour": "red"}, "colour", "unknown_field"),
    ],
)
def test_bad_webhooks_are_400_naming_the_field(
    orgs: OrgFactory, body: dict[str, Any], field: str, reason: str
) -> None:
    org = orgs.new()
    error = _error(org.post("/api/webhooks", json=body), 400, "VALIDATION_ERROR")
    assert error["details"] == {"field": field, "reason": reason}, error
    assert org.get("/api/webhooks").json()["pagination"]["total"] == 0


def test_bad_bodies_and_updates(orgs: OrgFactory) -> None:
    org = orgs.new()
    _error(
        org.post("/api/webhooks", content=b"not json", headers={"Content-Type": "application/json"}),
        400,
        "VALIDATION_ERROR",
    )
    _error(org.post("/api/webhooks", json=[URL]), 400, "VALIDATION_ERROR")
    hook = _create(org)
    path = f"/api/webhooks/{hook['id']}"
    for body, field in (
        ({"url": None}, "url"),
        ({"url": "gopher://x"}, "url"),
        ({"enabled": None}, "enabled"),
        ({"enabled": 1}, "enabled"),
        ({"events": ["incident.nope"]}, "events.0"),
        ({"secret": "a-new-secret-value-here"}, "secret"),
    ):
        error = _error(org.patch(path, json=body), 400, "VALIDATION_ERROR")
        assert error["details"]["field"] == field, (body, error)
    _error(org.post(f"{path}/rotate-secret", json={"secret": "tiny"}), 400, "VALIDATION_ERROR")
    assert org.get(path).json()["data"] == {**hook, "secret": f"whsec_…{hook['secret'][-4:]}"}


def test_unknown_and_other_orgs_ids_are_404(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    theirs = _create(other)
    for path in (f"/api/webhooks/{theirs['id']}", "/api/webhooks/wh_nope"):
        _error(org.get(path), 404, "NOT_FOUND")
        _error(org.patch(path, json={"enabled": False}), 404, "NOT_FOUND")
        _error(org.delete(path), 404, "NOT_FOUND")
        _error(org.get(f"{path}/deliveries"), 404, "NOT_FOUND")
        _error(org.post(f"{path}/test"), 404, "NOT_FOUND")
        _error(org.post(f"{path}/rotate-secret"), 404, "NOT_FOUND")
    assert org.get("/api/webhooks").json()["data"] == []
    assert other.get(f"/api/webhooks/{theirs['id']}").json()["data"]["enabled"] is True


def test_test_delivery_is_queued(orgs: OrgFactory) -> None:
    org = orgs.new().test_mode()  # test mode: whatever engine runs it records it to a sink
    hook = _create(org, events=["incident.resolved"], enabled=False)
    response = org.post(f"/api/webhooks/{hook['id']}/test")
    assert response.status_code == 202, response.text
    queued = response.json()["data"]
    assert queued["id"].startswith("whd_") and queued["webhook_id"] == hook["id"]
    assert (queued["event"], queued["status"], queued["attempts"], queued["incident_id"]) == (
        "webhook.test",
        "pending",
        [],
        None,
    )
    with org.database.read() as session:
        [job] = jobs.list_jobs(session=session, tenant=Tenant(org.org_id, False), kinds=["webhook"])
    assert (job.key, job.payload, job.status) == (
        f"webhook:{queued['id']}",
        {"delivery_id": queued["id"]},
        "pending",
    )

    [listed] = org.get(f"/api/webhooks/{hook['id']}/deliveries").json()["data"]
    assert listed == queued
    detail = org.get(f"/api/webhooks/{hook['id']}/deliveries/{queued['id']}").json()["data"]
    assert detail["event"] == "webhook.test" and '"event":"webhook.test"' in detail["body"]
    other = _create(org)
    _error(org.get(f"/api/webhooks/{other['id']}/deliveries/{queued['id']}"), 404, "NOT_FOUND")
    _error(org.get(f"/api/webhooks/{hook['id']}/deliveries/whd_nope"), 404, "NOT_FOUND")


def test_delivery_list_pagination_and_filters(orgs: OrgFactory) -> None:
    org = orgs.new().test_mode()
    hook = _create(org)
    ids = [org.post(f"/api/webhooks/{hook['id']}/test").json()["data"]["id"] for _ in range(3)]
    path = f"/api/webhooks/{hook['id']}/deliveries"
    listed = org.get(path).json()
    assert [d["id"] for d in listed["data"]] == ids[::-1]  # newest first
    page = org.get(path, params={"limit": 1, "offset": 1}).json()
    assert [d["id"] for d in page["data"]] == [ids[1]]
    assert page["pagination"] == {"total": 3, "limit": 1, "offset": 1, "has_more": True}
    assert org.get(path, params={"status": "failed"}).json()["data"] == []
    assert len(org.get(path, params={"status": "pending", "event": "webhook.test"}).json()["data"]) == 3
    _error(org.get(path, params={"status": "lost"}), 400, "VALIDATION_ERROR")
    for params, field in (({"limit": 1000}, "limit"), ({"limit": 0}, "limit"), ({"offset": -1}, "offset")):
        assert _error(org.get(path, params=params), 400, "VALIDATION_ERROR")["details"]["field"] == field
    _error(org.get("/api/webhooks", params={"limit": 1000}), 400, "VALIDATION_ERROR")


def test_list_pagination(orgs: OrgFactory) -> None:
    org = orgs.new()
    ids = [_create(org, description=str(n))["id"] for n in range(3)]
    assert [w["id"] for w in org.get("/api/webhooks").json()["data"]] == ids
    page = org.get("/api/webhooks", params={"limit": 2, "offset": 2}).json()
    assert [w["id"] for w in page["data"]] == ids[2:]
    assert page["pagination"] == {"total": 3, "limit": 2, "offset": 2, "has_more": False}


def test_modes_are_separate(orgs: OrgFactory) -> None:
    live = orgs.new()
    test = live.test_mode()
    live_hook, test_hook = _create(live), _create(test)
    assert (live_hook["livemode"], test_hook["livemode"]) == (True, False)
    assert [w["id"] for w in live.get("/api/webhooks").json()["data"]] == [live_hook["id"]]
    assert [w["id"] for w in test.get("/api/webhooks").json()["data"]] == [test_hook["id"]]
    _error(test.get(f"/api/webhooks/{live_hook['id']}"), 404, "NOT_FOUND")
    _error(live.post(f"/api/webhooks/{test_hook['id']}/test"), 404, "NOT_FOUND")


def test_scopes(orgs: OrgFactory) -> None:
    org = orgs.new()
    hook = _create(org)
    path = f"/api/webhooks/{hook['id']}"
    reader = org.make_key(["services:read"])
    mixed = org.make_key(["services:read", "incidents:write"])
    assert org.get("/api/webhooks", key=reader).status_code == 200
    assert org.get(path, key=reader).json()["data"]["secret"].startswith("whsec_…")
    assert org.get(f"{path}/deliveries", key=reader).status_code == 200
    for method, target, body in (
        ("POST", "/api/webhooks", {"url": URL}),
        ("PATCH", path, {"enabled": False}),
        ("DELETE", path, None),
        ("POST", f"{path}/test", None),
        ("POST", f"{path}/rotate-secret", None),
    ):
        _error(org.request(method, target, key=reader, json=body), 403, "FORBIDDEN")  # a read-only key
        error = _error(org.request(method, target, key=mixed, json=body), 403, "FORBIDDEN")
        assert error["details"] == {"required_scope": "services:write"}
    stranger = org.make_key(["incidents:write"])
    assert _error(org.get("/api/webhooks", key=stranger), 403, "FORBIDDEN")["details"] == {
        "required_scope": "services:read"
    }
    assert org.get(path).json()["data"]["enabled"] is True
