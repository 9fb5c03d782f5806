"""Handles derived from emails and team names: always valid, and made unique by a suffix."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.handles import MAX_HANDLE, handle_from, is_handle, unique_handle


def test_handle_from_email_and_name() -> None:
    assert handle_from("Alice.Smith+oncall@Example.com", "user") == "alice.smith"
    assert handle_from("Payments SRE", "team") == "payments-sre"
    assert handle_from("  --Ops & On-Call!! ", "team") == "ops-on-call"
    assert handle_from("@example.com", "user") == "user"
    assert handle_from("日本", "team") == "team"


@given(st.text(max_size=300))
def test_a_derived_handle_is_always_valid(text: str) -> None:
    assert is_handle(handle_from(text, "user"))


@given(st.sets(st.sampled_from(["alice", "alice-2", "alice-3", "bob"]), max_size=4))
def test_unique_handle_avoids_every_taken_one(taken: set[str]) -> None:
    handle = unique_handle("alice", taken)
    assert handle not in taken
    assert handle == "alice" or handle.startswith("alice-")


def test_unique_handle_stays_within_the_limit() -> None:
    base = "a" * MAX_HANDLE
    handle = unique_handle(base, {base})
    assert len(handle) == MAX_HANDLE
    assert handle.endswith("-2")
    assert is_handle(handle)


def test_is_handle_refuses_what_clients_cannot_send() -> None:
    assert not is_handle("")
    assert not is_handle("-alice")
    assert not is_handle("Alice")
    assert not is_handle("a b")
    assert not is_handle("a" * (MAX_HANDLE + 1))
    assert is_handle("a.b_c-d")
