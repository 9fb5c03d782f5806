"""What each role in an org may do: one table, read by the web screens (every button) and by the
API's gate (a key bound to an observer is read-only), so the two never disagree.

API keys keep their scopes (a service key has no role); a person's permissions come from their
role. Unknown roles get nothing: a typo in a row must never widen access."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Action(StrEnum):
    """Kinds of thing a person does, coarse enough that a screen asks one question per control."""

    READ = "read"  # see incidents, schedules, services, people, timelines
    RESPOND = "respond"  # acknowledge, resolve, snooze, escalate, reassign, add notes, page by hand
    EDIT_OWN_PROFILE = "edit_own_profile"  # own name, time zone, contact methods, notification rules
    TAKE_SHIFT = "take_shift"  # take a shift, ask for or take a swap
    MANAGE = "manage"  # org setup: people, teams, services, policies, schedules, keys, webhooks


ADMIN: Final = "admin"
USER: Final = "user"  # a responder
OBSERVER: Final = "observer"
ROLES: Final = (ADMIN, USER, OBSERVER)

PERMISSIONS: Final[dict[str, frozenset[Action]]] = {
    ADMIN: frozenset(Action),
    USER: frozenset({Action.READ, Action.RESPOND, Action.EDIT_OWN_PROFILE, Action.TAKE_SHIFT}),
    # Stakeholders and auditors: they watch incidents and schedules, and change nothing, not
    # even their own profile (they are never paged, so they have no contact methods to keep).
    OBSERVER: frozenset({Action.READ}),
}


def can(role: str | None, action: Action) -> bool:
    """Whether a person with ``role`` may do ``action``; unknown or missing roles may do nothing."""
    return action in PERMISSIONS.get(role or "", frozenset())


def is_read_only(role: str | None) -> bool:
    """A role that may do nothing but read: a key bound to such a person may only GET."""
    return PERMISSIONS.get(role or "", frozenset()) <= {Action.READ}
