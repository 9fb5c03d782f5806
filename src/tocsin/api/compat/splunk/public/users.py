"""Splunk On-Call users, found by username: the v1 list and one user, a user's teams, and the v2
list (optionally by email). The v1 list's ``users`` is a list holding one list of users (the
official spec's and go-victorops' ``[][]User``); v2's is a flat list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tocsin.api.compat.splunk.public import render
from tocsin.api.compat.splunk.public.common import PUBLIC, invalid
from tocsin.api.deps import Db, UsersRead
from tocsin.services.people import directory, handles

router = APIRouter(prefix=PUBLIC)


@router.get("/v1/user", summary="Users (Splunk On-Call v1)")
def list_users(key: UsersRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        found = directory.users(session=session, tenant=key.tenant)
        # A list inside a list, as Splunk's spec and its Go client (``Users [][]User``) have it.
        return {"_selfUrl": render.V1 + "/user", "users": [[render.v1_user(user) for user in found]]}


@router.get("/v1/user/{user}", summary="One user (Splunk On-Call v1)")
def get_user(user: str, key: UsersRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        return render.v1_user(handles.user_by_username(session=session, tenant=key.tenant, username=user))


@router.get("/v1/user/{user}/teams", summary="A user's teams (Splunk On-Call v1)")
def user_teams(user: str, key: UsersRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        found = handles.user_by_username(session=session, tenant=key.tenant, username=user)
        teams = directory.teams_of_user(session=session, tenant=key.tenant, user_id=found.id)
        return {"teams": [render.team_detail(team) for team in teams]}


@router.get("/v2/user", summary="Users, optionally by email (Splunk On-Call v2)")
def list_users_v2(key: UsersRead, db: Db, email: str | None = None) -> dict[str, Any]:
    if email is not None and (not email.strip() or len(email) > 320):
        raise invalid("email", "email must be an email address")
    with db.read() as session:
        found = directory.users(session=session, tenant=key.tenant, email=email)
        return {"users": [render.v2_user(user) for user in found]}
