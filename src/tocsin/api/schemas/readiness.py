"""What ``GET /api/readiness`` (and each service's, policy's and schedule's view) answers."""

from __future__ import annotations

from pydantic import BaseModel

from tocsin.api.schemas.common import Timestamp
from tocsin.services.readiness.findings import Finding, Ref, Report


class ObjectRef(BaseModel):
    """``type`` is service, escalation_policy, schedule, user, contact_method or service_channel."""

    type: str
    id: str
    name: str

    @classmethod
    def of(cls, ref: Ref) -> ObjectRef:
        return cls(type=ref.type, id=ref.id, name=ref.name)


class WindowRead(BaseModel):
    start: Timestamp
    end: Timestamp


class FindingRead(BaseModel):
    """``kind`` is a stable code to match on; ``message`` is for people. ``level`` is 1-based, as
    the timeline counts levels; ``window`` is when it bites, where that is a span of time."""

    severity: str
    kind: str
    object: ObjectRef
    message: str
    level: int | None
    window: WindowRead | None
    related: list[ObjectRef]

    @classmethod
    def of(cls, finding: Finding) -> FindingRead:
        window = finding.window
        return cls(
            severity=finding.severity,
            kind=finding.kind,
            object=ObjectRef.of(finding.subject),
            message=finding.message,
            level=finding.level,
            window=None if window is None else WindowRead(start=window.start, end=window.end),
            related=[ObjectRef.of(ref) for ref in finding.related],
        )


class SummaryRead(BaseModel):
    errors: int
    warnings: int


class ReadinessRead(BaseModel):
    """``ready`` is false while any finding is an error: some page would reach nobody."""

    ready: bool
    checked_at: Timestamp
    window: WindowRead
    findings: list[FindingRead]
    summary: SummaryRead

    @classmethod
    def of(cls, report: Report) -> ReadinessRead:
        return cls(
            ready=report.ready,
            checked_at=report.checked_at,
            window=WindowRead(start=report.window.start, end=report.window.end),
            findings=[FindingRead.of(finding) for finding in report.findings],
            summary=SummaryRead(errors=report.errors, warnings=report.warnings),
        )
