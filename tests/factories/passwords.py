"""Real argon2 hashing made cheap for tests, and a hasher that counts its verifications (so a test
can see that an unknown email costs the same one verification as a wrong password)."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher

# The smallest parameters argon2 takes: the same code path, a millisecond instead of ~50.
CHEAP_PARAMETERS: dict[str, int] = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


class Counting(PasswordHasher):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 - argon2's name
        self.verifications += 1
        return super().verify(hash, password)
