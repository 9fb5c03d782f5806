"""Service catalog shapes on the wire: services, their integrations and maintenance windows."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tocsin.api.schemas.common import ReadModel, Timestamp, WriteModel
from tocsin.domain.integration_urls import DEFAULT_TYPE, INTEGRATION_TYPES, config_snippet, inbound_url


class IntegrationRead(ReadModel):
    id: str
    name: str
    type: str
    routing_key: str
    config: dict[str, Any] = Field(description="Templates of the webhook types; empty for the others.")
    url: str | None = Field(
        default=None, description="Where the sender posts, built from TOCSIN_BASE_URL; ready to paste."
    )
    config_snippet: str | None = Field(
        default=None,
        description="Text to paste into the sender: an Alertmanager receiver block (YAML) where one "
        "applies, and a curl line; blocks are separated by a blank line.",
    )
    created_at: Timestamp

    def with_urls(self, base_url: str) -> IntegrationRead:
        """The same integration with its inbound URL and snippet filled in for this server."""
        self.url = inbound_url(base_url, self.type, self.routing_key)
        self.config_snippet = config_snippet(base_url, self.type, self.routing_key)
        return self


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
    """``routing_key`` is generated when left out; one chosen by hand must be free in every org.
    ``config`` is for the webhook types only: ``title_template``, ``dedup_key_template``,
    ``resolve_condition`` and ``severity_template`` (strings of at most 2000 characters)."""

    name: str | None = None
    type: str = Field(default=DEFAULT_TYPE, description=f"One of {', '.join(INTEGRATION_TYPES)}.")
    routing_key: str | None = None
    config: dict[str, Any] | None = None


class IntegrationUpdate(WriteModel):
    """Only the fields sent change; ``config`` replaces the whole object. The routing key stays."""

    name: str | None = None
    type: str | None = Field(default=None, description=f"One of {', '.join(INTEGRATION_TYPES)}.")
    config: dict[str, Any] | None = None


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
