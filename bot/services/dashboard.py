"""The organizers' dashboard: Telegram Mini App sign-in (initData), one-time sign-in links and
browser sessions. No aiogram and no aiohttp here.

initData is checked exactly as Telegram specifies
(https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):
``secret = HMAC_SHA256(key="WebAppData", msg=bot_token)``, ``hash = hex(HMAC_SHA256(key=secret,
msg=data_check_string))`` where data_check_string is every field but ``hash`` as ``key=value``,
sorted by key and joined by newlines; compared in constant time; ``auth_date`` not older than
DASHBOARD_AUTH_MAX_AGE. Sign-in links and sessions are random tokens of which only the SHA-256 is
stored; a link is used once (a conditional UPDATE), within LINK_MINUTES, by the person it was
made for.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from storage.models import DashboardToken, utcnow

LINK_MINUTES = 10
SESSION_HOURS = 12
# who may open the dashboard at all, and who may see and act on the reports queue
STAFF_ROLES = frozenset({"organizer", "moderator", "representative", "admin"})
QUEUE_ROLES = frozenset({"organizer", "moderator", "admin"})
CLOCK_SKEW = 60  # seconds an auth_date may lie in the future


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def init_data_hash(data_check_string: str, bot_token: str) -> str:
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, data_check_string.encode(), hashlib.sha256).hexdigest()


def data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def validate_init_data(init_data: str, bot_token: str, max_age: int, now: float | None = None) -> dict:
    """The Telegram user (a dict with at least ``id``) of a Mini App's initData, or
    DomainError("dashboard_auth") when it is not signed by this bot, expired or malformed."""
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise DomainError("dashboard_auth") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):  # a repeated key: which one was signed?
        raise DomainError("dashboard_auth")
    given = fields.get("hash", "")
    expected = init_data_hash(data_check_string(fields), bot_token)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise DomainError("dashboard_auth")
    now = time.time() if now is None else now
    try:
        auth_date = int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError):
        raise DomainError("dashboard_auth") from None
    if now - auth_date > max_age or auth_date - now > CLOCK_SKEW:
        raise DomainError("dashboard_auth")
    user["id"] = user_id
    return user


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """initData as Telegram would send it (tests, the sandbox)."""
    from urllib.parse import urlencode

    signed = dict(fields)
    signed["hash"] = init_data_hash(data_check_string(fields), bot_token)
    return urlencode(signed)


def csrf_token(session_token: str, key: str) -> str:
    """The CSRF token of a browser session: bound to it, never stored."""
    return hmac.new(key.encode(), f"hromada-csrf:{session_token}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(given: str, session_token: str, key: str) -> bool:
    return hmac.compare_digest(given.encode(), csrf_token(session_token, key).encode())


async def issue_link(session: AsyncSession, user_id: int, now: datetime | None = None) -> str:
    """A one-time sign-in token for this person (the raw token: put it in the link, never store it)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    await session.execute(delete(DashboardToken).where(DashboardToken.expires_at < now))  # old ones go
    session.add(DashboardToken(token_hash=_hash(token), kind="link", user_id=user_id, created_at=now,
                               expires_at=now + timedelta(minutes=LINK_MINUTES)))
    await session.flush()
    return token


async def redeem_link(session: AsyncSession, token: str, now: datetime | None = None) -> tuple[str, int, datetime]:
    """Use a sign-in link once: a new session (raw token, user id, expiry). Raises
    DomainError("dashboard_link") when it is unknown, used or expired."""
    now = now or utcnow()
    row = await session.scalar(select(DashboardToken).where(
        DashboardToken.token_hash == _hash(token), DashboardToken.kind == "link"))
    if row is None:
        raise DomainError("dashboard_link")
    result = await session.execute(  # of two uses at once exactly one wins
        update(DashboardToken)
        .where(DashboardToken.id == row.id, DashboardToken.used_at.is_(None), DashboardToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError("dashboard_link")
    expires = now + timedelta(hours=SESSION_HOURS)
    return await open_session(session, row.user_id, now), row.user_id, expires


async def open_session(session: AsyncSession, user_id: int, now: datetime | None = None) -> str:
    """A new browser session for this person (the raw token, for the cookie)."""
    now = now or utcnow()
    raw = secrets.token_urlsafe(32)
    session.add(DashboardToken(token_hash=_hash(raw), kind="session", user_id=user_id, created_at=now,
                               expires_at=now + timedelta(hours=SESSION_HOURS)))
    await session.flush()
    return raw


async def session_user(session: AsyncSession, token: str, now: datetime | None = None) -> int | None:
    """The person a browser session belongs to, or None (unknown, signed out or expired)."""
    if not token:
        return None
    now = now or utcnow()
    return await session.scalar(select(DashboardToken.user_id).where(
        DashboardToken.token_hash == _hash(token), DashboardToken.kind == "session",
        DashboardToken.used_at.is_(None), DashboardToken.expires_at > now))


async def sign_out(session: AsyncSession, token: str) -> None:
    await session.execute(delete(DashboardToken).where(
        DashboardToken.token_hash == _hash(token), DashboardToken.kind == "session"))
