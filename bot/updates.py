"""The path of an update: exactly once, with replies that survive Telegram's faults.

::

    getUpdates / webhook POST
      -> UpdateUnit (outer middleware, per update):
           the person's isolation lock (one update of a person at a time, also across workers
           with Redis) -> one database session -> already handled? (``handled_updates``)
           -> the handlers; their Bot API calls are *captured*, not sent (DeferredReplies)
           -> INSERT handled_updates(update_id, replies) -> COMMIT (effects + record, one
              transaction) -> the captured calls are sent, in order
      -> the update is confirmed (the polling offset moves past it / the webhook answers 200)
         only once it is finished: committed and its replies sent or handed to the reply outbox.

* A re-delivered update (a crash before it was confirmed, Telegram retrying a webhook) is not
  run again: its row is found (or its INSERT conflicts and its work is rolled back) and its stored
  replies are sent again instead, so nothing is applied twice and no reply is lost; a reply can
  reach a person twice only when the process died between sending it and confirming the update.
* A reply Telegram does not take (5xx, network, a long 429) is not lost and does not roll the
  work back: the rest of the update's calls go to the **reply outbox** (the same row, ``outbox``
  set), which every worker drains with leases and a global pause while Telegram is down.
* No Bot API call is awaited inside the transaction, so SQLite's write lock is never held while
  Telegram answers (the few calls whose result a handler needs run at once inside ``live()``).
* A database fault (a connection killed, the server refusing connections) re-runs the update
  from scratch a few times; after that the person gets a localized apology. "Saved" is sent
  only after the commit succeeded.

Polling is our own loop (``Poller``): aiogram's confirms updates with the next getUpdates
before they finish, which loses or re-runs them on a crash.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import logging
import os
import random
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Router, methods
from aiogram.client.default import Default
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.middlewares.base import BaseMiddleware
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType  # noqa: F401
from aiogram.types import BufferedInputFile, Chat, Message, TelegramObject, Update
from aiohttp import ClientError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import jobs
from storage.fsm import CommittedStorage, update_session
from storage.models import HandledUpdate, utcnow

if TYPE_CHECKING:
    from aiogram import Dispatcher

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

# Calls whose result handlers do not need: captured during an update and sent after its commit.
DEFERRED: tuple[type[TelegramMethod[Any]], ...] = (
    methods.SendMessage, methods.EditMessageText, methods.EditMessageReplyMarkup,
    methods.EditMessageCaption, methods.EditMessageMedia, methods.AnswerCallbackQuery,
    methods.DeleteMessage, methods.DeleteMessages, methods.SendChatAction, methods.SetMessageReaction,
    methods.SendPhoto, methods.SendDocument, methods.SendVoice, methods.SendLocation, methods.SendVenue,
    methods.SendMediaGroup, methods.CopyMessage, methods.ForwardMessage, methods.SendSticker,
    methods.SendContact, methods.PinChatMessage, methods.UnpinChatMessage, methods.StopPoll,
    methods.SendPoll,
)
RETRYABLE_API = (TelegramServerError, TelegramNetworkError, TelegramUnauthorizedError, ClientError,
                 TimeoutError, OSError)
HARMLESS = ("message is not modified", "query is too old")
KEEP_HANDLED = timedelta(days=2)
CALLBACK_ANSWER_TTL = 10.0  # seconds: an older callback query cannot be answered any more


def retryable_db_error(exc: BaseException) -> bool:
    """A fault of the database connection or server (worth running the update again), not a bug."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:  # the driver's own error, under SQLAlchemy's
        seen.add(id(cause))
        if isinstance(cause, (OSError, TimeoutError)):
            return True
        name, text = type(cause).__name__, str(cause)
        if any(part in name for part in ("ConnectionDoesNotExist", "ConnectionFailure", "CannotConnectNow",
                                         "AdminShutdown", "TooManyConnections", "ConnectionRefused")):
            return True
        if "not currently accepting connections" in text or "the database system is" in text:
            return True  # (ALLOW_CONNECTIONS false, a server starting or shutting down)
        cause = getattr(cause, "orig", None) or cause.__cause__ or cause.__context__
    return False


# --------------------------------------------------------------------------- captured calls


@dataclass
class Captured:
    """The Bot API calls of one update's work, in order."""

    update_id: int
    calls: list[TelegramMethod[Any]] = field(default_factory=list)
    live: int = 0  # > 0 inside live(): calls go out at once
    answered: set[str] = field(default_factory=set)
    wake: Callable[[], None] | None = None  # the delivery engine, woken after the commit
    # what the messages this update edits show now (the pressed button's message, then each
    # captured edit): an edit that would change nothing is not sent (Telegram refuses it)
    shown: dict[tuple[int, int], tuple[str | None, Any]] = field(default_factory=dict)

    def see(self, message: Any) -> None:
        if not isinstance(message, Message):  # (an inaccessible message: nothing known)
            return
        text = message.html_text if (message.text is not None or message.caption is not None) else None
        self.shown[(message.chat.id, message.message_id)] = (text, _markup(message.reply_markup))

    def changes_nothing(self, method: TelegramMethod[Any]) -> bool:
        if not isinstance(method, (methods.EditMessageText, methods.EditMessageReplyMarkup, methods.EditMessageCaption)):
            return False
        if method.inline_message_id is not None or method.message_id is None or not isinstance(method.chat_id, int):
            return False
        key = (method.chat_id, method.message_id)
        markup = _markup(method.reply_markup)
        before = self.shown.get(key)
        if isinstance(method, methods.EditMessageReplyMarkup):
            after = (before[0] if before else None, markup)
        else:
            after = (method.text if isinstance(method, methods.EditMessageText) else method.caption, markup)
        self.shown[key] = after
        return before is not None and before == after
    closed: bool = False  # the update is done: a task it started sends at once
    after: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    # a captured call's placeholder (by id) -> (placeholder, call); and a call (by id) -> what to
    # do with Telegram's answer once it is sent, or when Telegram refused it (see ``when_sent``)
    placeholders: dict[int, tuple[Any, TelegramMethod[Any]]] = field(default_factory=dict)
    hooks: dict[int, tuple[SentHook, RefusedHook | None]] = field(default_factory=dict)
    answered_hooks: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)  # due, in call order

    def sent(self, call: TelegramMethod[Any], result: Any) -> None:
        hook = self.hooks.pop(id(call), None)
        if hook is not None:
            self.answered_hooks.append(functools.partial(hook[0], result))

    def refused(self, call: TelegramMethod[Any], exc: TelegramAPIError) -> None:
        hook = self.hooks.pop(id(call), None)
        if hook is not None and hook[1] is not None:
            self.answered_hooks.append(functools.partial(hook[1], exc))


def _markup(markup: Any) -> Any:
    if markup is None:
        return None
    dumped = markup.model_dump(mode="json", exclude_none=True)
    return dumped if dumped.get("inline_keyboard") else None


async def after_commit(work: Callable[[], Awaitable[Any]]) -> None:
    """Run ``work()`` once the update is committed and its replies are sent, outside its
    transaction (a moderators' card: posted with Telegram's answer, its message id kept in a
    session of its own). Outside an update it runs now. If the process dies before, the periodic
    check that posts missing cards does it."""
    buf = _captured.get()
    if buf is None or buf.closed:
        held = _held_after.get()
        if held is not None:
            held.append(work)
        else:
            await work()
    else:
        buf.after.append(work)


_held_after: ContextVar[list[Callable[[], Awaitable[Any]]] | None] = ContextVar("hromada_held_after", default=None)


@contextlib.asynccontextmanager
async def after_commit_outside() -> AsyncIterator[None]:
    """Outside an update (the dashboard): what ``after_commit`` is given inside the block runs when
    the block ends (the caller commits inside it), not at once inside the transaction; when the
    block raises, it does not run. Inside an update it changes nothing."""
    held: list[Callable[[], Awaitable[Any]]] = []
    token = _held_after.set(held)
    try:
        yield
    finally:
        _held_after.reset(token)
    for work in held:
        await work()


SentHook = Callable[[Any], Awaitable[Any]]
RefusedHook = Callable[[TelegramAPIError], Awaitable[Any]]


async def when_sent(sent: Any, work: SentHook, refused: RefusedHook | None = None, *,
                    session: AsyncSession | None = None) -> None:
    """``sent`` is what a Bot API call returned inside an update (a placeholder: the call goes out
    after the commit). Once Telegram has taken it, ``work(message)`` runs with Telegram's answer
    (a message id to keep, say), after the commit and outside the update's transaction, still in
    the person's isolation lock (their next update sees what it stored). ``refused(exc)`` runs if
    Telegram refused the call for good (the person blocked the bot). A call that goes to the reply
    outbox (Telegram down) runs neither. Outside an update, or for a call that went out at once,
    ``work`` runs now. ``session``: the update's session, which ``work`` writes with; after the
    commit it is used again for a transaction of its own, committed here."""
    buf = _captured.get()
    entry = buf.placeholders.get(id(sent)) if buf is not None else None
    if buf is None or entry is None or entry[0] is not sent:
        await work(sent)
        return
    if session is not None:
        async def work_and_commit(message: Any, db: AsyncSession = session) -> None:
            await work(message)
            await db.commit()

        buf.hooks[id(entry[1])] = (work_and_commit, refused)
    else:
        buf.hooks[id(entry[1])] = (work, refused)


def discard_captured() -> None:
    """The update's work was rolled back: what it was going to say is not said (an apology
    follows instead)."""
    buf = _captured.get()
    if buf is not None:
        buf.calls.clear()
        buf.answered.clear()
        buf.after.clear()
        buf.hooks.clear()
        buf.answered_hooks.clear()


def deferred_wake(wake: Callable[[], None]) -> Callable[[], None]:
    """The delivery engine's wake(): inside an update it waits for the commit (before it, the
    engine would find nothing new)."""

    def wake_after_commit() -> None:
        buf = _captured.get()
        if buf is None:
            wake()
        else:
            buf.wake = wake

    return wake_after_commit


_captured: ContextVar[Captured | None] = ContextVar("hromada_captured", default=None)


@contextlib.contextmanager
def live() -> Iterator[None]:
    """Send the calls made inside at once (a handler needs their result: a card's message id, or
    falls back when an edit fails). Keep these before the update's first write where possible."""
    buf = _captured.get()
    if buf is not None:
        buf.live += 1
    try:
        yield
    finally:
        if buf is not None:
            buf.live -= 1


def live_calls(func: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Decorator: the function's Bot API calls go out at once (see ``live``)."""
    import functools

    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        with live():
            return await func(*args, **kwargs)

    return wrapper


def _placeholder(method: TelegramMethod[Any]) -> Any:
    """What a captured call returns to the handler: its result comes after the commit."""
    returning = getattr(method, "__returning__", None)
    if returning is bool:
        return True
    chat_id = getattr(method, "chat_id", None)
    chat = Chat(id=chat_id if isinstance(chat_id, int) else 0, type="private")
    message = Message(message_id=0, date=datetime.now().astimezone(), chat=chat)
    if isinstance(method, methods.SendMediaGroup):
        return [message]
    if isinstance(method, methods.CopyMessage):
        from aiogram.types import MessageId

        return MessageId(message_id=0)
    return message if returning is not None and returning is not bool else True


class DeferredReplies(BaseRequestMiddleware):
    """Bot API requests made while an update is handled are kept until it is committed (see the
    module's docstring); a callback query is answered once (the first answer wins)."""

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        buf = _captured.get()
        if buf is not None and buf.live and buf.calls and not buf.closed and isinstance(method, DEFERRED):
            # a call that goes out at once keeps its place: what the update said before it goes first
            earlier, buf.calls = buf.calls, []
            now = time.time()
            await send_calls(bot, buf.update_id, [(c, now) for c in earlier], report=buf)
        if buf is None or buf.live or buf.closed or not isinstance(method, DEFERRED):
            return await make_request(bot, method)
        if isinstance(method, methods.AnswerCallbackQuery):
            if method.callback_query_id in buf.answered:
                log.debug("Update %s: a second answer to one callback query dropped", buf.update_id)
                return True  # type: ignore[return-value]
            buf.answered.add(method.callback_query_id)
        elif buf.changes_nothing(method):
            log.debug("Update %s: an edit that changes nothing is not sent", buf.update_id)
            return True  # type: ignore[return-value]
        buf.calls.append(method)
        placeholder = _placeholder(method)
        buf.placeholders[id(placeholder)] = (placeholder, method)
        return placeholder  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- storing calls


_METHODS: dict[str, type[TelegramMethod[Any]]] = {
    cls.__name__: cls for cls in vars(methods).values()
    if isinstance(cls, type) and issubclass(cls, TelegramMethod) and cls is not TelegramMethod
}


def _fallback(value: Any) -> Any:
    if isinstance(value, Default):
        return {"__default__": value.name}
    if isinstance(value, BufferedInputFile):
        return {"__file__": base64.b64encode(value.data).decode("ascii"), "filename": value.filename}
    raise TypeError(f"cannot keep {type(value).__name__} in a stored reply")


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if "__file__" in value:
            return BufferedInputFile(base64.b64decode(value["__file__"]), filename=value.get("filename") or "file")
        return {k: _restore(v) for k, v in value.items() if not (isinstance(v, dict) and "__default__" in v)}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value


def encode_calls(calls: list[TelegramMethod[Any]]) -> list[dict[str, Any]] | None:
    """JSON for the database (files inline, aiogram's defaults left to be applied when sent)."""
    if not calls:
        return None
    out = []
    for call in calls:
        try:
            params = call.model_dump(mode="json", exclude_none=True, fallback=_fallback)
        except (TypeError, ValueError) as exc:  # a file on disk, say: it is sent, not kept
            log.warning("A %s cannot be kept for a later retry: %s", type(call).__name__, exc)
            continue
        out.append({"m": type(call).__name__, "p": params, "t": time.time()})
    return out or None


def decode_call(stored: dict[str, Any]) -> tuple[TelegramMethod[Any], float] | None:
    cls = _METHODS.get(stored.get("m", ""))
    if cls is None:
        return None
    return cls.model_validate(_restore(stored["p"])), float(stored.get("t") or 0)


# --------------------------------------------------------------------------- sending


class Outcome:
    SENT = "sent"
    LATER = "later"  # Telegram is failing: the rest waits in the reply outbox


async def send_calls(bot: Bot, update_id: int, calls: list[tuple[TelegramMethod[Any], float]],
                     *, max_wait: float = 2.0, report: Captured | None = None) -> int:
    """Send ``calls`` in order; return how many are done (sent, or refused for good). Stops at
    the first call Telegram could not take now (5xx, network, a 429 longer than ``max_wait``).
    ``report`` hears of each call sent or refused (its ``when_sent`` hooks)."""
    done = 0
    for call, made_at in calls:
        if isinstance(call, methods.AnswerCallbackQuery) and time.time() - made_at > CALLBACK_ANSWER_TTL:
            done += 1  # too old to answer: Telegram would refuse it
            continue
        while True:
            try:
                result = await bot(call)
                if report is not None:
                    report.sent(call, result)
                break
            except TelegramRetryAfter as exc:
                if exc.retry_after > max_wait:
                    return done
                await asyncio.sleep(exc.retry_after)
            except RETRYABLE_API as exc:
                log.info("Update %s: Telegram did not take a %s now (%s)", update_id, type(call).__name__, exc)
                return done
            except TelegramBadRequest as exc:
                if any(h in exc.message for h in HARMLESS):
                    log.debug("Update %s: %s", update_id, exc.message)
                else:
                    log.warning("Update %s: Telegram refused a %s: %s", update_id, type(call).__name__, exc.message)
                if report is not None:
                    report.refused(call, exc)
                break
            except TelegramForbiddenError as exc:
                log.info("Update %s: %s", update_id, exc.message)
                if report is not None:
                    report.refused(call, exc)
                break
            except TelegramAPIError as exc:
                log.warning("Update %s: Telegram refused a %s: %s", update_id, type(call).__name__, exc)
                if report is not None:
                    report.refused(call, exc)
                break
        done += 1
    return done


class ReplyOutbox:
    """Replies Telegram did not take at once, kept in ``handled_updates`` and sent by whichever
    worker claims them (a lease), in update order, pausing everything while Telegram is down
    (backoff from 1 s up to 30 s, for as long as it takes; a reply is dropped only after two
    days, with the row)."""

    LEASE = timedelta(seconds=60)
    MAX_PAUSE = 30.0

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], bot: Bot) -> None:
        self.sessionmaker = sessionmaker
        self.bot = bot
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pause = 0.0
        self.pg = sessionmaker.kw["bind"].dialect.name == "postgresql"

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="reply-outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def hand_over(self, update_id: int, rest: list[dict[str, Any]]) -> None:
        """The update's remaining calls wait here (the update can then be confirmed)."""
        async with self.sessionmaker() as session:
            await session.execute(
                update(HandledUpdate).where(HandledUpdate.update_id == update_id)
                .values(replies=rest, outbox=True, next_attempt_at=utcnow(), lease_until=None)
            )
            await session.commit()
        self.wake()

    async def _loop(self) -> None:
        while True:
            try:
                busy = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database may be down too: try again later
                log.exception("Reply outbox")
                busy = False
                self._pause = min(max(self._pause * 2, 1.0), self.MAX_PAUSE)
            if self._pause:
                await asyncio.sleep(self._pause * random.uniform(0.8, 1.2))
            elif not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 5.0)
                self._wake.clear()

    async def drain_once(self) -> bool:
        """Claim the oldest waiting row and send what it holds; False when there is nothing."""
        now = utcnow()
        async with self.sessionmaker() as session:
            query = (
                select(HandledUpdate)
                .where(HandledUpdate.outbox.is_(True), HandledUpdate.next_attempt_at <= now,
                       (HandledUpdate.lease_until.is_(None)) | (HandledUpdate.lease_until < now))
                .order_by(HandledUpdate.update_id).limit(1)
            )
            if self.pg:
                query = query.with_for_update(skip_locked=True)
            row = (await session.scalars(query)).first()
            if row is None:
                return False
            row.lease_until = mine = now + self.LEASE
            row.attempts += 1
            update_id, stored = row.update_id, list(row.replies or [])
            await session.commit()
        calls = [c for c in (decode_call(s) for s in stored) if c is not None]
        done = await send_calls(self.bot, update_id, calls, max_wait=self.MAX_PAUSE)
        rest = stored[done:]
        async with self.sessionmaker() as session:
            values: dict[str, Any] = {"replies": rest or None, "lease_until": None}
            if rest:
                self._pause = min(max(self._pause * 2, 1.0), self.MAX_PAUSE)
                values["next_attempt_at"] = utcnow() + timedelta(seconds=self._pause)
            else:
                self._pause = 0.0
                values["outbox"] = False
            # only while the claim is still ours (another worker may have taken an expired one)
            await session.execute(update(HandledUpdate).where(HandledUpdate.update_id == update_id,
                                                              HandledUpdate.lease_until == mine).values(**values))
            await session.commit()
        if rest:
            log.warning("Telegram is not taking replies; %s of update %s wait, next try in %.0f s",
                        len(rest), update_id, self._pause)
        return not rest


# --------------------------------------------------------------------------- the unit of work


class UpdateFailed(Exception):
    """The update could not be handled now (the database or Telegram failing): not confirmed."""


class UpdatePath:
    """Shared by the middleware, the poller and the webhook handler of one process."""

    ATTEMPTS = 3

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], bot: Bot) -> None:
        self.sessionmaker = sessionmaker
        self.bot = bot
        self.outbox = ReplyOutbox(sessionmaker, bot)
        self.seen_max: int | None = None  # the highest update id handled before this process started
        # webhook mode: Telegram may deliver an update again to this or another worker while it
        # runs; each update is then looked up (one primary-key read) before its handlers run
        self.always_check = False
        self.i18n: Any = None  # for an apology outside the middlewares (set by bot.app)
        self.default_locale = "en"
        self.stats = {"handled": 0, "skipped": 0, "replayed": 0, "retried": 0, "handed_over": 0}
        # SQLite has one writer at a time; updates racing for it wait in SQLite's busy handler,
        # which sleeps up to 100 ms a turn (a vote then took up to 1.7 s). Their transactions
        # take turns here instead (the replies are sent after the commit, outside it).
        bind = sessionmaker.kw.get("bind")
        self._serial = asyncio.Lock() if bind is not None and bind.dialect.name == "sqlite" else None

    async def start(self) -> None:
        async with self.sessionmaker() as session:
            self.seen_max = await session.scalar(select(func.max(HandledUpdate.update_id))) or 0
        self.outbox.start()

    async def stop(self) -> None:
        await self.outbox.stop()

    async def run(self, handler: Handler, event: Update, data: dict[str, Any]) -> Any:
        update_id = event.update_id
        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                return await self._attempt(handler, event, data, update_id)
            except Exception as exc:  # noqa: BLE001 - sorted below
                if not (retryable_db_error(exc) or isinstance(exc, (IntegrityError, *RETRYABLE_API))):
                    raise
                self.stats["retried"] += 1
                log.warning("Update %s: attempt %s failed (%s); %s", update_id, attempt,
                            type(exc).__name__, "trying again" if attempt < self.ATTEMPTS else "giving up")
                if attempt == self.ATTEMPTS:
                    raise UpdateFailed(str(exc)) from exc
                await asyncio.sleep(0.2 * 2 ** attempt * random.uniform(0.8, 1.2))
        raise AssertionError("unreachable")

    async def _attempt(self, handler: Handler, event: Update, data: dict[str, Any], update_id: int) -> Any:
        buf = Captured(update_id)
        data.pop("update_failed", None)
        storage = data.get("fsm_storage")
        outside = storage if isinstance(storage, CommittedStorage) else None  # Redis: written after the commit
        state_writes: dict[Any, dict[str, Any]] = {}
        if event.callback_query is not None:
            buf.see(event.callback_query.message)
        async with self._serial or contextlib.nullcontext(), self.sessionmaker() as session:
            if self.always_check or self.seen_max is None or update_id <= self.seen_max:
                row = await session.get(HandledUpdate, update_id)
                if row is not None:
                    await self._again(row)
                    return UNHANDLED
            data["session"] = session
            writes_token = outside.begin() if outside is not None else None
            commit = session.commit
            session.commit = session.flush  # type: ignore[method-assign]  # a handler's commit: one transaction
            session_token, buf_token = update_session.set(session), _captured.set(buf)
            try:
                result = await handler(event, data)
                session.commit = commit  # type: ignore[method-assign]
                try:
                    await session.flush()  # what is still pending (outside the apology middleware)
                except Exception as exc:
                    if retryable_db_error(exc) or isinstance(exc, IntegrityError):
                        raise
                    log.exception("Update %s failed", update_id)
                    await session.rollback()
                    discard_captured()
                    data["update_failed"] = True
                    buf.after.append(functools.partial(apologise, self.bot, event, self.i18n, self.default_locale))
                try:  # (a Core INSERT built once: the ORM's unit of work costs more than the vote)
                    await (await session.connection()).execute(_RECORD, {
                        "update_id": update_id, "handled_at": utcnow(), "replies": encode_calls(buf.calls),
                        "failed": bool(data.get("update_failed")), "outbox": False, "attempts": 0})
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
                    row = await session.get(HandledUpdate, update_id)
                    if row is None:
                        raise  # something else of the update's work conflicted: run it again
                    await self._again(row)  # handled meanwhile (another worker): its work stands
                    return UNHANDLED
            finally:
                buf.closed = True
                session.commit = commit  # type: ignore[method-assign]
                _captured.reset(buf_token)
                update_session.reset(session_token)
                if outside is not None:
                    state_writes = outside.end(writes_token)
        self.stats["handled"] += 1
        if outside is not None and state_writes:
            try:
                await outside.commit_writes(state_writes)
            except Exception:  # noqa: BLE001 - Redis failing now: the person is asked that step again
                log.exception("Update %s: its conversation state could not be kept", update_id)
        try:  # the update is committed: from here on nothing may run it again
            await self.deliver(update_id, buf.calls, buf)
        except Exception:  # noqa: BLE001 - the database failing while the replies were handed over
            log.exception("Update %s: its replies could not be kept for a retry", update_id)
        for work in [*buf.answered_hooks, *buf.after]:
            try:
                await work()
            except Exception:  # noqa: BLE001 - the update is done; the periodic check repeats it
                log.exception("Update %s: work after the commit failed", update_id)
        if buf.wake is not None:
            buf.wake()
        return result

    async def _again(self, row: HandledUpdate) -> None:
        """A re-delivered update: its work stands; what it had to say is said again (unless the
        reply outbox has it)."""
        self.stats["skipped"] += 1
        log.info("Update %s was handled already: not run again", row.update_id)
        if row.outbox or not row.replies:
            return
        self.stats["replayed"] += 1
        # (a button's spinner is long gone: only the messages and edits are said again)
        stored = [s for s in row.replies if s.get("m") != "AnswerCallbackQuery"]
        calls = [c for c in (decode_call(s) for s in stored) if c is not None]
        done = await send_calls(self.bot, row.update_id, calls)
        if done < len(calls):
            await self.outbox.hand_over(row.update_id, stored[done:])

    async def deliver(self, update_id: int, calls: list[TelegramMethod[Any]], buf: Captured | None = None) -> None:
        if not calls:
            return
        now = time.time()
        done = await send_calls(self.bot, update_id, [(c, now) for c in calls], report=buf)
        if done < len(calls):
            self.stats["handed_over"] += 1
            rest = encode_calls(calls[done:]) or []
            await self.outbox.hand_over(update_id, rest)


_RECORD = insert(HandledUpdate.__table__)


async def apologise(bot: Bot, update: Update, i18n: Any, default_locale: str) -> None:
    """Best effort, outside the update's middlewares: the person learns that what they did was
    not done (in their Telegram language where we have it)."""
    if i18n is None:
        return
    sender = update.event.from_user if hasattr(update.event, "from_user") else None  # type: ignore[union-attr]
    locale = getattr(sender, "language_code", None) or default_locale
    locale = locale if locale in i18n.available_locales else default_locale
    with i18n.context(), i18n.use_locale(locale):
        text = i18n.gettext("Sorry, something went wrong on our side. Please try again in a moment.")
    with contextlib.suppress(TelegramAPIError, ClientError, TimeoutError, OSError):
        if update.callback_query is not None and isinstance(update.callback_query.message, Message):
            await bot.send_message(update.callback_query.message.chat.id, text)
        elif update.message is not None and update.message.chat.type == "private":
            await bot.send_message(update.message.chat.id, text)


class UpdateUnit(BaseMiddleware):
    """The outer middleware that makes an update one unit of work (see the module's docstring).
    It replaces aiogram's FSM middleware (the Dispatcher is made with ``disable_fsm=True``): the
    conversation state is read in the update's own session, inside the person's isolation lock,
    and for a button only when a handler's state filter asks for it."""

    def __init__(self, path: UpdatePath, dispatcher: Dispatcher) -> None:
        self.path = path
        self.fsm = dispatcher.fsm

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        context = self.fsm.resolve_event_context(data["bot"], data)
        data["fsm_storage"] = self.fsm.storage
        if context is None:
            return await self.path.run(handler, event, data)
        async with self.fsm.events_isolation.lock(key=context.key):
            data["state"] = context

            async def with_state(ev: TelegramObject, d: dict[str, Any]) -> Any:
                if event.callback_query is None:  # messages nearly always need it; filters read raw_state
                    d["raw_state"] = await cached_state(context)
                return await handler(ev, d)

            return await self.path.run(with_state, event, data)


async def cached_state(context: FSMContext) -> str | None:
    """The state, read once per update (a person without one would otherwise be asked again by
    every state filter)."""
    try:
        return context.__dict__["_hromada_state"]
    except KeyError:
        state = context.__dict__["_hromada_state"] = await context.get_state()
        return state


class LazyStateFilter(StateFilter):
    """aiogram's StateFilter reading the state only when it is evaluated (see UpdateUnit)."""

    async def __call__(self, obj: TelegramObject, raw_state: str | None = None,  # type: ignore[override]
                       state: FSMContext | None = None) -> bool | dict[str, Any]:
        if state is not None:
            raw_state = await cached_state(state)
        return await super().__call__(obj, raw_state=raw_state)


def prepare_router(router: Router) -> None:
    """Every state filter reads the state lazily and is checked after the handler's other
    filters (a button's callback-data prefix rules most handlers out without the state)."""
    from aiogram.dispatcher.event.handler import FilterObject

    for sub in [router, *router.chain_tail]:
        for observer in sub.observers.values():
            for handler in observer.handlers:
                if not handler.filters:
                    continue
                lazy, others = [], []
                for flt in handler.filters:
                    if isinstance(flt.callback, StateFilter) and not isinstance(flt.callback, LazyStateFilter):
                        lazy.append(FilterObject(LazyStateFilter(*flt.callback.states)))
                    elif isinstance(flt.callback, LazyStateFilter):
                        lazy.append(flt)
                    else:
                        others.append(flt)
                handler.filters = others + lazy


# --------------------------------------------------------------------------- polling


class RawUpdates(methods.GetUpdates):
    """getUpdates answered as plain JSON: the offset stays at the oldest unfinished update, so
    while one is slow the same batch comes back; only the updates not seen yet are parsed into
    aiogram's models (a hundred updates parsed again on each such poll)."""

    __returning__ = list[dict[str, Any]]


class Poller:
    """Long polling that confirms an update only when it is finished.

    The offset sent to getUpdates is the lowest update id not finished yet; finished updates
    above it are remembered, so one fetched again is not started twice. When an update finishes
    while a long poll is waiting, the poll is re-issued so Telegram hears of it promptly."""

    def __init__(self, dp: Dispatcher, bot: Bot, *, concurrency: int, timeout: int = 10,
                 allowed_updates: list[str] | None = None) -> None:
        self.dp, self.bot = dp, bot
        self.concurrency = concurrency
        self.timeout = timeout
        self.allowed_updates = allowed_updates
        self._queue: list[Update] = []  # fetched, not started
        self._running: dict[int, asyncio.Task[None]] = {}
        self._finished: set[int] = set()
        self._failures: dict[int, int] = {}
        self._max_seen = 0
        self._progress = asyncio.Event()
        self._stop = asyncio.Event()
        self.confirmed: int | None = None  # the last offset Telegram was sent

    def stop(self) -> None:
        self._stop.set()
        self._progress.set()

    @property
    def watermark(self) -> int | None:
        pending = [u.update_id for u in self._queue] + list(self._running)
        if pending:
            return min(pending)
        return self._max_seen + 1 if self._max_seen else None

    def _prune(self) -> None:
        mark = self.watermark
        if mark is not None:
            self._finished = {i for i in self._finished if i >= mark}

    async def run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            self._start_queued()
            if self._queue or len(self._running) >= self.concurrency:
                await self._wait_progress(None)
                continue
            offset = self.watermark
            poll = asyncio.create_task(self.bot(RawUpdates(
                offset=offset, timeout=self.timeout, allowed_updates=self.allowed_updates)))
            self._progress.clear()
            stop = asyncio.create_task(self._progress.wait())
            await asyncio.wait({poll, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if not poll.done():
                poll.cancel()  # an update finished (or we stop): ask again with the new offset
                await asyncio.gather(poll, return_exceptions=True)
                continue
            try:
                updates = poll.result()
                backoff = 1.0
                self.confirmed = offset  # Telegram has it
            except TelegramConflictError:
                await self._sleep(1.0)  # our own earlier poll superseded, or another poller
                continue
            except (TelegramAPIError, ClientError, TimeoutError, OSError) as exc:
                log.warning("getUpdates failed (%s); again in %.0f s", exc, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            fresh = 0
            queued = {q.update_id for q in self._queue}
            for raw in updates:
                update_id = int(raw["update_id"])
                self._max_seen = max(self._max_seen, update_id)
                if update_id in self._finished or update_id in self._running or update_id in queued:
                    continue  # (fetched again behind a slow one: not parsed again)
                self._queue.append(Update.model_validate(raw, context={"bot": self.bot}))
                fresh += 1
            if updates and not fresh:
                await self._wait_progress(1.0)  # only finished ones came back: wait for the slow one
        await self.drain()

    async def drain(self, timeout: float = 30.0) -> None:
        """Stop: updates not started stay with Telegram; the running ones finish; then Telegram is
        told which are done."""
        self._queue.clear()
        if self._running:
            done, pending = await asyncio.wait(set(self._running.values()), timeout=timeout)
            if pending:
                log.warning("%s updates were still being handled at shutdown", len(pending))
        await self.confirm()

    async def confirm(self) -> None:
        offset = self.watermark
        if offset is None or offset == self.confirmed:
            return
        with contextlib.suppress(TelegramAPIError, ClientError, TimeoutError, OSError):
            await self.bot(methods.GetUpdates(offset=offset, timeout=0, limit=1,
                                              allowed_updates=self.allowed_updates))
            self.confirmed = offset

    def _start_queued(self) -> None:
        while self._queue and len(self._running) < self.concurrency:
            u = self._queue.pop(0)
            self._running[u.update_id] = asyncio.create_task(self._handle(u))

    async def _handle(self, u: Update) -> None:
        try:
            await self.dp.feed_update(self.bot, u)
            self._finished.add(u.update_id)
        except UpdateFailed:
            # the database or Telegram failed three times: tried again after a pause, in order
            # (it waits at Telegram meanwhile); after three such rounds the person is told
            self._failures[u.update_id] = rounds = self._failures.get(u.update_id, 0) + 1
            if rounds >= 3:
                log.error("Update %s failed %s times: given up, with an apology", u.update_id, rounds * 3)
                app = self.dp.get("app")
                await apologise(self.bot, u, getattr(app, "i18n", None), getattr(app, "settings", None)
                                and app.settings.default_locale or "en")
                self._failures.pop(u.update_id, None)
                self._finished.add(u.update_id)
            else:
                await asyncio.sleep(5)
                self._queue.append(u)
                self._queue.sort(key=lambda q: q.update_id)
        except Exception:  # noqa: BLE001 - a bug: logged with its traceback, and not tried again
            log.exception("Update %s failed", u.update_id)
            self._finished.add(u.update_id)
        finally:
            self._running.pop(u.update_id, None)
            self._prune()
            self._progress.set()

    async def _wait_progress(self, timeout: float | None) -> None:
        self._progress.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._progress.wait(), timeout)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)


# --------------------------------------------------------------------------- housekeeping


@jobs.job("handled-updates-prune", seconds=3600, leader=True)
async def prune_handled(ctx: jobs.JobContext) -> None:
    """Forget handled updates after two days (Telegram keeps an unconfirmed update for one)."""
    async with ctx.sessionmaker() as session:
        await session.execute(delete(HandledUpdate).where(HandledUpdate.handled_at < utcnow() - KEEP_HANDLED))
        await session.commit()


@contextlib.asynccontextmanager
async def captured_for_test(update_id: int = 0) -> AsyncIterator[Captured]:  # pragma: no cover - a tool for tests
    buf = Captured(update_id)
    token = _captured.set(buf)
    try:
        yield buf
    finally:
        _captured.reset(token)
