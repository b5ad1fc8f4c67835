"""Wiring: Bot, Dispatcher, database, i18n, middlewares and background services."""
from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import jobs
from bot.community import Community, load_community
from bot.config import Settings
from bot.delivery import DeliveryEngine
from bot.i18n import UserLocaleMiddleware, create_i18n
from bot.leader import Leader
from bot.menus import publish_default_commands
from bot.middlewares import ActingBanner, ActingMiddleware, ApologyMiddleware, DbSessionMiddleware, InFlight, UserMiddleware
from bot.scheduler import attach_delivery, attach_job, create_scheduler
from bot.scheduler import shutdown as shutdown_scheduler
from handlers import build_router
from storage.db import create_engine, create_sessionmaker
from storage.fsm import DatabaseStorage

log = logging.getLogger(__name__)
Service = Callable[["App"], Awaitable[None]]


@dataclass
class App:
    settings: Settings
    bot: Bot
    dp: Dispatcher
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    i18n: I18n
    community: Community
    inflight: InFlight
    background: list[asyncio.Task[None]] = field(default_factory=list)
    delivery: DeliveryEngine | None = None
    scheduler: Any = None  # AsyncIOScheduler: a trigger only (bot.scheduler)
    due_checks: Any = None  # the jobs that run at start (polls to close, event reminders...), once
    leader: Leader | None = None  # is this worker the one that runs scheduled work (bot.leader)

    async def close(self) -> None:
        if self.scheduler is not None:
            shutdown_scheduler(self.scheduler)
        if self.leader is not None:
            await self.leader.stop()  # another worker takes the scheduled work over
        if self.delivery is not None:
            await self.delivery.stop()  # finishes the sends in flight and records them
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        self.background.clear()
        await self.dp.storage.close()
        await self.bot.session.close()
        await self.engine.dispose()


@functools.cache
def _pin_response_models() -> tuple[Any, ...]:
    """aiogram reads every answer through ``Response[T]``. pydantic caches such generic classes
    only while someone holds them, so without this each API call built ``Response[Message]``
    anew: about a fifth of the delivery engine's CPU. Held here for the process (~0.1 s once)."""
    import inspect

    import aiogram.methods
    from aiogram.methods.base import Response, TelegramMethod

    pinned = []
    for cls in vars(aiogram.methods).values():
        if inspect.isclass(cls) and issubclass(cls, TelegramMethod) and cls is not TelegramMethod:
            try:
                pinned.append(Response[cls.__returning__])  # type: ignore[name-defined]
            except Exception:  # noqa: BLE001 - a speed-up only: a method it cannot pin works as before
                continue
    return tuple(pinned)


def create_bot(settings: Settings) -> Bot:
    _pin_response_models()
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        if settings.telegram_api_url
        else AiohttpSession()
    )
    session.middleware(ActingBanner())
    return Bot(
        token=settings.bot_token or "",
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def _fsm(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[BaseStorage, BaseEventIsolation]:
    if settings.redis_url:
        from aiogram.fsm.storage.base import DefaultKeyBuilder
        from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

        storage = RedisStorage.from_url(
            settings.redis_url, key_builder=DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        )
        return storage, RedisEventIsolation(storage.redis)
    return DatabaseStorage(sessionmaker), SimpleEventIsolation()


def create_dispatcher(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    community: Community,
    inflight: InFlight,
) -> Dispatcher:
    storage, isolation = _fsm(settings, sessionmaker)
    dp = Dispatcher(storage=storage, events_isolation=isolation)
    dp["settings"] = settings
    dp["community"] = community
    dp["sessionmaker"] = sessionmaker
    dp.update.outer_middleware(inflight)
    # Order matters: session -> user and roles -> locale -> apology (inside all of them) -> a
    # mediator acting for a resident (the user changes, the locale stays the mediator's).
    dp.update.outer_middleware(DbSessionMiddleware(sessionmaker))
    dp.update.outer_middleware(UserMiddleware(settings))
    dp.update.outer_middleware(UserLocaleMiddleware(i18n))
    dp.update.outer_middleware(ApologyMiddleware())
    dp.update.outer_middleware(ActingMiddleware())
    dp.callback_query.middleware(CallbackAnswerMiddleware())
    dp.include_router(build_router())
    return dp


def _job_runner(job: jobs.Job, context: jobs.JobContext, leader: Leader) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        if job.leader and not leader.is_leader:
            return
        await jobs.run(job, context)

    return run


async def build_app(settings: Settings) -> App:
    community = load_community(settings.community_file)
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    i18n = create_i18n(settings.default_locale)
    bot = create_bot(settings)
    inflight = InFlight()
    dp = create_dispatcher(settings, sessionmaker, i18n, community, inflight)
    app = App(settings, bot, dp, engine, sessionmaker, i18n, community, inflight)
    dp["app"] = app
    delivery = app.delivery = dp["delivery"] = DeliveryEngine(
        sessionmaker, bot, i18n, settings=settings, community=community
    )
    scheduler = app.scheduler = create_scheduler(settings.tz)
    attach_delivery(scheduler, delivery)
    leader = app.leader = Leader(settings.database_url, retry_seconds=settings.leader_retry_seconds)
    context = jobs.JobContext(sessionmaker, bot, settings, i18n, delivery, community)
    # every feature's jobs (registered when build_router imported the handlers), each wrapped:
    # an error is logged and the next run happens; leader jobs run only in the elected worker
    for job in jobs.registered():
        attach_job(scheduler, job, _job_runner(job, context, leader))

    async def due_checks() -> None:
        """The jobs that also run at start (polls and discussions that close, event reminders,
        questions and feedback, digests), once now, wherever this is called."""
        for job in jobs.registered():
            if job.at_start:
                await jobs.run(job, context)

    app.due_checks = due_checks

    started = asyncio.Event()

    def leading_changed(leading: bool) -> None:
        if leading and started.is_set():  # a takeover: what fell due while the leader was down
            app.background.append(asyncio.create_task(due_checks()))

    leader.on_change.append(leading_changed)

    async def on_startup() -> None:
        from bot.services.polls import load_secret

        async with sessionmaker() as session:  # handlers get it as `poll_secret`
            dp["poll_secret"] = await load_secret(session, settings.secret_key)
        await publish_default_commands(bot, settings, i18n)
        await delivery.start()
        scheduler.start()
        if await leader.start():
            await due_checks()  # what fell due while the bot was down is done now
        started.set()

    dp.startup.register(on_startup)
    return app


UPDATE_CONCURRENCY = 8  # below the database pool (10 + 10 overflow): an update may hold two connections


async def run_polling(app: App, *, handle_signals: bool = True, handle_as_tasks: bool = True) -> None:
    """Long polling until SIGTERM/SIGINT (or stop_polling), then drain in-flight updates."""
    try:
        await app.dp.start_polling(
            app.bot,
            handle_signals=handle_signals,
            handle_as_tasks=handle_as_tasks,
            close_bot_session=False,
            allowed_updates=app.dp.resolve_used_update_types(),
            # at most this many updates at once: a burst (5,000 residents voting) waits at
            # Telegram instead of for database connections (where updates timed out and were lost)
            tasks_concurrency_limit=UPDATE_CONCURRENCY,
        )
        # updates still waiting for their user's lock are tasks aiogram started but InFlight has
        # not seen yet: wait for those too (aiogram keeps them in a private set)
        pending = set(getattr(app.dp, "_handle_update_tasks", ()))
        if pending:
            await asyncio.wait(pending, timeout=30)
        await app.inflight.drain()
    finally:
        await app.close()


async def run_webhook(app: App, stop: asyncio.Event | None = None, host: str = "0.0.0.0",
                      reuse_port: bool = False) -> None:
    """Webhook mode: an aiohttp server on WEBHOOK_PORT; SIGTERM/SIGINT (or `stop`) end it after
    the updates in flight are handled. Requests without WEBHOOK_SECRET's header are refused."""
    import signal

    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    settings = app.settings
    assert settings.webhook_url
    web_app = web.Application()
    path = "/" + settings.webhook_url.split("://", 1)[1].partition("/")[2]
    # each update is handled before its request is answered, and Telegram sends at most
    # max_connections at once: the same bound on updates in flight as polling's
    SimpleRequestHandler(app.dp, app.bot, secret_token=settings.webhook_secret,
                         handle_in_background=False).register(web_app, path=path)
    setup_application(web_app, app.dp, bot=app.bot)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, host, settings.webhook_port, reuse_port=reuse_port).start()
    await app.bot.set_webhook(
        settings.webhook_url,
        secret_token=settings.webhook_secret,
        max_connections=UPDATE_CONCURRENCY,
        allowed_updates=app.dp.resolve_used_update_types(),
    )
    log.info("Webhook server on port %s, path %s", settings.webhook_port, path)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        await app.inflight.drain()
    finally:
        await runner.cleanup()
        await app.inflight.drain()
        await app.close()
