"""Reading an Opsgenie request: the ``GenieKey``, the body, its fields and the ``identifierType``,
checked against Opsgenie's own limits; what is wrong is refused in Opsgenie's shape."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from tocsin.api.compat.common import IngestRoute, find_route
from tocsin.api.compat.opsgenie.answers import Refusal, not_processable
from tocsin.services.catalog.services import ROUTING_KEY

MAX_MESSAGE = 130
MAX_ALIAS = 512
MAX_DESCRIPTION = 15_000
MAX_NOTE = 25_000
MAX_BODY_BYTES = 512 * 1024
IDENTIFIER_TYPES = ("id", "alias", "tiny")
RECIPIENT_TYPES = frozenset({"team", "user", "escalation", "schedule", "all", "none", "group"})


async def authenticate(request: Request) -> IngestRoute:
    """``Authorization: GenieKey <key>``: 401 for no or an unknown key (Opsgenie's "Could not
    authenticate"), 422 for one that cannot be a key, 403 (code 40301) for another integration type."""
    scheme, _, key = request.headers.get("authorization", "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "geniekey" or not key:
        raise Refusal(401, {"message": "Could not authenticate"})
    if not ROUTING_KEY.fullmatch(key):
        raise Refusal(422, {"message": "Key format is not valid!"})
    route = await find_route(request, key)
    if route is None:
        raise Refusal(401, {"message": "Could not authenticate"})
    if route.integration_type != "opsgenie":
        raise Refusal(
            403,
            {
                "code": 40301,
                "message": "To perform this action, use the key of an integration of type opsgenie "
                f"(this key's integration is of type {route.integration_type}).",
            },
        )
    return route


async def read_body(request: Request) -> bytes:
    """The body, refused (413) over 512 KB: not an Opsgenie-documented limit, but well above what its
    documented field limits add up to, and below the server-wide cap so the answer is Opsgenie's."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise Refusal(413, {"message": f"Request body is larger than the {MAX_BODY_BYTES // 1024} KB limit"})
    return raw


class Fields:
    """One JSON object read field by field; what is wrong is collected as Opsgenie's ``errors`` map."""

    def __init__(self, raw: bytes) -> None:
        self.errors: dict[str, str] = {}
        if not raw.strip():
            self.data: dict[str, Any] = {}
            return
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise Refusal(400, {"message": f"Invalid JSON body: {exc}"}) from None
        if not isinstance(value, dict):
            raise Refusal(400, {"message": "Invalid JSON body: expected a JSON object"})
        self.data = value

    def text(self, name: str, limit: int | None = None) -> str | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            self.errors[name] = f"{name} must be a string"
            return None
        if limit is not None and len(value) > limit:
            self.errors[name] = f"{name} can not be longer than {limit} characters"
        return value

    def texts(self, name: str) -> list[str]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.errors[name] = f"{name} must be a list of strings"
            return []
        return value

    def details(self) -> dict[str, str] | None:
        """Opsgenie's details are string to string; numbers and booleans are taken as their text."""
        value = self.data.get("details")
        if value is None:
            return None
        if not isinstance(value, dict):
            self.errors["details"] = "details must be an object of string values"
            return None
        details: dict[str, str] = {}
        for key, item in value.items():
            if isinstance(item, str):
                details[key] = item
            elif isinstance(item, bool):
                details[key] = "true" if item else "false"
            elif isinstance(item, int | float):
                details[key] = str(item)
            else:
                self.errors[f"details#{key}"] = "details values must be strings"
        return details

    def recipients(self, name: str) -> None:
        """Checked only: responders are not routed here (the service's policy pages); kept on the alert."""
        value = self.data.get(name)
        if value is None:
            return
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.errors[name] = f"{name} must be a list of objects"
            return
        for item in value:
            kind = item.get("type")
            if not isinstance(kind, str) or kind.lower() not in RECIPIENT_TYPES:
                self.errors[f"{name}#type"] = f"Invalid recipient type '{kind}'"

    def check(self) -> None:
        if self.errors:
            raise not_processable(self.errors)


def identifier_of(request: Request) -> tuple[str, str]:
    identifier: str = request.path_params["identifier"]
    kind = request.query_params.get("identifierType", "id") or "id"
    if kind not in IDENTIFIER_TYPES:
        raise not_processable({"identifierType": "identifierType must be one of id, alias, tiny"})
    return identifier, kind
