"""Browser sessions: signing in with an email and a password, finding the person behind a cookie,
signing out (here, or everywhere).

The cookie holds a random token; the row's id is its SHA-256 (``domain.api_keys.hash_key``: the
token is high-entropy, so a fast hash suffices, as for API keys), so a copy of the database signs
nobody in. Every sign-in makes a new row with a new token, whatever cookie the browser sent
(session fixation: a token planted before sign-in is never promoted), and the replaced one is
revoked.

Which org: an email is unique per org, and one person may be in several. Sign-in looks at every
live-mode account with that email (or only the one in ``org_slug`` when the form names an org),
verifies the password against each, and signs in to the one it matches. When it matches several,
``ChooseOrg`` lists those orgs (only someone who knows the password learns them) and the form is
sent again with the org's slug.

How the web layer uses it, per request: ``authenticate`` in a read transaction; when the answer
says ``needs_touch``, ``touch`` in a write transaction (at most once per ``touch_every``, so
reading pages does not cost a write each); ``csrf_matches`` on every unsafe request."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from tocsin.db.models import Org, User, WebSession
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.api_keys import hash_key
from tocsin.domain.roles import Action, can
from tocsin.domain.web_sessions import SessionPolicy, csrf_token, expires_at, is_live, needs_touch
from tocsin.services.accounts.hashing import DEFAULT_PASSWORDS, Passwords
from tocsin.services.errors import Conflict, Invalid, ServiceError
from tocsin.services.people.users import create_user
from tocsin.services.sql import tenant_filter

DEFAULT_POLICY: Final = SessionPolicy()
# A cookie longer than this is not one of ours: refused before it costs a query.
_MAX_TOKEN_CHARS: Final = 128


class SignInFailed(ServiceError):
    """One answer for an unknown email, a wrong password and an account without a password, so the
    form does not tell anyone who has an account."""

    code = "UNAUTHORIZED"

    def __init__(self) -> None:
        super().__init__("Email or password is incorrect.", {"reason": "sign_in_failed"})


class ChooseOrg(Conflict):
    """The password is right for this email in several orgs: ask which one (``details["orgs"]``)."""

    def __init__(self, orgs: list[dict[str, str]]) -> None:
        super().__init__(
            "This email and password sign in to several organizations; choose one.",
            {"reason": "choose_org", "orgs": orgs},
        )


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who is behind a session, read fresh on every request: a role change or a revocation counts
    at once."""

    session_id: str
    user_id: str
    name: str
    email: str
    role: str
    org_id: str
    org_slug: str
    org_name: str
    livemode: bool
    time_zone: str
    expires_at: datetime
    needs_touch: bool

    @property
    def tenant(self) -> Tenant:
        return Tenant(self.org_id, self.livemode)

    @property
    def actor(self) -> Actor:
        return Actor(type="user", id=self.user_id, name=self.name)

    def can(self, action: Action) -> bool:
        return can(self.role, action)


@dataclass(frozen=True, slots=True)
class SignInResult:
    """``token`` goes in the cookie (it is not kept anywhere); ``csrf_token`` in forms and headers."""

    token: str
    csrf_token: str
    signed_in: SignedIn


def _normal_email(email: object) -> str:
    if not isinstance(email, str) or not email.strip():
        raise Invalid("email", "required", "Enter your email address.")
    return email.strip().lower()


def _signed_in(row: WebSession, user: User, org: Org, *, now: datetime, policy: SessionPolicy) -> SignedIn:
    return SignedIn(
        session_id=row.id,
        user_id=user.id,
        name=user.name,
        email=user.email,
        role=user.role,
        org_id=org.id,
        org_slug=org.slug,
        org_name=org.name,
        livemode=row.livemode,
        time_zone=user.time_zone,
        expires_at=row.expires_at,
        needs_touch=needs_touch(last_seen_at=row.last_seen_at, now=now, policy=policy),
    )


def sign_in(
    *,
    session: Session,
    email: str,
    password: str,
    now: datetime,
    org_slug: str | None = None,
    replacing: str | None = None,
    user_agent: str | None = None,
    ip: str | None = None,
    passwords: Passwords = DEFAULT_PASSWORDS,
    policy: SessionPolicy = DEFAULT_POLICY,
) -> SignInResult:
    """A new session for the person with this email and password, or ``SignInFailed``. The
    session the browser had (``replacing``, its old cookie) is revoked: one browser, one session.
    Throttling is the caller's (``throttle.LoginThrottle``), before and after this call."""
    wanted = _normal_email(email)
    if not isinstance(password, str) or not password:
        raise Invalid("password", "required", "Enter your password.")
    stmt = (
        select(User, Org)
        .join(Org, Org.id == User.org_id)
        .where(func.lower(User.email) == wanted, User.livemode.is_(True))
        .order_by(Org.slug)
    )
    if org_slug:
        stmt = stmt.where(Org.slug == org_slug.strip().lower())
    candidates = [(user, org) for user, org in session.execute(stmt).all()]
    if not candidates:
        passwords.waste_time(password)
        raise SignInFailed()
    matched = [(user, org) for user, org in candidates if passwords.verify(user.password_hash, password)]
    if not matched:
        raise SignInFailed()
    if len(matched) > 1:
        raise ChooseOrg([{"slug": org.slug, "name": org.name} for _, org in matched])
    user, org = matched[0]
    assert user.password_hash is not None  # verify() is False without one
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
    return _open_session(session, user, org, now, replacing, user_agent, ip, policy)


def sign_in_verified(
    *,
    session: Session,
    email: str,
    now: datetime,
    org_slug: str | None = None,
    create_role: str | None = None,
    name: str | None = None,
    replacing: str | None = None,
    user_agent: str | None = None,
    ip: str | None = None,
    policy: SessionPolicy = DEFAULT_POLICY,
) -> SignInResult:
    """A new session for the live-mode person with this email, whose identity a trusted provider
    (single sign-on) has already proven, so no password is asked. Several orgs with that email
    and none named: ``ChooseOrg`` cannot help (the provider proved the email, not the org), so it
    is refused; the operator names the org (``TOCSIN_OIDC_ORG``). Nobody with it, and
    ``create_role`` given with ``org_slug``: a new user of that role (named ``name``) signs in."""
    wanted = _normal_email(email)
    stmt = (
        select(User, Org)
        .join(Org, Org.id == User.org_id)
        .where(func.lower(User.email) == wanted, User.livemode.is_(True))
        .order_by(Org.slug)
    )
    if org_slug:
        stmt = stmt.where(Org.slug == org_slug.strip().lower())
    candidates = [(user, org) for user, org in session.execute(stmt).all()]
    if not candidates and create_role and org_slug:
        org = session.scalars(select(Org).where(Org.slug == org_slug.strip().lower())).first()
        if org is not None:
            created = create_user(
                session=session,
                tenant=Tenant(org.id, True),
                now=now,
                name=(name or "").strip() or wanted.split("@")[0],
                email=wanted,
                role=create_role,
            )
            candidates = [(created, org)]
    if len(candidates) != 1:
        raise SignInFailed()
    user, org = candidates[0]
    return _open_session(session, user, org, now, replacing, user_agent, ip, policy)


def _open_session(
    session: Session,
    user: User,
    org: Org,
    now: datetime,
    replacing: str | None,
    user_agent: str | None,
    ip: str | None,
    policy: SessionPolicy,
) -> SignInResult:
    """The one way a session starts, whoever proved the person: the browser's old session is
    revoked (fixation), dead rows of theirs deleted, a new random token made."""
    if replacing:
        sign_out(session=session, token=replacing, now=now)
    _forget_dead_sessions(session, user.id, now)
    token = secrets.token_urlsafe(32)
    row = WebSession(
        id=hash_key(token),
        user_id=user.id,
        org_id=org.id,
        livemode=user.livemode,
        created_at=now,
        last_seen_at=now,
        expires_at=expires_at(created_at=now, last_seen_at=now, policy=policy),
        user_agent=(user_agent or "")[:400] or None,
        ip=(ip or "")[:64] or None,
    )
    session.add(row)
    session.flush()
    return SignInResult(token, csrf_token(token), _signed_in(row, user, org, now=now, policy=policy))


def authenticate(
    *, session: Session, token: str | None, now: datetime, policy: SessionPolicy = DEFAULT_POLICY
) -> SignedIn | None:
    """The person behind a session cookie, or ``None`` when it is unknown, revoked or expired.
    Reads only; when the answer's ``needs_touch`` is set, call ``touch`` in a write transaction."""
    if not token or len(token) > _MAX_TOKEN_CHARS:
        return None
    found = session.execute(
        select(WebSession, User, Org)
        .join(User, User.id == WebSession.user_id)
        .join(Org, Org.id == WebSession.org_id)
        .where(
            WebSession.id == hash_key(token),
            WebSession.revoked_at.is_(None),
            WebSession.expires_at > now,
            User.org_id == WebSession.org_id,
        )
    ).first()
    if found is None:
        return None
    row, user, org = found
    if not is_live(expires=row.expires_at, revoked_at=row.revoked_at, now=now):
        return None
    return _signed_in(row, user, org, now=now, policy=policy)


def touch(
    *, session: Session, signed_in: SignedIn, now: datetime, policy: SessionPolicy = DEFAULT_POLICY
) -> None:
    """Slide the session's expiry forward from this use (never past its absolute end). A session
    revoked meanwhile stays revoked: the UPDATE only matches live rows."""
    row = session.get(WebSession, signed_in.session_id)
    if row is None or not is_live(expires=row.expires_at, revoked_at=row.revoked_at, now=now):
        return
    session.execute(
        update(WebSession)
        .where(WebSession.id == row.id, WebSession.revoked_at.is_(None))
        .values(
            last_seen_at=now,
            expires_at=expires_at(created_at=row.created_at, last_seen_at=now, policy=policy),
        )
    )


def sign_out(*, session: Session, token: str | None, now: datetime) -> bool:
    """End the session behind ``token`` at once; whether there was a live one."""
    if not token or len(token) > _MAX_TOKEN_CHARS:
        return False
    done = session.execute(
        update(WebSession)
        .where(WebSession.id == hash_key(token), WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(getattr(done, "rowcount", 0))


def revoke_sessions(
    *, session: Session, tenant: Tenant, user_id: str, now: datetime, except_id: str | None = None
) -> int:
    """End every session of ``user_id`` in this tenant, but ``except_id``; how many were live."""
    stmt = (
        update(WebSession)
        .where(
            *tenant_filter(WebSession, tenant), WebSession.user_id == user_id, WebSession.revoked_at.is_(None)
        )
        .values(revoked_at=now)
    )
    if except_id is not None:
        stmt = stmt.where(WebSession.id != except_id)
    return int(getattr(session.execute(stmt), "rowcount", 0) or 0)


def sign_out_everywhere(*, session: Session, signed_in: SignedIn, now: datetime) -> int:
    """ "Sign out everywhere" on the profile screen: every session of this person, this one too."""
    return revoke_sessions(session=session, tenant=signed_in.tenant, user_id=signed_in.user_id, now=now)


def _forget_dead_sessions(session: Session, user_id: str, now: datetime) -> None:
    """Revoked and expired rows of one person are deleted at their next sign-in, so the table
    holds about one row per browser, without a sweeper."""
    session.execute(
        delete(WebSession).where(
            WebSession.user_id == user_id,
            or_(WebSession.revoked_at.is_not(None), WebSession.expires_at <= now),
        )
    )
