"""Service catalog shapes on the wire: services, their integrations and maintenance windows."""

from __future__ import annotations

from pydantic import Field

from tocsin.api.schemas.common import ReadModel, Timestamp, WriteModel


class IntegrationRead(ReadModel):
    id: str
    name: str
    type: str
    routing_key: str
    created_at: Timestamp


class MaintenanceWindowRead(ReadModel):
    id: str
    start: Timestamp
    end: Timestamp
    description: str | None
    created_at: Timestamp


class ServiceRead(ReadModel):
    id: str
    name: str
    description: str | None
    team_id: str | None
    escalation_policy_id: str | None
    ack_timeout_minutes: int | None
    integrations: list[IntegrationRead]
    maintenance_windows: list[MaintenanceWindowRead]
    in_maintenance: bool = Field(
        default=False, description="Whether a maintenance window covers the time of this request."
    )
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp


class IntegrationCreate(WriteModel):
    """``routing_key`` is generated when left out; one chosen by hand must be free in every org."""

    name: str | None = None
    type: str = "events_api_v2"
    routing_key: str | None = None


class ServiceCreate(WriteModel):
    """Without ``integrations`` the service gets one Events API v2 integration; ``[]`` gives none."""

    name: str
    description: str | None = Field(default=None, max_length=2000)
    team_id: str | None = None
    escalation_policy_id: str | None = Field(default=None, description="A policy of the org; null: none")
    ack_timeout_minutes: int | None = None
    integrations: list[IntegrationCreate] | None = Field(default=None, max_length=20)


class ServiceUpdate(WriteModel):
    name: str | None = None
    description: str | None = Field(default=None, max_length=2000)
    team_id: str | None = None
    escalation_policy_id: str | None = Field(default=None, description="A policy of the org; null unsets")
    ack_timeout_minutes: int | None = None


class MaintenanceWindowCreate(WriteModel):
    """Both ends need a time zone offset; incidents created in ``[start, end)`` are SUPPRESSED."""

    start: Timestamp
    end: Timestamp
    description: str | None = Field(default=None, max_length=2000)
