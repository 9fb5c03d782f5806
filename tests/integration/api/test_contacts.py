"""Contact methods and notification rules under /api/users/{id}, the plan the engine pages people
by (``contacts.plan_for``), and service channels under /api/services/{id}/channels: CRUD, address
checks per type, duplicates, self-service keys, scopes, tenancy and modes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tests.factories.errors import expect_error as _error
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.services.people.contacts import PlannedContact, plan_for


def _methods(user: str) -> str:
    return f"/api/users/{user}/contact-methods"


def _rules(user: str) -> str:
    return f"/api/users/{user}/notification-rules"


def _method(
    org: OrgHandle, user: str, type: str = "email", address: str = "alice@example.com", **extra: Any
) -> dict[str, Any]:
    response = org.post(_methods(user), json={"type": type, "address": address, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _rule(org: OrgHandle, user: str, method: str, urgency: str = "high", delay: int = 0) -> dict[str, Any]:
    body = {"contact_method_id": method, "urgency": urgency, "delay_minutes": delay}
    response = org.post(_rules(user), json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


# --- contact methods -------------------------------------------------------------------------------


def test_contact_method_crud(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user("Alice")
    created = _method(org, alice, "email", " Alice.Smith+pager@Example.COM ", label=" Work ")
    assert created["id"].startswith("cm_")
    assert {k: v for k, v in created.items() if k not in ("id", "created_at", "updated_at")} == {
        "user_id": alice,
        "type": "email",
        "address": "Alice.Smith+pager@example.com",
        "label": "Work",
        "livemode": True,
        # Email, SMS and voice start unverified until a code sent to them comes back.
        "verified": False,
        "verified_at": None,
    }
    assert created["created_at"].endswith("Z") and created["created_at"] == created["updated_at"]
    path = f"{_methods(alice)}/{created['id']}"
    assert org.get(path).json() == {"data": created}

    others = [
        _method(org, alice, "sms", "+1 (415) 555-0123"),
        _method(org, alice, "voice", "+4930123456"),
        _method(org, alice, "push", "alice_pager-1"),
        _method(org, alice, "slack", "https://hooks.slack.com/services/T0/B0/xyz"),
        _method(org, alice, "teams", "https://example.webhook.office.com/webhookb2/abc?x=1"),
        _method(org, alice, "webhook", "http://pager.internal:8080/hook"),
    ]
    assert others[0]["address"] == "+14155550123"
    # Push topics and chat or webhook URLs need no code: verified when added.
    assert [m["verified"] for m in others] == [False, False, True, True, True, True]
    assert all(m["verified_at"] == m["created_at"] for m in others[2:])
    assert others[0]["label"] is None
    listed = org.get(_methods(alice)).json()
    assert [m["id"] for m in listed["data"]] == [created["id"]] + [m["id"] for m in others]
    assert listed["pagination"] == {"total": 7, "limit": 25, "offset": 0, "has_more": False}
    page = org.get(_methods(alice), params={"limit": 2, "offset": 6}).json()
    assert _ids_of(page) == [others[-1]["id"]] and page["pagination"]["has_more"] is False
    _error(org.get(_methods(alice), params={"limit": 1000}), 400, "VALIDATION_ERROR")

    patched = org.patch(path, json={"label": None})
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["label"] is None and patched.json()["data"]["address"] == created["address"]
    # Changing the type needs an address valid for it: the stored email is not a phone number.
    error = _error(org.patch(path, json={"type": "sms"}), 400, "VALIDATION_ERROR")
    assert error["details"] == {"field": "address", "reason": "invalid"}
    changed = org.patch(path, json={"type": "sms", "address": "+442071838750", "label": "Mobile"})
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()["data"][k] for k in ("type", "address", "label")} == {
        "type": "sms",
        "address": "+442071838750",
        "label": "Mobile",
    }
    assert org.get(path).json()["data"] == changed.json()["data"]

    assert org.delete(path).status_code == 204
    _error(org.get(path), 404, "NOT_FOUND")
    _error(org.delete(path), 404, "NOT_FOUND")
    _error(org.patch(path, json={"label": "x"}), 404, "NOT_FOUND")
    assert org.get(_methods(alice)).json()["pagination"]["total"] == 6


def _ids_of(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["data"]]


BAD_METHODS: list[tuple[dict[str, Any], str, str]] = [
    ({"type": "email", "address": "alice"}, "address", "invalid"),
    ({"type": "email", "address": "alice@localhost"}, "address", "invalid"),
    ({"type": "email", "address": "al ice@example.com"}, "address", "invalid"),
    ({"type": "email", "address": "alice@@example.com"}, "address", "invalid"),
    ({"type": "email", "address": "alice@exa_mple.com"}, "address", "invalid"),
    ({"type": "email", "address": ".alice@example.com"}, "address", "invalid"),
    ({"type": "email", "address": "a" * 64 + "@" + "b" * 60 + "." + ("c" * 60 + ".") * 4 + "com"}, "address", "invalid"),
    ({"type": "email", "address": "a" * 65 + "@example.com"}, "address", "invalid"),
    ({"type": "email", "address": "   "}, "address", "required"),
    ({"type": "sms", "address": "4155550123"}, "address", "invalid"),
    ({"type": "sms", "address": "+1234567"}, "address", "invalid"),
    ({"type": "sms", "address": "+1234567890123456"}, "address", "invalid"),
    ({"type": "sms", "address": "+0415555012"}, "address", "invalid"),
    ({"type": "voice", "address": "+1-800-FLOWERS"}, "address", "invalid"),
    ({"type": "push", "address": "my topic"}, "address", "invalid"),
    ({"type": "push", "address": "t" * 65}, "address", "invalid"),
    ({"type": "push", "address": "topic/../x"}, "address", "invalid"),
    ({"type": "slack", "address": "hooks.slack.com/services/x"}, "address", "scheme"),
    ({"type": "slack", "address": "ftp://hooks.example.com/x"}, "address", "scheme"),
    ({"type": "webhook", "address": "javascript:alert(1)"}, "address", "scheme"),
    ({"type": "webhook", "address": "https://user:secret@hooks.example.com/x"}, "address", "credentials"),
    ({"type": "webhook", "address": "https://token@hooks.example.com/x"}, "address", "credentials"),
    ({"type": "teams", "address": "https://"}, "address", "invalid"),
    ({"type": "teams", "address": "https://hooks.example.com:99999/x"}, "address", "invalid"),
    ({"type": "teams", "address": "https://hooks.example.com/a b"}, "address", "invalid"),
    ({"type": "webhook", "address": "https://hooks.example.com/" + "x" * 2048}, "address", "too_long"),
    ({"type": "pager", "address": "x"}, "type", "invalid"),
    ({"address": "alice@example.com"}, "type", "required"),
    ({"type": "email"}, "address", "required"),
    ({"type": "email", "address": 42}, "address", "string_type"),
    ({"type": "email", "address": "alice@example.com", "label": "x" * 201}, "label", "string_too_long"),
    ({"type": "email", "address": "alice@example.com", "user_id": "usr_x"}, "user_id", "unknown_field"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "field", "reason"), BAD_METHODS)
def test_bad_contact_methods_are_400(orgs: OrgFactory, body: dict[str, Any], field: str, reason: str) -> None:
    org = orgs.new()
    alice = org.make_user()
    error = _error(org.post(_methods(alice), json=body), 400, "VALIDATION_ERROR")
    assert error["details"] == {"field": field, "reason": reason}, error
    assert org.get(_methods(alice)).json()["data"] == []
    if field not in body:  # a missing field is fine in a PATCH
        return
    # The same values are refused on update, which then changes nothing.
    method = _method(org, alice)
    error = _error(org.patch(f"{_methods(alice)}/{method['id']}", json=body), 400, "VALIDATION_ERROR")
    assert error["details"]["field"] == field, error
    assert org.get(_methods(alice)).json()["data"] == [method]


def test_the_same_method_twice_is_a_conflict(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice, bob = org.make_user(), org.make_user()
    first = _method(org, alice, "sms", "+14155550123")
    error = _error(
        org.post(_methods(alice), json={"type": "sms", "address": "+1 415 555 0123"}), 409, "CONFLICT"
    )
    assert error["details"] == {"field": "address", "contact_method_id": first["id"]}
    # Another type, or another user, may use the same address.
    voice = _method(org, alice, "voice", "+14155550123")
    _method(org, bob, "sms", "+14155550123")
    _error(org.patch(f"{_methods(alice)}/{voice['id']}", json={"type": "sms"}), 409, "CONFLICT")
    assert org.get(f"{_methods(alice)}/{voice['id']}").json()["data"] == voice


# --- notification rules ----------------------------------------------------------------------------


def test_notification_rule_crud_and_conflicts(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user()
    email = _method(org, alice)
    sms = _method(org, alice, "sms", "+14155550123")
    later = _rule(org, alice, sms["id"], "high", 5)
    assert later["id"].startswith("nr_")
    assert {k: v for k, v in later.items() if k not in ("id", "created_at")} == {
        "user_id": alice,
        "contact_method_id": sms["id"],
        "urgency": "high",
        "delay_minutes": 5,
        "livemode": True,
    }
    now = _rule(org, alice, email["id"], "high", 0)
    low = _rule(org, alice, email["id"], "low", 0)
    defaulted = org.post(_rules(alice), json={"contact_method_id": sms["id"], "urgency": "low"})
    assert defaulted.status_code == 201 and defaulted.json()["data"]["delay_minutes"] == 0
    listed = org.get(_rules(alice)).json()
    assert _ids_of(listed) == [now["id"], later["id"], low["id"], defaulted.json()["data"]["id"]]
    assert listed["pagination"]["total"] == 4
    _error(org.get(_rules(alice), params={"limit": 1000}), 400, "VALIDATION_ERROR")
    path = f"{_rules(alice)}/{later['id']}"
    assert org.get(path).json() == {"data": later}

    # The same method, urgency and delay twice is a conflict, on create and on update.
    error = _error(
        org.post(_rules(alice), json={"contact_method_id": sms["id"], "urgency": "high", "delay_minutes": 5}),
        409,
        "CONFLICT",
    )
    assert error["details"] == {"notification_rule_id": later["id"]}
    _error(org.patch(path, json={"contact_method_id": email["id"], "delay_minutes": 0}), 409, "CONFLICT")
    assert org.get(path).json()["data"] == later
    moved = org.patch(path, json={"urgency": "low", "delay_minutes": 1440})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["data"]["urgency"], moved.json()["data"]["delay_minutes"]) == ("low", 1440)
    assert org.patch(path, json={}).json()["data"] == moved.json()["data"]

    assert org.delete(path).status_code == 204
    _error(org.get(path), 404, "NOT_FOUND")
    # Deleting a contact method deletes its rules.
    assert org.delete(f"{_methods(alice)}/{email['id']}").status_code == 204
    assert _ids(org.get(_rules(alice))) == [defaulted.json()["data"]["id"]]
    _error(org.get(f"{_rules(alice)}/{now['id']}"), 404, "NOT_FOUND")


BAD_RULES: list[tuple[dict[str, Any], str, str]] = [
    ({"contact_method_id": "cm_nope"}, "contact_method_id", "not_found"),
    ({"contact_method_id": "{bobs}"}, "contact_method_id", "not_found"),
    ({"contact_method_id": None}, "contact_method_id", "string_type"),
    ({"urgency": "HIGH"}, "urgency", "invalid"),
    ({"urgency": "medium"}, "urgency", "invalid"),
    ({"delay_minutes": -1}, "delay_minutes", "range"),
    ({"delay_minutes": 1441}, "delay_minutes", "range"),
    ({"delay_minutes": "5"}, "delay_minutes", "int_type"),
    ({"delay_minutes": True}, "delay_minutes", "int_type"),
    ({"delay_minutes": 2.5}, "delay_minutes", "int_type"),
    ({"channel": "sms"}, "channel", "unknown_field"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "field", "reason"), BAD_RULES)
def test_bad_notification_rules_are_400(
    orgs: OrgFactory, change: dict[str, Any], field: str, reason: str
) -> None:
    org = orgs.new()
    alice, bob = org.make_user(), org.make_user()
    mine = _method(org, alice)
    bobs = _method(org, bob)
    body = {"contact_method_id": mine["id"], "urgency": "high", "delay_minutes": 0, **change}
    if body["contact_method_id"] == "{bobs}":
        body["contact_method_id"] = bobs["id"]
    error = _error(org.post(_rules(alice), json=body), 400, "VALIDATION_ERROR")
    assert error["details"] == {"field": field, "reason": reason}, error
    assert org.get(_rules(alice)).json()["data"] == []
    rule = _rule(org, alice, mine["id"], "low", 3)
    patch = {name: body[name] for name in change}
    error = _error(org.patch(f"{_rules(alice)}/{rule['id']}", json=patch), 400, "VALIDATION_ERROR")
    assert error["details"]["field"] == field
    assert org.get(_rules(alice)).json()["data"] == [rule]


def test_missing_rule_fields(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user()
    method = _method(org, alice)
    for body, field in (
        ({"urgency": "high"}, "contact_method_id"),
        ({"contact_method_id": method["id"]}, "urgency"),
    ):
        assert _error(org.post(_rules(alice), json=body), 400, "VALIDATION_ERROR")["details"] == {
            "field": field,
            "reason": "required",
        }
    rule = _rule(org, alice, method["id"])
    for body, field in (({"urgency": None}, "urgency"), ({"delay_minutes": None}, "delay_minutes")):
        error = _error(org.patch(f"{_rules(alice)}/{rule['id']}", json=body), 400, "VALIDATION_ERROR")
        assert error["details"]["field"] == field


# --- who may touch whose contacts --------------------------------------------------------------------


def test_a_user_key_manages_its_own_contacts(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice, bob = org.make_user("Alice"), org.make_user("Bob")
    bobs = _method(org, bob, address="bob@example.com")
    own = org.make_key(["incidents:write"], user_id=alice)
    created = org.post(_methods(alice), json={"type": "push", "address": "alice"}, key=own)
    assert created.status_code == 201, created.text
    method = created.json()["data"]
    rule = org.post(_rules(alice), json={"contact_method_id": method["id"], "urgency": "high"}, key=own)
    assert rule.status_code == 201, rule.text
    assert _ids(org.get(_methods(alice), key=own)) == [method["id"]]
    assert _ids(org.get(_rules(alice), key=own)) == [rule.json()["data"]["id"]]
    assert org.patch(f"{_methods(alice)}/{method['id']}", json={"label": "Phone"}, key=own).status_code == 200
    assert (
        org.patch(
            f"{_rules(alice)}/{rule.json()['data']['id']}", json={"delay_minutes": 2}, key=own
        ).status_code
        == 200
    )
    # Someone else's are out of reach without the users scopes.
    for method_name, path, body in (
        ("GET", _methods(bob), None),
        ("GET", f"{_methods(bob)}/{bobs['id']}", None),
        ("POST", _methods(bob), {"type": "push", "address": "bob"}),
        ("DELETE", f"{_methods(bob)}/{bobs['id']}", None),
        ("GET", _rules(bob), None),
        ("POST", _rules(bob), {"contact_method_id": bobs["id"], "urgency": "high"}),
    ):
        error = _error(org.request(method_name, path, json=body, key=own), 403, "FORBIDDEN")
        assert error["details"]["required_scope"] in ("users:read", "users:write")
    # Nor can a user hang a rule on someone else's method under their own name.
    error = _error(
        org.post(_rules(alice), json={"contact_method_id": bobs["id"], "urgency": "high"}, key=own),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"] == {"field": "contact_method_id", "reason": "not_found"}
    assert org.delete(f"{_methods(alice)}/{method['id']}", key=own).status_code == 204
    assert org.get(_methods(bob)).json()["data"] == [bobs]
    assert org.get(_rules(bob)).json()["data"] == []


def test_scopes(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice, bob = org.make_user(), org.make_user()
    method = _method(org, alice)
    reader = org.make_key(["users:read"])
    assert _ids(org.get(_methods(alice), key=reader)) == [method["id"]]
    assert org.get(f"{_methods(alice)}/{method['id']}", key=reader).status_code == 200
    assert org.get(_rules(alice), key=reader).status_code == 200
    _error(org.post(_methods(alice), json={"type": "push", "address": "x"}, key=reader), 403, "FORBIDDEN")
    _error(org.delete(f"{_methods(alice)}/{method['id']}", key=reader), 403, "FORBIDDEN")
    # A read-only key stays read-only even for its own user.
    own_reader = org.make_key(["incidents:read"], user_id=bob)
    assert org.get(_methods(bob), key=own_reader).status_code == 200
    _error(org.post(_methods(bob), json={"type": "push", "address": "x"}, key=own_reader), 403, "FORBIDDEN")
    mixed = org.make_key(["users:read", "services:write"])
    error = _error(
        org.post(_methods(alice), json={"type": "push", "address": "x"}, key=mixed), 403, "FORBIDDEN"
    )
    assert error["details"] == {"required_scope": "users:write"}
    _error(org.patch(f"{_methods(alice)}/{method['id']}", json={"label": "x"}, key=mixed), 403, "FORBIDDEN")
    other = org.make_key(["services:read"])
    assert _error(org.get(_methods(alice), key=other), 403, "FORBIDDEN")["details"] == {
        "required_scope": "users:read"
    }
    writer = org.make_key(["users:write"])
    assert org.post(_methods(bob), json={"type": "push", "address": "bob"}, key=writer).status_code == 201
    assert org.get(_methods(alice)).json()["data"] == [method]


def test_other_orgs_and_unknown_users_are_404(orgs: OrgFactory) -> None:
    mine, theirs = orgs.new(), orgs.new()
    me = mine.make_user()
    my_method = _method(mine, me)
    them = theirs.make_user()
    their_method = _method(theirs, them)
    their_rule = _rule(theirs, them, their_method["id"])
    for user, method, rule in (
        (them, their_method["id"], their_rule["id"]),  # another org's user
        ("usr_nope", "cm_nope", "nr_nope"),  # nobody
        (me, their_method["id"], their_rule["id"]),  # my user, their records
    ):
        for verb, path, body in (
            ("GET", _methods(user), None),
            ("POST", _methods(user), {"type": "push", "address": "x"}),
            ("GET", f"{_methods(user)}/{method}", None),
            ("PATCH", f"{_methods(user)}/{method}", {"label": "x"}),
            ("DELETE", f"{_methods(user)}/{method}", None),
            ("GET", _rules(user), None),
            ("POST", _rules(user), {"contact_method_id": my_method["id"], "urgency": "low"}),
            ("GET", f"{_rules(user)}/{rule}", None),
            ("PATCH", f"{_rules(user)}/{rule}", {"delay_minutes": 1}),
            ("DELETE", f"{_rules(user)}/{rule}", None),
        ):
            if user == me and path in (_methods(me), _rules(me)):
                continue
            _error(mine.request(verb, path, json=body), 404, "NOT_FOUND")
    # Their method under my user is a field error when named in a rule, not a leak.
    error = _error(
        mine.post(_rules(me), json={"contact_method_id": their_method["id"], "urgency": "high"}),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"] == {"field": "contact_method_id", "reason": "not_found"}
    assert theirs.get(_methods(them)).json()["data"] == [their_method]
    assert theirs.get(_rules(them)).json()["data"] == [their_rule]
    assert mine.get(_rules(me)).json()["data"] == []


def test_deleting_a_user_deletes_their_contacts(orgs: OrgFactory, database: Database) -> None:
    org = orgs.new()
    alice = org.make_user()
    method = _method(org, alice)
    _rule(org, alice, method["id"])
    assert org.delete(f"/api/users/{alice}").status_code == 204
    _error(org.get(_methods(alice)), 404, "NOT_FOUND")
    with database.read() as session:
        assert plan_for(session=session, tenant=org.tenant, user_ids=[alice], urgency="HIGH") == {}


def test_modes_are_separate(orgs: OrgFactory) -> None:
    live = orgs.new()
    test = live.test_mode()
    live_user = live.make_user()
    live_method = _method(live, live_user)
    _error(test.get(_methods(live_user)), 404, "NOT_FOUND")
    _error(test.get(f"{_methods(live_user)}/{live_method['id']}"), 404, "NOT_FOUND")
    _error(test.post(_methods(live_user), json={"type": "push", "address": "x"}), 404, "NOT_FOUND")
    test_user = test.make_user()
    sandbox = _method(test, test_user)
    assert sandbox["livemode"] is False
    error = _error(
        test.post(_rules(test_user), json={"contact_method_id": live_method["id"], "urgency": "high"}),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"] == {"field": "contact_method_id", "reason": "not_found"}
    assert _rule(test, test_user, sandbox["id"])["livemode"] is False
    _error(live.get(_methods(test_user)), 404, "NOT_FOUND")
    assert live.get(_methods(live_user)).json()["data"] == [live_method]


# --- plan_for ----------------------------------------------------------------------------------------


@contextmanager
def _counting(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(database.read_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.read_engine, "before_cursor_execute", count)


def _plan(database: Database, tenant: Tenant, users: list[str], urgency: str) -> tuple[dict[str, Any], int]:
    with database.read() as session:
        with _counting(database) as statements:
            plan = plan_for(session=session, tenant=tenant, user_ids=users, urgency=urgency)
    return plan, len([s for s in statements if s.lstrip().upper().startswith("SELECT")])


def test_plan_for(orgs: OrgFactory, database: Database) -> None:
    org, theirs = orgs.new(), orgs.new()
    alice = org.make_user("Alice", "alice@example.com")
    bob = org.make_user("Bob", "bob@example.com")
    carol = org.make_user("Carol", "carol@example.com")
    stranger = theirs.make_user("Stranger")
    email = _method(org, alice, "email", "alice.pager@example.com")
    sms = _method(org, alice, "sms", "+14155550123")
    push = _method(org, alice, "push", "alice")
    _rule(org, alice, sms["id"], "high", 5)
    _rule(org, alice, email["id"], "high", 0)
    _rule(org, alice, push["id"], "high", 5)
    _rule(org, alice, push["id"], "low", 10)
    bob_slack = _method(org, bob, "slack", "https://hooks.slack.com/services/bob")
    _rule(org, bob, bob_slack["id"], "low", 0)

    plan, queries = _plan(database, org.tenant, [alice, bob, carol, stranger, "usr_nope"], "HIGH")
    assert queries == 2
    assert plan == {
        alice: [
            # Unverified methods stay in the plan, marked, for the step to skip and say so.
            PlannedContact(alice, "Alice", email["id"], "email", "alice.pager@example.com", 0, False),
            PlannedContact(alice, "Alice", sms["id"], "sms", "+14155550123", 5, False),
            PlannedContact(alice, "Alice", push["id"], "push", "alice", 5),
        ],
        # No high-urgency rule: the default email to their own address, at once.
        bob: [PlannedContact(bob, "Bob", None, "email", "bob@example.com", 0)],
        carol: [PlannedContact(carol, "Carol", None, "email", "carol@example.com", 0)],
    }
    for urgency in ("MEDIUM", "LOW", "low"):
        plan, queries = _plan(database, org.tenant, [alice, bob], urgency)
        assert queries == 2
        assert plan == {
            alice: [PlannedContact(alice, "Alice", push["id"], "push", "alice", 10)],
            bob: [
                PlannedContact(
                    bob, "Bob", bob_slack["id"], "slack", "https://hooks.slack.com/services/bob", 0
                )
            ],
        }
    # Every rule unverified: the account email is added, unless the org pages unverified methods.
    dave = org.make_user("Dave", "dave@example.com")
    dave_sms = _method(org, dave, "sms", "+14155550999")
    _rule(org, dave, dave_sms["id"], "high", 0)
    unverified = PlannedContact(dave, "Dave", dave_sms["id"], "sms", "+14155550999", 0, False)
    fallback = PlannedContact(dave, "Dave", None, "email", "dave@example.com", 0)
    assert _plan(database, org.tenant, [dave], "HIGH")[0] == {dave: [unverified, fallback]}
    with database.read() as session:
        allowed = plan_for(
            session=session, tenant=org.tenant, user_ids=[dave], urgency="HIGH", page_unverified=True
        )
    assert allowed == {dave: [unverified]}
    # Still two queries for many users; none at all for nobody.
    many = [org.make_user(f"User {i}") for i in range(12)]
    plan, queries = _plan(database, org.tenant, many + [alice], "HIGH")
    assert queries == 2 and len(plan) == 13 and len(plan[alice]) == 3
    assert _plan(database, org.tenant, [], "HIGH") == ({}, 0)
    # Another org's or another mode's view finds none of these users.
    assert _plan(database, theirs.tenant, [alice, bob], "HIGH")[0] == {}
    assert _plan(database, Tenant(org.org_id, False), [alice], "HIGH")[0] == {}
    with database.read() as session, pytest.raises(ValueError):
        plan_for(session=session, tenant=org.tenant, user_ids=[alice], urgency="URGENT")


# --- service channels --------------------------------------------------------------------------------


def _channels(service: str) -> str:
    return f"/api/services/{service}/channels"


def test_service_channel_crud(orgs: OrgFactory) -> None:
    org = orgs.new()
    service, _ = org.make_service()
    other_service, _ = org.make_service("Other")
    made = []
    for body in (
        {"type": "slack", "url": "https://hooks.slack.com/services/T/B/x", "label": " #payments "},
        {"type": "teams", "url": "https://example.webhook.office.com/webhookb2/y"},
        {"type": "webhook", "url": "http://receiver.internal:9000/tocsin"},
    ):
        response = org.post(_channels(service), json=body)
        assert response.status_code == 201, response.text
        made.append(response.json()["data"])
    slack = made[0]
    assert slack["id"].startswith("chn_")
    assert {k: v for k, v in slack.items() if k not in ("id", "created_at")} == {
        "service_id": service,
        "type": "slack",
        "url": "https://hooks.slack.com/services/T/B/x",
        "label": "#payments",
        "livemode": True,
    }
    listed = org.get(_channels(service)).json()
    assert listed == {"data": made, "pagination": {"total": 3, "limit": 25, "offset": 0, "has_more": False}}
    assert _ids_of(org.get(_channels(service), params={"limit": 1, "offset": 1}).json()) == [made[1]["id"]]
    _error(org.get(_channels(service), params={"limit": 1000}), 400, "VALIDATION_ERROR")
    assert org.get(_channels(other_service)).json()["data"] == []
    # A channel is only reachable under its own service.
    _error(org.delete(f"{_channels(other_service)}/{slack['id']}"), 404, "NOT_FOUND")
    assert org.delete(f"{_channels(service)}/{slack['id']}").status_code == 204
    _error(org.delete(f"{_channels(service)}/{slack['id']}"), 404, "NOT_FOUND")
    assert _ids(org.get(_channels(service))) == [made[1]["id"], made[2]["id"]]
    # Deleting the service deletes its channels.
    assert org.delete(f"/api/services/{service}").status_code == 204
    _error(org.get(_channels(service)), 404, "NOT_FOUND")


BAD_CHANNELS: list[tuple[dict[str, Any], str, str]] = [
    ({"type": "email"}, "type", "invalid"),
    ({"type": None}, "type", "invalid"),
    ({"url": "ftp://hooks.example.com"}, "url", "scheme"),
    ({"url": "hooks.example.com/x"}, "url", "scheme"),
    ({"url": "https://user:pw@hooks.example.com"}, "url", "credentials"),
    ({"url": "https://"}, "url", "invalid"),
    ({"url": "https://hooks.example.com/" + "x" * 2048}, "url", "too_long"),
    ({"url": "  "}, "url", "required"),
    ({"url": None}, "url", "string_type"),
    ({"url": ["https://hooks.example.com"]}, "url", "string_type"),
    ({"label": "x" * 201}, "label", "string_too_long"),
    ({"secret": "x"}, "secret", "unknown_field"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "field", "reason"), BAD_CHANNELS)
def test_bad_channels_are_400(orgs: OrgFactory, change: dict[str, Any], field: str, reason: str) -> None:
    org = orgs.new()
    service, _ = org.make_service()
    body = {"type": "webhook", "url": "https://hooks.example.com/x", **change}
    error = _error(org.post(_channels(service), json=body), 400, "VALIDATION_ERROR")
    assert error["details"] == {"field": field, "reason": reason}, error
    assert org.get(_channels(service)).json()["data"] == []


def test_channels_tenancy_modes_and_scopes(orgs: OrgFactory) -> None:
    mine, theirs = orgs.new(), orgs.new()
    my_service, _ = mine.make_service()
    their_service, _ = theirs.make_service()
    body = {"type": "webhook", "url": "https://hooks.example.com/x"}
    their_channel = theirs.post(_channels(their_service), json=body).json()["data"]
    _error(mine.get(_channels(their_service)), 404, "NOT_FOUND")
    _error(mine.post(_channels(their_service), json=body), 404, "NOT_FOUND")
    _error(mine.delete(f"{_channels(their_service)}/{their_channel['id']}"), 404, "NOT_FOUND")
    _error(mine.delete(f"{_channels(my_service)}/{their_channel['id']}"), 404, "NOT_FOUND")
    _error(mine.post(_channels("svc_nope"), json=body), 404, "NOT_FOUND")
    assert theirs.get(_channels(their_service)).json()["data"] == [their_channel]

    test = mine.test_mode()
    _error(test.get(_channels(my_service)), 404, "NOT_FOUND")
    test_service, _ = test.make_service("Sandbox")
    sandbox = test.post(_channels(test_service), json=body)
    assert sandbox.status_code == 201 and sandbox.json()["data"]["livemode"] is False
    _error(mine.get(_channels(test_service)), 404, "NOT_FOUND")

    reader = mine.make_key(["services:read"])
    assert mine.get(_channels(my_service), key=reader).status_code == 200
    _error(mine.post(_channels(my_service), json=body, key=reader), 403, "FORBIDDEN")
    users_only = mine.make_key(["users:write"])
    assert _error(mine.get(_channels(my_service), key=users_only), 403, "FORBIDDEN")["details"] == {
        "required_scope": "services:read"
    }
    _error(mine.post(_channels(my_service), json=body, key=users_only), 403, "FORBIDDEN")
    assert mine.get(_channels(my_service)).json()["data"] == []
