"""On call, Profile and a schedule's week in a real Chromium against a real ``tocsin serve`` whose
engine sends email to a real SMTP server: take a shift, add an email contact method, send the
code, enter the code read from the mail, see it verified; axe-core silent on each screen, and each
screen at 390 px in light and dark with no sideways scroll."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.factories.smtp import SmtpServer
from tests.factories.waiting import eventually
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
from tests.web.signed_in import SignedInPerson, sign_in
from tocsin.db.session import Database
from tocsin.services.people import users
from tocsin.services.schedules import oncall
from tocsin.services.schedules.schedules import create_schedule

pytestmark = pytest.mark.browser


@dataclass
class Setup:
    server: LiveServer
    smtp: SmtpServer
    dana: SignedInPerson
    schedule_id: str
    database: Database

    def on_call_now(self) -> list[str]:
        with self.database.read() as session:
            found = oncall.on_call(
                session=session, tenant=self.server.tenant, schedule_id=self.schedule_id, at=datetime.now(UTC)
            )
            return [entry.user.id for entry in found]


@pytest.fixture(scope="module")
def setup(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with SmtpServer() as smtp:
        server = LiveServer(tmp_path_factory.mktemp("oncall"), db_url)
        server.start(
            extra_env={
                "TOCSIN_ENGINE_ENABLED": "true",
                "TOCSIN_SMTP_HOST": smtp.host,
                "TOCSIN_SMTP_PORT": str(smtp.port),
                "TOCSIN_SMTP_STARTTLS": "false",
            }
        )
        database = Database(db_url)
        try:
            now = datetime.now(UTC)
            start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
            with database.write() as session:
                dana = users.get_user(session=session, tenant=server.tenant, user_id=server.user_id)
                email = dana.email
                dana.time_zone = "America/New_York"
                bob = users.create_user(
                    session=session, tenant=server.tenant, now=now, name="Bob Jones", email=f"bob.{email}"
                )
                layer = {
                    "name": "Primary rotation",
                    "users": [bob.id, dana.id],
                    "rotation_unit": "days",
                    "rotation_length": 1,
                    "start": start,
                }
                schedule_id = create_schedule(
                    session=session,
                    tenant=server.tenant,
                    now=now,
                    name="Checkout primary",
                    time_zone="Europe/Paris",
                    layers=[layer],
                ).id
            person = sign_in(database, server.tenant, server.user_id, email)
            yield Setup(server, smtp, person, schedule_id, database)
        finally:
            database.dispose()
            server.stop()


@pytest.fixture
def browsing(browser: Browser, setup: Setup) -> Iterator[Browsing]:
    session = Browsing(browser, setup.server.url)
    yield session
    session.close()
    assert session.errors == [], "the browser reported errors:\n" + "\n".join(session.errors)


def test_take_a_shift_then_verify_an_email_with_the_code_from_the_mail(
    browsing: Browsing, setup: Setup
) -> None:
    dana = setup.dana
    page = browsing.open("/oncall", cookies=dana.cookies)
    assert_axe_clean(page)
    assert setup.on_call_now() != [dana.user_id]
    page.get_by_role("button", name="Take shift from Bob Jones").click()
    page.get_by_role("status").filter(has_text="Shift taken").wait_for()
    assert setup.on_call_now() == [dana.user_id]
    assert_axe_clean(page)

    page.get_by_role("link", name="Profile").click()
    page.get_by_label("Address").fill("dana.pager@example.com")
    page.get_by_role("button", name="Add contact method").click()
    page.get_by_text("Not verified").wait_for()
    page.get_by_role("button", name="Send code").click()
    page.get_by_role("status").filter(has_text="Code sent").wait_for()
    # The live server's engine also runs jobs other tests left in the shared database, whose
    # pages may reach this SMTP server too: the code is the mail sent to Dana's new address.
    assert eventually(
        lambda: any(m.rcpt_tos == ["dana.pager@example.com"] for m in setup.smtp.messages), 30, every=0.1
    )
    mail = next(m for m in setup.smtp.messages if m.rcpt_tos == ["dana.pager@example.com"])
    found = re.search(r"\b(\d{3}[ -]?\d{3})\b", mail.part("text/plain"))
    assert found, mail.part("text/plain")
    page.get_by_text("Code delivered").wait_for()  # the status updates itself, no reload
    page.get_by_label("Code for dana.pager@example.com").fill(found.group(1))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("status").filter(has_text="Verified").wait_for()
    assert page.get_by_text("Verified", exact=True).is_visible()
    assert_axe_clean(page)

    page.get_by_role("link", name="Schedules").click()
    page.get_by_role("link", name="Checkout primary").click()
    page.get_by_role("heading", name="Checkout primary").wait_for()
    assert page.locator(".week-day").count() == 7
    assert_axe_clean(page)


SCREENS = ["/oncall", "/profile", "/schedules/{schedule}"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_each_screen_fits_and_passes_axe(
    browsing: Browsing, setup: Setup, scheme: Scheme, width: int
) -> None:
    for path in SCREENS:
        page = browsing.open(
            path.format(schedule=setup.schedule_id), width=width, scheme=scheme, cookies=setup.dana.cookies
        )
        assert_no_horizontal_scroll(page)
        assert background_is_dark(page) == (scheme == "dark")
        for button in page.locator("main button").all()[:20]:
            box = button.bounding_box()
            assert box is not None and box["height"] >= 44, button.inner_text()
        assert_axe_clean(page)
        name = Path(path).parts[1]
        screenshot(page, f"{name}-{width}-{scheme}")
