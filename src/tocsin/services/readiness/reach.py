"""Can each person who may be paged in the window be reached, for high and for low urgency?

The engine pages a person through their notification rules for the incident's urgency
(``people.contacts.plan_for``); with no rule for it, one email to their account address. A rule
through a channel this server cannot send on (SMS without Twilio, email without SMTP) fails, so a
person whose every route fails is an error: their page goes nowhere.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Final

from tocsin.db.models import ContactMethod, NotificationRule
from tocsin.services.readiness import findings as f
from tocsin.services.readiness.picture import Person, Picture

URGENCIES: Final = ("high", "low")
# What to set so that a channel type can be sent on; the others need nothing but the server.
SETTINGS_FOR: Final = {
    "email": "TOCSIN_SMTP_HOST",
    "sms": "TOCSIN_TWILIO_ACCOUNT_SID, TOCSIN_TWILIO_AUTH_TOKEN and TOCSIN_TWILIO_FROM_NUMBER",
    "voice": "TOCSIN_TWILIO_ACCOUNT_SID, TOCSIN_TWILIO_AUTH_TOKEN and TOCSIN_TWILIO_FROM_NUMBER",
}
SHOWN: Final = {"sms": "SMS", "voice": "voice", "email": "email", "push": "push", "teams": "Teams"}


def counts_as_verified(method: ContactMethod, page_unverified: bool) -> bool:
    """Whether pages may go to ``method``: the rule ``escalation.steps`` pages by (a verified
    method, or any when the org pages unverified ones too)."""
    return page_unverified or method.verified_at is not None


def not_configured(kind: str) -> str:
    """Why ``kind`` cannot be sent, and what to set."""
    shown = SHOWN.get(kind, kind.capitalize())
    needed = SETTINGS_FOR.get(kind)
    return f"{shown} is not configured on this server" + (f" (set {needed})" if needed else "")


def _routes(
    rules: Sequence[NotificationRule], usable: Collection[str], configured: Collection[str]
) -> dict[str, bool]:
    """For each urgency: does at least one way reach the person?"""
    works = {}
    for urgency in URGENCIES:
        chosen = [rule for rule in rules if rule.urgency == urgency]
        works[urgency] = (
            any(rule.contact_method_id in usable for rule in chosen) if chosen else "email" in configured
        )
    return works


def person_findings(
    person: Person,
    methods: Sequence[ContactMethod],
    rules: Sequence[NotificationRule],
    configured: Collection[str],
    related: tuple[f.Ref, ...],
    page_unverified: bool = False,
) -> list[f.Finding]:
    """Everything in the way of reaching ``person``, with ``configured`` the channel types this
    server (or, in test mode, its sink) can send on."""
    subject = f.Ref("user", person.id, person.name)
    verified = [m for m in methods if counts_as_verified(m, page_unverified)]
    usable = {m.id for m in verified if m.type in configured}
    works = _routes(rules, usable, configured)
    email_works = "email" in configured
    fallback = f"pages fall back to one email to {person.email}"
    if not email_works:
        fallback += f", which cannot be sent: {not_configured('email')}"
    found: list[f.Finding] = []
    if not verified:
        what = "no verified contact method" if methods else "no contact method"
        severity: f.Severity = f.WARNING if all(works.values()) else f.ERROR
        message = f"{person.name} has {what}: {fallback}"
        found.append(f.Finding(severity, f.USER_WITHOUT_CONTACT, subject, message, related=related))
    else:
        found += _unverified_findings(
            person, methods, rules, works, fallback, email_works, page_unverified, subject, related
        )
        bare = [u for u in URGENCIES if not any(rule.urgency == u for rule in rules)]
        if bare:
            severity = f.WARNING if email_works else f.ERROR
            which = " or ".join(f"{u}-urgency" for u in bare)
            message = f"{person.name} has no notification rule for {which} incidents: {fallback}"
            found.append(f.Finding(severity, f.USER_WITHOUT_RULE, subject, message, related=related))
    by_id = {m.id: m for m in verified}
    for method in _ruled(rules, by_id):
        if method.type in configured:
            continue
        urgencies = {rule.urgency for rule in rules if rule.contact_method_id == method.id}
        severity = f.ERROR if any(not works[u] for u in urgencies) else f.WARNING
        tail = "" if severity == f.ERROR else " (another rule still reaches them)"
        message = (
            f"{person.name}'s {SHOWN.get(method.type, method.type)} contact {method.address} cannot be "
            f"paged: {not_configured(method.type)}{tail}"
        )
        found.append(
            f.Finding(
                severity,
                f.CHANNEL_NOT_CONFIGURED,
                subject,
                message,
                related=(*related, f.Ref("contact_method", method.id, method.label or method.address)),
            )
        )
    return found


def _unverified_findings(
    person: Person,
    methods: Sequence[ContactMethod],
    rules: Sequence[NotificationRule],
    works: dict[str, bool],
    fallback: str,
    email_works: bool,
    page_unverified: bool,
    subject: f.Ref,
    related: tuple[f.Ref, ...],
) -> list[f.Finding]:
    """A rule that points at a method nobody verified pages nothing through it (``escalation.steps``
    skips it and says so on the timeline); readiness says so before an incident does."""
    found: list[f.Finding] = []
    unverified = {m.id: m for m in methods if not counts_as_verified(m, page_unverified)}
    for method in _ruled(rules, unverified):
        urgencies = {rule.urgency for rule in rules if rule.contact_method_id == method.id}
        severity: f.Severity = (
            f.ERROR if any(not works[u] for u in urgencies) and not email_works else f.WARNING
        )
        message = (
            f"{person.name}'s {SHOWN.get(method.type, method.type)} contact {method.address} is not "
            f"verified, so its rules do not page it until {person.name} enters the code sent to it"
            + ("" if all(works[u] for u in urgencies) else f"; meanwhile {fallback}")
        )
        found.append(
            f.Finding(
                severity,
                f.CONTACT_NOT_VERIFIED,
                subject,
                message,
                related=(*related, f.Ref("contact_method", method.id, method.label or method.address)),
            )
        )
    return found


def _ruled(rules: Iterable[NotificationRule], methods: dict[str, ContactMethod]) -> list[ContactMethod]:
    """The methods some rule pages through, each once, in rule order."""
    return [methods[i] for i in dict.fromkeys(rule.contact_method_id for rule in rules) if i in methods]


def people_findings(
    picture: Picture, configured: Collection[str], reached_by: dict[str, list[f.Ref]]
) -> list[f.Finding]:
    """``person_findings`` for everyone who may be paged; ``reached_by`` names, per user, the
    policies, services and schedules that page them, so each scoped view sees its people."""
    found: list[f.Finding] = []
    for user_id, refs in reached_by.items():
        person = picture.people.get(user_id)
        if person is None:
            continue
        found += person_findings(
            person,
            picture.methods.get(user_id, ()),
            picture.rules.get(user_id, ()),
            configured,
            tuple(dict.fromkeys(refs)),
            picture.page_unverified,
        )
    return found
