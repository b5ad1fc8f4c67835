"""Moderators triage reports in their group (MODERATORS_CHAT_ID): card buttons, typed answers,
replies relayed to the reporter, /queue (each report leading to its card), /help.

Only moderators, admins and Telegram administrators of the group may act; every change is a
conditional update on the status the card showed, so a stale or simultaneous press changes nothing.
"""
from __future__ import annotations

import functools
import logging
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import BaseFilter, Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    ForceReply,
    Message,
    ReactionTypeEmoji,
    ReplyParameters,
)
from aiogram.types import User as TgUser
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from bot.config import Settings
from bot.services import orgs as orgs_service
from bot.services import reports as reports_service
from bot.services import users as users_service
from bot.services.errors import DomainError
from bot.services.reports import Actor
from bot.updates import after_commit, after_commit_outside, when_sent
from handlers.moderation.cards import (
    CAPTION_TEXT_MAX,
    CardCb,
    ModCb,
    card_link,
    follow_category_of,
    notify_reporter,
    post_card_of,
    queue_keyboard,
    refresh_card,
    relayable_media,
    relayed_note,
    send_relayed,
)
from handlers.moderation.passon import pass_on
from handlers.reports import keyboards as resident_keyboards
from handlers.reports import texts
from storage.models import Report, User, utcnow

log = logging.getLogger(__name__)
router = Router(name="moderation")


class InModeratorsChat(BaseFilter):
    async def __call__(self, event: Message | CallbackQuery, settings: Settings, **kwargs: Any) -> bool:
        message = event.message if isinstance(event, CallbackQuery) else event
        return (
            settings.moderators_chat_id is not None
            and message is not None
            and message.chat.id == settings.moderators_chat_id
        )


router.message.filter(InModeratorsChat())
router.callback_query.filter(InModeratorsChat())


class ModInput(StatesGroup):
    reason = State()
    duplicate = State()


PROMPTS = {"rj": (ModInput.reason, texts.ask_reject_reason), "dup": (ModInput.duplicate, texts.ask_duplicate)}
STATE_ACTIONS = {ModInput.reason.state: "reject", ModInput.duplicate.state: "duplicate"}


async def can_moderate(bot: Bot, chat_id: int, tg_user: TgUser | None, roles: set[str]) -> bool:
    if tg_user is None:
        return False
    if roles & {"moderator", "admin"}:
        return True
    try:
        member = await bot.get_chat_member(chat_id, tg_user.id)
    except TelegramAPIError:
        return False
    return member.status in ("creator", "administrator")


def actor_of(tg_user: TgUser, user: User | None) -> Actor:
    name = (user.display_name if user and user.display_name else None) or tg_user.full_name
    return Actor(user.id if user else None, tg_user.id, name)


async def apply_action(
    bot: Bot, session: AsyncSession, report_id: int, action: str, expected: str, detail: str | None,
    actor: Actor, settings: Settings, community: Community, i18n: I18n, delivery: Any, sessionmaker: Any = None,
) -> None:
    """A moderator's action, wherever it was taken (a card button, a typed answer, the dashboard):
    change the report (the audit trail records who), notify the reporter, commit, then redraw the
    card in the group. Raises DomainError (nothing changed then).

    In an update the card's edit goes out with the update's replies; outside one (the dashboard)
    it goes now, once the change is committed, so the card never shows what was not stored."""
    async with after_commit_outside():  # (outside an update what waits for the commit runs after it)
        report, event = await reports_service.act(
            session, report_id, action, actor, expected=expected, detail=detail,
            followup_days=settings.report_followup_days, label_locale=settings.moderators_chat_locale,
        )
        await notify_reporter(session, report, event)
        if action == "route":  # the organisation's representatives get it; the moderators see to whom
            await pass_on(bot, session, report, event, settings, i18n, delivery)
        if action == "category" and sessionmaker is not None:  # in a forum, the card may move to another topic
            await after_commit(functools.partial(follow_category_of, sessionmaker, report.id, bot, settings,
                                                 community, i18n))
        await session.commit()
    if delivery is not None:
        delivery.wake()
    await refresh_card(bot, session, report, settings, community, i18n)


def _refusal(exc: DomainError) -> str:
    if exc.code == "report_final" and exc.params.get("status") == "resolved":
        return texts.already_resolved_alert()
    return texts.error_text(exc)


@router.callback_query(ModCb.filter())
async def card_button(
    callback: CallbackQuery, callback_data: ModCb, bot: Bot, session: AsyncSession, state: FSMContext,
    user: User | None, roles: set[str], settings: Settings, community: Community, i18n: I18n,
    callback_answer: CallbackAnswer, delivery: Any = None, sessionmaker: Any = None,
) -> None:
    def alert(text: str, show: bool = True) -> None:
        callback_answer.text, callback_answer.show_alert = text, show

    chat_id = callback.message.chat.id  # type: ignore[union-attr]
    if not await can_moderate(bot, chat_id, callback.from_user, roles):
        alert(texts.not_allowed_alert())
        return
    report = await reports_service.get(session, callback_data.id)
    if report is None:
        alert(texts.error_text(DomainError("report_missing", number=callback_data.id)))
        return
    if report.status in reports_service.FINAL:
        alert(_refusal(DomainError("report_final", status=report.status)))
        await refresh_card(bot, session, report, settings, community, i18n)
        return
    if report.status != callback_data.st:
        alert(texts.error_text(DomainError("report_changed")))
        await refresh_card(bot, session, report, settings, community, i18n)
        return
    action, value = callback_data.a, callback_data.v
    if action == "route" and not (await orgs_service.listing(session, 0, 1))[1]:
        with i18n.use_locale(settings.moderators_chat_locale):
            alert(texts.no_organisations())
        return
    if action in ("reject", "cat", "back", "route"):
        view = {"reject": "reject", "cat": "category", "back": "main", "route": "route"}[action]
        await refresh_card(bot, session, report, settings, community, i18n, view)
        return
    if action == "dup" or (action == "rj" and value == "other"):
        target, ask = PROMPTS[action]
        await state.set_state(target)
        await state.update_data(report_id=report.id, expected=report.status)
        with i18n.use_locale(settings.moderators_chat_locale):
            prompt = ask(report.id)
        await bot.send_message(
            chat_id, prompt, reply_markup=ForceReply(selective=True),
            message_thread_id=report.card_thread_id,
            reply_parameters=ReplyParameters(message_id=callback.message.message_id,  # type: ignore[union-attr]
                                             allow_sending_without_reply=True),
        )
        return
    service_action = {"rj": "reject", "cc": "category", "ro": "route"}.get(action, action)
    if service_action not in reports_service.ACTIONS:
        alert(_("This button is no longer active."))
        return
    report_id = report.id  # (a rollback expires what the session loaded)
    try:
        await apply_action(bot, session, report_id, service_action, callback_data.st, value or None,
                     actor_of(callback.from_user, user), settings, community, i18n, delivery, sessionmaker)
    except DomainError as exc:
        await session.rollback()
        alert(_refusal(exc))
        fresh = await reports_service.get(session, report_id)
        if fresh is not None:
            await refresh_card(bot, session, fresh, settings, community, i18n)
        return
    done = await reports_service.get(session, report_id)
    alert(texts.status_name(done.status if done else ""), False)


@router.message(Command("cancel"), StateFilter(ModInput))
async def cancel_input(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.reply(_("Cancelled."))


@router.message(StateFilter(ModInput), F.text & ~F.text.startswith("/"))
async def typed_input(
    message: Message, bot: Bot, session: AsyncSession, state: FSMContext, user: User | None, roles: set[str],
    settings: Settings, community: Community, i18n: I18n, delivery: Any = None, sessionmaker: Any = None,
) -> None:
    current = await state.get_state()
    data = await state.get_data()
    action = STATE_ACTIONS.get(current or "")
    if action is None or not await can_moderate(bot, message.chat.id, message.from_user, roles):
        await state.clear()
        return
    try:
        await apply_action(bot, session, int(data["report_id"]), action, str(data["expected"]), message.text,
                     actor_of(message.from_user, user), settings, community, i18n, delivery,  # type: ignore[arg-type]
                     sessionmaker)
    except DomainError as exc:
        await session.rollback()
        if exc.code in ("report_number", "report_missing", "report_duplicate_self", "report_too_long",
                        "report_empty"):
            await message.reply(texts.error_text(exc) + "\n" + _("Try again, or /cancel."))
            return
        await state.clear()
        await message.reply(_refusal(exc))
        return
    await state.clear()
    await _react(bot, message)


async def _react(bot: Bot, message: Message) -> None:
    try:
        await bot.set_message_reaction(message.chat.id, message.message_id, [ReactionTypeEmoji(emoji="👍")])
    except TelegramAPIError:
        pass


@router.message(Command("queue"))
async def queue(message: Message, bot: Bot, session: AsyncSession, settings: Settings, community: Community,
                i18n: I18n, roles: set[str]) -> None:
    if not await can_moderate(bot, message.chat.id, message.from_user, roles):
        return  # the group is not for arguing with a bot: someone else's /queue stays unanswered
    reports = await reports_service.open_reports(session)
    links = {r.id: link for r in reports if (link := card_link(r)) is not None}
    locale = settings.moderators_chat_locale
    with i18n.use_locale(locale):
        text = texts.queue(reports, community, locale, utcnow(), settings.report_stale_hours, links)
    await message.reply(text, reply_markup=queue_keyboard(reports, links))


@router.callback_query(CardCb.filter())
async def show_card(
    callback: CallbackQuery, callback_data: CardCb, bot: Bot, session: AsyncSession, roles: set[str],
    settings: Settings, community: Community, i18n: I18n, callback_answer: CallbackAnswer, sessionmaker: Any = None,
) -> None:
    """A /queue button: a message in reply to the card points to it; a report without a card
    (the group was unreachable) has it posted now."""
    if not await can_moderate(bot, callback.message.chat.id, callback.from_user, roles):  # type: ignore[union-attr]
        callback_answer.text, callback_answer.show_alert = texts.not_allowed_alert(), True
        return
    report = await reports_service.get(session, callback_data.id)
    if report is None:
        callback_answer.text = texts.error_text(DomainError("report_missing", number=callback_data.id))
        return
    if report.card_chat_id is not None and report.card_message_id is not None:
        await bot.send_message(
            report.card_chat_id, texts.card_here(report.id), message_thread_id=report.card_thread_id,
            reply_parameters=ReplyParameters(message_id=report.card_message_id, allow_sending_without_reply=True),
        )
        return
    if sessionmaker is not None and await reports_service.claim_card(session, report.id):
        await after_commit(functools.partial(post_card_of, sessionmaker, report.id, bot, settings, community,
                                             i18n))  # claimed: posted once, also if the periodic check runs
    callback_answer.text = texts.card_coming(report.id)


@router.message(Command("help"))
async def moderators_help(message: Message, bot: Bot, roles: set[str], settings: Settings) -> None:
    """What moderators can do in their group, answered to anyone in it (a member without the role
    learns how to get it)."""
    can_act = await can_moderate(bot, message.chat.id, message.from_user, roles)
    await message.reply(texts.moderators_help(settings.report_stale_hours, can_act))


class CardReply(BaseFilter):
    """A reply to a report's card (or to a message under it) by someone who may moderate."""

    async def __call__(self, message: Message, bot: Bot, session: AsyncSession, roles: set[str] | None = None,
                       **kwargs: Any) -> bool | dict[str, Any]:
        reply = message.reply_to_message
        if reply is None or (message.text or "").startswith("/"):
            return False
        report = await reports_service.by_message(session, message.chat.id, reply.message_id)
        if report is None or not await can_moderate(bot, message.chat.id, message.from_user, roles or set()):
            return False
        return {"report": report}


@router.message(CardReply())
async def relay_to_reporter(
    message: Message, bot: Bot, session: AsyncSession, report: Report, user: User | None, i18n: I18n,
) -> None:
    """A moderator's reply to a card (or to a resident's relayed message) goes to the reporter."""
    text = (message.text or message.caption or "").strip()
    media = relayable_media(message)
    if not text and media is None:
        await message.reply(_("Only text, photos and voice notes can be passed on to the reporter."))
        return
    actor = actor_of(message.from_user, user)  # type: ignore[arg-type]
    if not await reply_to_reporter(bot, session, report, actor, text, media, i18n, refused=message.reply):
        await message.reply(_("The reporter can no longer be reached."))
        return
    await _react(bot, message)


REPLY_MAX = 3500  # of a moderator's words to the reporter (a message holds 4096 characters)


async def reply_to_reporter(
    bot: Bot, session: AsyncSession, report: Report, actor: Actor, text: str, media: Any, i18n: I18n,
    refused: Any = None,
) -> bool:
    """A moderator's words (a reply to the card, or the dashboard's form) go to the reporter, or to an
    offline resident's mediator; the audit trail records who sent what. False when nobody can be
    reached (nothing sent, nothing recorded). ``refused(text)``: told if Telegram refuses it later
    (the person blocked the bot), in the moderators' language; outside an update a refusal is False."""
    reporter = await users_service.by_id(session, report.user_id)
    # an offline resident's mediator gets it in their own chat, naming the resident's code
    mediator = await users_service.by_id(session, reporter.mediator_id) \
        if reporter is not None and reporter.is_offline and reporter.mediator_id else None
    reader = mediator or reporter
    if reader is None or reader.telegram_id is None or reader.deleted_at is not None:
        return False
    with i18n.use_locale(reader.language):
        body = texts.from_moderators(report.id, text, CAPTION_TEXT_MAX if media else REPLY_MAX)
        markup = resident_keyboards.reply_button(report.id)
        if mediator is not None and reporter is not None:  # they answer by replying (the button is the resident's)
            from handlers.mediators import texts as mediator_texts  # (handlers.mediators imports this module)

            body = mediator_texts.for_resident(reporter.code or "—", reporter.display_name, False) + "\n\n" + body
            markup = None
    report_id, chat_id = report.id, reader.telegram_id
    unreachable = _("The reporter can no longer be reached.")

    async def link(sent: Message) -> None:  # once Telegram has it (after the update's commit)
        await reports_service.link_message(session, report_id, chat_id, sent.message_id)

    async def told_refused(exc: TelegramAPIError) -> None:
        log.info("Could not relay to the reporter of #%s: %s", report_id, exc)
        if refused is not None:
            await refused(unreachable)

    try:
        sent = await send_relayed(bot, chat_id, body, media, reply_markup=markup)
    except TelegramAPIError as exc:  # (outside an update the call goes out at once)
        log.info("Could not relay to the reporter of #%s: %s", report_id, exc)
        return False
    await when_sent(sent, link, told_refused, session=session)
    await reports_service.note(session, report.id, actor, "to_reporter", relayed_note(text, media))
    return True
