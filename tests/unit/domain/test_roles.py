"""What each role may do: admins everything, responders act but do not manage, observers only read."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.roles import ADMIN, OBSERVER, PERMISSIONS, ROLES, USER, Action, can, is_read_only


def test_the_table_as_issue_20_states_it() -> None:
    assert {action for action in Action if can(ADMIN, action)} == set(Action)
    assert {action for action in Action if can(USER, action)} == {
        Action.READ,
        Action.RESPOND,
        Action.EDIT_OWN_PROFILE,
        Action.TAKE_SHIFT,
    }
    assert {action for action in Action if can(OBSERVER, action)} == {Action.READ}


def test_roles_are_nested_so_a_promotion_never_takes_anything_away() -> None:
    assert PERMISSIONS[OBSERVER] < PERMISSIONS[USER] < PERMISSIONS[ADMIN]
    assert set(PERMISSIONS) == set(ROLES)


def test_only_observers_are_read_only() -> None:
    assert [role for role in ROLES if is_read_only(role)] == [OBSERVER]


@given(role=st.text(max_size=20).filter(lambda text: text not in ROLES), action=st.sampled_from(Action))
def test_an_unknown_role_may_do_nothing(role: str, action: Action) -> None:
    assert not can(role, action)
    assert is_read_only(role)


def test_a_missing_role_may_do_nothing() -> None:
    assert not any(can(None, action) for action in Action)
    assert is_read_only(None)
