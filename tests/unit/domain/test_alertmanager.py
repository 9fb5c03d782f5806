"""Alertmanager's webhook notification: strict reading, the group's dedup key, title and severity."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain import alertmanager
from tocsin.domain.alertmanager import PayloadError, parse_notification


def _alert(name: str = "HighCPU", status: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, **labels},
        "annotations": {},
        "startsAt": "2024-01-15T10:30:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": "f404ecabc8dd5cd7",
    }


def _payload(*alerts: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": "4",
        "groupKey": '{}:{alertname="HighCPU"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "tocsin",
        "groupLabels": {"alertname": "HighCPU"},
        "commonLabels": {"alertname": "HighCPU", "instance": "web-01", "severity": "critical"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts) or [_alert(instance="web-01", severity="critical")],
    }
    body.update(fields)
    return body


def test_parses_the_version_4_fields() -> None:
    notification = parse_notification(_payload(_alert(), _alert(status="resolved"), truncatedAlerts=3))
    assert notification.status == "firing"
    assert notification.group_key == '{}:{alertname="HighCPU"}'
    assert notification.receiver == "tocsin"
    assert notification.version == "4"
    assert notification.truncated_alerts == 3
    assert notification.external_url == "http://alertmanager:9093"
    assert [alert.status for alert in notification.alerts] == ["firing", "resolved"]
    assert len(notification.firing) == 1
    first = notification.alerts[0]
    assert first.labels["alertname"] == "HighCPU"
    assert first.fingerprint == "f404ecabc8dd5cd7"
    assert first.raw["startsAt"] == "2024-01-15T10:30:00Z"


def test_grafana_extra_keys_and_version_1_pass() -> None:
    body = _payload(version="1", orgId=1, title="[FIRING:1] HighCPU", state="alerting", message="x")
    assert parse_notification(body).version == "1"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"alerts": {"a": 1}}, "alerts", 'Expected a list of items but got type "dict".'),
        ({"alerts": ["x"]}, "alerts.0", "Invalid data. Expected a dictionary, but got str."),
        ({"status": "exploded"}, "status", '"exploded" is not a valid choice.'),
        ({"status": 3}, "status", "Not a valid string."),
        ({"groupKey": ["k"]}, "groupKey", "Not a valid string."),
        ({"commonLabels": []}, "commonLabels", 'Expected a dictionary of items but got type "list".'),
        ({"groupLabels": {"a": {"b": 1}}}, "groupLabels.a", "Not a valid string."),
        ({"truncatedAlerts": "many"}, "truncatedAlerts", "A valid integer is required."),
        ({"truncatedAlerts": -1}, "truncatedAlerts", "A valid integer is required."),
        (
            {"alerts": [{"labels": "x"}]},
            "alerts.0.labels",
            'Expected a dictionary of items but got type "str".',
        ),
        ({"alerts": [{"status": "odd"}]}, "alerts.0.status", '"odd" is not a valid choice.'),
        ({"alerts": [{"startsAt": 5}]}, "alerts.0.startsAt", "Not a valid string."),
    ],
)
def test_wrong_types_name_the_field(change: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_notification(_payload(**change))
    assert (caught.value.field, caught.value.message) == (field, message)


def test_scalar_label_values_are_read_as_text() -> None:
    notification = parse_notification(_payload(commonLabels={"alertname": "X", "port": 8080, "up": False}))
    assert notification.common_labels == {"alertname": "X", "port": "8080", "up": "false"}


def test_missing_status_is_inferred_and_alerts_inherit_it() -> None:
    body = _payload(_alert(status="resolved"))
    del body["status"]
    assert parse_notification(body).status == "resolved"
    body = _payload({"labels": {"alertname": "X"}}, status="resolved")
    assert parse_notification(body).alerts[0].status == "resolved"
    assert parse_notification({}).status == "firing"


def test_dedup_key_is_the_group_key_hashed_past_255() -> None:
    assert alertmanager.dedup_key(parse_notification(_payload())) == '{}:{alertname="HighCPU"}'
    long_key = "{}:{" + "x" * 300 + "}"
    hashed = alertmanager.dedup_key(parse_notification(_payload(groupKey=long_key)))
    assert hashed.startswith("sha256:") and len(hashed) == 71
    assert hashed == alertmanager.dedup_key(parse_notification(_payload(groupKey=long_key)))


def test_without_group_key_the_group_labels_key_the_group() -> None:
    one = parse_notification(_payload(groupKey=""))
    same = parse_notification(_payload(groupKey="", alerts=[_alert("Other")]))
    other = parse_notification(_payload(groupKey="", groupLabels={"alertname": "Other"}))
    assert alertmanager.dedup_key(one) == alertmanager.dedup_key(same) != alertmanager.dedup_key(other)


def test_title_from_alert_name_and_common_labels() -> None:
    body = _payload(
        _alert(instance="web-01", severity="critical"), _alert(instance="web-01", severity="critical")
    )
    assert (
        alertmanager.title(parse_notification(body))
        == "[FIRING:2] HighCPU (instance=web-01 severity=critical)"
    )


def test_title_prefers_the_summary_annotation() -> None:
    body = _payload(commonAnnotations={"summary": "CPU  above\n90% on web-01", "description": "long text"})
    notification = parse_notification(body)
    assert alertmanager.title(notification) == "[FIRING:1] CPU above 90% on web-01"
    assert alertmanager.description(notification) == "long text"


def test_title_when_alert_names_differ() -> None:
    body = _payload(
        _alert("HighCPU", cluster="prod"),
        _alert("DiskFull", cluster="prod"),
        _alert("HighCPU", cluster="prod"),
        groupLabels={"cluster": "prod"},
        commonLabels={"cluster": "prod"},
    )
    assert alertmanager.title(parse_notification(body)) == "[FIRING:3] HighCPU, DiskFull (cluster=prod)"


def test_resolved_title_and_bare_group() -> None:
    body = _payload(
        _alert(status="resolved"), status="resolved", commonLabels={}, groupLabels={"job": "node"}
    )
    assert alertmanager.title(parse_notification(body)) == "[RESOLVED] HighCPU"
    assert alertmanager.title(parse_notification({"groupLabels": {"job": "node"}})) == "[FIRING:0] node"


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("critical", "critical"),
        ("page", "critical"),
        ("CRITICAL", "critical"),
        ("error", "error"),
        ("major", "error"),
        ("warning", "warning"),
        ("warn", "warning"),
        ("info", "info"),
        ("none", "info"),
        ("banana", "critical"),
    ],
)
def test_severity_from_the_common_label(label: str, expected: str) -> None:
    body = _payload(commonLabels={"alertname": "X", "severity": label})
    assert alertmanager.severity(parse_notification(body)) == expected


def test_severity_without_a_common_label_is_the_worst_firing_alert() -> None:
    body = _payload(
        _alert(severity="info"), _alert(severity="warning"), _alert(status="resolved", severity="page")
    )
    body["commonLabels"] = {"alertname": "HighCPU"}
    assert alertmanager.severity(parse_notification(body)) == "warning"
    body["alerts"] = [_alert()]
    assert alertmanager.severity(parse_notification(body)) == "critical"


def test_links_source_and_details() -> None:
    notification = parse_notification(_payload())
    assert alertmanager.links(notification) == [
        {"href": "http://prometheus:9090/graph?g0.expr=up", "text": "Source"},
        {"href": "http://alertmanager:9093", "text": "Alertmanager"},
    ]
    assert alertmanager.source(notification, "alertmanager") == "web-01"
    assert alertmanager.source(parse_notification({}), "alertmanager") == "alertmanager"
    assert alertmanager.details(notification)["groupKey"] == '{}:{alertname="HighCPU"}'


_label = st.text(min_size=1, max_size=40)


@given(
    st.dictionaries(_label, st.text(max_size=300), max_size=8),
    st.dictionaries(_label, st.text(max_size=2000), max_size=3),
    st.text(max_size=600),
)
def test_title_and_key_always_fit(labels: dict[str, str], annotations: dict[str, str], key: str) -> None:
    notification = parse_notification(
        {
            "groupKey": key,
            "commonLabels": labels,
            "commonAnnotations": annotations,
            "alerts": [{"labels": labels}],
        }
    )
    title = alertmanager.title(notification)
    assert 0 < len(title) <= 1024 and "\n" not in title
    assert 0 < len(alertmanager.dedup_key(notification)) <= 255


def test_a_body_without_firing_alerts_is_titled_by_its_own_title_else_the_group() -> None:
    assert alertmanager.title_of_body({"title": " Disk\nfull "}, parse_notification({})) == "Disk full"
    assert alertmanager.title_of_body({}, parse_notification({})) == "[FIRING] Alert"
    body = {"groupLabels": {"job": "node"}, "title": 3}
    assert alertmanager.title_of_body(body, parse_notification(body)) == "[FIRING] node"
