"""Webhook templates: JSON paths, sandboxed Jinja2, the defaults, and falling back on any failure."""

from __future__ import annotations

from typing import Any

import pytest

from tocsin.domain.templates import body_hash, evaluate, is_truthy, render

BODY: dict[str, Any] = {
    "id": "evt-1",
    "title": "Disk full on db-01",
    "message": "/var is 98% full\nsecond line",
    "status": "alerting",
    "severity": "warning",
    "alert": {"host": "db-01", "tags": ["disk", "db"], "level": 3},
}


def test_json_path_takes_the_first_match() -> None:
    assert render("$.alert.host", BODY) == "db-01"
    assert render("$.alert.tags[*]", BODY) == "disk"
    assert render("$.alert.level", BODY) == "3"
    assert render("$.alert.tags", BODY) == '["disk", "db"]'
    assert render("$.missing", BODY) == ""
    assert render("$[?(@.host == 'db-01')].host", BODY["alert"]) is not None


def test_jinja_renders_with_payload() -> None:
    assert render("{{ payload.alert.host }}: {{ payload.title }}", BODY) == "db-01: Disk full on db-01"
    assert render("{{ payload.get('nope', 'fallback') }}", BODY) == "fallback"
    assert render("{{ payload.alert.tags | join(',') }}", BODY) == "disk,db"
    assert render("{{ payload.alert | tojson_pretty }}", BODY) is not None
    assert render("{{ payload.missing }}", BODY) == ""


def test_templates_cannot_change_the_payload() -> None:
    body = {"labels": {"a": "1"}}
    assert render("{{ payload.labels.pop('a') }}", body) == "1"
    assert body == {"labels": {"a": "1"}}


@pytest.mark.parametrize(
    "template",
    [
        "{{ payload.title",  # syntax error
        "{{ payload.missing.deeper }}",  # undefined attribute access
        "{{ payload.__class__.__mro__ }}",  # sandbox
        "{{ ''.__class__.__subclasses__() }}",
        "{{ 'x' * 1000000000 }}",  # memory bomb
        "{{ 2 ** 100000 }}",
        "{{ (10 ** 999) ** 999 }}",
        "{% set n = namespace(a=10 ** 999) %}{% for i in [1] * 30 %}{% set n.a = n.a * n.a %}{% endfor %}",
        "{{ range(10000000) | list }}",
        "$.[[[",  # bad JSON path
        "{{ 1 / 0 }}",
    ],
)
def test_broken_templates_render_nothing(template: str) -> None:
    assert render(template, BODY) is None


def test_defaults() -> None:
    result = evaluate("webhook", {}, BODY)
    assert (result.title, result.dedup_key, result.resolved, result.severity) == (
        "Disk full on db-01",
        "evt-1",
        False,
        "warning",
    )
    assert result.fell_back == ()


def test_default_title_falls_to_the_message_then_incident() -> None:
    assert evaluate("webhook", {}, {"message": "first\nsecond"}).title == "first"
    assert evaluate("webhook", {}, {"value": 1}).title == "Incident"


def test_default_dedup_key_is_id_or_alert_uid_else_a_body_hash() -> None:
    assert evaluate("webhook", {}, {"id": 42}).dedup_key == "42"
    assert evaluate("webhook", {}, {"alert_uid": "u-1", "id": "i-1"}).dedup_key == "i-1"
    assert evaluate("formatted_webhook", {}, {"alert_uid": "u-1", "id": "i-1"}).dedup_key == "u-1"
    hashed = evaluate("webhook", {}, {"b": 1, "a": 2}).dedup_key
    assert hashed == body_hash({"a": 2, "b": 1}) and hashed.startswith("sha256:")
    assert evaluate("webhook", {}, {"id": "x" * 300}).dedup_key.startswith("sha256:")


@pytest.mark.parametrize(
    ("body", "resolved"),
    [
        ({"status": "resolved"}, True),
        ({"status": "OK"}, True),
        ({"state": "ok"}, True),
        ({"state": "alerting"}, False),
        ({"status": "firing"}, False),
        ({"status": 1}, False),
        ({}, False),
    ],
)
def test_default_resolve_condition(body: dict[str, Any], resolved: bool) -> None:
    assert evaluate("webhook", {}, body).resolved is resolved


def test_configured_templates_win() -> None:
    config = {
        "title_template": "{{ payload.alert.host }} is full",
        "dedup_key_template": "$.alert.host",
        "resolve_condition": '{{ payload.status == "alerting" }}',
        "severity_template": "$.alert.level",
    }
    result = evaluate("webhook", config, BODY)
    assert (result.title, result.dedup_key, result.resolved) == ("db-01 is full", "db-01", True)
    # "3" names no severity: the default (the body's "severity") applies.
    assert result.severity == "warning"


def test_a_resolve_condition_that_yields_nothing_is_false() -> None:
    config = {"resolve_condition": "{% if payload.status == 'done' %}true{% endif %}"}
    assert evaluate("webhook", config, {"status": "resolved"}).resolved is False
    assert evaluate("webhook", config, {"status": "done"}).resolved is True


def test_broken_templates_fall_back_to_the_defaults() -> None:
    config = {
        "title_template": "{{ payload.title",
        "dedup_key_template": "$.[[[",
        "resolve_condition": "{{ payload.x.y.z }}",
        "severity_template": "{{ 1 / 0 }}",
    }
    result = evaluate("webhook", config, {**BODY, "status": "resolved"})
    assert (result.title, result.dedup_key, result.resolved, result.severity) == (
        "Disk full on db-01",
        "evt-1",
        True,
        "warning",
    )
    assert set(result.fell_back) == set(config)


def test_severity_template_maps_aliases() -> None:
    assert evaluate("webhook", {"severity_template": "{{ 'PAGE' }}"}, {}).severity == "critical"
    assert evaluate("webhook", {"severity_template": "$.sev"}, {"sev": "info"}).severity == "info"


@pytest.mark.parametrize(
    ("value", "truthy"), [("True", True), (" true ", True), ("1", True), ("OK", True), ("resolved", True)]
)
def test_truthy_words(value: str, truthy: bool) -> None:
    assert is_truthy(value) is truthy


@pytest.mark.parametrize("value", ["False", "0", "", "yes please", None])
def test_falsy_words(value: str | None) -> None:
    assert is_truthy(value) is False


def test_non_string_config_values_are_ignored() -> None:
    assert (
        evaluate("webhook", {"title_template": 5, "resolve_condition": None}, BODY).title
        == "Disk full on db-01"
    )
