"""The delivery engine: a durable outbox drained within Telegram's limits.

Life of a delivery row::

    pending --claim--> sending --send--> sent | blocked | failed | cancelled
       ^                  |
       +-- 429 / 5xx / network / chat busy / outage (next_attempt_at later) --+

* **Claim**: one transaction moves due rows to ``sending`` (``WITH due AS MATERIALIZED (SELECT
  ... LIMIT n [FOR UPDATE SKIP LOCKED]) UPDATE ... RETURNING``), up to ``concurrency`` rows ahead,
  and writes a **lease** on each: ``lease_holder`` (this engine's ``worker_id``,
  ``hostname:pid:random``) and ``lease_until`` (now + ``lease``). At most ``concurrency`` sends are
  started and not yet recorded at any moment: a send keeps its slot until its outcome is committed.
* **Leases**: the holder renews its leases every ``lease``/4 while it works on the rows. Only a
  row whose lease expired (its holder crashed or hung and stopped renewing) goes back to
  ``pending``: at start and at every renewal round, never rows a live engine holds. Outcomes are
  written only while the row is still ours (``WHERE lease_holder = worker_id``), so a holder that
  hung past its lease cannot overwrite the engine that took over. So several engines (workers)
  can drain one PostgreSQL database; after a SIGKILL nothing is lost, and only sends that were
  started and not recorded (<= concurrency) can reach a resident twice.
* **One rate limit for all engines**: with ``REDIS_URL`` set, every send takes its slot from one
  token bucket in Redis (:mod:`bot.delivery.shared_limiter`: an atomic Lua script; overall
  ``SEND_RATE_PER_SEC``, 1 a second per chat, 20 a minute per group, a 429 pauses every engine).
  Without Redis (one process) the in-process :class:`RateLimiter` does the same.
* **One completion message, once**: a done or cancelled campaign is closed (its progress message
  edited into the outcome: delivered, unreachable, failed; a new message only when there is no
  progress message to edit; then ``finished_at``) by the one engine whose conditional UPDATE
  claimed its finishing (``finish_holder``/``finish_lease_until``; an expired claim is taken over).
* **Outages** (:mod:`bot.delivery.breaker`): retryable errors (5xx, network) from several sends
  in a row, to at least two chats, open a circuit breaker: every send waits; one probe send goes
  out after 1 s, then at growing intervals up to 30 s (``probe_base``/``probe_max``, divided by
  ``time_scale``); when it succeeds the queue drains. Sends that fail while it is open do not
  count as attempts, so an outage of any length marks nothing ``failed``; before a row fails for
  good on a 5xx/network error, ``getMe`` checks that Telegram itself is up.
* **Stop** (SIGTERM, App.close): no new claims; sends already on the wire finish and their outcome
  is written; rows claimed or waiting for a rate-limit slot go back to pending untouched.
* **Outcomes** are written in small batches (half the slots, or ``flush_interval``), which is
  what lets one process send over 1,000 messages a second when the limits allow it.
* **Errors**: 429 pauses everything for ``retry_after`` (the attempt is not counted); 403 and
  "chat not found" mark the resident unreachable (``User.unreachable_at``), no retry; 5xx and
  network errors (Telegram up) retry with exponential backoff, 1 try + ``max_retries``, then
  ``failed``; other 400s fail at once with Telegram's description. Error texts stored or logged
  never carry the bot token (:func:`bot.delivery.redact.redact`).

The database is the source of truth for what is due (scheduled campaigns, retries, quiet hours);
``bot.scheduler`` only wakes the engine up at the right moment.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import secrets
import socket
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import EditMessageReplyMarkup, GetMe, EditMessageText, SendDocument, SendMessage, SendPhoto
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import I18n
from aiohttp import ClientError
from sqlalchemy import and_, bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import raiseload

from bot.config import SUPPORTED_LOCALES, parse_quiet_hours
from bot.delivery import progress as default_progress
from bot.delivery.kinds import (
    CampaignInfo,
    Media,
    Outgoing,
    ProgressContext,
    RenderContext,
    Stats,
    get_kind,
    maybe_await,
)
from bot.delivery.breaker import CircuitBreaker
from bot.delivery.limiter import RateLimiter
from bot.delivery.redact import redact
from bot.delivery.quiet import QuietHours
from bot.delivery.session import JsonAiohttpSession
from bot.services import campaigns as campaigns_service
from storage.models import Campaign, Delivery, MediaFile, User, utcnow

if TYPE_CHECKING:
    from bot.community import Community
    from bot.config import Settings

log = logging.getLogger(__name__)

UNREACHABLE_MARKERS = ("chat not found", "user is deactivated", "peer_id_invalid", "bot was blocked",
                       "bot was kicked", "user not found")
ANALYZE_AFTER = 1000  # recipients; see DeliveryEngine._refresh_statistics
RETRYABLE = (TelegramServerError, TelegramNetworkError, TelegramUnauthorizedError, ClientDecodeError,
             ClientError, TimeoutError, OSError)


DEFAULT_PREFIX = "hromada:delivery"


@dataclass
class DeliveryConfig:
    """Tuning of the engine. ``time_scale`` > 1 runs Telegram's clock faster (tests, benchmarks):
    the rate limits and ``retry_after`` are divided by it, like the fake Bot API's Limits."""

    rate_per_sec: float = 30.0
    private_interval: float = 1.0
    group_per_minute: int = 20
    time_scale: float = 1.0
    concurrency: int = 32
    max_retries: int = 5  # 5xx / network errors: 1 try + up to 5 retries, then failed
    backoff_base: float = 2.0  # seconds before the first retry; doubles each time (+-20 % jitter)
    backoff_max: float = 600.0
    flush_interval: float = 0.01
    progress_interval: float = 2.5  # at most one edit of an organizer's progress message per this
    monitor_interval: float = 0.5
    idle_poll: float = 15.0  # safety net when nothing wakes the engine up
    stop_timeout: float = 10.0
    lease: float = 30.0  # real seconds a claimed row stays ours without renewal (renewed every lease/4)
    breaker_threshold: int = 5  # retryable errors in a row (>= 2 chats) that mean Telegram is down
    probe_base: float = 1.0  # first probe after an outage is detected; doubles up to probe_max
    probe_max: float = 30.0
    # the shared rate limit's keys (REDIS_URL set); by default one limit per bot and database
    redis_prefix: str = DEFAULT_PREFIX
    quiet_hours: tuple[int, int] | None = None
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    default_locale: str = "en"

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> DeliveryConfig:
        values: dict[str, Any] = dict(
            rate_per_sec=settings.send_rate_per_sec,
            quiet_hours=parse_quiet_hours(settings.quiet_hours) if settings.quiet_hours else None,
            tz=settings.tz,
            default_locale=settings.default_locale,
        )
        values.update(overrides)
        return cls(**values)


@dataclass
class _Job:
    id: int
    campaign_id: int
    user_id: int | None
    user: User | None
    chat_id: int | None
    attempts: int  # including the current one
    next_attempt_at: datetime


@dataclass
class _Result:
    job: _Job
    status: str
    attempts: int
    next_attempt_at: datetime
    message_id: int | None = None
    error: str | None = None
    sent_at: datetime | None = None
    mark_unreachable: bool = False


@dataclass
class _Progress:
    edited_at: float = 0.0
    digest: str = ""  # what this engine's last edit showed
    first_sent: float | None = None
    sent_times: deque[float] = field(default_factory=lambda: deque(maxlen=2000))


PROGRESS_IN_FLIGHT = 2.0  # seconds an edit of a progress message may take to reach Telegram


def _digest(out: Outgoing | None) -> str:
    """What a progress message shows (text and buttons), in 32 characters."""
    if out is None:
        return ""
    markup = out.reply_markup.model_dump_json(exclude_none=True) if out.reply_markup is not None else ""
    return hashlib.blake2b(f"{out.text}\0{markup}".encode(), digest_size=16).hexdigest()


class DeliveryEngine:
    """Sends campaigns. Features create campaigns with ``bot.services.campaigns`` and call
    :meth:`wake`; the engine renders each recipient's message with the kind's renderer."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        bot: Bot,
        i18n: I18n,
        config: DeliveryConfig | None = None,
        *,
        settings: Settings | None = None,
        community: Community | None = None,
        now: Callable[[], datetime] = utcnow,
        redis: Any = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.bot = bot
        self.i18n = i18n
        self.config = config or (DeliveryConfig.from_settings(settings) if settings else DeliveryConfig())
        self.settings = settings
        self.community = community
        self.now = now
        self.worker_id = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._redis: Any = redis
        self._own_redis = False
        if self._redis is None and settings is not None and settings.redis_url:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(settings.redis_url)
            self._own_redis = True
        self.limiter: Any = RateLimiter()
        if self._redis is not None:
            from bot.delivery.shared_limiter import RedisRateLimiter

            self.limiter = RedisRateLimiter(self._redis, self.config.redis_prefix)
        self.breaker = CircuitBreaker()
        self.counters: Counter[str] = Counter()
        self.on_next_due: Callable[[float], None] | None = None  # set by bot.scheduler
        self._apply_config()
        self._wake = asyncio.Event()
        self._monitor_wake = asyncio.Event()
        self._lease_wake = asyncio.Event()
        self._results: list[_Result] = []
        self._results_ready = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()
        self._inflight = 0  # sends started and not yet recorded (each holds a slot until then)
        self._ready: deque[_Job] = deque()  # claimed, waiting for a free slot
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._cancelled: set[int] = set()
        self._campaigns: dict[int, CampaignInfo] = {}
        self._progress: dict[int, _Progress] = {}
        self._file_ids: dict[str, str] = {}
        self._upload_locks: dict[str, asyncio.Lock] = {}
        self._started = False
        self._stopping = False
        self._closing = False
        self._idle_flag = False
        self._monitor_busy = False
        self._postgres = False
        self._session: JsonAiohttpSession | None = None

    # ------------------------------------------------------------------ lifecycle

    def _apply_config(self) -> None:
        c = self.config
        self.limiter.configure(c.rate_per_sec, c.private_interval, c.group_per_minute, c.time_scale)
        if hasattr(self.limiter, "prefix"):
            self.limiter.prefix = c.redis_prefix
            if c.redis_prefix == DEFAULT_PREFIX:  # engines of one bot on one database share it
                url = str(self.sessionmaker.kw["bind"].url) if "bind" in self.sessionmaker.kw else ""
                self.limiter.prefix = f"{DEFAULT_PREFIX}:{self.bot.id}:{hashlib.sha1(url.encode()).hexdigest()[:8]}"
        self.breaker.configure(c.breaker_threshold, c.probe_base, c.probe_max, c.time_scale)
        self.quiet = QuietHours(c.quiet_hours, c.tz)

    def configure(self, **changes: Any) -> None:
        """Change settings (tests: time_scale, backoff_base, ...); takes effect at once."""
        self.config = replace(self.config, **changes)
        self._apply_config()
        self._lease_wake.set()  # a new lease time: renew now

    @property
    def running(self) -> bool:
        return self._started and not self._stopping

    @property
    def inflight(self) -> int:
        return self._inflight

    async def start(self) -> None:
        """Take back rows whose lease expired (their holder crashed), then start sending.
        Rows another live engine holds stay its own."""
        if self._started:
            return
        self._apply_config()
        async with self.sessionmaker() as session:
            self._postgres = session.get_bind().dialect.name == "postgresql"
        await self._recover_expired()
        self._session = JsonAiohttpSession(api=self.bot.session.api, timeout=self.bot.session.timeout)
        self._started = True
        self._stopping = False
        self._closing = False
        self._loops = [
            asyncio.create_task(self._send_loop(), name="delivery-send"),
            asyncio.create_task(self._flush_loop(), name="delivery-flush"),
            asyncio.create_task(self._monitor_loop(), name="delivery-monitor"),
            asyncio.create_task(self._lease_loop(), name="delivery-lease"),
        ]
        self.wake()

    async def stop(self) -> None:
        """Stop claiming, let in-flight sends finish and record them, then stop.

        Loops are asked to finish rather than cancelled: a task cancelled in the middle of a
        SQLite write could leave the database locked for the last flush."""
        if not self._started or self._stopping:
            return
        self._stopping = True
        self.wake()
        send_loop, flush_loop, monitor_loop, lease_loop = self._loops
        await asyncio.gather(send_loop, return_exceptions=True)
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=self.config.stop_timeout)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("%s sends did not finish in time; they are retried when their lease expires",
                            len(pending))
                await asyncio.gather(*pending, return_exceptions=True)
        self._closing = True
        self._results_ready.set()
        self._monitor_wake.set()
        _done, late = await asyncio.wait({flush_loop, monitor_loop}, timeout=self.config.stop_timeout)
        for task in late:
            task.cancel()
        await asyncio.gather(flush_loop, monitor_loop, return_exceptions=True)
        lease_loop.cancel()
        await asyncio.gather(lease_loop, return_exceptions=True)
        if self._results:
            log.warning("%s delivery outcomes were not recorded; those rows are retried after the restart",
                        len(self._results))
        self._loops = []
        self._started = False
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._own_redis and self._redis is not None:
            await self._redis.aclose()
            self._redis = None
            self._own_redis = False
        log.info("Delivery engine stopped: %s", dict(self.counters))

    def wake(self) -> None:
        """Something may be due now (a new campaign, a retry, the end of quiet hours)."""
        self._idle_flag = False
        self._wake.set()
        self._monitor_wake.set()

    @property
    def is_idle(self) -> bool:
        """Nothing is due, claimed, in flight or unrecorded, and both loops saw the last wake-up
        (tests wait for this instead of sleeping)."""
        return (
            self._started and self._idle_flag and not self._monitor_busy
            and not self._wake.is_set() and not self._monitor_wake.is_set()
            and not self._ready and self._inflight == 0 and not self._results
        )

    def cancelled(self, campaign_id: int) -> None:
        """A campaign was cancelled (after the commit): drop its queued sends at once."""
        self._cancelled.add(campaign_id)
        self.wake()

    # ------------------------------------------------------------------ leases

    async def _lease_loop(self) -> None:
        """Renew the leases of the rows this engine holds; take back rows whose lease expired."""
        while True:
            self._lease_wake.clear()
            await _wait(self._lease_wake, max(0.05, self.config.lease / 4))
            try:
                await self._renew()
                await self._recover_expired()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("Could not renew delivery leases: %s", redact(str(exc), self.bot.token))

    async def _renew(self) -> int:
        table = Delivery.__table__
        async with self._writing(), self.sessionmaker() as session, session.begin():
            result = await session.execute(
                update(table).where(table.c.status == "sending", table.c.lease_holder == self.worker_id)
                .values(lease_until=utcnow() + timedelta(seconds=self.config.lease))
            )
        self.counters["renewals"] += 1
        return int(result.rowcount or 0)

    async def _recover_expired(self) -> int:
        """Rows left ``sending`` by an engine that stopped renewing (crashed or hung) go back to
        pending; never rows this engine or another live one holds."""
        table = Delivery.__table__
        now = utcnow()
        async with self._writing(), self.sessionmaker() as session, session.begin():
            result = await session.execute(
                update(table)
                .where(
                    table.c.status == "sending",
                    or_(table.c.lease_until.is_(None), table.c.lease_until < now),
                    or_(table.c.lease_holder.is_(None), table.c.lease_holder != self.worker_id),
                )
                .values(status="pending", lease_holder=None, lease_until=None)
            )
        recovered = int(result.rowcount or 0)
        if recovered:
            self.counters["recovered"] += recovered
            log.warning("Took back %s deliveries whose sender stopped (lease expired)", recovered)
            self._idle_flag = False
            self._wake.set()
        return recovered

    # ------------------------------------------------------------------ sending

    async def _send_loop(self) -> None:
        """Keep up to ``concurrency`` sends going, and the next rows claimed ahead of them."""
        while not self._stopping:
            self._wake.clear()
            width = self.config.concurrency
            try:
                while self._ready and self._inflight < width:
                    self._spawn(self._ready.popleft())
                room = width - len(self._ready)
                if room >= max(1, width // 2):
                    jobs = await self._claim(room)
                    if jobs:
                        self._idle_flag = False
                        self._ready.extend(jobs)
                        continue
                    if self._inflight == 0 and not self._ready:
                        await self._idle()
                        continue
                await _wait(self._wake, self.config.idle_poll)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Delivery loop error")
                await _wait(self._wake, 1.0)
        # stopping: claimed rows that were not started go back untouched
        unstarted = [self._result(job, "pending", refund=True) for job in self._ready]
        self._ready.clear()
        self._inflight += len(unstarted)
        self._results.extend(unstarted)

    async def _idle(self) -> None:
        """Nothing to send now: let the monitor close finished campaigns; sleep until due."""
        self._monitor_wake.set()
        self._idle_flag = True
        timeout = self.config.idle_poll
        delay = await self._next_due_delay()
        if delay is not None:
            if self.on_next_due is not None:
                self.on_next_due(delay)
            else:
                timeout = min(timeout, max(delay, 0.005))
        await _wait(self._wake, timeout)

    async def _claim(self, limit: int) -> list[_Job]:
        now = self.now()
        quiet = self.quiet.is_quiet(now)
        due = (
            select(Delivery.id)
            .join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(Delivery.status == "pending", Delivery.next_attempt_at <= now, Campaign.status == "running")
        )
        if quiet:
            due = due.where(Campaign.urgent.is_(True))
        due = due.order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)
        if self._postgres:
            due = due.with_for_update(of=Delivery, skip_locked=True)
        # A materialized CTE: PostgreSQL may re-run an IN (SELECT ... LIMIT n) subquery and
        # claim more than n rows otherwise.
        due_ids = due.cte("due").prefix_with("MATERIALIZED")
        table = Delivery.__table__
        claim = (
            update(table)
            .where(table.c.id.in_(select(due_ids.c.id)), table.c.status == "pending")
            .values(status="sending", attempts=table.c.attempts + 1, lease_holder=self.worker_id,
                    lease_until=utcnow() + timedelta(seconds=self.config.lease))
            .returning(table.c.id, table.c.campaign_id, table.c.user_id, table.c.chat_id,
                       table.c.attempts, table.c.next_attempt_at)
        )
        users: dict[int, User] = {}
        async with self._writing(), self.sessionmaker() as session, session.begin():
            claimed = (await (await session.connection()).execute(claim)).all()
            if self._postgres and claimed:  # one transaction; SQLite: read after the write lock is freed
                users = await self._load(session, claimed)
        self.counters["claims"] += 1
        if not claimed:
            self.counters["empty_claims"] += 1
            return []
        if not self._postgres:
            async with self.sessionmaker() as session:
                users = await self._load(session, claimed)
        jobs = []
        for row in sorted(claimed, key=lambda r: r.id):
            user = users.get(row.user_id) if row.user_id is not None else None
            chat_id = row.chat_id if row.user_id is None else (user.telegram_id if user is not None else None)
            jobs.append(_Job(row.id, row.campaign_id, row.user_id, user, chat_id, row.attempts, row.next_attempt_at))
        return jobs

    async def _load(self, session: AsyncSession, claimed: Sequence[Any]) -> dict[int, User]:
        """The claimed rows' residents (a detached snapshot for the renderer; roles are not loaded,
        query them if needed) and any campaign not cached yet."""
        users: dict[int, User] = {}
        user_ids = {row.user_id for row in claimed if row.user_id is not None}
        if user_ids:
            found = await session.scalars(select(User).where(User.id.in_(user_ids)).options(raiseload(User.roles)))
            users = {u.id: u for u in found}
        missing = {row.campaign_id for row in claimed} - self._campaigns.keys()
        if missing:
            for c in await session.scalars(select(Campaign).where(Campaign.id.in_(missing))):
                self._campaigns[c.id] = _info(c)
        return users

    def _writing(self) -> Any:
        """SQLite has one writer at a time and its busy handler sleeps in steps of up to 100 ms:
        the engine's own writers take turns here instead (PostgreSQL: no-op)."""
        return self._write_lock if not self._postgres else contextlib.nullcontext()

    def _spawn(self, job: _Job) -> None:
        self._inflight += 1
        task = asyncio.create_task(self._process(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _process(self, job: _Job) -> None:
        try:
            result = await self._execute(job)
        except asyncio.CancelledError:
            # stop() gave up waiting: the row stays "sending" and is recovered at the next start
            self._inflight -= 1
            raise
        except Exception as exc:
            log.error("Delivery %s failed unexpectedly: %s", job.id,
                      redact(f"{type(exc).__name__}: {exc}", self.bot.token))
            result = self._retry(job, f"{type(exc).__name__}: {exc}")
        self._results.append(result)
        self._results_ready.set()

    def _result(self, job: _Job, status: str, *, error: str | None = None, refund: bool = False,
                delay: float | None = None, **kw: Any) -> _Result:
        next_at = job.next_attempt_at if delay is None else self.now() + timedelta(seconds=delay)
        attempts = job.attempts - 1 if refund else job.attempts
        if error:
            error = redact(error, self.bot.token)[:255]
        return _Result(job, status, attempts, next_at, error=error or None, **kw)

    def _retry(self, job: _Job, error: str) -> _Result:
        if job.attempts > self.config.max_retries:
            self.counters["failed"] += 1
            return self._result(job, "failed", error=f"gave up after {job.attempts} attempts: {error}")
        self.counters["retried"] += 1
        delay = min(self.config.backoff_max, self.config.backoff_base * 2 ** (job.attempts - 1))
        return self._result(job, "pending", error=error, delay=delay * random.uniform(0.8, 1.2))

    async def _execute(self, job: _Job) -> _Result:
        info = self._campaigns.get(job.campaign_id)
        if info is None or job.campaign_id in self._cancelled:
            return self._result(job, "cancelled", refund=True)
        user = job.user
        if job.user_id is not None:
            if user is None or user.telegram_id is None or user.deleted_at is not None:
                return self._result(job, "cancelled", error="the resident erased their data", refund=True)
            if user.unreachable_at is not None:
                self.counters["blocked"] += 1
                return self._result(job, "blocked", error="unreachable", refund=True)
        if job.chat_id is None:
            return self._result(job, "failed", error="no chat to send to")
        kind = get_kind(info.kind)
        if kind is None:
            return self._retry(job, f"no renderer registered for kind {info.kind!r}")
        locale = user.language if user is not None and user.language in SUPPORTED_LOCALES else None
        locale = locale or self.config.default_locale
        ctx = RenderContext(info, user, job.chat_id, locale, self.i18n, self.settings, self.community)
        with self.i18n.context(), self.i18n.use_locale(locale):
            out = await maybe_await(kind.render(ctx))
        if out is None:
            return self._result(job, "cancelled", error="skipped by the renderer", refund=True)

        cid = job.campaign_id
        stop = lambda: self._stopping or cid in self._cancelled  # noqa: E731
        gate = await self.breaker.wait(stop)  # Telegram down: everything waits here
        if not gate:
            if cid in self._cancelled:
                return self._result(job, "cancelled", refund=True)
            return self._result(job, "pending", refund=True)
        wait = await self.limiter.acquire(job.chat_id, stop=stop)
        if cid in self._cancelled or wait > 0:
            if gate == "probe":
                self.breaker.released()
            if cid in self._cancelled:
                return self._result(job, "cancelled", refund=True)
            # this chat is busy (or we are stopping): come back later, attempt not counted
            return self._result(job, "pending", refund=True, delay=wait)
        try:
            message_id = await self._send(job.chat_id, out)
        except RETRYABLE as exc:
            error = f"{type(exc).__name__}: {exc}"
            if self.breaker.failure(job.chat_id):  # Telegram is down: the attempt does not count
                self.counters["outage_deferred"] += 1
                return self._result(job, "pending", refund=True, error=f"Telegram unreachable: {error}")
            if job.attempts > self.config.max_retries and not await self._telegram_up():
                self.breaker.trip()
                self.counters["outage_deferred"] += 1
                return self._result(job, "pending", refund=True, error=f"Telegram unreachable: {error}")
            return self._retry(job, error)
        except TelegramAPIError as exc:
            self.breaker.success()  # Telegram answered
            return self._refused(job, exc)
        except BaseException:
            if gate == "probe":
                self.breaker.released()
            raise
        self.breaker.success()
        self.counters["sent"] += 1
        progress = self._progress.setdefault(cid, _Progress())
        stamp = time.monotonic()
        progress.sent_times.append(stamp)
        if progress.first_sent is None:
            progress.first_sent = stamp
        return self._result(job, "sent", message_id=message_id, sent_at=self.now())

    def _refused(self, job: _Job, exc: TelegramAPIError) -> _Result:
        """Telegram answered the send with an error."""
        if isinstance(exc, TelegramRetryAfter):
            self.counters["429"] += 1
            self.limiter.pause(exc.retry_after)
            return self._result(job, "pending", refund=True, error="429",
                                delay=exc.retry_after / self.limiter.scale)
        if isinstance(exc, TelegramMigrateToChat):
            self.counters["failed"] += 1
            return self._result(job, "failed", error=f"the group moved to {exc.migrate_to_chat_id}")
        if isinstance(exc, TelegramForbiddenError):
            self.counters["blocked"] += 1
            return self._result(job, "blocked", error=exc.message, mark_unreachable=True)
        if isinstance(exc, TelegramBadRequest) and any(m in exc.message.lower() for m in UNREACHABLE_MARKERS):
            self.counters["blocked"] += 1
            return self._result(job, "blocked", error=exc.message, mark_unreachable=True)
        self.counters["failed"] += 1
        return self._result(job, "failed", error=exc.message)

    async def _telegram_reachable(self) -> bool:
        """False while the breaker is open; when no send is left to probe with, the monitor probes
        with ``getMe`` (at the breaker's pace) so that a finished campaign's outcome is not held."""
        if not self.breaker.is_open:
            return True
        if self.breaker.try_probe():
            if await self._telegram_up():
                self.breaker.success()
            else:
                self.breaker.failure(None)
        return not self.breaker.is_open

    async def _telegram_up(self) -> bool:
        """Before a row fails for good on a 5xx / network error: is it Telegram that is down?"""
        try:
            assert self._session is not None
            await self._session(self.bot, GetMe(), timeout=10)
        except RETRYABLE:
            return False
        except Exception:  # noqa: BLE001 - Telegram answered something: it is up
            return True
        return True

    async def _send(self, chat_id: int, out: Outgoing) -> int:
        media = out.media
        if media is None:
            return (await send_outgoing(self.bot, chat_id, out, session=self._session)).message_id
        file_id = media.file_id or await self._known_file(media)
        if file_id is not None:
            return (await send_outgoing(self.bot, chat_id, out, file_id, session=self._session)).message_id
        key = media.cache_key()
        lock = self._upload_locks.setdefault(key, asyncio.Lock())
        async with lock:  # upload once; the others wait and reuse the file_id
            file_id = await self._known_file(media)
            if file_id is not None:
                return (await send_outgoing(self.bot, chat_id, out, file_id, session=self._session)).message_id
            message = await send_outgoing(self.bot, chat_id, out, session=self._session)
            new_id = _file_id_of(message, media.kind)
            if new_id:
                await self._remember_file(key, media.kind, new_id)
            return message.message_id

    async def _known_file(self, media: Media) -> str | None:
        key = media.cache_key()
        if key in self._file_ids:
            return self._file_ids[key]
        async with self.sessionmaker() as session:
            row = await session.get(MediaFile, key)
        if row is not None:
            self._file_ids[key] = row.file_id
            return row.file_id
        return None

    async def _remember_file(self, key: str, kind: str, file_id: str) -> None:
        self._file_ids[key] = file_id
        async with self.sessionmaker() as session, session.begin():
            if await session.get(MediaFile, key) is None:
                session.add(MediaFile(key=key, kind=kind, file_id=file_id))

    # ------------------------------------------------------------------ recording outcomes

    async def _flush_loop(self) -> None:
        """Record outcomes in small batches: when half of the slots reported, when every send
        in flight reported, or ``flush_interval`` after the first unrecorded outcome."""
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            if self._closing and (not self._results or failures >= 3):
                return
            await self._results_ready.wait()
            deadline = loop.time() + self.config.flush_interval
            batch = max(1, self.config.concurrency // 2)
            while not self._closing and len(self._results) < min(self._inflight, batch):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                self._results_ready.clear()
                await _wait(self._results_ready, remaining)
            if not self._closing:
                self._results_ready.clear()
            try:
                await self._flush()
                failures = 0
            except Exception:
                failures += 1
                log.exception("Could not record delivery outcomes; retrying")
                self._results_ready.set()
                await asyncio.sleep(min(1.0, 0.2 * failures))

    async def _flush(self) -> None:
        async with self._flush_lock:
            batch = self._results
            if not batch:
                return
            self._results = []
            self.counters["flushes"] += 1
            try:
                await self._write(batch)
            except BaseException:
                self._results[:0] = batch
                raise
            self._inflight -= len(batch)
            self._wake.set()

    async def _write(self, batch: list[_Result]) -> None:
        table = Delivery.__table__
        stmt = (
            update(table)
            # only a row still ours: had our lease expired (we hung) another engine may hold it now
            .where(table.c.id == bindparam("b_id"), table.c.lease_holder == self.worker_id)
            .values(
                lease_holder=None,
                lease_until=None,
                status=bindparam("b_status"),
                attempts=bindparam("b_attempts"),
                next_attempt_at=bindparam("b_next"),
                message_id=bindparam("b_message_id"),
                error=bindparam("b_error"),
                sent_at=bindparam("b_sent_at"),
            )
        )
        params = [
            {
                "b_id": r.job.id, "b_status": r.status, "b_attempts": r.attempts, "b_next": r.next_attempt_at,
                "b_message_id": r.message_id, "b_error": r.error, "b_sent_at": r.sent_at,
            }
            for r in batch
        ]
        unreachable = {r.job.user_id for r in batch if r.mark_unreachable and r.job.user_id is not None}
        async with self._writing(), self.sessionmaker() as session, session.begin():
            connection = await session.connection()  # plain Core executemany, no ORM bookkeeping
            await connection.execute(stmt, params)
            if unreachable:
                await session.execute(
                    update(User)
                    .where(User.id.in_(unreachable), User.unreachable_at.is_(None))
                    .values(unreachable_at=self.now())
                    .execution_options(synchronize_session=False)
                )

    # ------------------------------------------------------------------ campaigns and progress

    async def _monitor_loop(self) -> None:
        while not self._closing:
            self._monitor_wake.clear()
            self._monitor_busy = True
            try:
                await self._start_due()
                await self._check_campaigns()
            except Exception:
                log.exception("Delivery monitor error")
            finally:
                self._monitor_busy = False
            if not self._closing:
                await _wait(self._monitor_wake, self.config.monitor_interval)

    async def _start_due(self) -> None:
        self.counters["monitor_ticks"] += 1
        if self._stopping:
            return
        now = self.now()
        async with self.sessionmaker() as session:
            due = await campaigns_service.due_campaign_ids(session, now)
        for campaign_id in due:
            async with self.sessionmaker() as session, session.begin():
                started = await campaigns_service.start_campaign(session, campaign_id, now)
            if started:
                log.info("Campaign %s started", campaign_id)
                self._idle_flag = False
                self._wake.set()
                if self._postgres:
                    await self._refresh_statistics(campaign_id)

    async def _refresh_statistics(self, campaign_id: int) -> None:
        """After thousands of rows arrive at once PostgreSQL's statistics still say "empty table",
        and the claim query would sort every pending row instead of reading the due index."""
        async with self.sessionmaker() as session, session.begin():
            total = await session.scalar(select(Campaign.total).where(Campaign.id == campaign_id))
            if (total or 0) >= ANALYZE_AFTER:
                await session.execute(text("ANALYZE deliveries"))

    async def _check_campaigns(self) -> None:
        async with self.sessionmaker() as session:
            campaigns = list(
                await session.scalars(
                    select(Campaign).where(
                        or_(
                            Campaign.status == "running",
                            and_(Campaign.status.in_(campaigns_service.FINAL), Campaign.finished_at.is_(None)),
                        )
                    )
                )
            )
            counts = {c.id: await campaigns_service.delivery_counts(session, c.id) for c in campaigns}
        for campaign in campaigns:
            self._campaigns.setdefault(campaign.id, _info(campaign))
            stats = Stats.from_counts(counts[campaign.id])
            if campaign.status == "cancelled":
                self._cancelled.add(campaign.id)
            if campaign.status == "running" and stats.waiting == 0:
                async with self.sessionmaker() as session, session.begin():
                    done = await session.execute(
                        update(Campaign).where(Campaign.id == campaign.id, Campaign.status == "running")
                        .values(status="done").execution_options(synchronize_session=False)
                    )
                if done.rowcount:
                    campaign.status = "done"
                    log.info("Campaign %s done: %s", campaign.id, counts[campaign.id])
            if campaign.status in campaigns_service.FINAL:
                if stats.sending == 0 and not self._stopping and await self._telegram_reachable():
                    await self._finish(campaign, stats)
            elif campaign.progress_chat_id is not None and not self.breaker.is_open:
                await self._update_progress(campaign, stats)

    def _live(self, campaign: Campaign, stats: Stats) -> Stats:
        now = self.now()
        state = self._progress.get(campaign.id)
        if state is not None and state.sent_times:
            mono = time.monotonic()
            window = 10.0
            recent = [t for t in state.sent_times if t >= mono - window]
            span = min(window, mono - (state.first_sent or mono))
            stats.rate = len(recent) / span if span > 0.5 else 0.0
        if stats.rate > 0 and stats.waiting:
            stats.eta = now + timedelta(seconds=stats.waiting / stats.rate)
        if not campaign.urgent and stats.pending and self.quiet.is_quiet(now):
            stats.quiet_until = self.quiet.ends_at(now)
        return stats

    async def _organizer_locale(self, campaign: Campaign) -> str:
        if campaign.created_by is not None:
            async with self.sessionmaker() as session:
                language = await session.scalar(select(User.language).where(User.id == campaign.created_by))
            if language in SUPPORTED_LOCALES:
                return language
        return self.config.default_locale

    def progress_context(self, campaign: Campaign | CampaignInfo, phase: str, stats: Stats, locale: str) -> ProgressContext:
        info = campaign if isinstance(campaign, CampaignInfo) else _info(campaign)
        return ProgressContext(info, phase, stats, locale, self.i18n, self.settings, self.now(),
                               {"tz": self.config.tz, "quiet": self.quiet})

    def render_progress(self, ctx: ProgressContext) -> Outgoing | None:
        """The organizer's progress message for a campaign (in its final phase, its outcome)."""
        kind = get_kind(ctx.campaign.kind)
        func = (kind.progress if kind else None) or default_progress.progress
        with self.i18n.context(), self.i18n.use_locale(ctx.locale):
            return func(ctx)

    async def _update_progress(self, campaign: Campaign, stats: Stats) -> None:
        """Edit the organizer's progress message, at most once an interval. Several engines may
        look at the same campaign: each edit is claimed with a conditional UPDATE (not while the
        campaign is being closed, not within the interval of anyone's last edit, never with what
        the message already shows, which Telegram would refuse as "not modified")."""
        state = self._progress.setdefault(campaign.id, _Progress())
        mono = time.monotonic()
        if state.edited_at and mono - state.edited_at < self.config.progress_interval:
            return
        locale = await self._organizer_locale(campaign)
        out = self.render_progress(self.progress_context(campaign, "running", self._live(campaign, stats), locale))
        if out is None:
            return
        # what the message shows since it was posted (handlers.shared.launch), until the first edit
        posted = self.render_progress(self.progress_context(
            campaign, "running", Stats(total=stats.total, pending=stats.total), locale))
        digest, posted_digest = _digest(out), _digest(posted)
        now = utcnow()
        async with self._writing(), self.sessionmaker() as session, session.begin():
            claimed = await session.execute(
                update(Campaign)
                .where(
                    Campaign.id == campaign.id, Campaign.finish_holder.is_(None), Campaign.finished_at.is_(None),
                    func.coalesce(Campaign.progress_digest, posted_digest) != digest,
                    or_(Campaign.progress_edited_at.is_(None),
                        Campaign.progress_edited_at <= now - timedelta(seconds=self.config.progress_interval)),
                )
                .values(progress_digest=digest, progress_edited_at=now)
                .execution_options(synchronize_session=False)
            )
        if not claimed.rowcount:
            return
        state.edited_at, state.digest = mono, digest
        await self._edit(campaign, out)

    async def _claim_finish(self, campaign_id: int) -> bool:
        """One engine closes a campaign: a conditional UPDATE takes the finishing (with a lease, so
        a holder that crashed before the outcome went out is taken over)."""
        now = utcnow()
        state = self._progress.get(campaign_id)
        mine = state.digest if state is not None and state.digest else None  # (our edits are done)
        async with self._writing(), self.sessionmaker() as session, session.begin():
            result = await session.execute(
                update(Campaign)
                .where(
                    Campaign.id == campaign_id, Campaign.finished_at.is_(None),
                    or_(Campaign.finish_holder.is_(None), Campaign.finish_holder == self.worker_id,
                        Campaign.finish_lease_until.is_(None), Campaign.finish_lease_until < now),
                    # an edit of the progress another engine just claimed may still be on its way:
                    # the outcome goes after it, so it cannot be overwritten by "sending…"
                    or_(Campaign.progress_edited_at.is_(None), Campaign.progress_digest == mine,
                        Campaign.progress_edited_at <= now - timedelta(seconds=PROGRESS_IN_FLIGHT)),
                )
                .values(finish_holder=self.worker_id, finish_lease_until=now + timedelta(seconds=self.config.lease))
                .execution_options(synchronize_session=False)
            )
        return bool(result.rowcount)

    async def _finish(self, campaign: Campaign, stats: Stats) -> None:
        """Close a done or cancelled campaign: its outcome (the one completion message), finished_at.
        Once, also with several engines (:meth:`_claim_finish`)."""
        if not await self._claim_finish(campaign.id):
            return
        if campaign.status == "cancelled" and stats.pending:
            async with self._writing(), self.sessionmaker() as session, session.begin():
                await session.execute(
                    update(Delivery).where(Delivery.campaign_id == campaign.id, Delivery.status == "pending")
                    .values(status="cancelled").execution_options(synchronize_session=False)
                )
            stats.cancelled += stats.pending
            stats.pending = 0
        if campaign.progress_chat_id is not None:
            locale = await self._organizer_locale(campaign)
            final = self.render_progress(self.progress_context(campaign, campaign.status, stats, locale))
            if final is not None and final.text:
                try:  # the one completion message: the progress message becomes the outcome
                    if not await self._edit(campaign, final, final=True):
                        await self.bot.send_message(campaign.progress_chat_id, final.text,
                                                    reply_markup=final.reply_markup)
                except RETRYABLE as exc:  # Telegram down: keep the campaign open, try again later
                    log.warning("Could not send the outcome of campaign %s (retried): %s", campaign.id,
                                redact(str(exc), self.bot.token))
                    async with self._writing(), self.sessionmaker() as session, session.begin():
                        await session.execute(
                            update(Campaign).where(Campaign.id == campaign.id,
                                                   Campaign.finish_holder == self.worker_id)
                            .values(finish_holder=None, finish_lease_until=None)
                            .execution_options(synchronize_session=False)
                        )
                    return
                except TelegramAPIError as exc:
                    log.warning("Could not send the outcome of campaign %s: %s", campaign.id,
                                redact(str(exc), self.bot.token))
        async with self._writing(), self.sessionmaker() as session, session.begin():
            await session.execute(
                update(Campaign).where(Campaign.id == campaign.id, Campaign.finished_at.is_(None))
                .values(finished_at=self.now()).execution_options(synchronize_session=False)
            )
        self.counters["summaries"] += 1
        self._progress.pop(campaign.id, None)

    async def _edit(self, campaign: Campaign, out: Outgoing, *, final: bool = False) -> bool:
        """Edit the progress message; False when there is none or it can no longer be edited (the
        organizer deleted it). With ``final`` (the outcome, which must not be lost) a retryable
        error goes to the caller; otherwise errors are logged (a later edit follows)."""
        if campaign.progress_chat_id is None or campaign.progress_message_id is None:
            return False
        try:
            await self.bot.edit_message_text(
                text=out.text, chat_id=campaign.progress_chat_id, message_id=campaign.progress_message_id,
                reply_markup=out.reply_markup,
            )
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return True
            log.warning("Could not update the progress of campaign %s: %s", campaign.id, exc.message)
            return False
        except RETRYABLE as exc:
            if final:
                raise
            log.warning("Could not update the progress of campaign %s: %s", campaign.id,
                        redact(str(exc), self.bot.token))
        except TelegramAPIError as exc:
            log.warning("Could not update the progress of campaign %s: %s", campaign.id,
                        redact(str(exc), self.bot.token))
            return False
        return True

    async def _next_due_delay(self) -> float | None:
        """Seconds until something is due (a scheduled campaign, a retry, the end of quiet hours)."""
        now = self.now()
        quiet_end = self.quiet.ends_at(now)
        async with self.sessionmaker() as session:
            candidates: list[datetime] = []
            scheduled = await session.scalar(
                select(func.min(Campaign.send_at)).where(Campaign.status == "scheduled")
            )
            if scheduled is not None:
                candidates.append(scheduled)
            pending = (
                select(func.min(Delivery.next_attempt_at))
                .join(Campaign, Campaign.id == Delivery.campaign_id)
                .where(Delivery.status == "pending", Campaign.status == "running")
            )
            if quiet_end is not None:
                urgent = await session.scalar(pending.where(Campaign.urgent.is_(True)))
                if urgent is not None:
                    candidates.append(urgent)
                other = await session.scalar(pending.where(Campaign.urgent.is_(False)))
                if other is not None:
                    candidates.append(max(other, quiet_end))
            else:
                nxt = await session.scalar(pending)
                if nxt is not None:
                    candidates.append(nxt)
        if not candidates:
            return None
        return max(0.0, (min(candidates) - now).total_seconds())


async def send_outgoing(
    bot: Bot, chat_id: int, out: Outgoing, file: str | None = None, *, session: BaseSession | None = None
) -> Message:
    """Send one rendered message (no rate limiting: for one-off sends such as previews).
    ``session``: send through this session instead of the bot's own (the engine's JSON session)."""
    if out.edit_message_id is not None:
        return await _edit_outgoing(bot, chat_id, out, session)
    common: dict[str, Any] = dict(
        chat_id=chat_id, reply_markup=out.reply_markup, disable_notification=out.disable_notification or None
    )
    media = out.media
    method: SendMessage | SendPhoto | SendDocument
    if media is None:
        method = SendMessage(text=out.text, **common)
    else:
        source: Any = file or media.file_id or BufferedInputFile(media.data or b"", filename=media.filename or media.kind)
        if media.kind == "photo":
            method = SendPhoto(photo=source, caption=out.text or None, **common)
        else:
            method = SendDocument(document=source, caption=out.text or None, **common)
    if session is not None:
        return await session(bot, method)
    return await bot(method)


async def _edit_outgoing(bot: Bot, chat_id: int, out: Outgoing, session: BaseSession | None) -> Message:
    """Edit an earlier message; "not modified" counts as done. Returns a stand-in carrying its id."""
    assert out.edit_message_id is not None
    method: EditMessageReplyMarkup | EditMessageText
    if out.markup_only:
        method = EditMessageReplyMarkup(chat_id=chat_id, message_id=out.edit_message_id,
                                        reply_markup=out.reply_markup)
    else:
        method = EditMessageText(chat_id=chat_id, message_id=out.edit_message_id, text=out.text,
                                 reply_markup=out.reply_markup)
    try:
        await (session(bot, method) if session is not None else bot(method))
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            raise
    return Message.model_construct(message_id=out.edit_message_id)


def _info(campaign: Campaign) -> CampaignInfo:
    return CampaignInfo(
        id=campaign.id, kind=campaign.kind, payload=dict(campaign.payload or {}), urgent=bool(campaign.urgent),
        created_by=campaign.created_by, send_at=campaign.send_at,
    )


def _file_id_of(message: Message, kind: str) -> str | None:
    if kind == "photo" and message.photo:
        return message.photo[-1].file_id
    if kind == "document" and message.document:
        return message.document.file_id
    return None


async def _wait(event: asyncio.Event, timeout: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        pass

