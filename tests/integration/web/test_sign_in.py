"""Signing in and out through the real app on both databases: the form's answers, the cookie's
flags, where the browser goes next (never another site), the throttle, several orgs behind one
password, session fixation, revocation taking effect at once, and CSRF on every unsafe route."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import settings_for
from tests.web.signed_in import CHEAP, PASSWORD, make_person, signed_in
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.domain.web_sessions import csrf_token
from tocsin.server.app import create_app
from tocsin.services.access import orgs
from tocsin.services.accounts import sessions
from tocsin.web.session import COOKIE

UNSAFE_ROUTES = ("/logout", "/profile/sign-out-everywhere")
NINETY_DAYS = 90 * 24 * 3600


def web_app(db_url: str, database: Database, **settings: object) -> FastAPI:
    app = create_app(settings_for(db_url, **settings), database=database)
    app.state.passwords = CHEAP  # real argon2id, cheap parameters
    return app


@pytest.fixture
def client(db_url: str, database: Database) -> Iterator[TestClient]:
    with TestClient(web_app(db_url, database), follow_redirects=False) as test_client:
        yield test_client


def new_org(database: Database, name: str | None = None) -> tuple[Tenant, str]:
    slug = f"web-{uuid.uuid4().hex[:10]}"
    with database.write() as session:
        org = orgs.create_org(session=session, slug=slug, name=name or slug, now=datetime.now(UTC))
    return Tenant(org.id, True), slug


def post_login(client: TestClient, email: str, password: str = PASSWORD, **more: str) -> httpx.Response:
    return client.post("/login", data={"email": email, "password": password, **more})


def session_of(response: httpx.Response) -> str:
    match = re.search(rf"{COOKIE}=([^;]+)", response.headers["set-cookie"])
    assert match is not None, response.headers.get("set-cookie")
    return match.group(1)


def home_with(client: TestClient, token: str) -> httpx.Response:
    client.cookies.clear()
    client.cookies.set(COOKIE, token)
    return client.get("/")


def test_signed_out_home_goes_to_the_sign_in_form(client: TestClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    form = client.get("/login")
    assert form.status_code == 200 and form.headers["cache-control"] == "no-store"
    assert '<label for="email">Email</label>' in form.text
    assert '<label for="password">Password</label>' in form.text
    assert ">Sign in</button>" in form.text
    assert 'name="csrf-token"' not in form.text  # nobody signed in: no token to hand out


def test_signing_in_sets_a_safe_cookie_and_lands_on_home(client: TestClient, database: Database) -> None:
    tenant, _ = new_org(database)
    _, email = make_person(database, tenant, name="Rosa Park")
    answer = post_login(client, email.upper())  # the email as people type it
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert f"Max-Age={NINETY_DAYS}" in cookie
    assert "Secure" not in cookie  # plain http base URL: a Secure cookie would never come back
    home = client.get("/")
    assert home.status_code == 200
    token = csrf_token(session_of(answer))
    assert f'<meta name="csrf-token" content="{token}">' in home.text
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in home.text
    assert "Rosa Park" in home.text and ">Sign out</button>" in home.text
    for link in ("Incidents", "On call", "Schedules", "Profile"):
        assert f">{link}</a>" in home.text
    assert client.get("/login").headers["location"] == "/"  # signed in already


def test_the_cookie_is_secure_behind_https(db_url: str, database: Database) -> None:
    app = web_app(db_url, database, base_url="https://oncall.example.com")
    tenant, _ = new_org(database)
    _, email = make_person(database, tenant)
    with TestClient(app, follow_redirects=False) as client:
        answer = post_login(client, email)
    assert answer.status_code == 303 and "Secure" in answer.headers["set-cookie"]


def test_an_unknown_email_and_a_wrong_password_get_the_same_answer(
    client: TestClient, database: Database
) -> None:
    tenant, _ = new_org(database)
    _, email = make_person(database, tenant)
    wrong = post_login(client, email, "not the password at all")
    unknown = post_login(client, f"nobody-{uuid.uuid4().hex[:8]}@example.com")
    for answer in (wrong, unknown):
        assert answer.status_code == 401 and "set-cookie" not in answer.headers
        assert "Email or password is incorrect." in answer.text
        assert PASSWORD not in answer.text and "not the password" not in answer.text


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"email": "", "password": PASSWORD}, "Enter your email address."),
        ({"email": "someone@example.com", "password": ""}, "Enter your password."),
        ({"password": PASSWORD}, "Enter your email address."),
    ],
)
def test_missing_fields_are_named(client: TestClient, form: dict[str, str], message: str) -> None:
    answer = client.post("/login", data=form)
    assert answer.status_code == 400 and message in answer.text and "set-cookie" not in answer.headers


@pytest.mark.parametrize(
    ("next_path", "lands"),
    [
        ("/incidents?status=open", "/incidents?status=open"),
        ("//evil.example/phish", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_only_leads_to_a_page_of_this_server(
    client: TestClient, database: Database, next_path: str, lands: str
) -> None:
    tenant, _ = new_org(database)
    _, email = make_person(database, tenant)
    answer = post_login(client, email, next=next_path)
    assert answer.status_code == 303 and answer.headers["location"] == lands


def test_the_form_keeps_next_for_after_sign_in(client: TestClient) -> None:
    form = client.get("/login", params={"next": "/incidents/7?x=1"})
    assert '<input type="hidden" name="next" value="/incidents/7?x=1">' in form.text
    hostile = client.get("/login", params={"next": "//evil.example"})
    assert 'name="next"' not in hostile.text


def test_guessing_is_throttled_per_account_even_with_the_right_password(
    db_url: str, database: Database
) -> None:
    tenant, _ = new_org(database)
    _, email = make_person(database, tenant)
    app = web_app(db_url, database, login_limit_account="2/15 minutes")
    with TestClient(app, follow_redirects=False) as client:
        assert [post_login(client, email, "wrong guess one").status_code for _ in range(2)] == [401, 401]
        refused = post_login(client, email)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "Too many sign-in attempts" in refused.text and "set-cookie" not in refused.headers
        other_tenant, _ = new_org(database)
        _, other = make_person(database, other_tenant)
        assert post_login(client, other).status_code == 303  # another account is not locked


def test_an_unreachable_throttle_store_refuses(db_url: str, database: Database) -> None:
    tenant, _ = new_org(database)
    _, email = make_person(database, tenant)
    app = web_app(db_url, database, redis_url="redis://127.0.0.1:1/0")
    with TestClient(app, follow_redirects=False) as client:
        refused = post_login(client, email)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
    assert "unavailable" in refused.text and "set-cookie" not in refused.headers


def test_one_password_in_two_orgs_asks_which(client: TestClient, database: Database) -> None:
    email = f"both-{uuid.uuid4().hex[:8]}@example.com"
    first, first_slug = new_org(database, "Acme Payments")
    second, second_slug = new_org(database, "Acme Logistics")
    make_person(database, first, email=email)
    make_person(database, second, email=email)
    asked = post_login(client, email)
    assert asked.status_code == 409 and "set-cookie" not in asked.headers
    assert "Acme Payments" in asked.text and "Acme Logistics" in asked.text
    assert f'value="{second_slug}"' in asked.text and f'value="{first_slug}"' in asked.text
    chosen = post_login(client, email, org=second_slug)
    assert chosen.status_code == 303
    assert "Acme Logistics" in home_with(client, session_of(chosen)).text


def test_a_planted_cookie_is_never_promoted_and_is_revoked(client: TestClient, database: Database) -> None:
    tenant, _ = new_org(database)
    person = signed_in(database, tenant)
    client.cookies.set(COOKIE, person.token)  # a session the browser had (or someone planted)
    answer = post_login(client, person.email)
    fresh = session_of(answer)
    assert fresh != person.token
    assert home_with(client, person.token).status_code == 303  # the replaced one ended
    assert home_with(client, fresh).status_code == 200


def test_a_revoked_session_is_refused_at_once(client: TestClient, database: Database) -> None:
    tenant, _ = new_org(database)
    person = signed_in(database, tenant)
    assert home_with(client, person.token).status_code == 200
    with database.write() as session:
        assert sessions.sign_out(session=session, token=person.token, now=datetime.now(UTC))
    assert home_with(client, person.token).headers["location"] == "/login"


def test_an_expired_session_is_refused(client: TestClient, database: Database) -> None:
    tenant, _ = new_org(database)
    _, email = make_person(database, tenant)
    long_ago = datetime.now(UTC) - timedelta(days=31)  # past the 30 idle days
    with database.write() as session:
        old = sessions.sign_in(session=session, email=email, password=PASSWORD, now=long_ago, passwords=CHEAP)
    assert home_with(client, old.token).headers["location"] == "/login"


def test_sign_out_ends_the_session_and_clears_the_cookie(client: TestClient, database: Database) -> None:
    tenant, _ = new_org(database)
    person = signed_in(database, tenant)
    client.cookies.set(COOKIE, person.token)
    answer = client.post("/logout", data={"csrf_token": person.csrf})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert f'{COOKIE}=""' in answer.headers["set-cookie"] and "Max-Age=0" in answer.headers["set-cookie"]
    assert home_with(client, person.token).status_code == 303


def test_sign_out_everywhere_ends_every_session_of_that_person_only(
    client: TestClient, database: Database
) -> None:
    tenant, _ = new_org(database)
    person = signed_in(database, tenant)
    with database.write() as session:
        phone = sessions.sign_in(
            session=session, email=person.email, password=PASSWORD, now=datetime.now(UTC), passwords=CHEAP
        )
    colleague = signed_in(database, tenant)
    client.cookies.set(COOKIE, person.token)
    answer = client.post("/profile/sign-out-everywhere", headers={"X-CSRF-Token": person.csrf})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert home_with(client, person.token).status_code == 303
    assert home_with(client, phone.token).status_code == 303
    assert home_with(client, colleague.token).status_code == 200


@pytest.mark.parametrize("path", UNSAFE_ROUTES)
def test_unsafe_routes_refuse_without_the_sessions_csrf_token(
    client: TestClient, database: Database, path: str
) -> None:
    tenant, _ = new_org(database)
    person = signed_in(database, tenant)
    other = signed_in(database, tenant)
    client.cookies.set(COOKIE, person.token)
    refusals = [
        client.post(path),
        client.post(path, data={"csrf_token": ""}),
        client.post(path, data={"csrf_token": "forged"}),
        client.post(path, data={"csrf_token": other.csrf}),  # another session's token
        client.post(path, headers={"X-CSRF-Token": other.csrf}),
        client.post(path, json={"csrf_token": person.csrf}),  # only a form field or the header count
    ]
    for refused in refusals:
        assert refused.status_code == 403 and "Form expired" in refused.text
        assert "nothing was changed" in refused.text and "set-cookie" not in refused.headers
    assert home_with(client, person.token).status_code == 200  # still signed in


@pytest.mark.parametrize("path", UNSAFE_ROUTES)
def test_unsafe_routes_send_the_signed_out_to_sign_in(client: TestClient, path: str) -> None:
    answer = client.post(path, data={"csrf_token": "anything"})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"


def test_test_mode_people_cannot_sign_in(client: TestClient, database: Database) -> None:
    tenant, _ = new_org(database)
    _, email = make_person(database, Tenant(tenant.org_id, False))
    assert post_login(client, email).status_code == 401
