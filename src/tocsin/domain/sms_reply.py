"""Reading an SMS reply to a page ("4 ack", "ack 4", "4 resolve", "R 4") and checking Twilio's
request signature. Pure functions: the service looks up the sender and acts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Action = Literal["acknowledge", "resolve"]

_WORDS: dict[str, Action] = {
    "a": "acknowledge",
    "ack": "acknowledge",
    "acknowledge": "acknowledge",
    "r": "resolve",
    "res": "resolve",
    "resolve": "resolve",
    "close": "resolve",
}
_NUMBER_FIRST = re.compile(r"^#?(\d{1,9})\s+([a-z]+)$")
_WORD_FIRST = re.compile(r"^([a-z]+)\s+#?(\d{1,9})$")


@dataclass(frozen=True, slots=True)
class Reply:
    number: int
    action: Action


def parse_reply(body: str) -> Reply | None:
    """``Reply`` for "<number> <word>" or "<word> <number>" (any case, optional ``#``), else None."""
    text = " ".join(body.strip().lower().split())
    match = _NUMBER_FIRST.match(text)
    if match:
        number, word = match.group(1), match.group(2)
    else:
        match = _WORD_FIRST.match(text)
        if not match:
            return None
        word, number = match.group(1), match.group(2)
    action = _WORDS.get(word)
    return Reply(int(number), action) if action else None


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's ``X-Twilio-Signature``: base64 HMAC-SHA1 of the full URL followed by every POST
    parameter name and value, sorted by name."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid_twilio_signature(auth_token: str, url: str, params: Mapping[str, str], header: str | None) -> bool:
    if not header:
        return False
    return hmac.compare_digest(twilio_signature(auth_token, url, params), header)
