"""Every table, registered by plain imports so a broken model fails loudly at import."""

from tocsin.db.models.api_key import ApiKey
from tocsin.db.models.base import Base
from tocsin.db.models.incident import Alert, Incident, IncidentAssignee, Note, TimelineEntry
from tocsin.db.models.org import Counter, Org, Team, TeamMember, User
from tocsin.db.models.schedule import Schedule, ScheduleLayer, ScheduleOverride
from tocsin.db.models.service import Integration, MaintenanceWindow, Service

__all__ = [
    "Alert",
    "ApiKey",
    "Base",
    "Counter",
    "Incident",
    "IncidentAssignee",
    "Integration",
    "MaintenanceWindow",
    "Note",
    "Org",
    "Schedule",
    "ScheduleLayer",
    "ScheduleOverride",
    "Service",
    "Team",
    "TeamMember",
    "TimelineEntry",
    "User",
]
