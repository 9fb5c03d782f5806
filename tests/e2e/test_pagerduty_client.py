"""PagerDuty's own Python client (``pagerduty.EventsApiV2Client``) against a live Tocsin.

The client takes ``base_url`` (default ``https://events.pagerduty.com``) and posts to
``{base_url}/v2/enqueue`` and ``{base_url}/v2/change/enqueue`` with the routing key in the body;
it refuses any base URL that is not ``https://``. So the server here is a real uvicorn with TLS
(a throwaway self-signed certificate made by ``openssl``), and the client trusts that certificate
through its ``verify`` argument (passed on to its HTTP client). Nothing else about it changes:
this is how a team points an existing integration at Tocsin."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pagerduty
import pytest
import uvicorn

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.db.session import Database

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate, key)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a TLS certificate for the https-only client")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def live_https_url(db_url: str, database: Database, certificate: tuple[Path, Path]) -> Iterator[str]:
    """A real uvicorn server with TLS in a thread, on the test database."""
    cert, key = certificate
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings_for(db_url), database=database),
        host="127.0.0.1",
        port=port,
        log_config=None,
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"https://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def events_client(live_https_url: str, certificate: tuple[Path, Path]) -> Iterator[Any]:
    """``make(routing_key)``: PagerDuty's client pointed at Tocsin, trusting the test certificate."""
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    made: list[pagerduty.EventsApiV2Client] = []

    def make(routing_key: str) -> pagerduty.EventsApiV2Client:
        client = pagerduty.EventsApiV2Client(
            routing_key, base_url=live_https_url, verify=trust, trust_env=False
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _incident(org: OrgHandle, dedup_key: str) -> dict[str, Any]:
    [incident] = [i for i in org.get("/api/incidents").json()["data"] if i["dedup_key"] == dedup_key]
    return dict(incident)


def test_trigger_acknowledge_resolve_with_pagerdutys_client(orgs: OrgFactory, events_client: Any) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    client = events_client(routing_key)

    dedup_key = client.trigger(
        "Checkout error rate above 5%",
        "checkout-api.prod",
        dedup_key="checkout-errors",
        severity="error",
        custom_details={"error_rate": "7.2%"},
        links=[{"href": "https://grafana.example/d/checkout", "text": "Dashboard"}],
        images=[{"src": "https://grafana.example/render/checkout.png"}],
    )
    assert dedup_key == "checkout-errors"
    incident = _incident(org, "checkout-errors")
    assert incident["status"] == "OPEN"
    assert incident["title"] == "Checkout error rate above 5%"
    assert incident["urgency"] == "HIGH"
    assert incident["source"] == "checkout-api.prod"
    assert incident["custom_details"] == {"error_rate": "7.2%"}
    assert incident["links"] == [{"href": "https://grafana.example/d/checkout", "text": "Dashboard"}]

    assert client.acknowledge("checkout-errors") == "checkout-errors"
    assert _incident(org, "checkout-errors")["status"] == "ACKNOWLEDGED"

    assert client.resolve("checkout-errors") == "checkout-errors"
    resolved = _incident(org, "checkout-errors")
    assert resolved["status"] == "RESOLVED"
    assert resolved["resolved_at"]
    timeline = org.get(f"/api/incidents/{resolved['id']}/timeline").json()["data"]
    assert [entry["type"] for entry in timeline] == ["triggered", "acknowledged", "resolved"]


def test_generated_dedup_key_and_resolving_the_unknown(orgs: OrgFactory, events_client: Any) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    client = events_client(routing_key)
    generated = client.trigger("Disk full on db-1", "db-1", severity="warning")
    assert _incident(org, generated)["urgency"] == "MEDIUM"
    assert client.resolve("never-triggered") == "never-triggered"  # 202, nothing to do
    assert client.resolve(generated) == generated
    assert _incident(org, generated)["status"] == "RESOLVED"


def test_change_events_with_pagerdutys_client(orgs: OrgFactory, events_client: Any) -> None:
    org = orgs.new()
    service_id, routing_key = org.make_service()
    client = events_client(routing_key)
    # ``submit`` needs an explicit timestamp: its default (``event_timestamp``) raises
    # AttributeError in pagerduty 7.2.0 (``datetime.timezone`` on the datetime class).
    client.submit(
        "Deployed checkout v2.3.1",
        source="ci",
        custom_details={"commit": "abc123"},
        links=[{"href": "https://ci.example/builds/42", "text": "Build 42"}],
        timestamp="2024-06-01T12:00:00Z",
    )
    client.send_change_event(payload={"summary": "Feature flag new-cart on", "source": "flags"})
    changes = org.get(f"/api/services/{service_id}/change-events").json()["data"]
    assert [c["summary"] for c in changes] == ["Feature flag new-cart on", "Deployed checkout v2.3.1"]
    assert changes[1]["timestamp"] == "2024-06-01T12:00:00Z"
    assert changes[1]["links"] == [{"href": "https://ci.example/builds/42", "text": "Build 42"}]
    assert org.get("/api/incidents").json()["data"] == []


def test_unknown_routing_key_reaches_the_client_as_pagerdutys_400(events_client: Any) -> None:
    client = events_client("R0000000000000000000000000000000")
    with pytest.raises(pagerduty.HttpError) as raised:
        client.trigger("x", "y")
    assert raised.value.response is not None
    assert raised.value.response.status_code == 400
    assert raised.value.response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["Invalid routing key"],
    }
