"""Scheduled work, declared by each feature beside its code (as commands are in bot.commands).

A feature registers its periodic checks when its module is imported::

    from bot import jobs

    @jobs.job("poll-close", seconds=30)
    async def close_due(ctx: jobs.JobContext) -> None: ...

``bot.app`` runs every registered job on APScheduler (a trigger only: the database says what is
due, so a missed or repeated run changes nothing). A job with ``leader=True`` (the default) runs
only in the worker that holds the leader lock (bot.leader), so with several workers it runs once.
``at_start=True`` also runs it once when the bot starts (what fell due while it was down).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.utils.i18n import I18n
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.community import Community
    from bot.config import Settings
    from bot.delivery import DeliveryEngine


@dataclass
class JobContext:
    """What a job gets: the process's shared objects (no aiogram update, no request locale)."""

    sessionmaker: async_sessionmaker[AsyncSession]
    bot: Bot
    settings: Settings
    i18n: I18n
    delivery: DeliveryEngine
    community: Community
    extra: dict[str, Any] = field(default_factory=dict)


JobFunc = Callable[[JobContext], Awaitable[Any]]


@dataclass(frozen=True)
class Job:
    name: str
    func: JobFunc
    seconds: float | None = None  # every this many seconds, or
    cron: tuple[tuple[str, Any], ...] | None = None  # APScheduler CronTrigger fields, in TIMEZONE
    leader: bool = True  # only the elected worker runs it
    at_start: bool = False  # also once at start


JOBS: dict[str, Job] = {}


def register(job_: Job) -> Job:
    if job_.seconds is None and job_.cron is None:
        raise ValueError(f"job {job_.name}: give seconds or cron")
    JOBS[job_.name] = job_
    return job_


def job(name: str, *, seconds: float | None = None, cron: dict[str, Any] | None = None,
        leader: bool = True, at_start: bool = False) -> Callable[[JobFunc], JobFunc]:
    """Decorator: register ``func`` as the job ``name`` (see the module's docstring)."""

    def decorate(func: JobFunc) -> JobFunc:
        register(Job(name, func, seconds, tuple(sorted(cron.items())) if cron else None, leader, at_start))
        return func

    return decorate


log = logging.getLogger(__name__)


async def run(job_: Job, ctx: JobContext) -> bool:
    """Run one job once; an exception is logged (the next run happens as usual). True if it ran
    without an error."""
    try:
        await job_.func(ctx)
    except Exception:
        log.exception("Job %s failed", job_.name)
        return False
    return True


def registered() -> list[Job]:
    """Every feature's jobs (the handlers' modules register theirs when imported)."""
    return list(JOBS.values())
