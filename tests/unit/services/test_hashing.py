"""Password hashes: argon2id, a decoy verification for missing hashes, and rehash on new parameters.
The argon2 hasher is real; ``Counting`` only counts its calls, so the tests can see that an unknown
email costs the same one verification as a wrong password."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2 import Type as Argon2Type

from tests.factories.passwords import CHEAP_PARAMETERS, Counting
from tocsin.services.accounts.hashing import Passwords


def test_hashes_are_argon2id_and_salted() -> None:
    passwords = Passwords(PasswordHasher(**CHEAP_PARAMETERS))
    first, second = passwords.hash("correct horse battery"), passwords.hash("correct horse battery")
    assert first.startswith("$argon2id$") and first != second
    assert passwords.verify(first, "correct horse battery") and passwords.verify(
        second, "correct horse battery"
    )
    assert not passwords.verify(first, "correct horse batterY")


def test_the_default_hasher_is_argon2id_with_rfc_9106_parameters() -> None:
    hasher = PasswordHasher()
    assert hasher.type is Argon2Type.ID
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (3, 65536, 4)


def test_nothing_stored_costs_one_verification_like_a_wrong_password() -> None:
    hasher = Counting(**CHEAP_PARAMETERS)
    passwords = Passwords(hasher)
    stored = passwords.hash("correct horse battery")
    assert not passwords.verify(stored, "wrong guess here")
    assert hasher.verifications == 1
    assert not passwords.verify(None, "wrong guess here")
    assert hasher.verifications == 2
    passwords.waste_time("anything at all")
    assert hasher.verifications == 3


def test_a_corrupt_hash_is_a_wrong_password_not_a_crash() -> None:
    passwords = Passwords(PasswordHasher(**CHEAP_PARAMETERS))
    assert not passwords.verify("not-a-hash", "correct horse battery")
    assert passwords.needs_rehash("not-a-hash")


def test_hashes_made_with_other_parameters_need_rehashing() -> None:
    weak = Passwords(PasswordHasher(**CHEAP_PARAMETERS))
    strong = Passwords(PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    old = weak.hash("correct horse battery")
    assert strong.verify(old, "correct horse battery")  # old hashes still sign people in
    assert strong.needs_rehash(old)
    assert not strong.needs_rehash(strong.hash("correct horse battery"))
