"""The password rule: long enough, not absurdly long, not blank; no composition rules."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.passwords import MAX_LENGTH, MIN_LENGTH, password_problem


@given(st.text(min_size=MIN_LENGTH, max_size=64).filter(lambda text: text.strip() != ""))
def test_any_long_enough_text_is_accepted(password: str) -> None:
    assert password_problem(password) is None


@given(st.text(max_size=MIN_LENGTH - 1))
def test_short_ones_say_how_long_they_must_be(password: str) -> None:
    problem = password_problem(password)
    assert problem is not None
    assert problem[0] == "too_short"
    assert f"at least {MIN_LENGTH} characters" in problem[1]


def test_too_long_and_blank() -> None:
    assert password_problem("x" * (MAX_LENGTH + 1)) == (
        "too_long",
        f"a password may have at most {MAX_LENGTH} characters",
    )
    assert password_problem(" " * MIN_LENGTH) == ("blank", "a password cannot be only spaces")
    assert password_problem("correct horse battery staple") is None
