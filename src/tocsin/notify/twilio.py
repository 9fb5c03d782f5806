"""SMS and voice calls through Twilio's REST API (2010-04-01), or anything that speaks it.

Both POST form fields to ``{base_url}/2010-04-01/Accounts/{sid}/{Messages|Calls}.json`` with HTTP
basic auth (account SID, auth token) and answer 201 with the new resource's ``sid``. Errors are
JSON ``{"code", "message", "more_info", "status"}``. The auth token never appears in a reason.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote
from xml.sax.saxutils import escape

import httpx

from tocsin.notify.base import Message, Page, Permanent, Receipt
from tocsin.notify.render import clip, detail_rows, lead, one_line, reply_hint, spoken
from tocsin.notify.webhook import DEFAULT_TIMEOUT, body_excerpt, deliver

SMS_LIMIT: Final = 300  # two GSM-7 segments hold 306; stay under with room for the hint
IDEMPOTENCY_HEADER: Final = "I-Twilio-Idempotency-Token"
_E164: Final = re.compile(r"\+[1-9][0-9]{6,14}")


@dataclass(frozen=True, slots=True)
class TwilioConfig:
    account_sid: str
    auth_token: str = field(repr=False)
    from_number: str
    base_url: str = "https://api.twilio.com"
    timeout: float = DEFAULT_TIMEOUT


def sms_body(page: Page) -> str:
    """``[Tocsin] #42 HIGH: <title> [instance=web-01 ...] (<service>, 3 alerts) Reply "42 ack" or
    "42 resolve"``, at most ``SMS_LIMIT`` characters: the details fill what the title leaves, the
    title is cut before the reply hint ever is."""
    hint = reply_hint(page)
    head = f"[Tocsin] #{page.incident_number} {lead(page)}: "
    count = f", {page.alert_count} alerts" if page.alert_count > 1 else ""
    tail = f" ({clip(one_line(page.service_name), 60)}{count})" + (f" {hint}" if hint else "")
    room = SMS_LIMIT - len(head) - len(tail)
    title = clip(one_line(page.title), room)
    details = " ".join(f"{key}={value}" for key, value in detail_rows(page) if key != "…")
    extra = f" [{clip(details, room - len(title) - 3)}]" if details and room - len(title) > 12 else ""
    return head + title + extra + tail


def twiml(page: Page) -> str:
    """The call script: the incident read twice, every user-written word XML-escaped."""
    words = escape(spoken(page))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Response><Say>{words}</Say><Pause length="1"/><Say>Again. {words}</Say>'
        "<Say>Open the Tocsin notification to acknowledge. Goodbye.</Say></Response>"
    )


def twilio_error(response: httpx.Response) -> str:
    """Twilio's own ``message`` and ``code`` when the body is its JSON error; else the raw body."""
    try:
        data = response.json()
    except ValueError:
        return body_excerpt(response)
    if isinstance(data, dict) and data.get("message"):
        code = f" (Twilio error {data['code']})" if data.get("code") else ""
        return clip(one_line(str(data["message"])), 300) + code
    return body_excerpt(response)


class _TwilioChannel(ABC):
    name: str
    _resource: str

    def __init__(self, http: httpx.AsyncClient, config: TwilioConfig) -> None:
        self._http = http
        self._config = config

    @property
    def _url(self) -> str:
        sid = quote(self._config.account_sid, safe="")
        return f"{self._config.base_url.rstrip('/')}/2010-04-01/Accounts/{sid}/{self._resource}.json"

    @abstractmethod
    def _form(self, address: str, page: Page) -> dict[str, str]:
        """The form fields of one message (SMS) or call (voice)."""

    @abstractmethod
    def _message_form(self, message: Message) -> dict[str, str]:
        """The form fields of a message that is not a page."""

    async def send(self, address: str, page: Page) -> Receipt:
        return await self._post(address, page.idempotency_key, lambda number: self._form(number, page))

    async def send_message(self, address: str, message: Message) -> Receipt:
        return await self._post(address, message.idempotency_key, lambda _: self._message_form(message))

    async def _post(
        self, address: str, idempotency_key: str, form: Callable[[str], dict[str, str]]
    ) -> Receipt:
        number = address.strip()
        if not _E164.fullmatch(number):
            raise Permanent(f"{self.name}: the address is not an E.164 phone number like +15551234567")
        response = await deliver(
            self._http,
            self._url,
            channel=self.name,
            timeout=self._config.timeout,
            headers={IDEMPOTENCY_HEADER: idempotency_key},
            data={"To": number, "From": self._config.from_number, **form(number)},
            auth=httpx.BasicAuth(self._config.account_sid, self._config.auth_token),
            detail=twilio_error,
        )
        try:
            data = response.json()
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        sid, status = data.get("sid"), data.get("status")
        return Receipt(
            provider_id=sid if isinstance(sid, str) else None, detail=str(status) if status else None
        )


class TwilioSms(_TwilioChannel):
    name = "sms"
    _resource = "Messages"

    def _form(self, address: str, page: Page) -> dict[str, str]:
        return {"Body": sms_body(page)}

    def _message_form(self, message: Message) -> dict[str, str]:
        return {"Body": clip(message.text.strip(), SMS_LIMIT)}


class TwilioVoice(_TwilioChannel):
    name = "voice"
    _resource = "Calls"

    def _form(self, address: str, page: Page) -> dict[str, str]:
        return {"Twiml": twiml(page)}

    def _message_form(self, message: Message) -> dict[str, str]:
        words = escape(message.spoken)
        return {
            "Twiml": '<?xml version="1.0" encoding="UTF-8"?>'
            f'<Response><Say>{words}</Say><Pause length="1"/><Say>Again. {words}</Say>'
            "<Say>Goodbye.</Say></Response>"
        }
