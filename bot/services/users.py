"""Residents: registration, profile, roles, data export and erasure. No aiogram here."""
from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.services import events as events_service
from bot.services import discussions as discussions_service
from bot.services import groups as groups_service
from bot.services import orgs as orgs_service
from bot.services import polls as polls_service
from bot.services import proposals as proposals_service
from bot.services import recommendations as recommendations_service
from bot.services import reports as reports_service
from bot.services.errors import DomainError
from storage.models import (
    ChannelPost,
    DiscussionStatement,
    DigestSubscription,
    FsmRecord,
    User,
    UserRole,
    iso,
    utcnow,
)

TOPICS = ("reports", "polls", "events", "proposals")
GRANTABLE_ROLES = ("organizer", "moderator", "mediator")
NAME_MAX = 64


def clean_name(text: str | None) -> str:
    """Validate a display name: trimmed, printable, 1..64 characters."""
    if text is None:
        raise DomainError("name_empty")
    text = " ".join(text.split())
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cs"))
    if not any(unicodedata.category(ch)[0] not in "CZ" for ch in text):  # only invisible marks
        raise DomainError("name_empty")
    if len(text) > NAME_MAX:
        raise DomainError("name_too_long", max=NAME_MAX, length=len(text))
    return text


def pseudonym(user: User) -> str:
    """What moderators see instead of a name: 'R-123'."""
    return f"R-{user.id}"


async def by_telegram_id(session: AsyncSession, telegram_id: int) -> User | None:
    """The person and their roles in one statement (a join): every update asks for them."""
    result = await session.execute(_BY_TELEGRAM_ID, {"tg": telegram_id})
    return result.unique().scalar_one_or_none()


_BY_TELEGRAM_ID = select(User).options(joinedload(User.roles)).where(User.telegram_id == bindparam("tg"))


async def by_id(session: AsyncSession, user_id: int | None) -> User | None:
    return await session.get(User, user_id) if user_id is not None else None


async def forget_unregistered(session: AsyncSession, user: User) -> None:
    """Someone declined consent: the row made at their first /start goes, nothing is kept."""
    await session.delete(user)
    await session.flush()


async def ensure_user(
    session: AsyncSession, telegram_id: int, language: str, username: str | None = None
) -> User:
    """The row that lets us talk to someone; created at first contact, no personal data yet."""
    user = await by_telegram_id(session, telegram_id)
    if user is None:
        user = User(telegram_id=telegram_id, language=language, username=username, topics=[])
        session.add(user)
        await session.flush()
    return user


async def complete_registration(
    session: AsyncSession,
    user: User,
    *,
    name: str,
    district: str,
    topics: list[str],
    now: datetime | None = None,
) -> User:
    now = now or utcnow()
    user.display_name = clean_name(name)
    user.district = district
    user.topics = [t for t in TOPICS if t in topics]
    user.consent_at = now
    user.registered_at = now
    user.deleted_at = None
    await session.flush()
    return user


async def set_language(session: AsyncSession, user: User, language: str) -> None:
    user.language = language
    await session.flush()


async def update_profile(session: AsyncSession, user: User, **fields: Any) -> User:
    if "display_name" in fields:
        fields["display_name"] = clean_name(fields["display_name"])
    if "topics" in fields:
        fields["topics"] = [t for t in TOPICS if t in fields["topics"]]
    for key, value in fields.items():
        setattr(user, key, value)
    await session.flush()
    return user



async def export_user(session: AsyncSession, user: User) -> dict[str, Any]:
    """Everything stored about the user, as plain JSON-able data (for /mydata)."""
    fsm = (
        await session.scalars(select(FsmRecord).where(FsmRecord.key.like(f"%:{user.telegram_id}:%")))
    ).all() if user.telegram_id else []
    return {
        "profile": {
            "internal_id": user.id,
            "pseudonym": pseudonym(user),
            "telegram_id": user.telegram_id,
            "telegram_username": user.username,
            "display_name": user.display_name,
            "language": user.language,
            "district": user.district,
            "topics": list(user.topics or []),
            "consent_given_at": iso(user.consent_at),
            "registered_at": iso(user.registered_at),
            "first_contact_at": iso(user.created_at),
            "last_updated_at": iso(user.updated_at),
            "unreachable_since": iso(user.unreachable_at),
            # registered in person by a community mediator (bot/services/mediators.py)
            "resident_code": user.code,
            "phone": user.phone,
            "registered_by_mediator": user.mediator_id is not None,
            "linked_to_telegram_at": iso(user.linked_at),
        },
        "roles": sorted(user.role_names),
        "conversation_in_progress": [{"state": r.state, "data": r.data} for r in fsm],
        **await reports_service.export_for(session, user),
        # anonymous polls are not here: their answers are not stored with the person
        "poll_answers": await polls_service.personal_answers(session, user.id),
        "events": await events_service.export_for(session, user.id),
        "organisations": await orgs_service.export_for(session, user.id),
        "working_groups": await groups_service.export_for(session, user.id),
        "discussion_statements": await discussions_service.export_for(session, user.id),
        **await proposals_service.export_for(session, user.id),
        **await recommendations_service.export_for(session, user.id),
    }


async def erase_user(session: AsyncSession, user: User, poll_secret: bytes) -> list[Any]:
    """Erase personal data. District and language stay, unlinked, for anonymous statistics;
    poll answers stay in the counts but nothing links them to the person any more.
    Returns the reports whose moderators' cards showed the name (to be re-rendered)."""
    named = await reports_service.forget_person(session, user)
    await polls_service.forget(session, user.id, poll_secret)
    await events_service.forget(session, user.id, utcnow())
    await orgs_service.forget(session, user.id)
    await proposals_service.forget(session, user.id)
    await groups_service.forget(session, user.id)
    await discussions_service.forget(session, user.id, poll_secret)
    await recommendations_service.forget(session, user.id)
    await session.execute(delete(DigestSubscription).where(DigestSubscription.user_id == user.id))
    if user.telegram_id is not None:  # who set the organizers' chat digest is no longer known
        await session.execute(update(DigestSubscription).where(DigestSubscription.set_by == user.telegram_id)
                              .values(set_by=None))
        await session.execute(update(ChannelPost).where(ChannelPost.posted_by == user.telegram_id)
                              .values(posted_by=None))
        await session.execute(update(DiscussionStatement).where(DiscussionStatement.moderated_by == user.telegram_id)
                              .values(moderated_by=None))
    if user.telegram_id is not None:
        fsm = await session.scalars(
            select(FsmRecord).where(FsmRecord.key.like(f"%:{user.telegram_id}:%"))
        )
        for row in fsm:
            await session.delete(row)
    user.telegram_id = None
    user.username = None
    user.display_name = None
    user.phone = None
    user.link_token = None
    user.topics = []
    user.consent_at = None
    user.unreachable_at = None
    user.deleted_at = utcnow()
    user.roles.clear()
    await session.flush()
    return named


async def find_user(session: AsyncSession, ref: str) -> User | None:
    """A user by Telegram id or @username (case-insensitive)."""
    ref = ref.strip()
    if ref.lstrip("-").isdigit():
        return await by_telegram_id(session, int(ref))
    name = ref.removeprefix("@").lower()
    if not name:
        return None
    return await session.scalar(
        select(User).where(func.lower(User.username) == name, User.deleted_at.is_(None))
    )


async def grant_role(session: AsyncSession, user: User, role: str, by: int | None) -> bool:
    """Give a role; False when the user already has it."""
    if role not in GRANTABLE_ROLES:
        raise DomainError("unknown_role", role=role)
    if role in user.role_names:
        return False
    user.roles.append(UserRole(role=role, granted_by=by))
    await session.flush()
    return True


async def revoke_role(session: AsyncSession, user: User, role: str) -> bool:
    if role not in GRANTABLE_ROLES:
        raise DomainError("unknown_role", role=role)
    for item in list(user.roles):
        if item.role == role:
            user.roles.remove(item)
            await session.flush()
            return True
    return False


async def role_holders(session: AsyncSession) -> list[tuple[User, str]]:
    rows = await session.execute(
        select(User, UserRole.role).join(UserRole).order_by(UserRole.role, User.id)
    )
    return [(u, r) for u, r in rows.all()]
