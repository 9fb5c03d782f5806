"""Does each escalation level reach someone at every instant of the window, and does the policy?

A level's targets resolve as the engine resolves them when it pages (``escalation.targets``): a
user is always there (while they exist), a team is its members or whoever is on call in its named
schedule, a schedule is its final shifts. A hole in one level that another level covers is a
warning (the page is late); a hole no level covers is an error (the page reaches nobody).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tocsin.db.models import EscalationPolicy, EscalationRule
from tocsin.domain.coverage import Span, intersect, merge, span_text, subtract, uncovered
from tocsin.services.readiness import findings as f
from tocsin.services.readiness.picture import Picture


@dataclass(slots=True)
class LevelReach:
    """When one level reaches somebody, who, and why it may reach nobody (for the message)."""

    number: int
    spans: list[Span] = field(default_factory=list)
    people: set[str] = field(default_factory=set)
    schedules: list[f.Ref] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # "schedule 'Primary'": targets that may be empty
    dead: list[str] = field(default_factory=list)  # targets that reach nobody at all, with the reason


def _schedule(picture: Picture, reach: LevelReach, schedule_id: str, label: str) -> None:
    if schedule_id not in picture.shifts:
        reach.dead.append(f"schedule {schedule_id} no longer exists")
        return
    name = picture.schedule_names[schedule_id]
    reach.schedules.append(f.Ref("schedule", schedule_id, name))
    shifts = picture.shifts[schedule_id]
    reach.spans += picture.covered[schedule_id]
    reach.people.update(shift.user_id for shift in shifts if shift.user_id in picture.people)
    if not shifts:
        reach.dead.append(f"{label} has nobody on call")
    else:
        reach.empty.append(label)


def level_reach(picture: Picture, rule: EscalationRule) -> LevelReach:
    """Who ``rule`` reaches over the window."""
    reach = LevelReach(number=rule.position + 1)
    whole = picture.window
    if not rule.targets:
        reach.dead.append("it has no targets")
    for target in rule.targets:
        kind, ident = target.get("type"), str(target.get("id"))
        if kind == "user":
            if ident in picture.people:
                reach.spans.append(whole)
                reach.people.add(ident)
            else:
                reach.dead.append(f"user {ident} no longer exists")
        elif kind == "schedule":
            _schedule(picture, reach, ident, f"schedule '{picture.schedule_names.get(ident, ident)}'")
        elif kind == "team" and target.get("schedule_id"):
            schedule_id = str(target["schedule_id"])
            team = picture.teams.get(ident, ident)
            shown = picture.schedule_names.get(schedule_id, schedule_id)
            _schedule(picture, reach, schedule_id, f"schedule '{shown}' of team '{team}'")
        elif kind == "team":
            present = [u for u in picture.members.get(ident, ()) if u in picture.people]
            if present:
                reach.spans.append(whole)
                reach.people.update(present)
            elif ident in picture.teams:
                reach.dead.append(f"team '{picture.teams[ident]}' has no members")
            else:
                reach.dead.append(f"team {ident} no longer exists")
        else:
            reach.dead.append(f"it has a target of unknown type {kind!r}")
    reach.spans = merge(reach.spans)
    return reach


def notify_levels(policy: EscalationPolicy) -> list[EscalationRule]:
    """The levels that page people, up to a ``resolve`` level (nothing after it ever runs)."""
    levels = []
    for rule in policy.rules:
        if rule.kind == "resolve":
            break
        if rule.kind == "notify":
            levels.append(rule)
    return levels


def _why(reach: LevelReach) -> str:
    reasons = reach.dead + [f"{label} has a gap" for label in reach.empty]
    return "; ".join(reasons) or "nobody is on call"


def policy_findings(picture: Picture, policy: EscalationPolicy) -> tuple[list[f.Finding], list[LevelReach]]:
    """The policy's holes, level by level, and who each level reaches (for the people checks)."""
    subject = f.Ref("escalation_policy", policy.id, policy.name)
    services = tuple(f.Ref("service", s.id, s.name) for s in picture.services_using(policy.id))
    window = picture.window
    levels = [level_reach(picture, rule) for rule in notify_levels(policy)]
    if not levels:
        message = f"'{policy.name}' has no level that pages anyone: every incident on it reaches nobody"
        return [f.Finding(f.ERROR, f.POLICY_WITHOUT_LEVELS, subject, message, related=services)], []
    holes = {reach.number: uncovered(reach.spans, window) for reach in levels}
    nobody: list[Span] = [window]
    for gap in holes.values():
        nobody = intersect(nobody, gap)
    found: list[f.Finding] = []
    for reach in levels:
        gap = holes[reach.number]
        related = (*services, *reach.schedules)
        name = f"Level {reach.number} of '{policy.name}'"
        if gap == [window]:
            severity: f.Severity = f.ERROR if nobody == [window] else f.WARNING
            tail = "" if severity == f.ERROR else " (another level reaches someone)"
            message = f"{name} reaches nobody in the next {window_days(window)} days: {_why(reach)}{tail}"
            kind = f.LEVEL_WITHOUT_RESPONDERS
            found.append(f.Finding(severity, kind, subject, message, window, reach.number, related))
            continue
        parts: Sequence[tuple[f.Severity, list[Span], str]] = (
            (f.ERROR, intersect(gap, nobody), ", and no other level reaches anyone then"),
            (f.WARNING, subtract(gap, nobody), " (another level reaches someone then)"),
        )
        for severity, spans, tail in parts:
            for span in spans:
                message = f"{name} reaches nobody from {span_text(span)}: {_why(reach)}{tail}"
                found.append(
                    f.Finding(severity, f.COVERAGE_GAP, subject, message, span, reach.number, related)
                )
    return found, levels


def window_days(window: Span) -> int:
    return round((window.end - window.start).total_seconds() / 86400)
