"""Grafana OnCall ``/api/v1/personal_notification_rules``: our notification rules as Grafana's
ordered steps (``services.people.personal_steps`` derives them).

- **User keys only**, as upstream (its view authenticates only user API tokens): a service key is
  answered 403 ``{"detail": "Invalid token."}``. A key may read and change its own user's rules;
  another user's need ``users:read`` / ``users:write``. Without ``users:read`` a list without
  ``user_id`` shows only the key's own user's rules.
- ``important`` is our high urgency (``true``) or low (``false``).
- ``type``: ``notify_by_sms`` ↔ sms, ``notify_by_phone_call`` ↔ voice, ``notify_by_email`` ↔ email,
  ``notify_by_slack`` ↔ slack, ``notify_by_mobile_app`` (and ``…_critical`` on input) ↔ push (ntfy),
  ``notify_by_msteams`` ↔ teams; our webhook methods show as ``notify_by_webhook``. A notify step
  pages through the user's oldest method of that type (an email method, or an SMS/voice method from
  the profile phone, is added when missing; otherwise a 400 says to add one).
- **Wait steps** are derived from the delays between rules (``duration`` = the gap in seconds, not
  limited to Grafana's five choices) and have stable derived ids. They cannot be created, changed or
  deleted on their own: that is a 400 naming them. A new notify step is appended with the last
  rule's delay.
- ``position`` is derived and ignored on input.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import Request
from starlette.responses import Response

from tocsin.api.compat.grafana_oncall.public.common import Body, SlashRouter, bad_request, invalid
from tocsin.api.compat.grafana_oncall.public.pagination import paginated, slice_page
from tocsin.api.deps import CurrentKey, Db, Now
from tocsin.api.errors import ApiError
from tocsin.domain.scopes import grants
from tocsin.services.access.keys import KeyRecord
from tocsin.services.errors import NotFound
from tocsin.services.people import personal_steps, users
from tocsin.services.people.personal_steps import PersonalStep

router = SlashRouter()

LABEL_OF: Final = {
    "sms": "notify_by_sms",
    "voice": "notify_by_phone_call",
    "email": "notify_by_email",
    "slack": "notify_by_slack",
    "push": "notify_by_mobile_app",
    "teams": "notify_by_msteams",
    "webhook": "notify_by_webhook",
}
CONTACT_TYPE_OF: Final = {
    **{label: kind for kind, label in LABEL_OF.items()},
    "notify_by_mobile_app_critical": "push",
}
WAIT_REFUSED: Final = (
    "wait steps are derived here from the delays between notify steps, so one cannot be {action}; "
    "set the delays with PATCH /api/users/{{user_id}}/notification-rules/{{id}}"
)


def _user_key(key: KeyRecord) -> str:
    """The key's user; a service key is refused as upstream refuses non-user tokens here."""
    if key.user_id is None:
        raise ApiError("UNAUTHORIZED", "personal notification rules need a user's key", {"missing": False})
    return key.user_id


def _may(key: KeyRecord, user_id: str, access: str) -> bool:
    return key.user_id == user_id or grants(key.scopes, f"users:{access}")


def _require(key: KeyRecord, user_id: str, access: str) -> None:
    if not _may(key, user_id, access):
        raise ApiError("FORBIDDEN", "another user's rules need the users scope", {"required_scope": access})


def _render(step: PersonalStep) -> dict[str, Any]:
    body: dict[str, Any] = {
        "position": step.position,
        "id": step.id,
        "user_id": step.user_id,
        "type": "wait" if step.is_wait else LABEL_OF.get(step.kind, f"notify_by_{step.kind}"),
    }
    if step.is_wait:
        body["duration"] = step.duration_seconds
    body["important"] = step.important
    return body


def _important_filter(raw: str | None) -> bool | None:
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise bad_request("Important is not bool")
    return raw == "true"


def _boolean(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise invalid(field, "Must be a valid boolean.")


def _contact_type(body: dict[str, Any], *, action: str) -> str:
    value = body.get("type")
    if value == "wait":
        raise invalid("type", WAIT_REFUSED.format(action=action))
    if not isinstance(value, str) or value not in CONTACT_TYPE_OF:
        raise invalid("type", "Invalid type")
    if "duration" in body:
        raise invalid("duration", "Duration can't be set")
    return CONTACT_TYPE_OF[value]


@router.get("/personal_notification_rules", summary="List personal notification rules (Grafana OnCall)")
def list_rules(
    request: Request, key: CurrentKey, db: Db, user_id: str | None = None, important: str | None = None
) -> dict[str, Any]:
    own = _user_key(key)
    wanted_important = _important_filter(important)
    with db.read() as session:
        if user_id is not None:
            try:
                users.get_user(session=session, tenant=key.tenant, user_id=user_id)
            except NotFound:
                raise bad_request("User not found.") from None
            _require(key, user_id, "read")
        scope = user_id if user_id is not None or grants(key.scopes, "users:read") else own
        steps = personal_steps.list_steps(
            session=session, tenant=key.tenant, user_id=scope, important=wanted_important
        )
    wanted, page = slice_page(request, steps)
    return paginated(request, wanted, page.total, [_render(step) for step in page.items])


@router.get("/personal_notification_rules/{rule_id}", summary="Get a personal notification rule")
def get_rule(rule_id: str, key: CurrentKey, db: Db) -> dict[str, Any]:
    _user_key(key)
    with db.read() as session:
        step = personal_steps.get_step(session=session, tenant=key.tenant, step_id=rule_id)
    if not _may(key, step.user_id, "read"):
        raise NotFound("personal_notification_rule", rule_id)
    return _render(step)


@router.post("/personal_notification_rules", status_code=201, summary="Add a personal notification rule")
def create_rule(body: Body, key: CurrentKey, db: Db, now: Now) -> dict[str, Any]:
    _user_key(key)
    user_id = body.get("user_id")
    if user_id is None:
        raise invalid("user_id", "This field is required.")
    if not isinstance(user_id, str):
        raise invalid("user_id", "Not a valid string.")
    if "type" not in body:
        raise invalid("type", "Type is required")
    kind = _contact_type(body, action="created")
    important = _boolean(body.get("important", False), "important")
    _require(key, user_id, "write")
    with db.write() as session:
        try:
            users.get_user(session=session, tenant=key.tenant, user_id=user_id)
        except NotFound:
            raise invalid("user_id", "User does not exist.") from None
        step = personal_steps.add_notify_step(
            session=session, tenant=key.tenant, user_id=user_id, kind=kind, important=important, now=now
        )
        return _render(step)


def _update(rule_id: str, body: dict[str, Any], key: KeyRecord, db: Any, now: Any) -> dict[str, Any]:
    _user_key(key)
    with db.write() as session:
        step = personal_steps.get_step(session=session, tenant=key.tenant, step_id=rule_id)
        if not _may(key, step.user_id, "read"):
            raise NotFound("personal_notification_rule", rule_id)
        _require(key, step.user_id, "write")
        if step.is_wait:
            raise invalid("type", WAIT_REFUSED.format(action="changed"))
        if "type" in body:
            step = personal_steps.change_notify_step(
                session=session,
                tenant=key.tenant,
                step_id=step.id,
                kind=_contact_type(body, action="made from a notify step"),
                now=now,
            )
        elif "duration" in body:
            raise invalid("duration", "Duration can't be set")
        return _render(step)


@router.put("/personal_notification_rules/{rule_id}", summary="Update a personal notification rule")
def replace_rule(rule_id: str, body: Body, key: CurrentKey, db: Db, now: Now) -> dict[str, Any]:
    return _update(rule_id, body, key, db, now)


@router.patch("/personal_notification_rules/{rule_id}", summary="Update a personal notification rule")
def edit_rule(rule_id: str, body: Body, key: CurrentKey, db: Db, now: Now) -> dict[str, Any]:
    return _update(rule_id, body, key, db, now)


@router.delete("/personal_notification_rules/{rule_id}", status_code=204, summary="Delete a rule")
def delete_rule(rule_id: str, key: CurrentKey, db: Db) -> Response:
    _user_key(key)
    with db.write() as session:
        step = personal_steps.get_step(session=session, tenant=key.tenant, step_id=rule_id)
        if not _may(key, step.user_id, "read"):
            raise NotFound("personal_notification_rule", rule_id)
        _require(key, step.user_id, "write")
        if step.is_wait:
            raise invalid("type", WAIT_REFUSED.format(action="deleted"))
        personal_steps.delete_notify_step(session=session, tenant=key.tenant, step_id=step.id)
    return Response(status_code=204)
