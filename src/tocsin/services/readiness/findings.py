"""What readiness reports: findings, each a problem someone can fix, and the report that holds them.

A finding's ``kind`` is a stable machine code (alerting rules and scripts match on it); its
``message`` is for people and may be reworded. ``error`` means a page will not reach anyone (or
not the person it is meant for); ``warning`` means it reaches someone, but late or partly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from tocsin.domain.coverage import Span

Severity = Literal["error", "warning"]
ERROR: Final = "error"
WARNING: Final = "warning"

SERVICE_WITHOUT_POLICY: Final = "service_without_policy"
SERVICE_IN_MAINTENANCE: Final = "service_in_maintenance"
POLICY_WITHOUT_LEVELS: Final = "policy_without_levels"
LEVEL_WITHOUT_RESPONDERS: Final = "level_without_responders"
COVERAGE_GAP: Final = "coverage_gap"
USER_WITHOUT_CONTACT: Final = "user_without_contact"
USER_WITHOUT_RULE: Final = "user_without_rule"
CHANNEL_NOT_CONFIGURED: Final = "channel_not_configured"
CONTACT_NOT_VERIFIED: Final = "contact_not_verified"
KINDS: Final = (
    SERVICE_WITHOUT_POLICY,
    SERVICE_IN_MAINTENANCE,
    POLICY_WITHOUT_LEVELS,
    LEVEL_WITHOUT_RESPONDERS,
    COVERAGE_GAP,
    USER_WITHOUT_CONTACT,
    USER_WITHOUT_RULE,
    CONTACT_NOT_VERIFIED,
    CHANNEL_NOT_CONFIGURED,
)


@dataclass(frozen=True, slots=True)
class Ref:
    """An object a finding is about or involves. Equal by type and id: a scoped view matches on it."""

    type: str
    id: str
    name: str = field(compare=False)


@dataclass(frozen=True, slots=True)
class Finding:
    """``subject`` is what to fix; ``related`` is everything it touches (the services a policy's hole
    leaves unpaged, the schedules a person is on call in), which is how scoped views select."""

    severity: Severity
    kind: str
    subject: Ref
    message: str
    window: Span | None = None
    level: int | None = None  # 1-based, as people read levels
    related: tuple[Ref, ...] = ()

    def involves(self, ref: Ref) -> bool:
        return ref == self.subject or ref in self.related


def _order(finding: Finding) -> tuple[int, int, str, str, int, float]:
    return (
        0 if finding.severity == ERROR else 1,
        KINDS.index(finding.kind) if finding.kind in KINDS else len(KINDS),
        finding.subject.name.lower(),
        finding.subject.id,
        finding.level or 0,
        finding.window.start.timestamp() if finding.window else 0.0,
    )


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then by kind (services, policies, levels, people, channels: the order of
    ``KINDS``), object and time: a stable order to read and to diff."""
    return sorted(findings, key=_order)


@dataclass(frozen=True, slots=True)
class Report:
    checked_at: datetime
    window: Span
    findings: Sequence[Finding]

    @property
    def errors(self) -> int:
        return sum(1 for finding in self.findings if finding.severity == ERROR)

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors

    @property
    def ready(self) -> bool:
        """Ready when every page would reach someone; warnings (late or partial) do not block."""
        return self.errors == 0

    def only(self, ref: Ref) -> Report:
        """The findings that involve ``ref``: a service's, a policy's or a schedule's view."""
        return Report(self.checked_at, self.window, [f for f in self.findings if f.involves(ref)])

    def tally(self) -> Counter[tuple[str, str]]:
        """Findings by (severity, kind), for the metric."""
        return Counter((finding.severity, finding.kind) for finding in self.findings)
