"""What a password must be before it is hashed: long enough to resist guessing at the rate the
login throttle allows, short enough that hashing it is not a denial of service."""

from __future__ import annotations

from typing import Final

# NIST SP 800-63B asks at least 8 and recommends more; with no second factor yet, 12 is the floor.
# No composition rules (digits, symbols): they push people to predictable patterns.
MIN_LENGTH: Final = 12
# Argon2 pre-hashes its input, but reading a megabyte form field for it is still a waste.
MAX_LENGTH: Final = 1024


def password_problem(password: str) -> tuple[str, str] | None:
    """Why ``password`` may not be used: a reason code and words for the person choosing it;
    ``None`` if it may."""
    if len(password) < MIN_LENGTH:
        return (
            "too_short",
            f"a password needs at least {MIN_LENGTH} characters (this one has {len(password)})",
        )
    if len(password) > MAX_LENGTH:
        return "too_long", f"a password may have at most {MAX_LENGTH} characters"
    if not password.strip():
        return "blank", "a password cannot be only spaces"
    return None
