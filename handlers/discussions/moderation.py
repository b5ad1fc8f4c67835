"""Residents' statements in the moderators' group: a card each (in the community's language, the
author not named) with Approve / Reject, the reason picked from a list. The author is told of
the decision in their own language through the delivery engine. The same people as for reports
may act, checked on the server for every press; of two presses at once one wins.
"""
from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.delivery import Outgoing, RenderContext, register_kind
from bot.services import campaigns as campaigns_service
from bot.services import discussions as service
from bot.services.campaigns import Audience
from bot.services.errors import DomainError
from handlers.discussions import keyboards, texts
from handlers.discussions.keyboards import StmtCb
from handlers.moderation import InModeratorsChat, can_moderate
from handlers.polls import valid_id
from handlers.polls.texts import pick
from handlers.shared import close_buttons, edit_text
from storage.models import Discussion, DiscussionStatement, utcnow

log = logging.getLogger(__name__)
router = Router(name="discussions-moderation")
router.callback_query.filter(InModeratorsChat())

NEWS_KIND = "statement-news"


def _card(statement: DiscussionStatement, discussion: Discussion, settings: Settings, i18n: I18n,
          by: str | None = None, view: str = "main") -> tuple[str, Any]:
    locale = settings.default_locale
    with i18n.use_locale(locale):
        text = texts.card(discussion.id, pick(discussion.question, locale, discussion.default_locale),
                          statement.text, statement.status, statement.reason, by)
        markup = keyboards.card(statement.id, view) if statement.status == "pending" else None
    return text, markup


async def post_card(bot: Bot, session: AsyncSession, statement: DiscussionStatement, discussion: Discussion,
                    settings: Settings, i18n: I18n) -> None:
    """The card of a new statement; one that cannot be posted now is posted by the next check."""
    chat_id = settings.moderators_chat_id
    if chat_id is None:
        log.warning("MODERATORS_CHAT_ID is not set: statement #%s waits without a card", statement.id)
        return
    text, markup = _card(statement, discussion, settings, i18n)
    try:
        card = await bot.send_message(chat_id, text, reply_markup=markup)
    except TelegramAPIError as exc:
        log.warning("Could not post the card of statement #%s: %s", statement.id, exc)
        return
    statement.card_chat_id, statement.card_message_id = chat_id, card.message_id
    await session.commit()


async def post_missing_cards(sessionmaker: Any, bot: Bot, settings: Settings, i18n: I18n) -> None:
    """The periodic check: cards that could not be posted earlier (the group was unreachable)."""
    if settings.moderators_chat_id is None:
        return
    async with sessionmaker() as session:
        for statement in await service.pending_without_card(session, utcnow()):
            discussion = await service.get(session, statement.discussion_id)
            if discussion is not None:
                await post_card(bot, session, statement, discussion, settings, i18n)


@router.callback_query(StmtCb.filter())
async def card_button(
    callback: CallbackQuery, callback_data: StmtCb, bot: Bot, session: AsyncSession, roles: set[str],
    settings: Settings, i18n: I18n, callback_answer: CallbackAnswer, delivery: Any = None,
) -> None:
    message = callback.message
    if not isinstance(message, Message):
        return
    if not await can_moderate(bot, message.chat.id, callback.from_user, roles):
        callback_answer.text, callback_answer.show_alert = texts.not_allowed(), True
        return
    found = await service.statement(session, valid_id(callback_data.id) or 0)
    discussion = await service.get(session, found.discussion_id) if found else None
    if found is None or discussion is None:
        callback_answer.text = texts.vote_error("bad_statement")
        return
    action = callback_data.a
    if action in ("no", "back") and found.status == "pending":
        await edit_text(callback, *_card(found, discussion, settings, i18n, view="reasons" if action == "no" else "main"))
        return
    by = callback.from_user.full_name
    try:
        if action not in ("ok", "rj"):
            raise DomainError("statement_done")
        found = await service.moderate(session, found.id, action == "ok", callback_data.r or None,
                                       callback.from_user.id, delivery.now() if delivery else utcnow())
    except DomainError as exc:
        await session.rollback()
        await session.refresh(found)
        with i18n.use_locale(settings.default_locale):
            callback_answer.show_alert = True
            if exc.code == "closed":
                callback_answer.text = texts.card_closed()
                await close_buttons(callback)
                return
            callback_answer.text = texts.card_done(found.status) if found.status != "pending" else texts.vote_error(
                "bad_statement")
        await edit_text(callback, *_card(found, discussion, settings, i18n, by="—"))
        return
    if found.author_id is not None:
        await campaigns_service.create_campaign(
            session, kind=NEWS_KIND, key=service.news_key(found.id), audience=Audience(user_ids=[found.author_id]),
            payload={"question": discussion.question, "default_locale": discussion.default_locale,
                     "text": found.text, "approved": found.status == "approved", "reason": found.reason})
    await session.commit()
    if delivery is not None:
        delivery.wake()
    with i18n.use_locale(settings.default_locale):
        callback_answer.text = texts.saved()
    await edit_text(callback, *_card(found, discussion, settings, i18n, by=by))


def render_news(ctx: RenderContext) -> Outgoing:
    return Outgoing(text=texts.news(ctx.payload, ctx.locale))


register_kind(NEWS_KIND, render_news)
