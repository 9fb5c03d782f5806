"""The real Alertmanager binary notifying a live Tocsin through four of its own receivers: the
webhook (Grafana OnCall's ``/integrations/v1/alertmanager/{token}/``), PagerDuty Events v2,
Opsgenie and VictorOps. Each receiver is built from the ``config_snippet`` Tocsin shows for its
integration, so the snippets are proved against Alertmanager's own config parser and notifiers.

Alerts go in through Alertmanager's API (``POST /api/v2/alerts``) and are read back from Tocsin's
API: each alert group opens one incident per service (two alerts in one group are one incident),
severities map to urgency, and ``endsAt`` in the past resolves them all. The second test squeezes
the per-integration alert limit until Alertmanager is refused with 429, and shows that it retries
and nothing is lost.

Needs ``prometheus-alertmanager`` (``.ci/run`` installs the Debian package)."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml  # PyYAML comes with uvicorn[standard]

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.db.session import Database

pytestmark = pytest.mark.e2e

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
needs_alertmanager = pytest.mark.skipif(
    BINARY is None,
    reason="the Alertmanager binary is not installed (apt-get install prometheus-alertmanager; .ci/run does)",
)
DEADLINE = 90.0  # seconds; generous, the checks poll and finish as soon as Tocsin has the answer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _tocsin(db_url: str, database: Database, **settings: object) -> Iterator[str]:
    """A live uvicorn server in a thread on the test database, its public URL its own address."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(settings_for(db_url, base_url=url, **settings), database=database)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "tocsin did not start"
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Alertmanager:
    url: str
    log: Path

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        response = httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=10)
        assert response.status_code == 200, response.text

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def metric(self, name: str, **labels: str) -> float:
        """One sample of Alertmanager's own ``/metrics``; 0 when the series does not exist yet."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
        for line in text.splitlines():
            if line.startswith(f"{name}{{{wanted}}} ") or (not labels and line.startswith(f"{name} ")):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


@contextmanager
def _alertmanager(tmp_path: Path, config: dict[str, Any]) -> Iterator[Alertmanager]:
    """The real binary on a free port, clustering off, state in ``tmp_path``."""
    assert BINARY is not None
    port = _free_port()
    config_file = tmp_path / "alertmanager.yml"
    config_file.write_text(json.dumps(config, indent=2))  # JSON is YAML
    log = tmp_path / "alertmanager.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [
                BINARY,
                f"--config.file={config_file}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                "--log.level=info",
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"alertmanager exited with {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"alertmanager not ready:\n{log.read_text()}"
            time.sleep(0.1)
        yield Alertmanager(url, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _service_with(org: OrgHandle, tocsin_url: str, name: str, integration_type: str) -> tuple[str, str]:
    """A service with one integration of ``integration_type``, made through the live server's API;
    returns (service id, the integration's config snippet)."""
    response = httpx.post(
        f"{tocsin_url}/api/services",
        headers=org.headers(),
        json={"name": name, "integrations": [{"type": integration_type}]},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    service = response.json()["data"]
    [integration] = service["integrations"]
    assert integration["url"].startswith(tocsin_url + "/")
    return service["id"], integration["config_snippet"]


def _receiver(name: str, snippet: str, **overrides: str) -> dict[str, Any]:
    """The Alertmanager receiver in a snippet's first block, renamed, with extra notifier fields."""
    [receiver] = yaml.safe_load(snippet.split("\n\n")[0])["receivers"]
    [(kind, [notifier])] = [(key, value) for key, value in receiver.items() if key != "name"]
    return {"name": name, kind: [{**notifier, **overrides}]}


def _config(receivers: list[dict[str, Any]]) -> dict[str, Any]:
    """Every alert to every receiver (``continue: true``), grouped by alert name, flushed fast."""
    return {
        "global": {"resolve_timeout": "30s"},
        "route": {
            "receiver": "nobody",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
            "routes": [{"receiver": receiver["name"], "continue": True} for receiver in receivers],
        },
        "receivers": [{"name": "nobody"}, *receivers],
    }


def _alert(name: str, instance: str, severity: str, starts: datetime, ends: datetime) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, "instance": instance, "severity": severity, "job": "node"},
        "annotations": {"description": f"{name} on {instance}"},
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
        "endsAt": ends.isoformat().replace("+00:00", "Z"),
        "generatorURL": "http://prometheus.example.com/graph",
    }


def _incidents(tocsin_url: str, org: OrgHandle, service_ids: list[str]) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{tocsin_url}/api/incidents",
        headers=org.headers(),
        params={"service_id": ",".join(service_ids), "limit": 100},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def _wait_for(what: str, check: Callable[[], Any], am: Alertmanager) -> Any:
    """Poll ``check`` until it returns something truthy; fail with Alertmanager's log if it never does."""
    deadline = time.monotonic() + DEADLINE
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}; last seen: {last!r}\nalertmanager log:\n{am.log_text()}")


def _summary(incidents: list[dict[str, Any]], names: dict[str, str]) -> dict[tuple[str, str], list[str]]:
    """(service, alert name) -> [(status, urgency) per incident], to compare in one assert."""
    found: dict[tuple[str, str], list[str]] = {}
    for incident in incidents:
        alert = next((a for a in ("DiskFull", "HighLatency", "QueueBacklog") if a in incident["title"]), "?")
        key = (names[incident["service_id"]], alert)
        found.setdefault(key, []).append(f"{incident['status']} {incident['urgency']}")
    return found


@needs_alertmanager
def test_alertmanager_receivers_open_group_and_resolve_incidents(
    db_url: str, database: Database, orgs: OrgFactory, tmp_path: Path
) -> None:
    org = orgs.new()
    with _tocsin(db_url, database) as tocsin_url:
        webhook_id, webhook = _service_with(org, tocsin_url, "Via webhook", "alertmanager")
        pagerduty_id, pagerduty = _service_with(org, tocsin_url, "Via PagerDuty", "events_api_v2")
        opsgenie_id, opsgenie = _service_with(org, tocsin_url, "Via Opsgenie", "opsgenie")
        victorops_id, victorops = _service_with(org, tocsin_url, "Via VictorOps", "victorops")
        names = {
            webhook_id: "webhook",
            pagerduty_id: "pagerduty",
            opsgenie_id: "opsgenie",
            victorops_id: "victorops",
        }
        critical = '{{ if eq .CommonLabels.severity "critical" }}'
        receivers = [
            _receiver("tocsin-webhook", webhook),
            # The snippets as shown, plus the severity mapping a real config would add.
            _receiver("tocsin-pagerduty", pagerduty, severity="{{ .CommonLabels.severity }}"),
            _receiver("tocsin-opsgenie", opsgenie, priority=critical + "P1{{ else }}P3{{ end }}"),
            _receiver(
                "tocsin-victorops", victorops, message_type=critical + "CRITICAL{{ else }}WARNING{{ end }}"
            ),
        ]
        assert [list(r)[1] for r in receivers] == [
            "webhook_configs",
            "pagerduty_configs",
            "opsgenie_configs",
            "victorops_configs",
        ]
        with _alertmanager(tmp_path, _config(receivers)) as am:
            now = datetime.now(UTC)
            later = now + timedelta(hours=1)
            firing = [
                # Two alerts in one group (same alertname): one incident per service.
                _alert("DiskFull", "db-01", "critical", now, later),
                _alert("DiskFull", "db-02", "critical", now, later),
                _alert("HighLatency", "api-01", "warning", now, later),
            ]
            am.post_alerts(firing)
            expected_open = {
                (service, alert): [f"OPEN {urgency}"]
                for service in names.values()
                for alert, urgency in (("DiskFull", "HIGH"), ("HighLatency", "MEDIUM"))
            }

            def opened() -> Any:
                found = _summary(_incidents(tocsin_url, org, list(names)), names)
                return found if found == expected_open else None

            _wait_for("one open incident per alert group on each service", opened, am)
            incidents = _incidents(tocsin_url, org, list(names))
            disk = next(i for i in incidents if i["service_id"] == webhook_id and "DiskFull" in i["title"])
            assert disk["title"].startswith("[FIRING:2] DiskFull")  # both alerts, one incident
            assert all(i["dedup_key"] for i in incidents)

            # endsAt in the past: Alertmanager sends "resolved" through every receiver.
            past = datetime.now(UTC) - timedelta(seconds=1)
            am.post_alerts([{**alert, "endsAt": past.isoformat().replace("+00:00", "Z")} for alert in firing])
            expected_resolved = {
                key: [state.replace("OPEN", "RESOLVED") for state in states]
                for key, states in expected_open.items()
            }

            def resolved() -> Any:
                found = _summary(_incidents(tocsin_url, org, list(names)), names)
                return found if found == expected_resolved else None

            _wait_for("every incident resolved", resolved, am)
            assert sorted(i["id"] for i in _incidents(tocsin_url, org, list(names))) == sorted(
                i["id"] for i in incidents
            )
            for integration in ("webhook", "pagerduty", "opsgenie", "victorops"):
                assert am.metric("alertmanager_notifications_failed_total", integration=integration) == 0


@needs_alertmanager
def test_a_rate_limited_alertmanager_retries_and_loses_nothing(
    db_url: str, database: Database, orgs: OrgFactory, tmp_path: Path
) -> None:
    """One alert per integration every two seconds: three groups flushed at once get 429s, which
    the PagerDuty receiver retries with backoff and the webhook receiver at its next flush."""
    org = orgs.new()
    with _tocsin(db_url, database, ratelimit_integration="1/2 seconds") as tocsin_url:
        webhook_id, webhook = _service_with(org, tocsin_url, "Limited webhook", "alertmanager")
        pagerduty_id, pagerduty = _service_with(org, tocsin_url, "Limited PagerDuty", "events_api_v2")
        names = {webhook_id: "webhook", pagerduty_id: "pagerduty"}
        receivers = [_receiver("tocsin-webhook", webhook), _receiver("tocsin-pagerduty", pagerduty)]
        with _alertmanager(tmp_path, _config(receivers)) as am:
            now = datetime.now(UTC)
            later = now + timedelta(hours=1)
            am.post_alerts(
                [
                    _alert("DiskFull", "db-01", "critical", now, later),
                    _alert("HighLatency", "api-01", "critical", now, later),
                    _alert("QueueBacklog", "mq-01", "critical", now, later),
                ]
            )
            expected = {
                (service, alert): ["OPEN HIGH"]
                for service in names.values()
                for alert in ("DiskFull", "HighLatency", "QueueBacklog")
            }

            def all_three() -> Any:
                found = _summary(_incidents(tocsin_url, org, list(names)), names)
                return found if found == expected else None

            _wait_for("all three incidents on both services despite the limit", all_three, am)
            log = am.log_text()
            for receiver in ("tocsin-webhook", "tocsin-pagerduty"):
                refused = [line for line in log.splitlines() if receiver in line and "429" in line]
                assert refused, f"{receiver} was never refused with 429:\n{log}"
            for integration in ("webhook", "pagerduty"):
                failed = am.metric("alertmanager_notification_requests_failed_total", integration=integration)
                assert failed >= 1, integration
            # PagerDuty's receiver retried within the same flush until Tocsin took the event.
            retried = re.findall(r'receiver=tocsin-pagerduty .*msg="Notify success" attempts=(\d+)', log)
            assert retried and max(int(n) for n in retried) >= 2, log
