"""Templates that turn any JSON body into an incident, for the ``webhook`` and ``formatted_webhook``
integrations, as Grafana OnCall does it.

An integration's ``config`` may hold ``title_template``, ``dedup_key_template``,
``resolve_condition`` and ``severity_template``. A template that starts with ``$`` is a JSON path
(jsonpath-ng, extended syntax; the first match is used), anything else a Jinja2 template rendered in
a sandbox with the body as ``payload`` (Grafana OnCall's convention: ``{{ payload.title }}``).

A template that is absent or fails (bad syntax, an error while rendering) counts as absent: the
default applies and nothing broken is recorded. A title, dedup key or severity template that yields
nothing (an empty string, no match, null, an unknown severity word) also leaves the default;
a resolve condition that yields nothing is false. Defaults:

- title: ``title``, else the first line of ``message``, else "Incident";
- dedup key: ``id`` (``webhook``) or ``alert_uid`` (``formatted_webhook``), either of the two as a
  fallback, else the SHA-256 of the body (keys sorted): identical bodies are one incident;
- resolved: ``status`` is ``resolved`` or ``ok``, or ``state`` is ``ok`` (any case);
- severity: the ``severity`` field when it names one (``critical|error|warning|info`` and the
  aliases of ``domain.alertmanager``), else critical.

A resolve condition holds when its result, trimmed and lower-cased, is ``true``, ``1``, ``ok``
(Grafana OnCall's rule) or ``resolved``. A dedup key longer than 255 characters is hashed."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from jinja2 import BaseLoader, Template
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from jsonpath_ng import JSONPath
from jsonpath_ng.ext.parser import parse as parse_path

from tocsin.domain.alertmanager import DEFAULT_SEVERITY, MAX_TITLE, bounded_key, normalise_severity, one_line

log = logging.getLogger("tocsin.integrations")

TITLE: Final = "title_template"
DEDUP_KEY: Final = "dedup_key_template"
RESOLVE: Final = "resolve_condition"
SEVERITY: Final = "severity_template"
TEMPLATE_KEYS: Final = (TITLE, DEDUP_KEY, RESOLVE, SEVERITY)
TRUTHY: Final = frozenset({"true", "1", "ok", "resolved"})

# Limits that keep one integration's template from taking the server down.
MAX_TEMPLATE: Final = 50_000
MAX_RESULT: Final = 50_000
_MAX_SEQUENCE: Final = 100_000
_MAX_EXPONENT: Final = 1_000
_MAX_INT_BITS: Final = 100_000


@dataclass(frozen=True, slots=True)
class Rendered:
    """What the templates (or the defaults) made of one body."""

    title: str
    dedup_key: str
    resolved: bool
    severity: str
    # Names of the configured templates that failed and fell back to the default (for logs).
    fell_back: tuple[str, ...] = ()


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox (no attribute tricks, bounded ``range``), plus caps on ``*`` and ``**`` so
    ``{{ "x" * 10**12 }}`` is refused instead of eating the memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float):
            if abs(right) > _MAX_EXPONENT or (
                isinstance(left, int) and abs(left).bit_length() * abs(right) > _MAX_INT_BITS
            ):
                raise SecurityError("power too large")
        if operator == "*":
            if isinstance(left, int) and isinstance(right, int):
                if abs(left).bit_length() + abs(right).bit_length() > _MAX_INT_BITS:
                    raise SecurityError("product too large")
            for sequence, times in ((left, right), (right, left)):
                if (
                    isinstance(sequence, str | list | tuple)
                    and isinstance(times, int)
                    and len(sequence) * times > _MAX_SEQUENCE
                ):
                    raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)


def _pretty_json(value: Any) -> str | None:
    try:
        return json.dumps(value, sort_keys=True, indent=4, separators=(",", ": "), ensure_ascii=False)
    except (TypeError, ValueError):
        return None


def _json_dumps(value: Any) -> str | None:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return None


def _parse_json(value: Any) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError, RecursionError):
        return None


def _b64decode(value: Any) -> str | None:
    try:
        return base64.b64decode(value).decode("utf-8")
    except (TypeError, ValueError):
        return None


_ENV = _Sandbox(loader=BaseLoader(), autoescape=False)
# The filters of Grafana OnCall's template environment that need nothing outside the payload.
_ENV.filters.update(
    {
        "tojson_pretty": _pretty_json,
        "json_dumps": _json_dumps,
        "parse_json": _parse_json,
        "b64decode": _b64decode,
    }
)


@lru_cache(maxsize=512)
def _compile_jinja(source: str) -> Template | None:
    try:
        return _ENV.from_string(source)
    except Exception as exc:  # any parse error makes the template absent
        log.info("integration template does not compile: %s", exc)
        return None


@lru_cache(maxsize=512)
def _compile_path(source: str) -> JSONPath | None:
    try:
        compiled: JSONPath = parse_path(source)
    except Exception as exc:  # jsonpath-ng raises several unrelated types on bad syntax
        log.info("integration JSON path does not parse: %s", exc)
        return None
    return compiled


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = json.dumps(value)
    else:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    # U+0000 and lone surrogates cannot be stored (PostgreSQL); neither means anything in a title.
    text = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    return text.strip()[:MAX_RESULT]


def render(template: str, payload: Mapping[str, Any]) -> str | None:
    """One template's text for ``payload``, trimmed (``""`` for no match); None when it fails."""
    if not template.strip() or len(template) > MAX_TEMPLATE:
        return None
    if template.lstrip().startswith("$"):
        path = _compile_path(template.strip())
        if path is None:
            return None
        try:
            matches = path.find(payload)
        except Exception as exc:  # a path can fail on an unexpected shape (e.g. arithmetic on text)
            log.info("integration JSON path failed: %s", exc)
            return None
        return _as_text(matches[0].value) if matches else ""
    compiled = _compile_jinja(template)
    if compiled is None:
        return None
    try:
        # A copy each time: templates may mutate what they are given (``payload.pop(...)``).
        result = compiled.render(payload=copy.deepcopy(dict(payload)))
    except Exception as exc:  # undefined names, type errors, sandbox refusals: all mean "absent"
        log.info("integration template failed: %s", exc)
        return None
    return _as_text(result)


def is_truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in TRUTHY


def _string(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if isinstance(value, bool):
        return None
    if isinstance(value, str | int | float):
        return _as_text(value) or None
    return None


def body_hash(payload: Mapping[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def default_title(payload: Mapping[str, Any]) -> str:
    found = _string(payload, "title")
    if found:
        return found
    message = _string(payload, "message")
    if message:
        return message.splitlines()[0]
    return "Incident"


def default_dedup_key(kind: str, payload: Mapping[str, Any]) -> str:
    names = ("alert_uid", "id") if kind == "formatted_webhook" else ("id", "alert_uid")
    for name in names:
        found = _string(payload, name)
        if found:
            return bounded_key(found)
    return body_hash(payload)


def default_resolved(payload: Mapping[str, Any]) -> bool:
    status = payload.get("status")
    state = payload.get("state")
    return (isinstance(status, str) and status.strip().lower() in ("resolved", "ok")) or (
        isinstance(state, str) and state.strip().lower() == "ok"
    )


def default_severity(payload: Mapping[str, Any]) -> str:
    return normalise_severity(payload.get("severity")) or DEFAULT_SEVERITY


def evaluate(kind: str, config: Mapping[str, Any], payload: Mapping[str, Any]) -> Rendered:
    """Title, dedup key, resolve decision and severity of one webhook body under ``config``."""
    fell_back: list[str] = []

    def apply(name: str) -> str | None:
        template = config.get(name)
        if not isinstance(template, str) or not template.strip():
            return None
        result = render(template, payload)
        if result is None:
            fell_back.append(name)
        return result

    title = apply(TITLE)
    key = apply(DEDUP_KEY)
    condition = apply(RESOLVE)
    severity = normalise_severity(apply(SEVERITY))
    return Rendered(
        title=one_line(title or default_title(payload), MAX_TITLE) or "Incident",
        dedup_key=bounded_key(key) if key else default_dedup_key(kind, payload),
        resolved=default_resolved(payload) if condition is None else is_truthy(condition),
        severity=severity or default_severity(payload),
        fell_back=tuple(fell_back),
    )
