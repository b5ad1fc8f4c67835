"""Wiring: Bot, Dispatcher, database, i18n, middlewares and background services."""
from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
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
from bot.middlewares import (
    ActingBanner,
    ActingMiddleware,
    ApologyMiddleware,
    InFlight,
    UserMiddleware,
)
from bot.scheduler import attach_delivery, attach_job, create_scheduler
from bot.scheduler import shutdown as shutdown_scheduler
from bot.updates import (
    DeferredReplies,
    Poller,
    UpdatePath,
    UpdateUnit,
    deferred_wake,
    prepare_router,
)
from handlers import build_router
from storage.db import create_engine, create_sessionmaker
from storage.fsm import CommittedStorage, DatabaseStorage

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
    path: UpdatePath | None = None  # the update path (bot.updates)
    poller: Poller | None = None
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
        if self.path is not None:
            await self.path.stop()
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

    from bot.updates import RawUpdates

    pinned = []
    for cls in [*vars(aiogram.methods).values(), RawUpdates]:
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
    session.middleware(DeferredReplies())  # after the banner: what is kept already has it
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
        return CommittedStorage(storage), RedisEventIsolation(storage.redis)
    return DatabaseStorage(sessionmaker), SimpleEventIsolation()


def create_dispatcher(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    community: Community,
    inflight: InFlight,
    path: UpdatePath,
) -> Dispatcher:
    storage, isolation = _fsm(settings, sessionmaker)
    # aiogram's FSM middleware would read the state in a session of its own before ours: the
    # update unit (bot.updates) takes its place, inside the update's session
    dp = Dispatcher(storage=storage, events_isolation=isolation, disable_fsm=True)
    dp["settings"] = settings
    dp["community"] = community
    dp["sessionmaker"] = sessionmaker
    dp.update.outer_middleware(inflight)
    # Order matters: the unit of work (isolation lock, session, handled record, replies after the
    # commit) -> user and roles -> locale -> apology (inside all of them) -> a mediator acting for
    # a resident (the user changes, the locale stays the mediator's).
    dp.update.outer_middleware(UpdateUnit(path, dp))
    dp.update.outer_middleware(UserMiddleware(settings))
    dp.update.outer_middleware(UserLocaleMiddleware(i18n))
    dp.update.outer_middleware(ApologyMiddleware())
    dp.update.outer_middleware(ActingMiddleware())
    dp.callback_query.middleware(CallbackAnswerMiddleware())
    router = build_router()
    dp.include_router(router)
    prepare_router(dp)
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
    path = UpdatePath(sessionmaker, bot)
    path.i18n, path.default_locale = i18n, settings.default_locale
    dp = create_dispatcher(settings, sessionmaker, i18n, community, inflight, path)
    app = App(settings, bot, dp, engine, sessionmaker, i18n, community, inflight, path=path)
    dp["app"] = app
    delivery = app.delivery = dp["delivery"] = DeliveryEngine(
        sessionmaker, bot, i18n, settings=settings, community=community
    )
    delivery.wake = deferred_wake(delivery.wake)  # type: ignore[method-assign]  # after the update's commit
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
        await path.start()
        await delivery.start()
        scheduler.start()
        if await leader.start():
            await due_checks()  # what fell due while the bot was down is done now
        started.set()

    dp.startup.register(on_startup)
    return app


UPDATE_CONCURRENCY = 8  # below the database pool (10 + 10 overflow): an update may hold two connections


async def run_polling(app: App, *, handle_signals: bool = True) -> None:
    """Long polling (bot.updates.Poller) until SIGTERM/SIGINT (or ``app.poller.stop()``), then
    the running updates finish and Telegram is told which are done."""
    import signal

    poller = app.poller = Poller(app.dp, app.bot, concurrency=UPDATE_CONCURRENCY,
                                 allowed_updates=app.dp.resolve_used_update_types())
    if handle_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, poller.stop)
    dashboard = None
    try:
        await app.bot.delete_webhook()
        await app.dp.emit_startup(bot=app.bot)
        if app.settings.dashboard_port is not None:  # the organizers' dashboard on a server of its own
            from bot.dashboard import start_dashboard_server

            dashboard = await start_dashboard_server(app, app.settings.webhook_host, app.settings.dashboard_port)
        await poller.run()
        await app.inflight.drain()
    finally:
        if dashboard is not None:
            await dashboard.cleanup()
        with contextlib.suppress(Exception):
            await app.dp.emit_shutdown(bot=app.bot)
        await app.close()


def webhook_secret(settings: Settings) -> str:
    """WEBHOOK_SECRET, or one derived from the bot token (the same in every worker): Telegram
    sends it with every update and anything without it is refused."""
    if settings.webhook_secret:
        return settings.webhook_secret
    return hashlib.sha256(f"hromada-webhook:{settings.bot_token}".encode()).hexdigest()[:48]


async def run_webhook(app: App, stop: asyncio.Event | None = None, host: str | None = None,
                      reuse_port: bool = False, set_webhook: bool = True) -> None:
    """Webhook mode: an aiohttp server on WEBHOOK_HOST:WEBHOOK_PORT. Each update is answered 200
    only once it is finished (committed, replies sent or handed to the reply outbox); one that
    could not be handled now gets 500, so Telegram delivers it again. Requests without the secret
    header get 401; a body that is not an update gets 400. SIGTERM/SIGINT (or ``stop``) end it
    after the updates in flight are handled."""
    import hmac
    import json
    import signal

    from aiogram.types import Update
    from aiohttp import web

    from bot.updates import UpdateFailed

    settings = app.settings
    assert settings.webhook_url
    assert app.path is not None
    app.path.always_check = True  # a retried POST may reach this or another worker while the first runs
    secret = webhook_secret(settings)
    path = "/" + settings.webhook_url.split("://", 1)[1].partition("/")[2]
    limit = asyncio.Semaphore(UPDATE_CONCURRENCY)

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            body = json.loads(await request.read())
            update = Update.model_validate(body, context={"bot": app.bot})
        except Exception:  # noqa: BLE001 - garbage from whoever reached the port: no traceback
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        async with limit:
            try:
                await app.dp.feed_update(app.bot, update)
            except UpdateFailed:
                return web.json_response({"ok": False}, status=500)  # Telegram tries again later
            except Exception:  # noqa: BLE001 - a bug: logged, and not worth Telegram's retries
                log.exception("Update %s failed", update.update_id)
        return web.json_response({})

    web_app = web.Application(client_max_size=1024 * 1024)
    web_app.router.add_post(path, receive)
    from bot.dashboard import mount

    mount(web_app, app)  # the organizers' dashboard at /app/ on the same server
    runner = web.AppRunner(web_app, access_log=None)
    await app.dp.emit_startup(bot=app.bot)
    await runner.setup()
    await web.TCPSite(runner, host or settings.webhook_host, settings.webhook_port, reuse_port=reuse_port).start()
    if set_webhook:
        await app.bot.set_webhook(
            settings.webhook_url,
            secret_token=secret,
            max_connections=min(100, UPDATE_CONCURRENCY * max(1, settings.workers)),  # each worker takes its share
            allowed_updates=app.dp.resolve_used_update_types(),
        )
    log.info("Webhook server on %s:%s, path %s", host or settings.webhook_host, settings.webhook_port, path)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.shutdown()  # no new requests; those in flight finish
        await app.inflight.drain()
        await runner.cleanup()
        with contextlib.suppress(Exception):
            await app.dp.emit_shutdown(bot=app.bot)
        await app.close()
