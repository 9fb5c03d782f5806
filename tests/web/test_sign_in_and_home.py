"""Signing in and Home in a real Chromium against a real ``tocsin serve``: the form signs in and
lands on Home, which shows who is on call and the counts; Sign out ends it. Both screens pass
axe-core, fit 390 px without sideways scroll, and follow dark mode."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.web.conftest import (
    DESKTOP,
    PHONE,
    Browsing,
    Scheme,
    assert_axe_clean,
    assert_no_horizontal_scroll,
    background_is_dark,
    screenshot,
)
from tests.web.server import LiveServer
from tests.web.signed_in import PASSWORD, make_person, signed_in
from tocsin.db.session import Database
from tocsin.services.schedules.schedules import create_schedule

pytestmark = pytest.mark.browser


def _on_call_person(server: LiveServer, name: str) -> tuple[str, str]:
    """A person with a password who is on call now in a schedule of their own; (email, schedule)."""
    database = Database(server.db_url)
    try:
        user_id, email = make_person(database, server.tenant, name=name, time_zone="Europe/Berlin")
        schedule = f"Checkout primary {uuid.uuid4().hex[:4]}"
        layer = {
            "users": [user_id],
            "rotation_unit": "weeks",
            "rotation_length": 1,
            "start": datetime(2020, 1, 6, 9, tzinfo=UTC),
        }
        with database.write() as session:
            create_schedule(
                session=session,
                tenant=server.tenant,
                now=datetime.now(UTC),
                name=schedule,
                time_zone="America/New_York",
                layers=[layer],
            )
    finally:
        database.dispose()
    return email, schedule


def _session(server: LiveServer) -> str:
    database = Database(server.db_url)
    try:
        return signed_in(database, server.tenant, name="Priya Natarajan").token
    finally:
        database.dispose()


def test_sign_in_see_home_and_sign_out(browsing: Browsing, live_server: LiveServer) -> None:
    email, schedule = _on_call_person(live_server, "Marta Kowalski")
    live_server.trigger("Checkout 5xx above 2%", dedup_key=uuid.uuid4().hex)
    page = browsing.open("/", status=200)  # signed out: redirected to the form
    assert page.url.endswith("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("a wrong password!!")
    browsing.expect_refusal("/login")  # the form comes back with 401 and the message
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").filter(has_text="Email or password is incorrect.").wait_for()
    assert_axe_clean(page)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Hello, Marta Kowalski").wait_for()
    assert page.url == live_server.url + "/"
    on_call = page.get_by_role("region", name="On call now")
    assert on_call.get_by_text(schedule).is_visible()
    assert on_call.get_by_text("Marta Kowalski").first.is_visible()
    counts = page.get_by_role("region", name="Incidents")
    open_count = counts.get_by_role("link", name="Open")
    assert open_count.get_attribute("href") == "/incidents?status=open"
    assert int(open_count.locator(".count-n").inner_text()) >= 1
    for link in ("Incidents", "On call", "Schedules", "Profile"):
        assert page.get_by_role("navigation", name="Main").get_by_role("link", name=link).is_visible()
    assert_axe_clean(page)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.url.endswith("/login")
    page.goto("/")
    assert page.url.endswith("/login")  # the session ended: Home asks to sign in again


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_sign_in_and_home_fit_both_widths_and_themes(
    browsing: Browsing, live_server: LiveServer, scheme: Scheme, width: int
) -> None:
    size = "phone" if width == PHONE else "desktop"
    form = browsing.open("/login", width=width, scheme=scheme)
    assert_no_horizontal_scroll(form)
    assert background_is_dark(form) == (scheme == "dark")
    box = form.get_by_role("button", name="Sign in").bounding_box()
    assert box is not None and box["height"] >= 44
    assert_axe_clean(form)
    screenshot(form, f"login-{size}-{scheme}")

    _on_call_person(live_server, "Jonas Lindqvist")
    home = browsing.open("/", width=width, scheme=scheme, session=_session(live_server))
    home.get_by_role("heading", name="Hello, Priya Natarajan").wait_for()
    assert_no_horizontal_scroll(home)
    assert background_is_dark(home) == (scheme == "dark")
    sign_out = home.get_by_role("button", name="Sign out").bounding_box()
    assert sign_out is not None and sign_out["height"] >= 44
    assert_axe_clean(home)
    screenshot(home, f"home-{size}-{scheme}")
