"""iCal export through HTTP: keyed feeds, secret-token URLs for calendar clients, token rotation,
tenancy and modes, and the throttling of the unauthenticated routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from fastapi.testclient import TestClient
from icalendar import Calendar

from tests.conftest import settings_for
from tests.factories.errors import expect_error
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.db.session import Database
from tocsin.domain.ical import shifts_from_feed
from tocsin.domain.scopes import SCOPES

SINCE, UNTIL = "2030-01-01T00:00:00Z", "2030-03-01T00:00:00Z"


def _schedule(org: OrgHandle, users: list[str], name: str = "Payment API primary") -> dict[str, Any]:
    """A weekly rotation in Berlin, a weekday-hours layer on top, and one override."""
    body = {
        "name": name,
        "time_zone": "Europe/Berlin",
        "layers": [
            {
                "name": "Weekly",
                "users": users,
                "rotation_unit": "weeks",
                "rotation_length": 1,
                "start": "2030-01-07T09:00:00+01:00",
            },
            {
                "name": "Office hours",
                "users": users[:1],
                "rotation_unit": "days",
                "rotation_length": 1,
                "start": "2030-01-01T00:00:00Z",
                "restrictions": [
                    {
                        "kind": "weekly",
                        "start": "09:00",
                        "end": "17:00",
                        "start_day": "monday",
                        "end_day": "friday",
                    }
                ],
            },
        ],
    }
    response = org.post("/api/schedules", json=body)
    assert response.status_code == 201, response.text
    schedule: dict[str, Any] = response.json()["data"]
    override = org.post(
        f"/api/schedules/{schedule['id']}/overrides",
        json={"user_id": users[-1], "start": "2030-02-03T10:00:00Z", "end": "2030-02-04T10:30:00Z"},
    )
    assert override.status_code == 201, override.text
    return schedule


def _api_shifts(org: OrgHandle, schedule_id: str) -> list[tuple[str, datetime, datetime]]:
    response = org.get(f"/api/schedules/{schedule_id}/shifts", params={"since": SINCE, "until": UNTIL})
    assert response.status_code == 200, response.text
    return [(s["user"]["id"], _instant(s["start"]), _instant(s["end"])) for s in response.json()["data"]]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _feed_shifts(body: bytes) -> list[tuple[str, datetime, datetime]]:
    return [(s.user_id, s.start, s.end) for s in shifts_from_feed(body)]


def _path(url: str) -> str:
    return urlparse(url).path


def _users(org: OrgHandle) -> list[str]:
    return [
        org.make_user("Alice Smith", f"alice-{org.slug}@example.com"),
        org.make_user("Bob Jones", f"bob-{org.slug}@example.com"),
        org.make_user("Carol White", f"carol-{org.slug}@example.com"),
    ]


def test_exported_feed_parses_back_to_the_api_shifts(orgs: OrgFactory) -> None:
    org = orgs.new()
    schedule = _schedule(org, _users(org))
    expected = _api_shifts(org, schedule["id"])
    assert len(expected) > 10

    feed = org.get(f"/api/schedules/{schedule['id']}/ical", params={"since": SINCE, "until": UNTIL})
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    assert feed.headers["cache-control"] == "private, max-age=300"
    assert _feed_shifts(feed.content) == expected
    calendar = Calendar.from_ical(feed.content)
    assert str(calendar["X-WR-CALNAME"]) == "On call: Payment API primary"

    # The same feed through the secret URL, without a key.
    url = org.get(f"/api/schedules/{schedule['id']}/ical-url").json()["data"]["url"]
    assert url.startswith("http://127.0.0.1:8080/ical/schedules/") and url.endswith(".ics")
    public = org.client.get(_path(url), params={"since": SINCE, "until": UNTIL})
    assert public.status_code == 200, public.text
    assert public.headers["cache-control"] == "private, max-age=300"
    assert "x-ratelimit-limit" in public.headers
    assert _feed_shifts(public.content) == expected


def test_default_window_and_window_limits(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user()
    created = org.post(
        "/api/schedules",
        json={
            "name": "Always Alice",
            "time_zone": "UTC",
            "layers": [
                {
                    "users": [alice],
                    "rotation_unit": "days",
                    "rotation_length": 1,
                    "start": "2020-01-01T00:00:00Z",
                }
            ],
        },
    ).json()["data"]
    feed = org.get(f"/api/schedules/{created['id']}/ical")
    assert feed.status_code == 200
    (shift,) = shifts_from_feed(feed.content)
    assert shift.user_id == alice and 66 <= (shift.end - shift.start).days <= 67

    too_long = org.get(
        f"/api/schedules/{created['id']}/ical",
        params={"since": "2030-01-01T00:00:00Z", "until": "2030-07-01T00:00:00Z"},
    )
    assert expect_error(too_long, 400, "VALIDATION_ERROR")["details"]["field"] == "until"
    naive = org.get(f"/api/schedules/{created['id']}/ical", params={"since": "2030-01-01T00:00:00"})
    assert expect_error(naive, 400, "VALIDATION_ERROR")["details"]["field"] == "since"
    long_ok = org.get(
        f"/api/schedules/{created['id']}/ical",
        params={"since": "2030-01-01T00:00:00Z", "until": "2030-06-29T00:00:00Z"},
    )
    assert long_ok.status_code == 200


def test_rotating_a_schedule_url_kills_the_old_one(orgs: OrgFactory) -> None:
    org = orgs.new()
    schedule = _schedule(org, _users(org))
    old = org.get(f"/api/schedules/{schedule['id']}/ical-url").json()["data"]["url"]
    assert org.get(f"/api/schedules/{schedule['id']}/ical-url").json()["data"]["url"] == old
    assert org.client.get(_path(old)).status_code == 200

    rotated = org.post(f"/api/schedules/{schedule['id']}/ical-url/rotate")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["data"]["url"]
    assert new != old and org.get(f"/api/schedules/{schedule['id']}/ical-url").json()["data"]["url"] == new
    expect_error(org.client.get(_path(old)), 404, "NOT_FOUND")
    assert org.client.get(_path(new)).status_code == 200

    reader = org.make_key(["schedules:read"])
    expect_error(org.post(f"/api/schedules/{schedule['id']}/ical-url/rotate", key=reader), 403, "FORBIDDEN")


def test_unknown_tokens_are_404_envelopes(orgs: OrgFactory) -> None:
    org = orgs.new()
    for path in (
        "/ical/schedules/not-a-token.ics",
        "/ical/users/not-a-token.ics",
        "/ical/schedules/.ics",
    ):
        error = expect_error(org.client.get(path), 404, "NOT_FOUND")
        assert "token" not in error["message"].lower()
    # A schedule's token does not open a user feed, nor the other way round.
    schedule = _schedule(org, _users(org))
    url = org.get(f"/api/schedules/{schedule['id']}/ical-url").json()["data"]["url"]
    expect_error(org.client.get(_path(url).replace("/schedules/", "/users/")), 404, "NOT_FOUND")


def test_another_org_and_test_mode_cannot_reach_a_schedules_feed(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    schedule = _schedule(org, _users(org))
    users = org.get("/api/users").json()["data"]
    test_mode = org.test_mode()
    for outsider in (other, test_mode):
        for path in (
            f"/api/schedules/{schedule['id']}/ical",
            f"/api/schedules/{schedule['id']}/ical-url",
            f"/api/users/{users[0]['id']}/ical",
            f"/api/users/{users[0]['id']}/ical-url",
        ):
            expect_error(outsider.get(path), 404, "NOT_FOUND")
        for path in (
            f"/api/schedules/{schedule['id']}/ical-url/rotate",
            f"/api/users/{users[0]['id']}/ical-url/rotate",
        ):
            expect_error(outsider.post(path), 404, "NOT_FOUND")
    # A test-mode schedule has its own feed, with only test-mode data.
    bob = test_mode.make_user("Test Bob", "test-bob@example.com")
    test_schedule = _schedule(test_mode, [bob])
    url = test_mode.get(f"/api/schedules/{test_schedule['id']}/ical-url").json()["data"]["url"]
    shifts = shifts_from_feed(org.client.get(_path(url), params={"since": SINCE, "until": UNTIL}).content)
    assert {s.user_id for s in shifts} == {bob}
    expect_error(org.get(f"/api/schedules/{test_schedule['id']}/ical"), 404, "NOT_FOUND")


def test_user_feed_spans_schedules_and_names_them(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice, bob, carol = _users(org)
    first = _schedule(org, [alice, bob, carol], name="Payments")
    second = _schedule(org, [bob, alice], name="Checkout")
    expected = sorted(
        [s for s in _api_shifts(org, first["id"]) if s[0] == alice]
        + [s for s in _api_shifts(org, second["id"]) if s[0] == alice],
        key=lambda s: (s[1], s[2]),
    )
    feed = org.get(f"/api/users/{alice}/ical", params={"since": SINCE, "until": UNTIL})
    assert feed.status_code == 200, feed.text
    assert sorted(_feed_shifts(feed.content), key=lambda s: (s[1], s[2])) == expected
    summaries = {str(e["SUMMARY"]) for e in Calendar.from_ical(feed.content).walk("VEVENT")}
    assert summaries == {"On call: Alice Smith (Payments)", "On call: Alice Smith (Checkout)"}

    url = org.get(f"/api/users/{alice}/ical-url").json()["data"]["url"]
    assert _path(url).startswith("/ical/users/")
    public = org.client.get(_path(url), params={"since": SINCE, "until": UNTIL})
    assert public.status_code == 200 and _feed_shifts(public.content) == _feed_shifts(feed.content)

    rotated = org.post(f"/api/users/{alice}/ical-url/rotate").json()["data"]["url"]
    assert rotated != url
    expect_error(org.client.get(_path(url)), 404, "NOT_FOUND")
    assert org.client.get(_path(rotated)).status_code == 200


def test_who_may_see_or_rotate_a_users_url(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice, bob, _ = _users(org)
    own = org.make_key(["schedules:read", "users:read"], user_id=alice)
    assert org.get(f"/api/users/{alice}/ical-url", key=own).status_code == 200
    expect_error(org.get(f"/api/users/{bob}/ical-url", key=own), 403, "FORBIDDEN")
    own_writer = org.make_key(["schedules:write"], user_id=alice)
    assert org.post(f"/api/users/{alice}/ical-url/rotate", key=own_writer).status_code == 200
    expect_error(org.post(f"/api/users/{bob}/ical-url/rotate", key=own_writer), 403, "FORBIDDEN")
    service_reader = org.make_key(["schedules:read", "users:read"])
    expect_error(org.get(f"/api/users/{alice}/ical-url", key=service_reader), 403, "FORBIDDEN")
    admin = org.make_key(["users:write"])
    assert org.post(f"/api/users/{bob}/ical-url/rotate", key=admin).status_code == 200
    expect_error(org.get("/api/users/usr_nobody/ical-url"), 404, "NOT_FOUND")
    assert set(SCOPES) >= {"users:write", "schedules:read"}


def test_secret_routes_are_rate_limited_by_address(db_url: str, database: Database) -> None:
    app = create_app(settings_for(db_url, ratelimit_read="2/minute"), database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        org = OrgFactory(database, client).new()
        schedule = _schedule(org, _users(org))
        url = _path(org.get(f"/api/schedules/{schedule['id']}/ical-url").json()["data"]["url"])
        first = client.get(url)
        assert first.status_code == 200 and first.headers["x-ratelimit-remaining"] == "1"
        assert client.get("/ical/users/unknown.ics").status_code == 404  # guesses count too
        limited = client.get(url)
        error = expect_error(limited, 429, "RATE_LIMITED")
        assert int(limited.headers["Retry-After"]) >= 1 and error["retry_after"] >= 1


def test_secret_routes_refuse_when_the_limiter_is_down(db_url: str, database: Database) -> None:
    app = create_app(settings_for(db_url, redis_url="redis://127.0.0.1:1/0"), database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/ical/schedules/anything.ics")
        expect_error(response, 503, "SERVICE_UNAVAILABLE")
        assert response.headers["Retry-After"] == "5"
