"""APScheduler (AsyncIOScheduler) as a trigger only.

The database is the source of truth for what is due; jobs here live in memory and only wake
code up, so nothing is lost or done twice across restarts:

* ``delivery-due``: a one-off wake-up of the delivery engine at its next due moment (a scheduled
  campaign, a retry, the end of quiet hours), re-armed whenever the engine goes idle;
* ``delivery-sweep``: a periodic wake-up, a safety net.

Features declare their periodic work in :mod:`bot.jobs` (``@jobs.job("poll-close", seconds=30)``);
bot.app triggers each job here (:func:`attach_job`) under its name. The database says what is due
(a campaign key such as digest:2026-W48 makes a repeated or late trigger harmless).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

if TYPE_CHECKING:
    from bot.delivery import DeliveryEngine
    from bot.jobs import Job

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30


def create_scheduler(timezone: Any = UTC) -> AsyncIOScheduler:
    return AsyncIOScheduler(
        timezone=timezone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )


def attach_delivery(scheduler: AsyncIOScheduler, engine: DeliveryEngine, sweep_seconds: float = SWEEP_SECONDS) -> None:
    """Wake the engine when its next work is due, and periodically as a safety net."""

    async def wake() -> None:  # a coroutine: runs on the event loop, not in APScheduler's thread pool
        engine.wake()

    def arm(delay: float) -> None:
        run_date = datetime.now(UTC) + timedelta(seconds=max(delay, 0.01))
        scheduler.add_job(wake, "date", run_date=run_date, id="delivery-due", replace_existing=True)

    engine.on_next_due = arm
    scheduler.add_job(wake, "interval", seconds=sweep_seconds, id="delivery-sweep", replace_existing=True)


REPORT_CHECK_SECONDS = 600  # stale reports, "is it fixed?", cards not posted yet
DUE_CHECK_SECONDS = 30  # polls close, reminders go out within this many seconds of their time


def attach_job(scheduler: AsyncIOScheduler, job: Job, func: Callable[[], Awaitable[None]]) -> None:
    """Trigger ``func`` (the job, wrapped by bot.app) by the job's period or cron (in TIMEZONE)."""
    if job.seconds is not None:
        add_periodic(scheduler, job.name, func, job.seconds)
    else:
        add_cron(scheduler, job.name, func, **dict(job.cron or ()))


def add_periodic(
    scheduler: AsyncIOScheduler, job_id: str, func: Callable[[], Awaitable[None]], seconds: float
) -> None:
    """Run the coroutine function ``func`` every ``seconds`` (coroutines run on the event loop;
    plain functions would run in a thread pool, so pass async ones)."""
    scheduler.add_job(func, "interval", seconds=seconds, id=job_id, replace_existing=True)


def add_cron(scheduler: AsyncIOScheduler, job_id: str, func: Callable[[], Awaitable[None]], **cron: Any) -> None:
    """``cron`` as for APScheduler's CronTrigger (day_of_week="mon", hour=9, ...), in TIMEZONE."""
    scheduler.add_job(func, "cron", id=job_id, replace_existing=True, **cron)


def shutdown(scheduler: AsyncIOScheduler) -> None:
    if scheduler.running:
        scheduler.shutdown(wait=False)
