"""Readiness, "will this page reach someone?": the org's, and one service's, policy's or
schedule's (its findings only). Reads the settings for which channels this server can send on."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from tocsin.api.deps import Db, Now, SchedulesRead, ServicesRead
from tocsin.api.schemas.common import Envelope, envelope
from tocsin.api.schemas.readiness import ReadinessRead
from tocsin.config import Settings
from tocsin.services.readiness import check

router = APIRouter(tags=["readiness"])


def _configured(request: Request) -> frozenset[str]:
    settings: Settings = request.app.state.settings
    return settings.channel_types()


@router.get("/api/readiness", response_model=Envelope[ReadinessRead], summary="Org readiness")
def org_readiness(request: Request, key: ServicesRead, db: Db, now: Now) -> dict[str, Any]:
    """Every service without a policy, every level that reaches nobody now or in the next 7 days,
    every person who may be paged but cannot be reached, every channel used but not configured."""
    with db.read() as session:
        report = check.check_tenant(
            session=session, tenant=key.tenant, now=now, configured=_configured(request)
        )
        return envelope(ReadinessRead.of(report))


@router.get(
    "/api/services/{service_id}/readiness",
    response_model=Envelope[ReadinessRead],
    summary="A service's readiness",
)
def service_readiness(
    service_id: str, request: Request, key: ServicesRead, db: Db, now: Now
) -> dict[str, Any]:
    """The findings that stand between this service's incidents and a person."""
    with db.read() as session:
        report = check.check_service(
            session=session,
            tenant=key.tenant,
            service_id=service_id,
            now=now,
            configured=_configured(request),
        )
        return envelope(ReadinessRead.of(report))


@router.get(
    "/api/escalation-policies/{policy_id}/readiness",
    response_model=Envelope[ReadinessRead],
    summary="An escalation policy's readiness",
)
def policy_readiness(policy_id: str, request: Request, key: ServicesRead, db: Db, now: Now) -> dict[str, Any]:
    with db.read() as session:
        report = check.check_policy(
            session=session, tenant=key.tenant, policy_id=policy_id, now=now, configured=_configured(request)
        )
        return envelope(ReadinessRead.of(report))


@router.get(
    "/api/schedules/{schedule_id}/readiness",
    response_model=Envelope[ReadinessRead],
    summary="A schedule's readiness",
)
def schedule_readiness(
    schedule_id: str, request: Request, key: SchedulesRead, db: Db, now: Now
) -> dict[str, Any]:
    """The holes this schedule leaves in the levels paging through it, and its people's reach."""
    with db.read() as session:
        report = check.check_schedule(
            session=session,
            tenant=key.tenant,
            schedule_id=schedule_id,
            now=now,
            configured=_configured(request),
        )
        return envelope(ReadinessRead.of(report))
