"""Team and team-member shapes on the wire (spec 003). A member is shown with the user's name and
email, so a client listing a team needs no second call."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tocsin.api.schemas.common import ReadModel, Timestamp, WriteModel

MemberRole = Literal["manager", "responder", "observer"]


class TeamMemberRead(ReadModel):
    user_id: str
    name: str
    email: str
    role: MemberRole
    created_at: Timestamp

    @classmethod
    def of(cls, member: Any) -> TeamMemberRead:
        """From a ``TeamMember`` row and its ``user``."""
        return cls(
            user_id=member.user_id,
            name=member.user.name,
            email=member.user.email,
            role=member.role,
            created_at=member.created_at,
        )


class TeamRead(ReadModel):
    id: str
    name: str
    slug: str | None
    description: str | None
    members: list[TeamMemberRead]
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, team: Any) -> TeamRead:
        return cls(
            id=team.id,
            name=team.name,
            slug=team.slug,
            description=team.description,
            members=[TeamMemberRead.of(member) for member in team.members],
            livemode=team.livemode,
            created_at=team.created_at,
            updated_at=team.updated_at,
        )


class TeamMemberCreate(WriteModel):
    user_id: str = Field(min_length=1, max_length=40)
    role: MemberRole = "responder"


class TeamMemberUpdate(WriteModel):
    role: MemberRole


class TeamCreate(WriteModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    members: list[TeamMemberCreate] = Field(default_factory=list, max_length=500)
    slug: str | None = Field(
        default=None, max_length=100, description="Handle for Splunk On-Call clients; derived from the name."
    )


class TeamUpdate(WriteModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    slug: str | None = Field(default=None, max_length=100)
