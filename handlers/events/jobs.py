"""The periodic check that queues reminders, the speakers' questions and feedback (due by the
database, so nothing is sent twice or lost to a restart)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import jobs
from bot.config import Settings
from bot.delivery import DeliveryEngine
from bot.scheduler import DUE_CHECK_SECONDS
from bot.services import events as events_service
from handlers.events.base import reminder_offsets


async def check_due(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                    delivery: DeliveryEngine) -> int:
    """The periodic check: queue the reminders, questions and feedback that are due."""
    async with sessionmaker() as session:
        created = await events_service.queue_due(session, delivery.now(), offsets=reminder_offsets(settings),
                                                 organizers_chat_id=settings.organizers_chat_id)
        await session.commit()
    if created:
        delivery.wake()
    return created


@jobs.job("event-due", seconds=DUE_CHECK_SECONDS, at_start=True)
async def check_due_job(ctx: jobs.JobContext) -> None:
    await check_due(ctx.sessionmaker, ctx.settings, ctx.delivery)


