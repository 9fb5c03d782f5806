"""SMS replies: the accepted shapes, everything else ignored; Twilio signatures verify and any
change breaks them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.sms_reply import Reply, parse_reply, twilio_signature, valid_twilio_signature


def test_accepted_shapes() -> None:
    assert parse_reply("4 ack") == Reply(4, "acknowledge")
    assert parse_reply("  4   ACK ") == Reply(4, "acknowledge")
    assert parse_reply("#12 resolve") == Reply(12, "resolve")
    assert parse_reply("resolve 7") == Reply(7, "resolve")
    assert parse_reply("R 3") == Reply(3, "resolve")
    assert parse_reply("a #9") == Reply(9, "acknowledge")


def test_everything_else_is_ignored() -> None:
    for body in ("", "ack", "4", "4 maybe", "ack ack", "4 ack please", "-4 ack", "4.5 ack", "1234567890 ack"):
        assert parse_reply(body) is None, body


@given(st.integers(min_value=0, max_value=999_999_999), st.sampled_from(["ack", "resolve", "a", "r"]))
def test_round_trip(number: int, word: str) -> None:
    reply = parse_reply(f"{number} {word}")
    assert reply is not None and reply.number == number


def test_twilio_signature_known_value() -> None:
    # The example from Twilio's security docs.
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


@given(
    st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=20), max_size=5), st.text(min_size=1)
)
def test_signature_verifies_and_changes_break_it(params: dict[str, str], extra: str) -> None:
    url = "https://tocsin.example/integrations/twilio/sms"
    header = twilio_signature("token", url, params)
    assert valid_twilio_signature("token", url, params, header)
    assert not valid_twilio_signature("other", url, params, header)
    assert not valid_twilio_signature("token", url + extra, params, header)
    assert not valid_twilio_signature("token", url, params, None)
