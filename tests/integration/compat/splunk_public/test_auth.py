"""Splunk On-Call auth through HTTP: both headers required (401), a wrong key, a wrong API id or
another org's API id is 403, a read-only key may only GET, a missing scope is 403, a tiny per-org
read limit gives 429, and every error body is ``{"error": "..."}``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.compat.splunk_public.conftest import SplunkOrg
from tocsin.services.access import orgs

PATHS = ["/api-public/v1/incidents", "/api-public/v1/team", "/api-reporting/v2/incidents"]


def expect_error(response: Any, status: int) -> str:
    """``{"error": "<message>"}`` and nothing else, with ``status``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"]
    message: str = body["error"]
    return message


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("drop", ["X-VO-Api-Id", "X-VO-Api-Key", "both"])
def test_missing_headers_are_401(clocked: SplunkOrg, path: str, drop: str) -> None:
    headers = {"X-VO-Api-Id": clocked.api_id, "X-VO-Api-Key": clocked.org.key}
    for name in ("X-VO-Api-Id", "X-VO-Api-Key") if drop == "both" else (drop,):
        headers.pop(name)
    response = clocked.org.client.get(path, headers=headers)
    assert "X-VO-Api-Id" in expect_error(response, 401)


def test_native_bearer_key_alone_is_401_here(clocked: SplunkOrg) -> None:
    response = clocked.org.client.get("/api-public/v1/incidents", headers=clocked.org.headers())
    expect_error(response, 401)


def test_wrong_key_or_api_id_is_403(clocked: SplunkOrg) -> None:
    expect_error(clocked.get("/api-public/v1/incidents", key="sk_live_not_a_key"), 403)
    expect_error(clocked.get("/api-public/v1/incidents", api_id="0123456789ab"), 403)
    assert clocked.get("/api-public/v1/incidents").status_code == 200


def test_another_orgs_api_id_with_a_valid_key_is_403(clocked: SplunkOrg, orgs: Any) -> None:
    other = orgs.new()
    other_api_id = other.get("/api/org").json()["data"]["api_id"]
    assert other_api_id != clocked.api_id
    expect_error(clocked.get("/api-public/v1/incidents", api_id=other_api_id), 403)
    expect_error(clocked.get("/api-public/v1/incidents", key=other.key), 403)


def test_read_only_key_may_only_get(clocked: SplunkOrg) -> None:
    reader = clocked.org.make_key(["incidents:read", "schedules:read", "teams:read"], name="reader")
    assert clocked.get("/api-public/v1/incidents", key=reader).status_code == 200
    body = {"userName": "nobody", "incidentNames": ["1"]}
    message = expect_error(clocked.patch("/api-public/v1/incidents/ack", json=body, key=reader), 403)
    assert "read-only" in message
    take = {"fromUser": "a", "toUser": "b"}
    expect_error(clocked.patch("/api-public/v1/policies/ep_x/oncall/user", json=take, key=reader), 403)
    expect_error(clocked.post("/api-public/v1/overrides", json={}, key=reader), 403)


def test_a_key_without_the_scope_is_403(clocked: SplunkOrg) -> None:
    teams_only = clocked.org.make_key(["teams:read"], name="teams only")
    assert clocked.get("/api-public/v1/team", key=teams_only).status_code == 200
    assert "incidents:read" in expect_error(clocked.get("/api-public/v1/incidents", key=teams_only), 403)
    expect_error(clocked.get("/api-reporting/v2/incidents", key=teams_only), 403)


def test_rate_limited_reads_are_429_with_the_error_body(clocked: SplunkOrg) -> None:
    with clocked.database.write() as session:
        orgs.set_rate_limits(session=session, org_id=clocked.org.org_id, overrides={"read": "2/minute"})
    key = clocked.org.make_key(["teams:read"], name="limited")
    statuses = [clocked.get("/api-public/v1/team", key=key).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = clocked.get("/api-public/v1/team", key=key)
    assert "Retry after" in expect_error(response, 429)
    assert int(response.headers["Retry-After"]) >= 0


def test_unknown_path_and_method_answer_in_the_dialect(clocked: SplunkOrg) -> None:
    expect_error(clocked.get("/api-public/v1/nothing-here"), 404)
    expect_error(clocked.delete("/api-public/v1/team"), 405)


def test_bad_json_body_is_400(clocked: SplunkOrg) -> None:
    response = clocked.patch(
        "/api-public/v1/incidents/ack", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert "JSON object" in expect_error(response, 400)
    expect_error(clocked.patch("/api-public/v1/incidents/ack", json=["a list"]), 400)
