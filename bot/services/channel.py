"""The public channel's record: each poll's results, realised proposal or event summary is
published once (claimed before posting, released if the post failed). No aiogram here."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelPost

STALE = timedelta(minutes=10)


async def posted(session: AsyncSession, kind: str, ref_id: int) -> ChannelPost | None:
    return await session.scalar(select(ChannelPost).where(ChannelPost.kind == kind, ChannelPost.ref_id == ref_id))


async def claim(session: AsyncSession, kind: str, ref_id: int, by: int | None, now: datetime) -> bool:
    """True for the one caller who may post it now (committed at once, so a second tap sees it).
    A claim left without a post for ``STALE`` (the process stopped mid-way) is free again."""
    await session.execute(delete(ChannelPost).where(
        ChannelPost.kind == kind, ChannelPost.ref_id == ref_id, ChannelPost.message_id.is_(None),
        ChannelPost.posted_at < now - STALE))
    try:
        session.add(ChannelPost(kind=kind, ref_id=ref_id, posted_by=by, posted_at=now))
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def done(session: AsyncSession, kind: str, ref_id: int, message_id: int) -> None:
    row = await posted(session, kind, ref_id)
    if row is not None:
        row.message_id = message_id
    await session.commit()


async def release(session: AsyncSession, kind: str, ref_id: int) -> None:
    """The post failed: it may be tried again."""
    await session.execute(delete(ChannelPost).where(ChannelPost.kind == kind, ChannelPost.ref_id == ref_id))
    await session.commit()
