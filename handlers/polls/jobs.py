"""The periodic check that closes polls whose time has come (from the database, so a restart
loses nothing)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import jobs
from bot.config import Settings
from bot.delivery import DeliveryEngine
from bot.scheduler import DUE_CHECK_SECONDS
from bot.services import polls as polls_service
from storage.models import Poll


async def close_due(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, delivery: DeliveryEngine) -> int:
    """The periodic check: close every poll whose time has come (once, even across restarts)."""
    closed = 0
    async with sessionmaker() as session:
        for poll_id in await polls_service.due_polls(session, delivery.now()):
            poll = await polls_service.close_and_queue(
                session, poll_id, delivery.now(), min_group=settings.poll_min_group,
                organizers_chat_id=settings.organizers_chat_id)
            await session.commit()
            if poll is not None:
                closed += 1
                stop_sending(delivery, poll)
    return closed


@jobs.job("poll-close", seconds=DUE_CHECK_SECONDS, at_start=True)
async def close_due_job(ctx: jobs.JobContext) -> None:
    await close_due(ctx.sessionmaker, ctx.settings, ctx.delivery)


def stop_sending(delivery: DeliveryEngine, poll: Poll | None) -> None:
    """A poll that closed while it was still going out: the rest are not sent (the service
    cancelled them); the queued results and button removals go out."""
    if poll is not None and poll.campaign_id is not None:
        delivery.cancelled(poll.campaign_id)
    delivery.wake()


