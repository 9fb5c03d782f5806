"""Single sign-on with an OpenID Connect provider (authorization code flow): ``/login/sso`` sends
the browser to the provider, ``/login/sso/callback`` brings it back signed in.

Generic: the provider's discovery document (``TOCSIN_OIDC_DISCOVERY_URL``) names its endpoints and
keys; the client id and secret are settings. The flow carries three secrets of its own, kept in a
short-lived HttpOnly cookie scoped to these paths: ``state`` (the answer belongs to the request
this browser started), a ``nonce`` (the ID token was minted for this request) and the PKCE code
verifier (a stolen code is useless without it). The ID token's signature, issuer, audience,
expiry and nonce are checked with joserfc against the provider's published keys.

Who signs in: the person whose email the provider says is verified (``email_verified`` true; an
unverified email could be anyone's), through ``services.accounts.sessions.sign_in_verified``, the
same session start as the password form (a new id, the old session revoked)."""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import APIRouter, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from tocsin.config import Settings
from tocsin.services.accounts import sessions
from tocsin.services.accounts.sessions import SignInFailed, SignInResult
from tocsin.web.routes.sign_in import form_page, set_session_cookie, sso_enabled
from tocsin.web.session import COOKIE, safe_next

router = APIRouter(include_in_schema=False)
log = logging.getLogger("tocsin.web.sso")

FLOW_COOKIE = "tocsin_sso"
FLOW_PATH = "/login/sso"
FLOW_SECONDS = 600  # time to sign in at the provider
SCOPE = "openid email profile"
TIMEOUT = 10.0


class SsoRefused(Exception):
    """The provider's answer cannot sign anyone in; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str | None
    jwks_uri: str


def _redirect_uri(settings: Settings) -> str:
    return f"{settings.base_url.rstrip('/')}{FLOW_PATH}/callback"


async def _provider(request: Request) -> Provider:
    """The discovery document, read once per process."""
    found: Provider | None = getattr(request.app.state, "oidc_provider", None)
    if found is None:
        settings: Settings = request.app.state.settings
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            answer = await client.get(settings.oidc_discovery_url)
            answer.raise_for_status()
            document = answer.json()
        found = Provider(
            issuer=document["issuer"],
            authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"],
            userinfo_endpoint=document.get("userinfo_endpoint"),
            jwks_uri=document["jwks_uri"],
        )
        request.app.state.oidc_provider = found
    return found


def _client(settings: Settings) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        scope=SCOPE,
        redirect_uri=_redirect_uri(settings),
        code_challenge_method="S256",
        timeout=TIMEOUT,
    )


def _refused(request: Request, message: str, status: int = 401) -> Response:
    return form_page(request, error=message, status=status)


@router.get(FLOW_PATH)
async def start(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the query's name
    settings: Settings = request.app.state.settings
    if not sso_enabled(settings):
        raise HTTPException(404)
    try:
        provider = await _provider(request)
    except Exception as exc:
        log.warning("single sign-on: the provider's discovery document could not be read: %r", exc)
        return _refused(request, f"{settings.oidc_provider_name} cannot be reached; try again shortly.", 503)
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(24)
    async with _client(settings) as client:
        url, state = client.create_authorization_url(
            provider.authorization_endpoint, code_verifier=verifier, nonce=nonce
        )
    flow = {"state": state, "nonce": nonce, "verifier": verifier, "next": safe_next(next) or "/"}
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        orjson.dumps(flow).decode(),
        max_age=FLOW_SECONDS,
        path=FLOW_PATH,
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level GET: Lax sends it
        secure=settings.base_url.lower().startswith("https://"),
    )
    return response


def _flow(request: Request) -> dict[str, str]:
    try:
        flow = orjson.loads(request.cookies.get(FLOW_COOKIE, ""))
    except orjson.JSONDecodeError:
        raise SsoRefused("This sign-in was not started here, or took too long. Try again.") from None
    needed = ("state", "nonce", "verifier")
    if not isinstance(flow, dict) or not all(isinstance(flow.get(key), str) for key in needed):
        raise SsoRefused("This sign-in was not started here, or took too long. Try again.")
    return flow


async def _identity(request: Request, flow: dict[str, str]) -> dict[str, Any]:
    """The verified claims of the person the provider signed in, or ``SsoRefused``."""
    settings: Settings = request.app.state.settings
    params = request.query_params
    if params.get("error"):
        raise SsoRefused(f"{settings.oidc_provider_name} did not sign you in ({params['error']}).")
    state, code = params.get("state", ""), params.get("code", "")
    if not code or not hmac.compare_digest(state.encode(), flow["state"].encode()):
        raise SsoRefused("This sign-in was not started here, or took too long. Try again.")
    provider = await _provider(request)
    async with _client(settings) as client:
        token = await client.fetch_token(provider.token_endpoint, code=code, code_verifier=flow["verifier"])
        keys = (await client.get(provider.jwks_uri)).json()
        try:
            decoded = jwt.decode(token["id_token"], KeySet.import_key_set(keys))
            jwt.JWTClaimsRegistry(
                now=int(time.time()),
                leeway=60,
                iss={"essential": True, "value": provider.issuer},
                aud={"essential": True, "value": settings.oidc_client_id},
                nonce={"essential": True, "value": flow["nonce"]},
                sub={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, KeyError, ValueError) as exc:
            refusal = f"{settings.oidc_provider_name} sent an ID token that does not check out."
            raise SsoRefused(refusal) from exc
        claims = dict(decoded.claims)
        if "email" not in claims and provider.userinfo_endpoint:
            info = (await client.get(provider.userinfo_endpoint)).json()
            if info.get("sub") == claims["sub"]:
                claims.update({k: info[k] for k in ("email", "email_verified", "name") if k in info})
    if not isinstance(claims.get("email"), str) or claims.get("email_verified") is not True:
        raise SsoRefused(
            f"{settings.oidc_provider_name} did not vouch for your email address (it is not verified "
            "there), so Tocsin cannot tell who you are. Verify it there, or sign in with a password."
        )
    return claims


@router.get(f"{FLOW_PATH}/callback")
async def callback(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not sso_enabled(settings):
        raise HTTPException(404)
    try:
        flow = _flow(request)
        claims = await _identity(request, flow)
    except SsoRefused as refusal:
        response = _refused(request, str(refusal))
        response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
        return response
    db, clock = request.app.state.db, request.app.state.clock

    def start_session() -> SignInResult:
        with db.write() as session:
            return sessions.sign_in_verified(
                session=session,
                email=claims["email"],
                now=clock.now(),
                org_slug=settings.oidc_org or None,
                create_role=settings.oidc_create_role or None,
                name=claims.get("name") if isinstance(claims.get("name"), str) else None,
                replacing=request.cookies.get(COOKIE),
                user_agent=request.headers.get("user-agent"),
                ip=request.client.host if request.client else None,
            )

    try:
        result = await run_in_threadpool(start_session)
    except SignInFailed:
        response = _refused(
            request, f"No Tocsin account here has the email {claims['email']}. Ask an admin to add you.", 403
        )
        response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
        return response
    response = RedirectResponse(safe_next(flow.get("next")) or "/", status_code=303)
    set_session_cookie(response, result.token, settings)
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return response
