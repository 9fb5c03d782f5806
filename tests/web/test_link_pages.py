"""The one-click link pages and the 404 page in a real Chromium: the click acknowledges (checked
through the API), axe-core is silent, 390 px has no sideways scroll, and dark mode applies."""

from __future__ import annotations

import uuid

import pytest

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

pytestmark = pytest.mark.browser


def _incident(server: LiveServer, summary: str = "Checkout latency p99 above 2 s") -> str:
    return server.trigger(summary, dedup_key=uuid.uuid4().hex)


def test_acknowledge_from_the_link_page(browsing: Browsing, live_server: LiveServer) -> None:
    incident = _incident(live_server)
    page = browsing.open(live_server.link(incident, "acknowledge"))
    assert page.title().startswith("Acknowledge incident #")
    assert live_server.status(incident) == "OPEN"  # opening the link changed nothing
    assert_axe_clean(page)
    page.get_by_role("button", name="Acknowledge incident").click()
    page.get_by_role("heading", name="acknowledged").wait_for()
    assert page.get_by_text("Acknowledged", exact=True).is_visible()  # the status says it in words
    assert eventually(lambda: live_server.status(incident) == "ACKNOWLEDGED")
    assert_axe_clean(page)


def test_a_used_link_says_so(browsing: Browsing, live_server: LiveServer) -> None:
    incident = _incident(live_server)
    path = live_server.link(incident, "resolve")
    page = browsing.open(path)
    page.get_by_role("button", name="Resolve incident").click()
    page.get_by_role("heading", name="resolved").wait_for()
    assert live_server.status(incident) == "RESOLVED"
    again = browsing.open(path, status=410)
    assert again.get_by_role("heading", name="Link already used").is_visible()
    assert_axe_clean(again)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_link_pages_fit_a_phone_in_both_themes(
    browsing: Browsing, live_server: LiveServer, scheme: Scheme
) -> None:
    incident = _incident(
        live_server, "Payment webhooks from the card processor are failing in eu-west-1 (HTTP 502)"
    )
    page = browsing.open(live_server.link(incident, "acknowledge"), width=PHONE, scheme=scheme)
    assert_no_horizontal_scroll(page)
    assert background_is_dark(page) == (scheme == "dark")
    button = page.get_by_role("button", name="Acknowledge incident")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44
    assert_axe_clean(page)


def test_the_theme_toggle_wins_over_the_system_and_is_remembered(
    browsing: Browsing, live_server: LiveServer
) -> None:
    incident = _incident(live_server)
    page = browsing.open(live_server.link(incident, "view"), scheme="light")
    assert not background_is_dark(page)
    toggle = page.get_by_role("button", name="Dark theme")
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    assert background_is_dark(page) and toggle.get_attribute("aria-pressed") == "true"
    assert_axe_clean(page)
    # The next page (same browser profile) paints dark from the start: the choice is applied in
    # <head>, before the stylesheet, so the first frame already has it.
    page.goto(live_server.link(incident, "view"))
    assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"
    assert background_is_dark(page)


def test_a_missing_page_is_a_page_for_people(browsing: Browsing, live_server: LiveServer) -> None:
    page = browsing.open("/nothing/here", status=404)
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert_axe_clean(page)
    phone = browsing.open("/nothing/here", width=PHONE, scheme="dark", status=404)
    assert_no_horizontal_scroll(phone)
    assert background_is_dark(phone)


def test_screenshots_of_each_page(browsing: Browsing, live_server: LiveServer) -> None:
    """Not an assertion of looks (a person looks at them): every page in both widths and themes
    renders with no browser error and no sideways scroll. ``TOCSIN_SCREENSHOTS=/tmp/shots``."""
    incident = _incident(live_server, "Disk /var/lib/postgresql on db-02 is 94% full")
    confirm = live_server.link(incident, "acknowledge")
    for width in (1280, PHONE):
        for scheme in ("light", "dark"):
            suffix = f"{width}-{scheme}"
            page = browsing.open(confirm, width=width, scheme=scheme)
            screenshot(page, f"link-confirm-{suffix}")
            assert_no_horizontal_scroll(page)
            screenshot(
                browsing.open("/nothing/here", width=width, scheme=scheme, status=404), f"not-found-{suffix}"
            )
    done = browsing.open(confirm, width=PHONE)
    done.get_by_role("button", name="Acknowledge incident").click()
    done.get_by_role("heading", name="acknowledged").wait_for()
    screenshot(done, "link-done-390-light")
    used = browsing.open(confirm, width=PHONE, scheme="dark", status=410)
    screenshot(used, "link-used-390-dark")


def test_the_keyboard_reaches_the_button_and_shows_where_it_is(
    browsing: Browsing, live_server: LiveServer
) -> None:
    incident = _incident(live_server)
    page = browsing.open(live_server.link(incident, "acknowledge"))
    button = page.get_by_role("button", name="Acknowledge incident")
    for _ in range(6):  # skip link, brand, theme toggle, then the button
        page.keyboard.press("Tab")
        if button.evaluate("element => element === document.activeElement"):
            break
    assert button.evaluate("element => element === document.activeElement")
    outline = button.evaluate(
        "element => getComputedStyle(element).outlineStyle + ' ' + getComputedStyle(element).outlineWidth"
    )
    assert outline.startswith("solid") and not outline.endswith(" 0px"), outline
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="acknowledged").wait_for()
    assert eventually(lambda: live_server.status(incident) == "ACKNOWLEDGED")
