"""Webhook signatures: ``sha256=<hex HMAC-SHA256>``, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.signing import signature, verify

secrets_ = st.text(min_size=1, max_size=64)
bodies = st.binary(max_size=512)


def test_known_value() -> None:
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    assert signature("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


@given(secret=secrets_, body=bodies)
def test_round_trip(secret: str, body: bytes) -> None:
    header = signature(secret, body)
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert header == f"sha256={digest}"
    assert verify(secret, body, header)
    assert verify(secret, body, header.upper().replace("SHA256=", "sha256="))
    assert verify(secret, body, f" {header}\n")


@given(secret=secrets_, body=bodies, other=bodies)
def test_another_body_fails(secret: str, body: bytes, other: bytes) -> None:
    assert verify(secret, other, signature(secret, body)) == (other == body)


@given(secret=secrets_, other=secrets_, body=bodies)
def test_another_secret_fails(secret: str, other: str, body: bytes) -> None:
    assert verify(other, body, signature(secret, body)) == (other == secret)


@given(
    secret=secrets_,
    body=st.binary(min_size=1, max_size=256),
    index=st.integers(min_value=0),
    bit=st.integers(0, 7),
)
def test_any_flipped_bit_fails(secret: str, body: bytes, index: int, bit: int) -> None:
    changed = bytearray(body)
    changed[index % len(body)] ^= 1 << bit
    assert not verify(secret, bytes(changed), signature(secret, body))


def test_missing_or_malformed_headers_fail() -> None:
    good = signature("s3cret", b"{}")
    for header in (
        None,
        "",
        "sha256=",
        good[len("sha256=") :],
        "sha1=" + good[7:],
        good[:-1],
        good + "0",
        "sha256=é",
    ):
        assert not verify("s3cret", b"{}", header)
