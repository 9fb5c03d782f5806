"""Role checks on action routes (``web.permissions.allowed``) through the real app on both
databases: an observer's POST to a responder action, and a responder's to an admin one, get a
403 page and change nothing; the CSRF check comes first. The routes here are the smallest ones
that use the dependency as the screens do, and record what reached them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from tests.integration.web.test_sign_in import new_org, web_app
from tests.web.signed_in import signed_in
from tocsin.db.session import Database
from tocsin.domain.roles import Action
from tocsin.services.accounts.sessions import SignedIn
from tocsin.web.permissions import allowed
from tocsin.web.session import COOKIE

Responder = Annotated[SignedIn, Depends(allowed(Action.RESPOND))]
Admin = Annotated[SignedIn, Depends(allowed(Action.MANAGE))]


@pytest.fixture
def reached() -> list[str]:
    return []


@pytest.fixture
def client(db_url: str, database: Database, reached: list[str]) -> Iterator[TestClient]:
    router = APIRouter()

    @router.post("/act/respond")
    async def respond(person: Responder) -> dict[str, str]:
        reached.append(f"respond:{person.role}")
        return {"ok": "yes"}

    @router.post("/act/manage")
    async def manage(person: Admin) -> dict[str, str]:
        reached.append(f"manage:{person.role}")
        return {"ok": "yes"}

    app = web_app(db_url, database)
    app.include_router(router)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("observer", "/act/respond", 403),
        ("observer", "/act/manage", 403),
        ("user", "/act/respond", 200),
        ("user", "/act/manage", 403),
        ("admin", "/act/manage", 200),
    ],
)
def test_each_role_reaches_only_its_actions(
    client: TestClient, database: Database, reached: list[str], role: str, path: str, status: int
) -> None:
    tenant, _ = new_org(database)
    person = signed_in(database, tenant, role=role)
    client.cookies.set(COOKIE, person.token)
    answer = client.post(path, data={"csrf_token": person.csrf})
    assert answer.status_code == status
    if status == 403:
        assert "Not allowed" in answer.text and "nothing was changed" in answer.text
        assert reached == []
    else:
        assert reached == [f"{path.rsplit('/', 1)[1]}:{role}"]


def test_the_csrf_check_comes_before_the_role(
    client: TestClient, database: Database, reached: list[str]
) -> None:
    tenant, _ = new_org(database)
    observer = signed_in(database, tenant, role="observer")
    client.cookies.set(COOKIE, observer.token)
    answer = client.post("/act/respond")
    assert answer.status_code == 403 and "Form expired" in answer.text and reached == []
