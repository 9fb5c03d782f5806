"""Single sign-on against a real OpenID Connect provider (panva's oidc-provider under node, see
``tests/oidc``), on both databases: a verified email signs its owner in; an unverified one, an
unknown one and a forged ``state`` do not; a first login can create the person when configured."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import settings_for
from tests.integration.web.test_sign_in import new_org
from tests.oidc.provider import CLIENT_ID, CLIENT_SECRET, OidcProvider, running_provider
from tests.web.signed_in import CHEAP, make_person
from tocsin.db.session import Database
from tocsin.server.app import create_app
from tocsin.services.people import users
from tocsin.web.session import COOKIE

BASE = "http://testserver"
EMAIL = "sso-person@example.com"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    workdir: Path = tmp_path_factory.mktemp("oidc")
    with running_provider(workdir, f"{BASE}/login/sso/callback", EMAIL) as running:
        yield running


def sso_app(db_url: str, database: Database, provider: OidcProvider, org: str, **more: object) -> FastAPI:
    settings = settings_for(
        db_url,
        base_url=BASE,
        oidc_discovery_url=provider.discovery_url,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_provider_name="Example SSO",
        oidc_org=org,
        **more,
    )
    app = create_app(settings, database=database)
    app.state.passwords = CHEAP
    return app


def through_provider(
    client: TestClient, provider: OidcProvider, login: str, next_path: str = ""
) -> httpx.Response:
    started = client.get("/login/sso", params={"next": next_path} if next_path else None)
    assert started.status_code == 303 and started.headers["location"].startswith(provider.issuer)
    assert "code_challenge_method=S256" in started.headers["location"]
    assert "nonce=" in started.headers["location"] and "state=" in started.headers["location"]
    return client.get(provider.sign_in(started.headers["location"], login))


def test_a_verified_email_signs_its_owner_in(db_url: str, database: Database, provider: OidcProvider) -> None:
    tenant, slug = new_org(database)
    make_person(database, tenant, name="Sso Person", email=EMAIL)
    with TestClient(sso_app(db_url, database, provider, slug), follow_redirects=False) as client:
        form = client.get("/login")
        assert "Sign in with Example SSO" in form.text and 'href="/login/sso"' in form.text
        back = through_provider(client, provider, "verified", next_path="/oncall")
        assert back.status_code == 303 and back.headers["location"] == "/oncall", back.text
        assert f"{COOKIE}=" in back.headers["set-cookie"] and "HttpOnly" in back.headers["set-cookie"]
        home = client.get("/")
        assert home.status_code == 200 and "Hello, Sso Person" in home.text


def test_an_unverified_email_signs_nobody_in(db_url: str, database: Database, provider: OidcProvider) -> None:
    tenant, slug = new_org(database)
    make_person(database, tenant, email=EMAIL)
    with TestClient(sso_app(db_url, database, provider, slug), follow_redirects=False) as client:
        back = through_provider(client, provider, "unverified")
        assert back.status_code == 401 and "did not vouch for your email" in back.text
        assert f"{COOKIE}=" not in back.headers.get("set-cookie", "")
        assert client.get("/").status_code == 303


def test_an_unknown_email_is_refused_unless_first_logins_create(
    db_url: str, database: Database, provider: OidcProvider
) -> None:
    tenant, slug = new_org(database)
    with TestClient(sso_app(db_url, database, provider, slug), follow_redirects=False) as client:
        refused = through_provider(client, provider, "verified")
        assert refused.status_code == 403 and f"No Tocsin account here has the email {EMAIL}" in refused.text
    with TestClient(
        sso_app(db_url, database, provider, slug, oidc_create_role="observer"), follow_redirects=False
    ) as client:
        back = through_provider(client, provider, "verified")
        assert back.status_code == 303 and client.get("/").status_code == 200
    with database.read() as session:
        [created] = [u for u in users.list_users(session=session, tenant=tenant, limit=10, offset=0).items]
        assert (created.email, created.role, created.name) == (EMAIL, "observer", "Sso Person")


def test_a_forged_state_or_a_missing_flow_is_refused(
    db_url: str, database: Database, provider: OidcProvider
) -> None:
    tenant, slug = new_org(database)
    make_person(database, tenant, email=EMAIL)
    with TestClient(sso_app(db_url, database, provider, slug), follow_redirects=False) as client:
        started = client.get("/login/sso")
        callback = provider.sign_in(started.headers["location"], "verified")
        forged = client.get(callback.replace("state=", "state=x"))
        assert forged.status_code == 401 and "not started here" in forged.text
        client.cookies.clear()
        assert client.get(callback).status_code == 401  # no flow cookie: not this browser's


def test_without_settings_there_is_no_single_sign_on(client_without_sso: TestClient) -> None:
    assert "Sign in with" not in client_without_sso.get("/login").text
    assert client_without_sso.get("/login/sso").status_code == 404


@pytest.fixture
def client_without_sso(db_url: str, database: Database) -> Iterator[TestClient]:
    app = create_app(settings_for(db_url), database=database)
    with TestClient(app, follow_redirects=False) as client:
        yield client
