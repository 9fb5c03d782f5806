"""Schedule shapes on the wire: schedules with nested layers, overrides, shifts and on-call (spec 003).

Ranges, zones and references are checked by the service, which answers VALIDATION_ERROR naming the
field (``layers.0.users``), so the rules live in one place; these models only fix the types.
"""

from __future__ import annotations

from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from tocsin.api.schemas.common import ReadModel, Timestamp, WriteModel

RotationUnit = Literal["hours", "days", "weeks"]
LayerSource = Literal["rotation", "ical"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class UserSummary(BaseModel):
    id: str
    name: str
    email: str

    @classmethod
    def of(cls, user: Any) -> UserSummary:
        return cls(id=user.id, name=user.name, email=user.email)


class LayerRef(BaseModel):
    id: str
    name: str


class OverrideRef(BaseModel):
    id: str


class ScheduleRef(BaseModel):
    id: str
    name: str


class ActorRead(BaseModel):
    type: str
    id: str | None
    name: str


class RestrictionBody(WriteModel):
    """A local-time window in the schedule's zone; outside its windows the layer has no one.
    ``daily``: every day from ``start`` to ``end`` (past midnight when ``end <= start``).
    ``weekly``: from ``start_day`` ``start`` to ``end_day`` ``end``."""

    kind: Literal["daily", "weekly"]
    start: time = Field(description="Local time, e.g. 09:00")
    end: time = Field(description="Local time, e.g. 17:00")
    start_day: Weekday | None = None
    end_day: Weekday | None = None


class RestrictionRead(BaseModel):
    kind: Literal["daily", "weekly"]
    start: str
    end: str
    start_day: Weekday | None
    end_day: Weekday | None


class LayerRead(BaseModel):
    """A rotation (``users``, ``rotation_*``, ``start``...) or, with ``source: ical``, a calendar whose
    events name who is on call; the rotation fields of an iCal layer are empty."""

    id: str
    name: str
    source: LayerSource
    users: list[UserSummary] = Field(description="The rotation order; a deleted user is left out.")
    rotation_unit: RotationUnit | None
    rotation_length: int | None
    start: Timestamp | None
    end: Timestamp | None
    restrictions: list[RestrictionRead]
    ical_unmapped: list[str] | None = Field(
        description="iCal layers: labels of the next 30 days' events that match no user by email or "
        "name (so they put nobody on call); null for a rotation."
    )
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, layer: Any, users: dict[str, Any], unmapped: dict[str, list[str]]) -> LayerRead:
        return cls(
            id=layer.id,
            name=layer.name,
            source=layer.source,
            users=[UserSummary.of(users[u]) for u in layer.users if u in users],
            rotation_unit=layer.rotation_unit,
            rotation_length=layer.rotation_length,
            start=layer.start,
            end=layer.end,
            restrictions=[RestrictionRead(**r) for r in layer.restrictions],
            ical_unmapped=unmapped.get(layer.id, []) if layer.source == "ical" else None,
            created_at=layer.created_at,
            updated_at=layer.updated_at,
        )


class ScheduleRead(BaseModel):
    id: str
    name: str
    description: str | None
    time_zone: str
    team_id: str | None
    layers: list[LayerRead] = Field(description="Lowest first: a later layer wins where it has someone.")
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, schedule: Any, users: dict[str, Any], unmapped: dict[str, list[str]]) -> ScheduleRead:
        return cls(
            id=schedule.id,
            name=schedule.name,
            description=schedule.description,
            time_zone=schedule.time_zone,
            team_id=schedule.team_id,
            layers=[LayerRead.of(layer, users, unmapped) for layer in schedule.layers],
            livemode=schedule.livemode,
            created_at=schedule.created_at,
            updated_at=schedule.updated_at,
        )


class LayerBody(WriteModel):
    """A rotation: ``users`` take turns of ``rotation_length`` ``rotation_unit``, the first from
    ``start``. Day and week turns hand off at the local wall-clock time of ``start`` in the
    schedule's zone, through DST changes. In a PATCH, ``id`` keeps an existing layer's id.

    Or, with ``source: ical``, a calendar (``ical_text``, at most 1 MiB) whose events name who is on
    call by SUMMARY (a user's name or email) or ATTENDEE email, as in Grafana OnCall; recurrences are
    expanded. Its rotation fields stay empty. In a PATCH, an iCal layer sent with its ``id`` and no
    ``ical_text`` keeps its calendar."""

    id: str | None = None
    name: str | None = Field(default=None, max_length=200)
    source: LayerSource = "rotation"
    users: list[str] = Field(default_factory=list, max_length=500)
    rotation_unit: RotationUnit | None = None
    rotation_length: int | None = None
    start: Timestamp | None = None
    end: Timestamp | None = None
    restrictions: list[RestrictionBody] = Field(default_factory=list, max_length=50)
    ical_text: str | None = None


class ScheduleCreate(WriteModel):
    name: str = Field(max_length=200)
    time_zone: str = Field(description="IANA zone, e.g. Europe/Berlin")
    description: str | None = Field(default=None, max_length=2000)
    team_id: str | None = None
    layers: list[LayerBody] = Field(default_factory=list, max_length=20)


class ScheduleUpdate(WriteModel):
    """``layers`` replaces the whole list; give a layer's ``id`` to keep it."""

    name: str | None = Field(default=None, max_length=200)
    time_zone: str | None = None
    description: str | None = Field(default=None, max_length=2000)
    team_id: str | None = None
    layers: list[LayerBody] | None = Field(default=None, max_length=20)


class OverrideRead(ReadModel):
    id: str
    schedule_id: str
    user: UserSummary
    start: Timestamp
    end: Timestamp
    created_by: ActorRead
    livemode: bool
    created_at: Timestamp

    @classmethod
    def of(cls, override: Any) -> OverrideRead:
        return cls(
            id=override.id,
            schedule_id=override.schedule_id,
            user=UserSummary.of(override.user),
            start=override.start,
            end=override.end,
            created_by=ActorRead(
                type=override.created_by_type, id=override.created_by_id, name=override.created_by_name
            ),
            livemode=override.livemode,
            created_at=override.created_at,
        )


class OverrideCreate(WriteModel):
    user_id: str
    start: Timestamp
    end: Timestamp


class OnCallRead(BaseModel):
    """A shift: who, from when to when, and the layer or override it comes from."""

    user: UserSummary
    start: Timestamp
    end: Timestamp
    layer: LayerRef | None
    override: OverrideRef | None

    @classmethod
    def of(cls, entry: Any) -> OnCallRead:
        return cls(
            user=UserSummary.of(entry.user),
            start=entry.start,
            end=entry.end,
            layer=None if entry.layer is None else LayerRef(id=entry.layer.id, name=entry.layer.name),
            override=None if entry.override_id is None else OverrideRef(id=entry.override_id),
        )


class ScheduleOnCallRead(BaseModel):
    """One person on call in one schedule, for ``/api/oncalls``."""

    schedule: ScheduleRef
    user: UserSummary
    start: Timestamp
    end: Timestamp
    layer: LayerRef | None
    override: OverrideRef | None

    @classmethod
    def of(cls, entry: Any) -> ScheduleOnCallRead:
        shift = OnCallRead.of(entry)
        return cls(schedule=ScheduleRef(id=entry.schedule.id, name=entry.schedule.name), **dict(shift))


class IcalUrlRead(BaseModel):
    """The secret URL calendar clients subscribe to without an API key; rotating it kills the old one."""

    url: str


class GapRead(BaseModel):
    start: Timestamp
    end: Timestamp


class TakeShiftBody(WriteModel):
    """``user_id`` takes over from ``start`` (now) until ``end``, by default the end of the current
    shift of ``from_user_id`` (or of whoever is on call)."""

    user_id: str
    from_user_id: str | None = None
    start: Timestamp | None = None
    end: Timestamp | None = None


class TakeShiftRead(BaseModel):
    override: OverrideRead
    on_call: list[OnCallRead]
