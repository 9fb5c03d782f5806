"""Grafana OnCall ``/api/v1/integrations``: our integrations, each feeding a service.

- ``type``: Grafana's ``alertmanager``, ``grafana_alerting``, ``webhook`` and ``formatted_webhook``
  are ours under the same names, and served at the same URL shape, so ``link`` is the ready inbound
  URL (``<TOCSIN_BASE_URL>/integrations/v1/<type>/<token>/``). Our other types (``events_api_v2``,
  ``pagerduty``, ``opsgenie``, ``victorops``) show under their own names, with their own URLs; any
  other Grafana type (``zabbix``, ``inbound_email`` …) is refused with a 400 naming it. The type
  cannot be changed by an update, as upstream.
- Service: without our extra ``service_id`` a service named after the integration is created (see
  ``services.catalog.standalone_integrations``). ``team_id``, ``description_short`` and
  ``default_route.escalation_chain_id`` (an escalation policy id) are the service's.
- ``default_route`` is the integration's one derived route (``route_ids``); Slack and Telegram are
  always off.
- ``templates``: ``grouping_key`` is our dedup key template, ``resolve_signal`` our resolve
  condition and ``web.title`` our title template (webhook types only); every other template is
  ``null`` and setting one to a value is a 400 naming it.
- ``heartbeat``: ``{"link": "<link>heartbeat/"}`` for the types served at Grafana's URL shape (a
  beat there beats the integration's heartbeat, configured on ``/api/services/{id}/heartbeats``),
  ``{"link": null}`` for the others.
- Maintenance is the service's window: ``maintenance_start`` ``{"mode": "maintenance", "duration":
  seconds}`` opens one from now; ``debug`` mode (alerts without notifications) cannot be expressed
  and is a 400 naming it; ``maintenance_stop`` ends the running window. Both answer the integration.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

from fastapi import Request
from starlette.responses import Response

from tocsin.api.compat.grafana_oncall.public.common import (
    Body,
    SlashRouter,
    bad_request,
    invalid,
    optional_string,
)
from tocsin.api.compat.grafana_oncall.public.pagination import page_of
from tocsin.api.compat.grafana_oncall.public.route_ids import route_id
from tocsin.api.deps import Db, Now, ServicesRead, ServicesWrite
from tocsin.db.models import Integration
from tocsin.domain.integration_urls import CONFIG_KEYS, INTEGRATION_TYPES, heartbeat_url, inbound_url
from tocsin.services.catalog import services as catalog
from tocsin.services.catalog import standalone_integrations
from tocsin.services.catalog.standalone_integrations import NewIntegration, running_window
from tocsin.services.errors import Invalid
from tocsin.services.pagination import Page

router = SlashRouter()

MAINTENANCE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Grafana's flat templates → our config keys (only the webhook types take any).
_PLAIN_TEMPLATES: Final = {"grouping_key": "dedup_key_template", "resolve_signal": "resolve_condition"}
_UNSUPPORTED_PLAIN: Final = ("acknowledge_signal", "source_link")
_NESTED_TEMPLATES: Final[dict[str, tuple[str, ...]]] = {
    "slack": ("title", "message", "image_url"),
    "web": ("title", "message", "image_url"),
    "sms": ("title",),
    "phone_call": ("title",),
    "telegram": ("title", "message", "image_url"),
}
_WEB_TITLE = "title_template"
# Our field names → Grafana's, for errors the services raise.
_FIELD_NAMES: Final = {
    "escalation_policy_id": "escalation_chain_id",
    "description": "description_short",
}


@contextmanager
def _grafana_fields() -> Iterator[None]:
    """Name the fields in service errors as the Grafana client sent them."""
    try:
        yield
    except Invalid as error:
        field = str(error.details.get("field", ""))
        if field in _FIELD_NAMES:
            error.details["field"] = _FIELD_NAMES[field]
        raise


def _maintenance(integration: Integration, now: datetime) -> dict[str, Any]:
    window = running_window(integration.service, now)
    if window is None:
        return {"maintenance_mode": None, "maintenance_started_at": None, "maintenance_end_at": None}
    return {
        "maintenance_mode": "maintenance",
        "maintenance_started_at": window.start.strftime(MAINTENANCE_FORMAT),
        "maintenance_end_at": window.end.strftime(MAINTENANCE_FORMAT),
    }


def _templates(config: dict[str, Any]) -> dict[str, Any]:
    rendered: dict[str, Any] = {name: config.get(ours) for name, ours in _PLAIN_TEMPLATES.items()}
    rendered.update({name: None for name in _UNSUPPORTED_PLAIN})
    for channel, fields in _NESTED_TEMPLATES.items():
        rendered[channel] = {field: None for field in fields}
    rendered["web"]["title"] = config.get(_WEB_TITLE)
    return rendered


def _render(request: Request, integration: Integration, now: datetime) -> dict[str, Any]:
    service = integration.service
    base = str(request.app.state.settings.base_url)
    return {
        **_maintenance(integration, now),
        "id": integration.id,
        "name": integration.name,
        "description_short": service.description,
        "team_id": service.team_id,
        "link": inbound_url(base, integration.type, integration.routing_key),
        "inbound_email": None,
        "type": integration.type,
        "default_route": {
            "id": route_id(integration.id),
            "escalation_chain_id": service.escalation_policy_id,
            "slack": {"channel_id": None, "enabled": False},
            "telegram": {"id": None, "enabled": False},
        },
        "templates": _templates(integration.config or {}),
        "heartbeat": {"link": heartbeat_url(base, integration.type, integration.routing_key)},
    }


def _config(raw: Any, integration_type: str, current: dict[str, Any]) -> dict[str, Any]:
    """Grafana's ``templates`` object as our config, merged over ``current``; a ``null`` resets a
    template to its default, as upstream."""
    if not isinstance(raw, dict):
        raise bad_request("Invalid template data")
    config = dict(current)
    for name, value in raw.items():
        if name in _PLAIN_TEMPLATES:
            if value is not None and not isinstance(value, str):
                raise bad_request(f"Invalid {name} template data")
            config[_PLAIN_TEMPLATES[name]] = value
        elif name in _UNSUPPORTED_PLAIN:
            if value is not None:
                raise bad_request(f"The {name} template is not supported by this server")
        elif name in _NESTED_TEMPLATES:
            if value is None:
                if name == "web":
                    config[_WEB_TITLE] = None
                continue
            if not isinstance(value, dict):
                raise bad_request(f"Invalid {name} template data")
            for field, template in value.items():
                if field not in _NESTED_TEMPLATES[name]:
                    raise bad_request("Invalid template data")
                if name == "web" and field == "title":
                    if template is not None and not isinstance(template, str):
                        raise bad_request(f"invalid {name} {field} template")
                    config[_WEB_TITLE] = template
                elif template is not None:
                    raise bad_request(f"The {name} {field} template is not supported by this server")
        else:
            raise bad_request("Invalid template data")
    set_keys = [key for key, value in config.items() if value is not None]
    if set_keys and integration_type not in CONFIG_KEYS:
        raise bad_request(
            f"Templates are not supported for {integration_type} integrations; only for "
            f"{' and '.join(CONFIG_KEYS)}"
        )
    return config


def _escalation_chain(body: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether ``default_route.escalation_chain_id`` was given, and its value."""
    route = body.get("default_route")
    if route is None:
        return False, None
    if not isinstance(route, dict):
        raise invalid("default_route", "Expected a dictionary of items.")
    if "escalation_chain_id" not in route:
        return False, None
    chain = route["escalation_chain_id"]
    if chain is not None and not isinstance(chain, str):
        raise invalid("escalation_chain_id", "Incorrect type. Expected pk value.")
    return True, chain


def _type(body: dict[str, Any]) -> str:
    if "type" not in body:
        raise invalid("type", "This field is required.")
    value = body["type"]
    if not isinstance(value, str) or not value:
        raise bad_request("Invalid integration type")
    if value not in INTEGRATION_TYPES:
        raise bad_request(
            f"Invalid integration type: {value} is not served here; use one of {', '.join(INTEGRATION_TYPES)}"
        )
    return value


@router.get("/integrations", summary="List integrations (Grafana OnCall)")
def list_integrations(
    request: Request,
    key: ServicesRead,
    db: Db,
    now: Now,
    name: str | None = None,
    team_id: str | None = None,
) -> dict[str, Any]:
    with db.read() as session:

        def fetch(limit: int, offset: int) -> Page[Integration]:
            return catalog.list_integrations(
                session=session,
                tenant=key.tenant,
                name=name,
                team_id=team_id or None,
                limit=limit,
                offset=offset,
            )

        return page_of(request, fetch, lambda integration: _render(request, integration, now))


@router.get("/integrations/{integration_id}", summary="Get an integration (Grafana OnCall)")
def get_integration(
    integration_id: str, request: Request, key: ServicesRead, db: Db, now: Now
) -> dict[str, Any]:
    with db.read() as session:
        integration = catalog.find_integration(
            session=session, tenant=key.tenant, integration_id=integration_id
        )
        return _render(request, integration, now)


@router.post("/integrations", status_code=201, summary="Create an integration (Grafana OnCall)")
def create_integration(request: Request, body: Body, key: ServicesWrite, db: Db, now: Now) -> dict[str, Any]:
    integration_type = _type(body)
    name = optional_string(body, "name") or integration_type.replace("_", " ").title()
    given, chain = _escalation_chain(body)
    spec = NewIntegration(
        name=name,
        type=integration_type,
        team_id=optional_string(body, "team_id"),
        service_id=optional_string(body, "service_id"),
        description=optional_string(body, "description_short"),
        config=_config(body["templates"], integration_type, {})
        if body.get("templates") is not None
        else None,
        escalation_policy_id=chain if given else None,
    )
    with db.write() as session, _grafana_fields():
        integration = standalone_integrations.create_integration(
            session=session, tenant=key.tenant, spec=spec, now=now
        )
        return _render(request, integration, now)


def _update(
    request: Request, integration_id: str, body: dict[str, Any], key: Any, db: Any, now: datetime
) -> Any:
    with db.write() as session, _grafana_fields():
        integration = catalog.find_integration(
            session=session, tenant=key.tenant, integration_id=integration_id
        )
        changes: dict[str, Any] = {}
        if "name" in body:
            name = optional_string(body, "name")
            if name is None:
                raise invalid("name", "This field may not be null.")
            changes["name"] = name
        if "description_short" in body:
            changes["description"] = optional_string(body, "description_short")
        if "team_id" in body:
            changes["team_id"] = optional_string(body, "team_id")
        if body.get("templates") is not None:
            changes["config"] = _config(body["templates"], integration.type, dict(integration.config or {}))
        given, chain = _escalation_chain(body)
        if given:
            changes["escalation_policy_id"] = chain
        integration = standalone_integrations.update_integration(
            session=session, tenant=key.tenant, integration_id=integration.id, changes=changes, now=now
        )
        return _render(request, integration, now)


@router.put("/integrations/{integration_id}", summary="Update an integration (Grafana OnCall)")
def replace_integration(
    integration_id: str, request: Request, body: Body, key: ServicesWrite, db: Db, now: Now
) -> dict[str, Any]:
    """Fields left out keep their values (the type never changes)."""
    result: dict[str, Any] = _update(request, integration_id, body, key, db, now)
    return result


@router.patch("/integrations/{integration_id}", summary="Update an integration (Grafana OnCall)")
def edit_integration(
    integration_id: str, request: Request, body: Body, key: ServicesWrite, db: Db, now: Now
) -> dict[str, Any]:
    result: dict[str, Any] = _update(request, integration_id, body, key, db, now)
    return result


@router.delete("/integrations/{integration_id}", status_code=204, summary="Delete an integration")
def delete_integration(integration_id: str, key: ServicesWrite, db: Db) -> Response:
    """The integration goes; its service and the incidents it fed stay."""
    with db.write() as session:
        standalone_integrations.delete_integration(
            session=session, tenant=key.tenant, integration_id=integration_id
        )
    return Response(status_code=204)


def _seconds(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise invalid("duration", "Invalid duration")
    try:
        return int(raw.strip()) if isinstance(raw, str) else int(raw)
    except (ValueError, OverflowError):
        raise invalid("duration", "Invalid duration") from None


@router.post("/integrations/{integration_id}/maintenance_start", summary="Start maintenance")
def maintenance_start(
    integration_id: str, request: Request, body: Body, key: ServicesWrite, db: Db, now: Now
) -> dict[str, Any]:
    mode = str(body.get("mode")).lower()
    if mode not in ("maintenance", "debug"):
        raise invalid("mode", "Unknown mode")
    if mode == "debug":
        raise invalid(
            "mode",
            "debug mode (alerts without notifications) is not supported by this server; "
            "use maintenance mode, which opens incidents that page nobody",
        )
    seconds = _seconds(body.get("duration"))
    with db.write() as session:
        integration = standalone_integrations.start_maintenance(
            session=session,
            tenant=key.tenant,
            integration_id=integration_id,
            seconds=seconds,
            actor=key.actor,
            now=now,
        )
        return _render(request, integration, now)


@router.post("/integrations/{integration_id}/maintenance_stop", summary="Stop maintenance")
def maintenance_stop(
    integration_id: str, request: Request, key: ServicesWrite, db: Db, now: Now
) -> dict[str, Any]:
    with db.write() as session:
        integration = standalone_integrations.stop_maintenance(
            session=session, tenant=key.tenant, integration_id=integration_id, now=now
        )
        return _render(request, integration, now)
