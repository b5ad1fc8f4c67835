"""Working groups of the dialogue platform: organizers create them, residents join and leave,
a group is an audience (``Audience.groups``) and its coordinator can message it. No aiogram here.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from bot.services.orgs import parse_texts
from storage.models import Event, GroupMember, User, WorkingGroup

NAME_MAX = 100
DESCRIPTION_MAX = 1000
MESSAGE_MAX = 2000
PAGE = 6  # groups per /groups page (descriptions shortened there: one message stays within 4096)


def clean_name(text: str | None, default_locale: str, locales: tuple[str, ...]) -> dict[str, str]:
    return parse_texts(text, default_locale, locales, NAME_MAX)


def clean_description(text: str | None, default_locale: str, locales: tuple[str, ...]) -> dict[str, str]:
    return parse_texts(text, default_locale, locales, DESCRIPTION_MAX)


def clean_message(text: str | None) -> str:
    value = (text or "").strip()
    if not value:
        raise DomainError("org_empty")
    if len(value) > MESSAGE_MAX:
        raise DomainError("org_too_long", max=MESSAGE_MAX, length=len(value))
    return value


async def create(session: AsyncSession, name: dict[str, str], description: dict[str, str],
                 coordinator_id: int | None, created_by: int | None, now: datetime) -> WorkingGroup:
    group = WorkingGroup(name=name, description=description, coordinator_id=coordinator_id,
                         created_by=created_by, created_at=now)
    session.add(group)
    await session.flush()
    return group


async def get(session: AsyncSession, group_id: int) -> WorkingGroup | None:
    return await session.get(WorkingGroup, group_id)


async def count_open(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(WorkingGroup).where(
        WorkingGroup.closed_at.is_(None))) or 0


async def open_groups(session: AsyncSession, limit: int = PAGE, offset: int = 0) -> list[tuple[WorkingGroup, int]]:
    """Open groups, oldest first, with their number of members."""
    members = (select(GroupMember.group_id, func.count().label("n")).group_by(GroupMember.group_id).subquery())
    rows = await session.execute(
        select(WorkingGroup, func.coalesce(members.c.n, 0)).outerjoin(members, members.c.group_id == WorkingGroup.id)
        .where(WorkingGroup.closed_at.is_(None)).order_by(WorkingGroup.id).offset(offset).limit(limit))
    return [(group, int(n)) for group, n in rows]


async def memberships(session: AsyncSession, user_id: int) -> set[int]:
    return set(await session.scalars(select(GroupMember.group_id).where(GroupMember.user_id == user_id)))


async def join(session: AsyncSession, group_id: int, user: User, now: datetime) -> bool:
    """False when they were a member already. Raises DomainError group_closed."""
    group = await session.get(WorkingGroup, group_id)
    if group is None or group.closed_at is not None:
        raise DomainError("group_closed")
    try:
        async with session.begin_nested():
            session.add(GroupMember(group_id=group_id, user_id=user.id, joined_at=now))
            await session.flush()
    except IntegrityError:
        return False
    return True


async def leave(session: AsyncSession, group_id: int, user_id: int) -> bool:
    result = await session.execute(delete(GroupMember).where(GroupMember.group_id == group_id,
                                                             GroupMember.user_id == user_id))
    return bool(result.rowcount)


def may_message(group: WorkingGroup | None, user: User, roles: set[str]) -> bool:
    """The coordinator, organizers and admins may write to a group (checked on every step)."""
    if group is None or group.closed_at is not None:
        return False
    return group.coordinator_id == user.id or bool({"organizer", "admin"} & roles)


async def coordinated_by(session: AsyncSession, user_id: int) -> list[WorkingGroup]:
    return list(await session.scalars(select(WorkingGroup).where(
        WorkingGroup.coordinator_id == user_id, WorkingGroup.closed_at.is_(None)).order_by(WorkingGroup.id)))


async def next_meetings(session: AsyncSession, group_ids: Sequence[int], now: datetime) -> dict[int, Event]:
    """The next event (not cancelled) whose audience is the group, for each group that has one."""
    wanted, out = set(group_ids), {}
    for event in await session.scalars(select(Event).where(Event.status != "cancelled", Event.starts_at >= now)
                                       .order_by(Event.starts_at, Event.id).limit(200)):
        for gid in (event.audience or {}).get("groups") or ():
            if gid in wanted and gid not in out:
                out[gid] = event
    return out


async def names(session: AsyncSession, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    return {gid: name for gid, name in await session.execute(
        select(WorkingGroup.id, WorkingGroup.name).where(WorkingGroup.id.in_(ids)))}


async def export_for(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(select(WorkingGroup.name, GroupMember.joined_at).join(
        GroupMember, GroupMember.group_id == WorkingGroup.id).where(GroupMember.user_id == user_id))
    return [{"group": name, "joined_at": joined.isoformat()} for name, joined in rows]


async def forget(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(GroupMember).where(GroupMember.user_id == user_id))
    await session.execute(update(WorkingGroup).where(WorkingGroup.coordinator_id == user_id)
                          .values(coordinator_id=None))
