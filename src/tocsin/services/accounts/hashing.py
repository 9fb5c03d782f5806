"""Password hashes: argon2id through argon2-cffi, whose defaults are RFC 9106's second recommended
profile (3 passes over 64 MiB, 4 lanes). A slow, memory-hard hash, unlike API keys' SHA-256:
people choose guessable passwords, so each guess against a stolen hash must cost real work."""

from __future__ import annotations

import logging
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

log = logging.getLogger("tocsin.accounts")


class Passwords:
    """Hash, verify, and tell when a stored hash was made with other parameters than today's."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._decoy: str | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored``. With nothing stored (no such person, or no
        password set) a decoy hash is verified instead, so both answers take as long as a wrong
        password: timing does not tell an unknown email from a known one."""
        if stored is None:
            self.waste_time(password)
            return False
        try:
            return self._hasher.verify(stored, password)
        except VerifyMismatchError:
            return False
        except (InvalidHashError, VerificationError):
            log.warning("a stored password hash could not be read; treated as a wrong password")
            return False

    def needs_rehash(self, stored: str) -> bool:
        """Made with weaker (or just other) parameters than this hasher's: hash again at the next
        successful sign-in, the only moment the password is known."""
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def waste_time(self, password: str) -> None:
        """One verification that always fails, at the cost of a real one."""
        if self._decoy is None:
            self._decoy = self._hasher.hash(secrets.token_urlsafe(16))
        try:
            self._hasher.verify(self._decoy, password)
        except VerificationError:
            pass


# One per process: its decoy hash is made once, at the first unknown email.
DEFAULT_PASSWORDS = Passwords()
