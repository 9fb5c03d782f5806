"""Scopes (write implies read, read-only keys) and the key format, without a database."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.api_keys import display_prefix, hash_key, hashes_match, key_mode
from tocsin.domain.scopes import ALL_SCOPES, RESOURCES, SCOPES, grants, is_read_only, unknown_scopes

scope_sets = st.frozensets(st.sampled_from(SCOPES))


def test_spec_003_scopes_are_all_present_plus_keys() -> None:
    spec = {
        "events:write",
        "incidents:read",
        "incidents:write",
        "services:read",
        "services:write",
        "schedules:read",
        "schedules:write",
        "users:read",
        "users:write",
        "teams:read",
        "teams:write",
    }
    assert spec <= ALL_SCOPES
    assert "keys:write" in ALL_SCOPES


@given(scope_sets, st.sampled_from(RESOURCES))
def test_write_implies_read(held: frozenset[str], resource: str) -> None:
    if f"{resource}:write" in held:
        assert grants(held, f"{resource}:read")


@given(scope_sets, st.sampled_from(RESOURCES))
def test_read_never_implies_write(held: frozenset[str], resource: str) -> None:
    if f"{resource}:write" not in held:
        assert not grants(held, f"{resource}:write")


@given(scope_sets)
def test_read_only_means_no_write_scope_at_all(held: frozenset[str]) -> None:
    assert is_read_only(held) == (bool(held) and not any(s.endswith(":write") for s in held))


def test_unknown_scopes_are_named() -> None:
    assert unknown_scopes(["incidents:read", "incidents:delete", "root"]) == ["incidents:delete", "root"]


@given(st.text(min_size=1))
def test_key_mode_and_hash(suffix: str) -> None:
    assert key_mode("sk_live_" + suffix) is True
    assert key_mode("sk_test_" + suffix) is False
    assert key_mode("pk_" + suffix) is None
    secret = "sk_live_" + suffix
    assert hashes_match(hash_key(secret), secret)
    assert not hashes_match(hash_key(secret), secret + "x")
    assert len(hash_key(secret)) == 64 and secret not in hash_key(secret)


def test_display_prefix_is_short() -> None:
    assert display_prefix("sk_live_abcdefghijkl") == "sk_live_abcd"
