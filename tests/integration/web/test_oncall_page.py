"""``/oncall`` through the app: now and next per schedule and per service, "Just me", my shifts,
and the shift actions as form POSTs (checked through the API), with every refusal: bad input with
the services' messages, another org's ids, an observer, a missing CSRF token."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories.orgs import OrgFactory
from tests.integration.web.world import World, build, person, schedule


@pytest.fixture
def world(orgs: OrgFactory) -> World:
    return build(orgs)


def _on_call_now(world: World) -> list[str]:
    rows = world.org.get("/api/oncalls", params={"schedule_ids": world.schedule_id}).json()["data"]
    return [row["user"]["id"] for row in rows]


def test_signed_out_visitors_are_sent_to_sign_in(world: World) -> None:
    answer = world.get(None, "/oncall?mine=1")
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/oncall%3Fmine%3D1"
    assert world.post(None, "/oncall/take", {"schedule_id": world.schedule_id}).status_code == 303


def test_now_next_per_service_and_my_shifts(world: World) -> None:
    page = world.get(world.alice, "/oncall")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Primary" in text and "Checkout" in text and "Level 1" in text
    service = text.split('id="by-service"', 1)[1].split('id="my-shifts"', 1)[0]
    assert "Checkout default" in service and "Bob Jones" in service.split("Level 1", 1)[1]
    now, later = text.split("<dt>Now</dt>", 1)[1].split("<dt>Next</dt>", 1)
    assert "Bob Jones" in now and "Alice Smith" in later.split("</dl>")[0]
    mine = text.split('id="my-shifts"', 1)[1].split('id="cover"', 1)[0]
    assert mine.count("Primary") >= 13  # every other day of four weeks
    assert "Ask for cover" in mine
    assert 'name="csrf_token" value="' + world.alice.csrf + '"' in text
    assert (
        'datetime="' in text and 'title="' in text and "Europe/Paris" in text
    )  # the schedule's zone on hover


def test_just_me_leaves_out_schedules_and_services_without_me(world: World) -> None:
    schedule(world.org, [world.bob.user_id], world.rotation_start, name="Bob only")
    everyone = world.get(world.alice, "/oncall").text
    just_me = world.get(world.alice, "/oncall?mine=1").text
    assert "Bob only" in everyone and "Bob only" not in just_me
    assert "Primary" in just_me  # Alice is next there
    assert 'href="/oncall?mine=1" aria-current="page"' in just_me


def test_take_shift_puts_me_on_call_now(world: World) -> None:
    assert _on_call_now(world) == [world.bob.user_id]
    done = world.post(
        world.alice, "/oncall/take", {"schedule_id": world.schedule_id, "from_user_id": world.bob.user_id}
    )
    assert done.status_code == 303 and done.headers["location"] == "/oncall?done=taken"
    assert _on_call_now(world) == [world.alice.user_id]
    page = world.get(world.alice, "/oncall?done=taken").text
    assert "Shift taken" in page
    # Alice's own shift follows the one she took: the next handover is to Bob, not to her again.
    following = page.split("<dt>Next</dt>", 1)[1].split("</dl>", 1)[0]
    assert "Bob Jones" in following and "Alice Smith" not in following


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"from_user_id": "me"}, 400, "a user cannot take a shift from themselves"),
        ({"from_user_id": "usr_nobody"}, 400, "unknown user"),
        ({"schedule_id": "sch_nope"}, 404, "schedule &#39;sch_nope&#39; not found"),
    ],
)
def test_take_shift_refusals_say_why_and_change_nothing(
    world: World, form: dict[str, str], status: int, message: str
) -> None:
    values = {"schedule_id": world.schedule_id, "from_user_id": world.bob.user_id, **form}
    if values["from_user_id"] == "me":
        values["from_user_id"] = world.alice.user_id
    answer = world.post(world.alice, "/oncall/take", values)
    assert answer.status_code == status and message in answer.text, answer.text[-2000:]
    assert 'role="alert"' in answer.text
    assert _on_call_now(world) == [world.bob.user_id]


def test_another_orgs_schedule_is_not_found(world: World, orgs: OrgFactory) -> None:
    other = orgs.new()
    stranger = person(other, "Sam Else")
    theirs = schedule(other, [stranger.user_id], world.rotation_start, name="Theirs")
    answer = world.post(
        world.alice, "/oncall/take", {"schedule_id": theirs, "from_user_id": stranger.user_id}
    )
    assert answer.status_code in (400, 404)
    assert "Theirs" not in world.get(world.alice, "/oncall").text
    assert world.get(world.alice, f"/schedules/{theirs}").status_code == 404


def test_ask_for_cover_then_someone_takes_it(world: World) -> None:
    start = world.rotation_start + timedelta(days=1)  # Alice's next shift
    end = start + timedelta(days=1)
    asked = world.post(
        world.alice,
        "/oncall/swap-requests",
        {"schedule_id": world.schedule_id, "start": start.isoformat(), "end": end.isoformat()},
    )
    assert asked.status_code == 303, asked.text
    bob_view = world.get(world.bob, "/oncall").text
    cover = bob_view.split('id="cover"', 1)[1]
    assert "Alice Smith" in cover and "Take shift" in cover
    swap_id = world.org.get("/api/swap-requests").json()["data"][0]["id"]
    assert "Cancel request" in world.get(world.alice, "/oncall").text.split('id="cover"', 1)[1]
    taken = world.post(world.bob, f"/oncall/swap-requests/{swap_id}/take")
    assert taken.status_code == 303
    at = (start + timedelta(hours=1)).isoformat()
    rows = world.org.get("/api/oncalls", params={"schedule_ids": world.schedule_id, "at": at}).json()["data"]
    assert [row["user"]["id"] for row in rows] == [world.bob.user_id]
    again = world.post(world.olive, f"/oncall/swap-requests/{swap_id}/take")
    assert again.status_code == 403
    twice = world.post(world.alice, f"/oncall/swap-requests/{swap_id}/take")
    assert twice.status_code in (400, 409) and "cannot be taken" in twice.text


def test_cover_for_a_shift_already_begun_is_refused_with_the_services_message(world: World) -> None:
    answer = world.post(
        world.bob,
        "/oncall/swap-requests",
        {
            "schedule_id": world.schedule_id,
            "start": world.rotation_start.isoformat(),
            "end": (world.rotation_start + timedelta(hours=5)).isoformat(),
        },
    )
    assert answer.status_code == 400 and "start must be in the future" in answer.text
    bad = world.post(
        world.bob, "/oncall/swap-requests", {"schedule_id": world.schedule_id, "start": "soon", "end": ""}
    )
    assert bad.status_code == 400 and "RFC 3339" in bad.text
    assert world.org.get("/api/swap-requests").json()["data"] == []


def test_an_observer_sees_no_actions_and_may_not_act(world: World) -> None:
    page = world.get(world.olive, "/oncall").text
    assert "Bob Jones" in page
    content = page.split('<main id="main"', 1)[1]  # the header's Sign out form is everyone's
    assert "Take shift" not in content and "Ask for cover" not in content and "csrf_token" not in content
    refused = world.post(
        world.olive, "/oncall/take", {"schedule_id": world.schedule_id, "from_user_id": world.bob.user_id}
    )
    assert refused.status_code == 403
    assert _on_call_now(world) == [world.bob.user_id]


@pytest.mark.parametrize(
    "path",
    [
        "/oncall/take",
        "/oncall/swap-requests",
        "/oncall/swap-requests/x/take",
        "/oncall/swap-requests/x/cancel",
    ],
)
def test_every_action_refuses_a_missing_or_wrong_csrf_token(world: World, path: str) -> None:
    form = {"schedule_id": world.schedule_id, "from_user_id": world.bob.user_id}
    assert world.post(world.alice, path, form, csrf=False).status_code == 403
    assert (
        world.post(world.alice, path, {**form, "csrf_token": world.bob.csrf}, csrf=False).status_code == 403
    )
    assert _on_call_now(world) == [world.bob.user_id]
