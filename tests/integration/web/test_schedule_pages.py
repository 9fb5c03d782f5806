"""``/schedules`` and ``/schedules/{id}`` through the app: the list with who is on call now, and a
week of the final schedule in the viewer's zone with layers and overrides told apart in words."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories.orgs import OrgFactory
from tests.integration.web.world import World, build, person, schedule
from tocsin.web.routes.schedules import week_start


@pytest.fixture
def world(orgs: OrgFactory) -> World:
    return build(orgs)


def test_the_list_says_who_is_on_call_now(world: World) -> None:
    page = world.get(world.olive, "/schedules")
    assert page.status_code == 200
    assert f'href="/schedules/{world.schedule_id}"' in page.text and "On call now: Bob Jones" in page.text
    assert world.get(None, "/schedules").status_code == 303


def test_a_week_shows_each_day_with_its_layer_and_overrides(world: World) -> None:
    start = world.rotation_start + timedelta(days=2)
    made = world.org.post(
        f"/api/schedules/{world.schedule_id}/overrides",
        json={
            "user_id": world.olive.user_id,
            "start": start.isoformat(),
            "end": (start + timedelta(hours=3)).isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    week = start.date().isoformat()
    page = world.get(world.alice, f"/schedules/{world.schedule_id}?week={week}")
    assert page.status_code == 200
    text = page.text
    assert text.count('class="week-day"') == 7
    assert "Bob Jones" in text and "Alice Smith" in text and "Olive Watcher" in text
    assert '<span class="seg-source">Weekdays</span>' in text
    assert '<span class="seg-source">Override</span>' in text and "Overrides this week" in text
    monday = week_start(week, date.today())
    assert f"?week={(monday - timedelta(days=7)).isoformat()}" in text
    assert f"?week={(monday + timedelta(days=7)).isoformat()}" in text
    assert "Europe/Paris" in text  # the schedule's zone, on hover


def test_week_start_is_the_monday_and_a_bad_date_is_this_week() -> None:
    today = date(2026, 12, 10)  # a Thursday
    assert week_start("2026-12-13", today) == date(2026, 12, 7)
    assert week_start("not a date", today) == date(2026, 12, 7)
    assert week_start(None, today) == date(2026, 12, 7)


def test_another_orgs_or_unknown_schedule_is_a_404_page(world: World, orgs: OrgFactory) -> None:
    other = orgs.new()
    theirs = schedule(other, [person(other, "Sam Else").user_id], world.rotation_start, name="Theirs")
    for schedule_id in (theirs, "sch_nope"):
        answer = world.get(world.alice, f"/schedules/{schedule_id}")
        assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
        assert "Theirs" not in answer.text
