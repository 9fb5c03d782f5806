"""``/profile``: the signed-in person's own name and time zone, contact methods (add, verify with a
code, send a test, delete), notification rules with a plain-language preview, their calendar feed
URL, and the "Sign out everywhere" form (its route belongs to sign-in).

Every change is a form POST that works without JavaScript; each calls the same service as the API
(``services.people``), so the checks and their messages are the API's. A refusal renders the page
again with the message beside the form it concerns, and the API's status; a success redirects
(303) back, so reloading never sends the form twice. An observer sees no forms and gets 403."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from tocsin.domain.roles import Action
from tocsin.domain.rule_preview import CHANNEL_WORDS, RuleStep, delay_text, preview
from tocsin.services.accounts.sessions import SignedIn
from tocsin.services.errors import Invalid, ServiceError, status_of
from tocsin.services.people import contact_checks, contacts, users
from tocsin.services.people.contact_addresses import CONTACT_TYPES
from tocsin.services.schedules import ical_feeds
from tocsin.web.csrf import CsrfChecked
from tocsin.web.permissions import require
from tocsin.web.screen import in_read, in_write
from tocsin.web.session import Person
from tocsin.web.templating import render_page

router = APIRouter(include_in_schema=False)

PAGE: Final = "/profile"
MAX_LISTED: Final = 100  # contact methods and rules a person has: far fewer in practice
DONE: Final = {
    "saved": "Saved.",
    "added": "Contact method added. Send it a code to verify it.",
    "sent": "Code sent. Enter it below when it arrives.",
    "verified": "Verified: pages can now reach you there.",
    "tested": "Test sent.",
    "deleted": "Deleted.",
    "rule": "Notification rule added.",
}
KINDS: Final = {"verification": contact_checks.VERIFICATION, "test": contact_checks.TEST}


def _reader(person: SignedIn) -> Callable[[Any], dict[str, Any]]:
    """What the page shows, read in one transaction."""
    tenant, user_id = person.tenant, person.user_id

    def read(session: Any) -> dict[str, Any]:
        user = users.get_user(session=session, tenant=tenant, user_id=user_id)
        methods = contacts.list_contact_methods(
            session=session, tenant=tenant, user_id=user_id, limit=MAX_LISTED, offset=0
        ).items
        rules = contacts.list_notification_rules(
            session=session, tenant=tenant, user_id=user_id, limit=MAX_LISTED, offset=0
        ).items
        checks = contact_checks.latest_checks(session=session, tenant=tenant, user_id=user_id)
        token = ical_feeds.user_token(session=session, tenant=tenant, user_id=user_id)
        by_id = {m.id: m for m in methods}
        return {
            "user": {"name": user.name, "email": user.email, "time_zone": user.time_zone},
            "methods": [
                {
                    "id": m.id,
                    "type": m.type,
                    "kind": CHANNEL_WORDS.get(m.type, m.type),
                    "address": m.address,
                    "label": m.label,
                    "verified": m.verified_at is not None,
                    "code": checks.get((m.id, contact_checks.VERIFICATION)),
                    "test": checks.get((m.id, contact_checks.TEST)),
                }
                for m in methods
            ],
            "rules": [
                {
                    "id": r.id,
                    "urgency": r.urgency,
                    "when": delay_text(r.delay_minutes),
                    "method": by_id[r.contact_method_id],
                    "kind": CHANNEL_WORDS.get(by_id[r.contact_method_id].type, ""),
                }
                for r in rules
                if r.contact_method_id in by_id
            ],
            "preview": preview(
                (
                    RuleStep(r.urgency, by_id[r.contact_method_id].type, r.delay_minutes)
                    for r in rules
                    if r.contact_method_id in by_id
                ),
                user.email,
            ),
            "ical_token": token,
        }

    return read


async def _page(
    request: Request,
    person: SignedIn,
    *,
    problem: tuple[str, str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    values = await in_read(request, _reader(person))
    base = str(request.app.state.settings.base_url).rstrip("/")
    done = request.query_params.get("done", "")
    return render_page(
        request,
        "profile/page.html",
        {
            **values,
            "title": "Profile",
            "nav": True,
            "person": person,
            "can_edit": person.can(Action.EDIT_OWN_PROFILE),
            "ical_url": f"{base}/ical/users/{values['ical_token']}.ics",
            "contact_types": CONTACT_TYPES,
            "channel_words": CHANNEL_WORDS,
            "notice": DONE.get(done) if not problem else None,
            "problem": problem,
            "form": form or {},
        },
        status=status,
    )


def _back(done: str, anchor: str = "") -> Response:
    return RedirectResponse(f"{PAGE}?done={done}{anchor}", status_code=303)


async def _act(
    request: Request,
    person: SignedIn,
    section: str,
    work: Any,
    done: str,
    form: dict[str, str] | None = None,
) -> Response:
    """Run ``work(session)`` for a person who may edit their profile, then back to the page."""
    require(person, Action.EDIT_OWN_PROFILE)
    try:
        await in_write(request, work)
    except ServiceError as error:
        return await _page(
            request, person, problem=(section, error.message), form=form, status=status_of(error)
        )
    return _back(done, f"#{section}")


@router.get("/profile", response_class=HTMLResponse)
async def show(request: Request, person: Person) -> HTMLResponse:
    return await _page(request, person)


@router.post("/profile")
async def save_you(
    request: Request, person: CsrfChecked, name: str = Form(""), time_zone: str = Form("")
) -> Response:
    def work(session: Any) -> None:
        users.update_user(
            session=session,
            tenant=person.tenant,
            user_id=person.user_id,
            changes={"name": name, "time_zone": time_zone},
            now=request.app.state.clock.now(),
        )

    return await _act(request, person, "you", work, "saved", {"name": name, "time_zone": time_zone})


@router.post("/profile/contact-methods")
async def add_method(
    request: Request,
    person: CsrfChecked,
    type: str = Form(""),  # noqa: A002 - the API's field name
    address: str = Form(""),
    label: str = Form(""),
) -> Response:
    def work(session: Any) -> None:
        contacts.create_contact_method(
            session=session,
            tenant=person.tenant,
            user_id=person.user_id,
            type=type,
            address=address,
            label=label or None,
            now=request.app.state.clock.now(),
        )

    form = {"type": type, "address": address, "label": label}
    return await _act(request, person, "contacts", work, "added", form)


@router.post("/profile/contact-methods/{method_id}/send")
async def send_check(request: Request, person: CsrfChecked, method_id: str, kind: str = Form("")) -> Response:
    """A verification code or a test page: queued here, sent by the engine (the only sender)."""

    def work(session: Any) -> None:
        if kind not in KINDS:
            raise Invalid("kind", "invalid", "kind must be verification or test")
        contact_checks.request_check(
            session=session,
            tenant=person.tenant,
            user_id=person.user_id,
            method_id=method_id,
            kind=KINDS[kind],
            now=request.app.state.clock.now(),
        )

    return await _act(request, person, "contacts", work, "sent" if kind == "verification" else "tested")


@router.post("/profile/contact-methods/{method_id}/verify")
async def verify(request: Request, person: CsrfChecked, method_id: str, code: str = Form("")) -> Response:
    require(person, Action.EDIT_OWN_PROFILE)

    def work(session: Any) -> ServiceError | None:
        return contact_checks.verify_code(
            session=session,
            tenant=person.tenant,
            user_id=person.user_id,
            method_id=method_id,
            code=code,
            now=request.app.state.clock.now(),
        ).refusal

    try:
        # A wrong code is counted in the committed transaction, then refused (as the API does).
        refusal = await in_write(request, work)
    except ServiceError as error:
        refusal = error
    if refusal is not None:
        return await _page(request, person, problem=("contacts", refusal.message), status=status_of(refusal))
    return _back("verified", "#contacts")


@router.post("/profile/contact-methods/{method_id}/delete")
async def delete_method(request: Request, person: CsrfChecked, method_id: str) -> Response:
    def work(session: Any) -> None:
        contacts.delete_contact_method(
            session=session, tenant=person.tenant, user_id=person.user_id, method_id=method_id
        )

    return await _act(request, person, "contacts", work, "deleted")


@router.post("/profile/notification-rules")
async def add_rule(
    request: Request,
    person: CsrfChecked,
    contact_method_id: str = Form(""),
    urgency: str = Form(""),
    delay_minutes: str = Form(""),
) -> Response:
    def work(session: Any) -> None:
        contacts.create_notification_rule(
            session=session,
            tenant=person.tenant,
            user_id=person.user_id,
            contact_method_id=contact_method_id,
            urgency=urgency,
            delay_minutes=int(delay_minutes) if delay_minutes.strip().isdigit() else delay_minutes,  # type: ignore[arg-type]
            now=request.app.state.clock.now(),
        )

    form = {"contact_method_id": contact_method_id, "urgency": urgency, "delay_minutes": delay_minutes}
    return await _act(request, person, "rules", work, "rule", form)


@router.post("/profile/notification-rules/{rule_id}/delete")
async def delete_rule(request: Request, person: CsrfChecked, rule_id: str) -> Response:
    def work(session: Any) -> None:
        contacts.delete_notification_rule(
            session=session, tenant=person.tenant, user_id=person.user_id, rule_id=rule_id
        )

    return await _act(request, person, "rules", work, "deleted")
