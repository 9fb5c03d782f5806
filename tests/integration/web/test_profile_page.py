"""``/profile`` through the app: name and time zone, contact methods (add, send a code, enter it,
test, delete), notification rules with their preview, the calendar URL and the "Sign out
everywhere" form; each refusal with the services' message and status, changing nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.factories.orgs import OrgFactory
from tests.integration.web.world import World, build, person
from tocsin.services.people import contact_checks, contacts, users
from tocsin.services.people.contact_checks import CheckPlan


@pytest.fixture
def world(orgs: OrgFactory) -> World:
    return build(orgs)


def _methods(world: World, user_id: str) -> list[dict[str, object]]:
    with world.org.database.read() as session:
        found = contacts.list_contact_methods(
            session=session, tenant=world.org.tenant, user_id=user_id, limit=50, offset=0
        ).items
        return [{"id": m.id, "address": m.address, "verified": m.verified_at is not None} for m in found]


def _add_email(world: World, address: str = "alice.pager@example.com") -> str:
    answer = world.post(world.alice, "/profile/contact-methods", {"type": "email", "address": address})
    assert answer.status_code == 303, answer.text
    return str(next(m["id"] for m in _methods(world, world.alice.user_id) if m["address"] == address))


def _engine_sends(world: World) -> CheckPlan:
    """What the engine's contact_check job does, minus the channel: make the code, record delivery."""
    now = datetime.now(UTC)
    with world.org.database.read() as session:
        checks = contact_checks.latest_checks(
            session=session, tenant=world.org.tenant, user_id=world.alice.user_id
        )
    pending = next(c.id for c in checks.values() if c.status == "pending")
    with world.org.database.write() as session:
        plan = contact_checks.start_check(session=session, tenant=world.org.tenant, check_id=pending, now=now)
    assert isinstance(plan, CheckPlan)
    with world.org.database.write() as session:
        contact_checks.record_check(
            session=session,
            tenant=world.org.tenant,
            check_id=pending,
            delivered=True,
            error=None,
            provider_id="test",
            now=now,
        )
    return plan


def test_the_page_shows_me_my_feed_and_sign_out_everywhere(world: World) -> None:
    page = world.get(world.alice, "/profile")
    assert page.status_code == 200
    assert 'value="Alice Smith"' in page.text and 'value="UTC"' in page.text
    with world.org.database.read() as session:
        token = users.get_user(
            session=session, tenant=world.org.tenant, user_id=world.alice.user_id
        ).ical_token
    assert f"/ical/users/{token}.ics" in page.text
    form = page.text.split('action="/profile/sign-out-everywhere"', 1)[1].split("</form>", 1)[0]
    assert world.alice.csrf in form and "Sign out everywhere" in form
    # No rules: the engine emails the account address (people.contacts.plan_for); the preview says so.
    assert f"High urgency: no rules, so one email to {world.alice.email} at once" in page.text


def test_name_and_time_zone_are_saved_and_a_bad_zone_is_refused(world: World) -> None:
    saved = world.post(world.alice, "/profile", {"name": "Alice S.", "time_zone": "Europe/Paris"})
    assert saved.status_code == 303
    assert 'value="Europe/Paris"' in world.get(world.alice, "/profile").text
    bad = world.post(world.alice, "/profile", {"name": "Alice X", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 400 and "Mars/Olympus" in bad.text and 'role="alert"' in bad.text
    lower = world.post(world.alice, "/profile", {"name": "Alice X", "time_zone": "europe/paris"})
    assert lower.status_code == 400 and "did you mean Europe/Paris?" in lower.text
    empty = world.post(world.alice, "/profile", {"name": " ", "time_zone": "UTC"})
    assert empty.status_code == 400 and "name is required" in empty.text
    with world.org.database.read() as session:
        user = users.get_user(session=session, tenant=world.org.tenant, user_id=world.alice.user_id)
        assert (user.name, user.time_zone) == ("Alice S.", "Europe/Paris")


def test_add_send_a_code_enter_it_and_see_it_verified(world: World) -> None:
    method = _add_email(world)
    page = world.get(world.alice, "/profile").text
    assert "alice.pager@example.com" in page and "Not verified" in page
    early = world.post(world.alice, f"/profile/contact-methods/{method}/verify", {"code": "123456"})
    assert early.status_code == 400 and "No code was sent" in early.text
    sent = world.post(world.alice, f"/profile/contact-methods/{method}/send", {"kind": "verification"})
    assert sent.status_code == 303 and sent.headers["location"] == "/profile?done=sent#contacts"
    pending = world.get(world.alice, "/profile").text
    assert "Code pending" in pending and f'hx-select="#tags-{method}"' in pending  # polled until sent
    plan = _engine_sends(world)
    delivered = world.get(world.alice, "/profile").text
    assert "Code delivered" in delivered and "hx-trigger" not in delivered
    wrong = "000000" if plan.code != "000000" else "111111"
    refused = world.post(world.alice, f"/profile/contact-methods/{method}/verify", {"code": wrong})
    assert refused.status_code == 400 and "Wrong code; 4 attempts left" in refused.text
    assert plan.code is not None
    done = world.post(world.alice, f"/profile/contact-methods/{method}/verify", {"code": plan.code})
    assert done.status_code == 303
    assert _methods(world, world.alice.user_id)[0]["verified"] is True
    assert "Verified" in world.get(world.alice, "/profile?done=verified").text


def test_contact_method_refusals(world: World) -> None:
    bad = world.post(world.alice, "/profile/contact-methods", {"type": "email", "address": "not-an-email"})
    assert bad.status_code == 400 and 'role="alert"' in bad.text
    kind = world.post(world.alice, "/profile/contact-methods", {"type": "pigeon", "address": "x"})
    assert kind.status_code == 400 and "type must be one of" in kind.text
    _add_email(world)
    twice = world.post(
        world.alice, "/profile/contact-methods", {"type": "email", "address": "alice.pager@example.com"}
    )
    assert twice.status_code == 409 and "already has a email contact method" in twice.text
    assert len(_methods(world, world.alice.user_id)) == 1
    weird = world.post(
        world.alice,
        f"/profile/contact-methods/{_methods(world, world.alice.user_id)[0]['id']}/send",
        {"kind": "fax"},
    )
    assert weird.status_code == 400 and "kind must be verification or test" in weird.text


def test_another_persons_or_orgs_method_is_not_found(world: World, orgs: OrgFactory) -> None:
    bobs = world.post(
        world.bob, "/profile/contact-methods", {"type": "email", "address": "bob.pager@example.com"}
    )
    assert bobs.status_code == 303
    bob_method = str(_methods(world, world.bob.user_id)[0]["id"])
    other = orgs.new()
    stranger = person(other, "Sam Else")
    assert (
        world.post(
            stranger, "/profile/contact-methods", {"type": "email", "address": "sam@example.com"}
        ).status_code
        == 303
    )
    for method in (bob_method, "cm_nope"):
        for action, form in (("delete", {}), ("send", {"kind": "test"}), ("verify", {"code": "123456"})):
            answer = world.post(world.alice, f"/profile/contact-methods/{method}/{action}", form)
            assert answer.status_code == 404 and "not found" in answer.text, (method, action)
    assert len(_methods(world, world.bob.user_id)) == 1


def test_rules_are_added_previewed_and_deleted(world: World) -> None:
    method = _add_email(world)
    added = world.post(
        world.alice,
        "/profile/notification-rules",
        {"contact_method_id": method, "urgency": "high", "delay_minutes": "5"},
    )
    assert added.status_code == 303, added.text
    page = world.get(world.alice, "/profile").text
    assert "High urgency: email after 5 min" in page
    for form, message in (
        ({"delay_minutes": "soon"}, "delay_minutes must be an integer"),
        ({"delay_minutes": "5000"}, "delay_minutes must be between 0 and 1440"),
        ({"urgency": "panic"}, "urgency must be"),
        ({"contact_method_id": "cm_elsewhere"}, "this user has no contact method"),
    ):
        values = {"contact_method_id": method, "urgency": "low", "delay_minutes": "0", **form}
        answer = world.post(world.alice, "/profile/notification-rules", values)
        assert answer.status_code == 400 and message in answer.text, (form, answer.text[-500:])
    with world.org.database.read() as session:
        rules = contacts.list_notification_rules(
            session=session, tenant=world.org.tenant, user_id=world.alice.user_id, limit=10, offset=0
        ).items
    assert len(rules) == 1
    assert world.post(world.bob, f"/profile/notification-rules/{rules[0].id}/delete").status_code == 404
    assert world.post(world.alice, f"/profile/notification-rules/{rules[0].id}/delete").status_code == 303
    assert "High urgency: no rules" in world.get(world.alice, "/profile").text


def test_an_observer_reads_and_changes_nothing(world: World) -> None:
    page = world.get(world.olive, "/profile").text
    assert "Olive Watcher" in page and "Add contact method" not in page and "Save" not in page
    assert "Sign out everywhere" in page  # their own sessions are still theirs to end
    refused = world.post(
        world.olive, "/profile/contact-methods", {"type": "email", "address": "o@example.com"}
    )
    assert refused.status_code == 403 and _methods(world, world.olive.user_id) == []
    assert world.post(world.olive, "/profile", {"name": "Mallory", "time_zone": "UTC"}).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/profile",
        "/profile/contact-methods",
        "/profile/contact-methods/x/send",
        "/profile/contact-methods/x/verify",
        "/profile/contact-methods/x/delete",
        "/profile/notification-rules",
        "/profile/notification-rules/x/delete",
    ],
)
def test_every_form_refuses_a_missing_or_wrong_csrf_token(world: World, path: str) -> None:
    form = {"name": "Forged", "time_zone": "UTC", "type": "email", "address": "forged@example.com"}
    assert world.post(world.alice, path, form, csrf=False).status_code == 403
    assert (
        world.post(world.alice, path, {**form, "csrf_token": world.bob.csrf}, csrf=False).status_code == 403
    )
    assert _methods(world, world.alice.user_id) == []
    with world.org.database.read() as session:
        assert (
            users.get_user(session=session, tenant=world.org.tenant, user_id=world.alice.user_id).name
            == "Alice Smith"
        )
