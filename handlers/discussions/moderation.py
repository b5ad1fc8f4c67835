"""Residents' statements in the moderators' group: a card each (in the community's language, the
author not named) with Approve / Reject, the reason picked from a list. The author is told of
the decision in their own language through the delivery engine. The same people as for reports
may act, checked on the server for every press; of two presses at once one wins.

A statement sent as a voice note has the voice note itself as its card (sent by file_id, so no
one's account shows; the card is its caption). Residents vote on text, so a moderator writes down
what it says by replying to the card; that goes through the checks of a typed statement and
becomes its text. Until then Approve refuses.
"""
from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, Message, ReactionTypeEmoji
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot import jobs
from bot.config import Settings
from bot.delivery import Outgoing, RenderContext, register_kind
from bot.scheduler import REPORT_CHECK_SECONDS
from bot.services import campaigns as campaigns_service
from bot.services import discussions as service
from bot.services.campaigns import Audience
from bot.services.errors import DomainError
from handlers.discussions import keyboards, texts
from handlers.discussions.keyboards import StmtCb
from handlers.moderation import InModeratorsChat, can_moderate
from handlers.polls import valid_id
from handlers.polls.texts import pick
from handlers.shared import close_buttons
from storage.models import Discussion, DiscussionStatement, utcnow
from bot.updates import live_calls

log = logging.getLogger(__name__)
router = Router(name="discussions-moderation")
router.message.filter(InModeratorsChat())
router.callback_query.filter(InModeratorsChat())

NEWS_KIND = "statement-news"


def _card(statement: DiscussionStatement, discussion: Discussion, settings: Settings, i18n: I18n,
          by: str | None = None, view: str = "main") -> tuple[str, Any]:
    locale = settings.moderators_chat_locale
    with i18n.use_locale(locale):
        text = texts.card(discussion.id, pick(discussion.question, locale, discussion.default_locale),
                          statement.text, statement.status, statement.reason, by, voice=bool(statement.voice_file_id))
        markup = keyboards.card(statement.id, view) if statement.status == "pending" else None
    return text, markup


async def _edit(callback: CallbackQuery, text: str, markup: Any) -> None:
    """Edit the pressed card in place: its text, or its caption when the card is a voice note."""
    message = callback.message
    if not isinstance(message, Message):
        return
    try:
        if message.voice is not None:
            await message.edit_caption(caption=text, reply_markup=markup)
        else:
            await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            raise


@live_calls
async def post_card(bot: Bot, session: AsyncSession, statement: DiscussionStatement, discussion: Discussion,
                    settings: Settings, i18n: I18n) -> None:
    """The card of a new statement; one that cannot be posted now is posted by the next check."""
    chat_id = settings.moderators_chat_id
    if chat_id is None:
        log.warning("MODERATORS_CHAT_ID is not set: statement #%s waits without a card", statement.id)
        return
    text, markup = _card(statement, discussion, settings, i18n)
    try:
        if statement.voice_file_id:  # by file_id: the resident's account does not show
            card = await bot.send_voice(chat_id, statement.voice_file_id, caption=text, reply_markup=markup)
        else:
            card = await bot.send_message(chat_id, text, reply_markup=markup)
    except TelegramAPIError as exc:
        log.warning("Could not post the card of statement #%s: %s", statement.id, exc)
        return
    statement.card_chat_id, statement.card_message_id = chat_id, card.message_id
    await session.commit()


async def post_card_of(sessionmaker: Any, statement_id: int, bot: Bot, settings: Settings, i18n: I18n) -> None:
    """A new statement's card, after it was committed (bot.updates.after_commit)."""
    async with sessionmaker() as session:
        statement = await session.get(DiscussionStatement, statement_id)
        if statement is None or statement.card_message_id is not None:
            return
        discussion = await service.get(session, statement.discussion_id)
        if discussion is not None:
            with i18n.context():
                await post_card(bot, session, statement, discussion, settings, i18n)
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


@jobs.job("statement-cards", seconds=REPORT_CHECK_SECONDS)
async def post_missing_cards_job(ctx: jobs.JobContext) -> None:
    await post_missing_cards(ctx.sessionmaker, ctx.bot, ctx.settings, ctx.i18n)


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
        await _edit(callback, *_card(found, discussion, settings, i18n, view="reasons" if action == "no" else "main"))
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
        with i18n.use_locale(settings.moderators_chat_locale):
            callback_answer.show_alert = True
            if exc.code == "closed":
                callback_answer.text = texts.card_closed()
                await close_buttons(callback)
                return
            if exc.code == "needs_text":
                callback_answer.text = texts.needs_text()
                return
            callback_answer.text = texts.card_done(found.status) if found.status != "pending" else texts.vote_error(
                "bad_statement")
        await _edit(callback, *_card(found, discussion, settings, i18n, by="—"))
        return
    if found.author_id is not None:
        await campaigns_service.create_campaign(
            session, kind=NEWS_KIND, key=service.news_key(found.id), audience=Audience(user_ids=[found.author_id]),
            payload={"question": discussion.question, "default_locale": discussion.default_locale,
                     "text": found.text, "approved": found.status == "approved", "reason": found.reason,
                     "voice": bool(found.voice_file_id)})
    await session.commit()
    if delivery is not None:
        delivery.wake()
    with i18n.use_locale(settings.moderators_chat_locale):
        callback_answer.text = texts.saved()
    await _edit(callback, *_card(found, discussion, settings, i18n, by=by))


class VoiceCardReply(BaseFilter):
    """A reply to the card of a voice statement (not a command)."""

    async def __call__(self, message: Message, session: AsyncSession, **kwargs: Any) -> bool | dict[str, Any]:
        reply = message.reply_to_message
        if reply is None or (message.text or "").startswith("/"):
            return False
        found = await service.by_card(session, message.chat.id, reply.message_id)
        if found is None or not found.voice_file_id:
            return False
        return {"statement": found}


@router.message(VoiceCardReply())
async def written_down(
    message: Message, statement: DiscussionStatement, bot: Bot, session: AsyncSession, roles: set[str],
    settings: Settings, i18n: I18n, delivery: Any = None,
) -> None:
    """A moderator's reply to a voice statement's card: what it says, as its text. The card then
    shows it (and Approve works)."""
    with i18n.use_locale(settings.moderators_chat_locale):
        if not await can_moderate(bot, message.chat.id, message.from_user, roles):
            await message.reply(texts.not_allowed())
            return
        if message.text is None:
            await message.reply(texts.transcript_expected())
            return
        try:
            found = await service.transcribe(session, statement.id, message.text,
                                             delivery.now() if delivery else utcnow())
        except DomainError as exc:
            await session.rollback()
            if exc.code == "statement_done":
                await message.reply(texts.card_done(exc.params.get("status", "")))
            elif exc.code == "closed":
                await message.reply(texts.card_closed())
            else:
                await message.reply(texts.transcript_error(exc))
            return
        await session.commit()
    discussion = await service.get(session, found.discussion_id)
    if discussion is not None and found.card_chat_id is not None and found.card_message_id is not None:
        text, markup = _card(found, discussion, settings, i18n)
        try:
            await bot.edit_message_caption(chat_id=found.card_chat_id, message_id=found.card_message_id,
                                           caption=text, reply_markup=markup)
        except TelegramAPIError as exc:  # "not modified" (the same words again), or the card is gone
            log.info("Could not update the card of statement #%s: %s", found.id, exc)
    try:
        await bot.set_message_reaction(message.chat.id, message.message_id, [ReactionTypeEmoji(emoji="👍")])
    except TelegramAPIError:
        pass


def render_news(ctx: RenderContext) -> Outgoing:
    return Outgoing(text=texts.news(ctx.payload, ctx.locale))


register_kind(NEWS_KIND, render_news)
