"""Demo data for ``make run``: an org with people, a team and two services whose routing keys are the
ones spec 003's quick-start examples use, so those curl lines work as printed, one integration of
every inbound type on Payment API, so each foreign format can be tried at once, and an on-call
schedule with a rotation, a business-hours layer and an override, so "who is on call" has a real
answer. The people and their team come from ``demo_people``. Safe to run again."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tocsin.db.models import EscalationPolicy, Org, Service
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.scopes import ALL_SCOPES, SCOPES
from tocsin.services.access import keys, orgs
from tocsin.services.catalog import services as catalog
from tocsin.services.demo.people import DEMO_USERS, seed_contacts, seed_people
from tocsin.services.errors import Conflict, NotFound
from tocsin.services.escalation import policies as escalation_policies
from tocsin.services.schedules import overrides as schedule_overrides
from tocsin.services.schedules import schedules

DEMO_SLUG: Final = "demo"
DEMO_ORG_NAME: Final = "Demo Inc."
DEMO_KEY_NAME: Final = "demo admin"
DEMO_SCHEDULE: Final = "Payment API primary"
DEMO_POLICY: Final = "Payment API escalation"
DEMO_SCHEDULE_ZONE: Final = "America/New_York"
HANDOFF: Final = time(9, 0)
BUSINESS_DAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday")


@dataclass(frozen=True, slots=True)
class DemoService:
    name: str
    routing_key: str
    description: str


@dataclass(frozen=True, slots=True)
class DemoIntegration:
    type: str
    name: str
    routing_key: str


DEMO_SERVICES: Final = (
    DemoService("Payment API", "payment-api", "Takes card payments."),
    DemoService("Checkout Web", "checkout-web", "The checkout pages."),
)
# Payment API's doors for the foreign formats, beside its Events API v2 key ``payment-api``.
DEMO_INTEGRATIONS: Final = (
    DemoIntegration("pagerduty", "PagerDuty", "payment-api-pagerduty"),
    DemoIntegration("alertmanager", "Alertmanager", "payment-api-alertmanager"),
    DemoIntegration("grafana_alerting", "Grafana Alerting", "payment-api-grafana"),
    DemoIntegration("webhook", "Webhook", "payment-api-webhook"),
    DemoIntegration("formatted_webhook", "Formatted Webhook", "payment-api-formatted-webhook"),
    DemoIntegration("opsgenie", "Opsgenie", "payment-api-opsgenie"),
    DemoIntegration("victorops", "Splunk On-Call", "payment-api-victorops"),
)


@dataclass(frozen=True, slots=True)
class DemoResult:
    org_id: str
    org_slug: str
    user_ids: dict[str, str]  # email -> id
    team_id: str
    service_ids: dict[str, str]  # routing key -> service id
    schedule_id: str
    policy_id: str
    created: list[str] = field(default_factory=list)  # what this run added, e.g. "user alice@..."

    @property
    def tenant(self) -> Tenant:
        return Tenant(self.org_id, True)


def _org(session: Session, now: datetime, created: list[str]) -> Org:
    try:
        return orgs.get_org_by_slug(session=session, slug=DEMO_SLUG)
    except NotFound:
        created.append(f"org {DEMO_SLUG}")
        return orgs.create_org(session=session, slug=DEMO_SLUG, name=DEMO_ORG_NAME, now=now)


def _service(
    session: Session, tenant: Tenant, team_id: str, spec: DemoService, now: datetime, created: list[str]
) -> str:
    route = catalog.find_route(session=session, routing_key=spec.routing_key)
    if route is not None:
        if route.org_id != tenant.org_id or route.livemode != tenant.livemode:
            raise Conflict(
                f"routing key {spec.routing_key!r} already belongs to another org", {"field": "routing_key"}
            )
        return route.service_id
    page = catalog.list_services(session=session, tenant=tenant, query=spec.name, limit=100, offset=0)
    existing: Service | None = next((s for s in page.items if s.name == spec.name), None)
    if existing is not None:  # the service survived but its integration was deleted: give it back
        catalog.add_integration(
            session=session,
            tenant=tenant,
            service=existing,
            now=now,
            name="Events API v2",
            routing_key=spec.routing_key,
        )
        created.append(f"integration {spec.routing_key}")
        return existing.id
    service = catalog.create_service(
        session=session,
        tenant=tenant,
        now=now,
        name=spec.name,
        description=spec.description,
        team_id=team_id,
        integrations=[{"name": "Events API v2", "routing_key": spec.routing_key}],
    )
    created.append(f"service {spec.name}")
    return service.id


def _integrations(
    session: Session, tenant: Tenant, service_id: str, now: datetime, created: list[str]
) -> None:
    """One integration of each foreign type on Payment API. A key already in this org is left
    alone, wherever it now points and however it was edited since."""
    service = catalog.get_service(session=session, tenant=tenant, service_id=service_id)
    for spec in DEMO_INTEGRATIONS:
        route = catalog.find_route(session=session, routing_key=spec.routing_key)
        if route is not None:
            if route.org_id != tenant.org_id or route.livemode != tenant.livemode:
                raise Conflict(
                    f"routing key {spec.routing_key!r} already belongs to another org",
                    {"field": "routing_key"},
                )
            continue
        catalog.add_integration(
            session=session,
            tenant=tenant,
            service=service,
            now=now,
            name=spec.name,
            type=spec.type,
            routing_key=spec.routing_key,
        )
        created.append(f"integration {spec.routing_key}")


def _past_monday(now: datetime, zone: ZoneInfo) -> datetime:
    """09:00 local on the Monday a week before this one: always in the past, so every layer has
    begun and this week's handoff has its usual Monday-morning shape."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday() + 7)
    return datetime.combine(monday, HANDOFF, tzinfo=zone)


def _schedule_layers(user_ids: dict[str, str], start: datetime) -> list[dict[str, Any]]:
    alice, bob, carol = (user_ids[spec.email] for spec in DEMO_USERS)
    return [
        {
            "name": "Weekly rotation",
            "users": [alice, bob, carol],
            "rotation_unit": "weeks",
            "rotation_length": 1,
            "start": start,
        },
        {
            "name": "Weekday business hours",
            "users": [carol, bob],
            "rotation_unit": "days",
            "rotation_length": 1,
            "start": start,
            "restrictions": [
                {"kind": "weekly", "start_day": day, "start": "09:00", "end_day": day, "end": "17:00"}
                for day in BUSINESS_DAYS
            ],
        },
    ]


def _schedule(
    session: Session,
    tenant: Tenant,
    team_id: str,
    user_ids: dict[str, str],
    now: datetime,
    created: list[str],
) -> str:
    """The team's schedule: Alice, Bob and Carol weekly (handoff Monday 09:00 New York), Carol and
    Bob by day on weekdays 09:00-17:00 above it, and Bob covering tomorrow's lunch hours. Made once:
    a schedule of that name that exists, however edited since, is left alone."""
    page = schedules.list_schedules(session=session, tenant=tenant, query=DEMO_SCHEDULE, limit=100, offset=0)
    for existing in page.items:
        if existing.name == DEMO_SCHEDULE:
            return existing.id
    zone = ZoneInfo(DEMO_SCHEDULE_ZONE)
    schedule = schedules.create_schedule(
        session=session,
        tenant=tenant,
        now=now,
        name=DEMO_SCHEDULE,
        description="Who answers Payment API pages.",
        time_zone=DEMO_SCHEDULE_ZONE,
        team_id=team_id,
        layers=_schedule_layers(user_ids, _past_monday(now, zone)),
    )
    created.append(f"schedule {DEMO_SCHEDULE}")
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    schedule_overrides.create_override(
        session=session,
        tenant=tenant,
        schedule_id=schedule.id,
        user_id=user_ids["bob@demo.tocsin.dev"],
        start=datetime.combine(tomorrow, time(11, 0), tzinfo=zone),
        end=datetime.combine(tomorrow, time(15, 0), tzinfo=zone),
        actor=Actor(type="system", id=None, name="tocsin demo"),
        now=now,
    )
    created.append("override bob@demo.tocsin.dev tomorrow 11:00-15:00")
    return schedule.id


def _policy(
    session: Session,
    tenant: Tenant,
    team_id: str,
    lead_id: str,
    schedule_id: str,
    service_ids: Iterable[str],
    now: datetime,
    created: list[str],
) -> str:
    """Every demo service pages whoever is on call in the demo schedule, then the team lead after
    five minutes, and goes round twice more while nobody acknowledges. A service without a policy
    pages nobody (readiness says so), so each demo service gets this one."""
    page = escalation_policies.list_policies(
        session=session, tenant=tenant, query=DEMO_POLICY, limit=100, offset=0
    )
    policy = next((policy for policy in page.items if policy.name == DEMO_POLICY), None)
    if policy is None:
        policy = _create_policy(session, tenant, team_id, lead_id, schedule_id, now)
        created.append(f"escalation policy {DEMO_POLICY}")
    for service_id in service_ids:
        service = catalog.get_service(session=session, tenant=tenant, service_id=service_id)
        if service.escalation_policy_id is None:
            catalog.update_service(
                session=session,
                tenant=tenant,
                service_id=service_id,
                changes={"escalation_policy_id": policy.id},
                now=now,
            )
    return policy.id


def _create_policy(
    session: Session, tenant: Tenant, team_id: str, lead_id: str, schedule_id: str, now: datetime
) -> EscalationPolicy:
    return escalation_policies.create_policy(
        session=session,
        tenant=tenant,
        now=now,
        name=DEMO_POLICY,
        description="On call first, then the team lead.",
        team_id=team_id,
        rules=[
            {"delay_minutes": 0, "targets": [{"type": "schedule", "id": schedule_id}]},
            {"delay_minutes": 5, "targets": [{"type": "user", "id": lead_id}]},
        ],
        repeat_count=2,
        repeat_delay_minutes=5,
    )


def seed_demo(*, session: Session, now: datetime) -> DemoResult:
    """Create whatever part of the demo org is missing; running it again creates nothing new."""
    created: list[str] = []
    org = _org(session, now, created)
    tenant = Tenant(org.id, True)
    user_ids, team_id = seed_people(session=session, tenant=tenant, now=now, created=created)
    service_ids = {
        spec.routing_key: _service(session, tenant, team_id, spec, now, created) for spec in DEMO_SERVICES
    }
    _integrations(session, tenant, service_ids["payment-api"], now, created)
    schedule_id = _schedule(session, tenant, team_id, user_ids, now, created)
    seed_contacts(session=session, tenant=tenant, user_ids=user_ids, now=now, created=created)
    lead = next(spec for spec in DEMO_USERS if spec.team_role == "manager")
    policy_id = _policy(
        session, tenant, team_id, user_ids[lead.email], schedule_id, service_ids.values(), now, created
    )
    return DemoResult(
        org_id=org.id,
        org_slug=org.slug,
        user_ids=user_ids,
        team_id=team_id,
        service_ids=service_ids,
        schedule_id=schedule_id,
        policy_id=policy_id,
        created=created,
    )


def demo_admin_key(
    *, session: Session, org_id: str, now: datetime, previous: str | None = None
) -> tuple[str, bool]:
    """The demo's all-scopes live key: ``previous`` again while it still works for this org, else a
    new one. Returns ``(secret, minted)``; the caller keeps the secret, since only its hash is stored."""
    if previous:
        record = keys.authenticate(session=session, secret=previous.strip())
        if record is not None and record.org_id == org_id and record.livemode and record.scopes >= ALL_SCOPES:
            return previous.strip(), False
    _, secret = keys.create_key(
        session=session,
        tenant=Tenant(org_id, True),
        name=DEMO_KEY_NAME,
        scopes=SCOPES,
        created_by="tocsin demo",
        now=now,
    )
    return secret, True
