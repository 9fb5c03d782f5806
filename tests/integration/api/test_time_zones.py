"""A user's and a schedule's ``time_zone`` go through one check (``services.checks.check_time_zone``):
the same zones are accepted, trimmed alike, and refused with the same reason and message."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories.errors import expect_error
from tests.factories.orgs import OrgFactory, OrgHandle

EXAMPLE = "use an IANA name such as Europe/Berlin or UTC"


def _user(org: OrgHandle, **body: Any) -> Any:
    return org.post("/api/users", json={"name": "Alice", "email": "alice@example.com", **body})


def _schedule(org: OrgHandle, **body: Any) -> Any:
    return org.post("/api/schedules", json={"name": "Primary", **body})


CREATORS = [("users", _user), ("schedules", _schedule)]


@pytest.mark.parametrize(("path", "create"), CREATORS, ids=[path for path, _ in CREATORS])
def test_surrounding_spaces_are_trimmed(orgs: OrgFactory, path: str, create: Any) -> None:
    org = orgs.new()
    created = create(org, time_zone="  Europe/Berlin\t")
    assert created.status_code == 201, created.text
    ident = created.json()["data"]["id"]
    assert org.get(f"/api/{path}/{ident}").json()["data"]["time_zone"] == "Europe/Berlin"
    changed = org.patch(f"/api/{path}/{ident}", json={"time_zone": " UTC "})
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["time_zone"] == "UTC"


@pytest.mark.parametrize(("path", "create"), CREATORS, ids=[path for path, _ in CREATORS])
@pytest.mark.parametrize(
    ("zone", "reason", "message"),
    [
        ("Mars/Olympus", "invalid", f"time_zone: unknown time zone 'Mars/Olympus'; {EXAMPLE}"),
        ("utc", "invalid", f"time_zone: unknown time zone 'utc' (did you mean UTC?); {EXAMPLE}"),
        ("   ", "required", "time_zone is required: an IANA name such as Europe/Berlin or UTC"),
    ],
)
def test_bad_zones_are_the_same_400_for_both(
    orgs: OrgFactory, path: str, create: Any, zone: str, reason: str, message: str
) -> None:
    org = orgs.new()
    error = expect_error(create(org, time_zone=zone), 400, "VALIDATION_ERROR")
    assert (error["details"], error["message"]) == ({"field": "time_zone", "reason": reason}, message)
    assert org.get(f"/api/{path}").json()["pagination"]["total"] == 0


def test_a_users_zone_cannot_be_unset(orgs: OrgFactory) -> None:
    org = orgs.new()
    user = _user(org, time_zone="Europe/Berlin").json()["data"]
    error = expect_error(
        org.patch(f"/api/users/{user['id']}", json={"time_zone": None}), 400, "VALIDATION_ERROR"
    )
    assert error["details"] == {"field": "time_zone", "reason": "required"}
    assert org.get(f"/api/users/{user['id']}").json()["data"]["time_zone"] == "Europe/Berlin"
