"""Every table, registered by plain imports so a broken model fails loudly at import."""

from tocsin.db.models.api_key import ApiKey
from tocsin.db.models.base import Base
from tocsin.db.models.change_event import ChangeEvent
from tocsin.db.models.delivery import ChannelHealth, ChannelHour
from tocsin.db.models.escalation import EscalationPolicy, EscalationRule
from tocsin.db.models.heartbeat import Heartbeat
from tocsin.db.models.incident import Alert, Incident, IncidentAssignee, Note, TimelineEntry
from tocsin.db.models.job import Job
from tocsin.db.models.notification import (
    ContactCheck,
    ContactMethod,
    LinkUse,
    NotificationRule,
    ServerSecret,
    ServiceChannel,
)
from tocsin.db.models.org import Counter, Org, Team, TeamMember, User
from tocsin.db.models.schedule import (
    Absence,
    Schedule,
    ScheduleEvent,
    ScheduleLayer,
    ScheduleOverride,
    SwapRequest,
)
from tocsin.db.models.service import Integration, MaintenanceWindow, Service
from tocsin.db.models.web_session import WebSession
from tocsin.db.models.webhook import WebhookDelivery, WebhookSubscription

__all__ = [
    "Absence",
    "Alert",
    "ApiKey",
    "Base",
    "ChangeEvent",
    "ChannelHealth",
    "ChannelHour",
    "ContactCheck",
    "ContactMethod",
    "Counter",
    "EscalationPolicy",
    "EscalationRule",
    "Heartbeat",
    "Incident",
    "IncidentAssignee",
    "Integration",
    "Job",
    "LinkUse",
    "MaintenanceWindow",
    "Note",
    "NotificationRule",
    "Org",
    "Schedule",
    "ScheduleEvent",
    "ScheduleLayer",
    "ScheduleOverride",
    "ServerSecret",
    "Service",
    "ServiceChannel",
    "SwapRequest",
    "Team",
    "TeamMember",
    "TimelineEntry",
    "User",
    "WebSession",
    "WebhookDelivery",
    "WebhookSubscription",
]
