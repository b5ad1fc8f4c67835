"""Outer middlewares: a DB session per update, the current user and roles, apologies."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import TelegramObject, Update
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import effective_roles
from bot.config import Settings
from bot.services import mediators as mediators_service
from bot.services import users as users_service
from bot.updates import RETRYABLE_API, discard_captured, retryable_db_error

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class InFlight(BaseMiddleware):
    """Counts updates being handled, so shutdown can wait for them (drain)."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self.count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def drain(self, timeout: float = 30.0) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            log.warning("%s updates were still being handled at shutdown", self.count)
            return False


class UserMiddleware(BaseMiddleware):
    """Loads the sender's row (if any) and their roles; a resident who writes again is reachable."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user = data.get("event_from_user")
        session: AsyncSession = data["session"]
        user = None
        roles: set[str] = set()
        if tg_user is not None and not tg_user.is_bot:
            user = await users_service.by_telegram_id(session, tg_user.id)
            if user is not None:
                if user.unreachable_at is not None:
                    user.unreachable_at = None
                if tg_user.username != user.username:
                    user.username = tg_user.username
            roles = effective_roles(
                user.role_names if user else set(), tg_user.id, self.settings.admin_ids
            )
        data["user"] = user
        data["roles"] = roles
        return await handler(event, data)


# The code of the offline resident a mediator is acting for during this update, and the
# mediator's chat: the menu's first row and every message to that chat name the resident.
acting_code: ContextVar[str | None] = ContextVar("acting_code", default=None)
acting_chat: ContextVar[int | None] = ContextVar("acting_chat", default=None)


class ActingBanner(BaseRequestMiddleware):
    """Bot API requests: while a mediator acts for a resident, each text sent to (or edited in)
    the mediator's chat starts with "🤝 Acting for M-4821", so no screen leaves it in doubt."""

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        code, chat = acting_code.get(), acting_chat.get()
        if (code is not None and isinstance(method, SendMessage | EditMessageText) and method.chat_id == chat
                and not method.entities):
            banner = _("🤝 Acting for {code}").format(code=code)
            # (an edit may start from the message's own text, which has it already)
            if not method.text.startswith(banner) and len(method.text) + len(banner) + 2 <= 4096:
                method = method.model_copy(update={"text": f"{banner}\n\n{method.text}"})
        return await make_request(bot, method)


class ActingMiddleware(BaseMiddleware):
    """A mediator acting for an offline resident, in the mediator's private chat: handlers see the
    resident as ``user`` (with the resident's roles) and the mediator as ``mediator`` (roles in
    ``mediator_roles``); the session marks what it writes as assisted. The replies stay in the
    mediator's language (the locale middleware runs before this one).

    If the role was revoked, or the resident linked or deleted, meanwhile, acting ends: the
    mediator is told, their half-done step is cleared, and this update is not carried out."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data["mediator"] = None
        data["mediator_roles"] = None
        user, chat = data.get("user"), data.get("event_chat")
        if (user is None or user.acting_for_id is None or chat is None or chat.type != "private"
                or not isinstance(event, Update) or (event.message is None and event.callback_query is None)):
            return await handler(event, data)  # (the mediator blocking the bot is about the mediator)
        session: AsyncSession = data["session"]
        state = await mediators_service.acting(session, user, data["roles"])
        if state is None:
            return await handler(event, data)
        if state.resident is None:
            await session.commit()
            await self._ended(event, data, state)
            return None
        resident = state.resident
        data["mediator"], data["mediator_roles"] = user, data["roles"]
        data["user"], data["roles"] = resident, set(resident.role_names)
        session.info["assisted_by"], session.info["acting_for"] = user.id, resident.id
        token, chat_token = acting_code.set(resident.code), acting_chat.set(chat.id)
        try:
            result = await handler(event, data)
            await session.flush()  # marked while the session still knows for whom
            return result
        finally:
            acting_code.reset(token)
            acting_chat.reset(chat_token)
            session.info.pop("assisted_by", None)
            session.info.pop("acting_for", None)

    @staticmethod
    async def _ended(event: TelegramObject, data: dict[str, Any], state: mediators_service.Acting) -> None:
        from handlers.shared import main_menu

        if state.ended == "revoked":
            text = _("You are no longer a mediator, so you stopped acting for {code}. "
                     "Everything done for them so far is kept.")
        else:
            text = _("You stopped acting for {code}: they now use the bot themselves, or their data "
                     "was deleted. Everything done for them so far is kept.")
        text = text.format(code=state.code or "—")
        fsm = data.get("state")
        if fsm is not None:
            await fsm.clear()
        if isinstance(event, Update) and event.callback_query is not None:
            await event.callback_query.answer(text, show_alert=True)
        await data["bot"].send_message(data["event_chat"].id, text, reply_markup=main_menu())


class ApologyMiddleware(BaseMiddleware):
    """An unexpected exception is logged with the update id; the person gets a localized apology.

    Registered inside the session and locale middlewares: changes are rolled back and the
    apology is in the person's language.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except RETRYABLE_API:
            raise  # Telegram failing: bot.updates runs the update again (nothing was committed)
        except Exception as exc:
            if retryable_db_error(exc):
                raise  # the database failing: bot.updates runs the update again
            if isinstance(exc, TelegramBadRequest) and "query is too old" in exc.message:
                log.info("Update %s: the button's answer came too late", getattr(event, "update_id", "?"))
                return None
            return await self._failed(event, data)

    async def _failed(self, event: TelegramObject, data: dict[str, Any]) -> None:
        """Called while the exception is being handled: logged with its traceback."""
        update_id = event.update_id if isinstance(event, Update) else "?"
        log.exception("Update %s failed", update_id)
        session: AsyncSession | None = data.get("session")
        if session is not None:
            await session.rollback()
        discard_captured()
        data["update_failed"] = True
        await self._apologise(event, data.get("bot"))

    async def _apologise(self, event: TelegramObject, bot: Bot | None) -> None:
        if bot is None or not isinstance(event, Update):
            return
        text = _("Sorry, something went wrong on our side. Please try again in a moment.")
        try:
            if event.callback_query is not None:
                await event.callback_query.answer(text, show_alert=True)
            elif event.message is not None and event.message.chat.type == "private":
                await bot.send_message(event.message.chat.id, text)
        except TelegramAPIError:
            log.warning("Could not send the apology for update %s", event.update_id)
