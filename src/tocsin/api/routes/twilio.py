"""``POST /integrations/twilio/sms``: Twilio's inbound-message webhook, so a reply like "4 ack" to
an SMS page acknowledges incident #4. Requests must carry a valid ``X-Twilio-Signature`` computed
with ``TOCSIN_TWILIO_AUTH_TOKEN`` over ``TOCSIN_BASE_URL`` + the path (403 otherwise); the answer
is TwiML with one message back to the sender."""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from tocsin.api.deps import Paging
from tocsin.api.errors import ApiError
from tocsin.domain.sms_reply import valid_twilio_signature
from tocsin.services.responders import sms_replies

router = APIRouter(tags=["integrations"], include_in_schema=False)

PATH = "/integrations/twilio/sms"


def _twiml(text: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}</Message></Response>'
    return Response(body, media_type="application/xml")


@router.post(PATH)
async def inbound_sms(request: Request, paging: Paging) -> Response:
    settings = request.app.state.settings
    token = settings.twilio_auth_token
    if not token:
        raise ApiError(
            "NOT_FOUND", "SMS replies are not configured on this server (TOCSIN_TWILIO_AUTH_TOKEN)"
        )
    try:
        params = dict(
            parse_qsl((await request.body()).decode(), keep_blank_values=True, strict_parsing=False)
        )
    except UnicodeDecodeError:
        raise ApiError("VALIDATION_ERROR", "the body must be form-encoded UTF-8", {"field": "body"}) from None
    url = str(settings.base_url).rstrip("/") + PATH
    if not valid_twilio_signature(token, url, params, request.headers.get("X-Twilio-Signature")):
        raise ApiError("FORBIDDEN", "X-Twilio-Signature is missing or does not match")
    from_number, body = params.get("From", ""), params.get("Body", "")
    db, now = request.app.state.db, request.app.state.clock.now()

    def act() -> str:
        with db.write() as session:
            return sms_replies.handle_reply(
                session=session, from_number=from_number, body=body, now=now, paging=paging
            )

    return _twiml(await run_in_threadpool(act))
