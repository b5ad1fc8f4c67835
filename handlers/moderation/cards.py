"""The report card in the moderators' group: posting, re-rendering in place, notifications.

Everything posted in the moderators' group is in its one language (settings.moderators_chat_locale:
MODERATORS_LOCALE, else DEFAULT_LOCALE), whoever caused it; notifications to the reporter go
through the delivery engine in the reporter's language.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import jobs
from bot.community import Community
from bot.config import Settings
from bot.delivery import Outgoing, RenderContext, register_kind
from bot.scheduler import REPORT_CHECK_SECONDS
from bot.services import campaigns as campaigns_service
from bot.services import orgs as orgs_service
from bot.services import reports as reports_service
from bot.services import users as users_service
from bot.services.text import first_words
from bot.services.users import pseudonym
from bot.updates import live_calls, when_sent
from handlers.reports import keyboards as resident_keyboards
from handlers.reports import texts
from handlers.shared import edit_card
from storage.models import Report, ReportEvent

if TYPE_CHECKING:
    from bot.delivery import DeliveryEngine

log = logging.getLogger(__name__)

STATUS_KIND = "report_status"
ROUTE_MAX = 40  # organisations offered on a card (a keyboard holds at most 100 buttons)
FOLLOWUP_KIND = "report_followup"


class ModCb(CallbackData, prefix="mod"):
    """A card button: action `a` on report `id`, pressed on a card showing status `st`."""

    a: str
    id: int
    st: str
    v: str = ""


class CardCb(CallbackData, prefix="modcard"):
    """A /queue button: show the card of report `id` (point to it, or post it when it has none)."""

    id: int


def card_link(report: Report) -> str | None:
    """A t.me link to the report's card, when it is known and in a supergroup (-100…): the ids of
    other chats make no link."""
    chat, message = report.card_chat_id, report.card_message_id
    if chat is None or message is None or not str(chat).startswith("-100"):
        return None
    path = f"{report.card_thread_id}/{message}" if report.card_thread_id else str(message)
    return f"https://t.me/c/{str(chat)[4:]}/{path}"


def queue_keyboard(reports: list[Report], links: dict[int, str]) -> InlineKeyboardMarkup | None:
    """A button for each report of /queue that its text cannot link to its card."""
    kb = InlineKeyboardBuilder()
    for report in reports:
        if report.id not in links:
            kb.button(text=f"📋 #{report.id}", callback_data=CardCb(id=report.id))
    kb.adjust(4)
    return kb.as_markup() if kb.buttons else None


def card_keyboard(report: Report, view: str = "main", community: Community | None = None,
                  locale: str = "en", orgs: list[tuple[int, str]] | None = None) -> InlineKeyboardMarkup | None:
    """The card's buttons; ``orgs`` (id, name) for the "route" view: the organisations of /orgs."""
    if report.status in reports_service.FINAL:
        return None
    kb = InlineKeyboardBuilder()

    def add(text: str, action: str, value: str = "") -> None:
        kb.button(text=text, callback_data=ModCb(a=action, id=report.id, st=report.status, v=value))

    if view == "reject":
        for code, msgid in texts.REJECT_REASONS.items():
            add(_(msgid), "rj", code)
        add(_("✍️ Another reason (type it)"), "rj", "other")
        add(_("⬅️ Back"), "back")
        kb.adjust(1)
        return kb.as_markup()
    if view == "category" and community is not None:
        for category in community.categories:
            if category.code != report.category:
                add(category.name(locale), "cc", category.code)
        add(_("⬅️ Back"), "back")
        kb.adjust(2)
        return kb.as_markup()
    if view == "route" and orgs:
        for org_id, name in orgs:
            mark = "✓ " if org_id == report.routed_org_id else ""
            add(f"{mark}🏛 {name}"[:64], "ro", str(org_id))
        add(_("⬅️ Back"), "back")
        kb.adjust(1)
        return kb.as_markup()
    if report.status in ("new", "reopened"):
        add(_("✅ Accept"), "accept")
    if report.status in ("new", "accepted", "reopened"):
        add(_("🛠 In progress"), "progress")
    add(_("🎉 Resolved"), "resolve")
    add(_("🚫 Reject"), "reject")
    add(_("🔁 Duplicate"), "dup")
    add(_("🗂 Category"), "cat")
    add(_("🏛 Pass on"), "route")
    kb.adjust(2)
    return kb.as_markup()


async def reporter_label(session: AsyncSession, report: Report) -> str:
    user = await users_service.by_id(session, report.user_id)
    alias = report.alias or "R-?"  # this report's own pseudonym: it leads to no other report
    if user is None:
        return texts.reporter_label(None, None, alias, False)
    return texts.reporter_label(user.display_name, user.username, alias, report.show_identity)


async def mediator_label(session: AsyncSession, mediator_id: int | None) -> str | None:
    """Who filed or submitted something for an offline resident (None: the resident themselves)."""
    if mediator_id is None:
        return None
    mediator = await users_service.by_id(session, mediator_id)
    if mediator is None:
        return texts.mediator_label(None, None, f"R-{mediator_id}")
    return texts.mediator_label(mediator.display_name, mediator.username, pseudonym(mediator))


async def render_card(
    session: AsyncSession, report: Report, settings: Settings, community: Community, i18n: I18n,
    view: str = "main",
) -> tuple[str, InlineKeyboardMarkup | None]:
    locale = settings.moderators_chat_locale
    last = await reports_service.last_status_event(session, report.id)
    photo_ids = await reports_service.photos(session, report.id)
    duplicates = await reports_service.possible_duplicates(session, report)
    orgs = None
    if view == "route":  # the organisations of /orgs, named in the group's language
        orgs = [(o.id, orgs_service.name_of(o, locale)) for o in (await orgs_service.listing(session, 0, ROUTE_MAX))[0]]
    with i18n.use_locale(locale):  # every word of it, the reporter's label too, in the group's language
        who = await reporter_label(session, report)
        mediator = await mediator_label(session, report.assisted_by)
        text = texts.card(
            report, community=community, locale=locale, tz=settings.tz, reporter=who,
            photo_count=len(photo_ids), duplicates=duplicates, last=last, mediator=mediator,
        )
        markup = card_keyboard(report, view, community, locale, orgs)
    return text, markup


async def _thread_for(bot: Bot, session: AsyncSession, chat_id: int, report: Report, community: Community,
                      locale: str) -> int | None:
    """The category's forum topic when the group is a forum (created once, remembered)."""
    try:
        chat = await bot.get_chat(chat_id)
    except TelegramAPIError as exc:
        log.warning("Could not read the moderators' chat %s: %s", chat_id, exc)
        return None
    if not chat.is_forum:
        return None
    thread = await reports_service.topic(session, chat_id, report.category)
    if thread is not None:
        return thread
    name = texts.category_name(community, report.category, locale)[:128]
    try:
        topic = await bot.create_forum_topic(chat_id, name)
    except TelegramAPIError as exc:
        log.warning("Could not create a forum topic for %s: %s", report.category, exc)
        return None
    await reports_service.remember_topic(session, chat_id, report.category, topic.message_thread_id)
    return topic.message_thread_id


@live_calls
async def post_card(
    bot: Bot, session: AsyncSession, report: Report, settings: Settings, community: Community, i18n: I18n,
) -> bool:
    """Post the card (and the photos / voice note under it). False when it could not be posted."""
    chat_id = settings.moderators_chat_id
    if chat_id is None:
        log.warning("MODERATORS_CHAT_ID is not set: report #%s has no card", report.id)
        return False
    text, markup = await render_card(session, report, settings, community, i18n)
    thread = await _thread_for(bot, session, chat_id, report, community, settings.moderators_chat_locale)
    try:
        card = await bot.send_message(chat_id, text, reply_markup=markup, message_thread_id=thread)
        await reports_service.set_card(session, report, chat_id, card.message_id, thread)
        under = ReplyParameters(message_id=card.message_id, allow_sending_without_reply=True)
        photo_ids = await reports_service.photos(session, report.id)
        sent = []
        if len(photo_ids) == 1:
            sent = [await bot.send_photo(chat_id, photo_ids[0], reply_parameters=under, message_thread_id=thread)]
        elif photo_ids:
            sent = await bot.send_media_group(
                chat_id, [InputMediaPhoto(media=f) for f in photo_ids], reply_parameters=under,
                message_thread_id=thread,
            )
        if report.voice_file_id:
            sent.append(await bot.send_voice(chat_id, report.voice_file_id, reply_parameters=under,
                                             message_thread_id=thread))
        for message in sent:
            await reports_service.link_message(session, report.id, chat_id, message.message_id)
    except TelegramAPIError as exc:
        log.warning("Could not post the card of report #%s: %s", report.id, exc)
        return report.card_message_id is not None
    return True


async def post_card_of(sessionmaker: Any, report_id: int, bot: Bot, settings: Settings, community: Community,
                       i18n: I18n) -> None:
    """A new report's card, after the report was committed (bot.updates.after_commit)."""
    async with sessionmaker() as session:
        report = await reports_service.get(session, report_id)
        if report is None or report.card_message_id is not None:
            return
        with i18n.context():
            await post_card(bot, session, report, settings, community, i18n)
        await session.commit()


async def follow_category_of(sessionmaker: Any, report_id: int, bot: Bot, settings: Settings, community: Community,
                             i18n: I18n) -> None:
    """After a category change was committed: the card follows its category's topic, in a
    session of its own (no Bot API call waits inside the moderator's transaction)."""
    async with sessionmaker() as session:
        report = await reports_service.get(session, report_id)
        if report is None:
            return
        with i18n.context():
            await follow_category(bot, session, report, settings, community, i18n)
        await session.commit()


@live_calls
async def follow_category(
    bot: Bot, session: AsyncSession, report: Report, settings: Settings, community: Community, i18n: I18n,
) -> bool:
    """In a forum group, a card whose category changed moves to that category's topic: posted
    there anew, the old one deleted. False when the card stays where it is."""
    if report.card_chat_id is None or report.card_message_id is None or report.card_thread_id is None:
        return False
    thread = await _thread_for(bot, session, report.card_chat_id, report, community, settings.moderators_chat_locale)
    if thread is None or thread == report.card_thread_id:
        return False
    old_chat, old_message = report.card_chat_id, report.card_message_id
    report.card_message_id = None
    if not await post_card(bot, session, report, settings, community, i18n):
        report.card_message_id = old_message  # keep the old card rather than none
        return False
    try:
        await bot.delete_message(old_chat, old_message)
    except TelegramAPIError:  # older than 48 hours: it stays, without buttons; the new card works
        try:
            await bot.edit_message_reply_markup(chat_id=old_chat, message_id=old_message, reply_markup=None)
        except TelegramAPIError:
            pass
    return True


async def refresh_card(
    bot: Bot, session: AsyncSession, report: Report, settings: Settings, community: Community, i18n: I18n,
    view: str = "main",
) -> None:
    if report.card_chat_id is None or report.card_message_id is None:
        return
    text, markup = await render_card(session, report, settings, community, i18n, view)
    await edit_card(bot, report.card_chat_id, report.card_message_id, text, markup, f"report #{report.id}")


Relayed = tuple[str, str]  # ("photo" | "voice", file_id): what may be passed on besides text
CAPTION_TEXT_MAX = 400  # of a relayed caption: even in UTF-16 units, with the header, within 1024


def relayable_media(message: Message) -> Relayed | None:
    if message.photo:
        return "photo", message.photo[-1].file_id
    if message.voice:
        return "voice", message.voice.file_id
    return None


def relayed_note(text: str, media: Relayed | None) -> str:
    """What the audit trail keeps of a relayed message: its text, and which media came with it."""
    return " ".join(part for part in (f"[{media[0]}]" if media else "", text) if part)


async def send_relayed(bot: Bot, chat_id: int, text: str, media: Relayed | None, **kwargs: Any) -> Message:
    """Text, or a photo / voice note (sent by file_id, so no one's account shows) with it as caption."""
    if media is None:
        return await bot.send_message(chat_id, text, **kwargs)
    kind, file_id = media
    send = bot.send_photo if kind == "photo" else bot.send_voice
    return await send(chat_id, file_id, caption=text, **kwargs)


async def post_under_card(
    bot: Bot, session: AsyncSession, report: Report, text: str, media: Relayed | None = None,
    author_id: int | None = None,
) -> int | None:
    """A message in the moderators' group threaded under the card (a reply to it)."""
    if report.card_chat_id is None or report.card_message_id is None:
        return None
    chat_id, report_id = report.card_chat_id, report.id
    try:
        message = await send_relayed(
            bot, chat_id, text, media, message_thread_id=report.card_thread_id,
            reply_parameters=ReplyParameters(message_id=report.card_message_id, allow_sending_without_reply=True),
        )
    except TelegramAPIError as exc:
        log.warning("Could not post under the card of report #%s: %s", report.id, exc)
        return None

    async def link(sent: Message) -> None:  # once Telegram has it (after the update's commit)
        await reports_service.link_message(session, report_id, chat_id, sent.message_id, author_id)

    await when_sent(message, link, session=session)
    return message.message_id


async def delete_authored(bot: Bot, session: AsyncSession, user_id: int, locale: str | None = None) -> int:
    """/deleteme: every message the bot posted in the moderators' chat with the person's words or
    name is deleted, or (a bot may not delete after 48 hours) replaced by a note, in ``locale``
    (the moderators' language; None: the current one). Returns how many."""
    if locale is None:
        gone = texts.erased_message()
    else:
        with get_i18n().use_locale(locale):
            gone = texts.erased_message()
    done = 0
    for chat_id, message_id in await reports_service.take_authored_messages(session, user_id):
        attempts = (
            lambda c=chat_id, m=message_id: bot.delete_message(c, m),
            lambda c=chat_id, m=message_id: bot.edit_message_text(gone, chat_id=c, message_id=m),
            lambda c=chat_id, m=message_id: bot.edit_message_caption(chat_id=c, message_id=m, caption=gone),
        )
        for attempt in attempts:
            try:
                await attempt()
            except TelegramAPIError:
                continue
            done += 1
            break
    return done


async def notify_reporter(session: AsyncSession, report: Report, event: ReportEvent, kind: str = STATUS_KIND) -> bool:
    """Queue a message to the reporter through the delivery engine (commit, then engine.wake())."""
    if report.user_id is None:
        return False
    payload: dict[str, Any] = {
        "report_id": report.id, "action": event.action, "status": report.status, "reason": report.reason,
        "routed_to": report.routed_to, "duplicate_of": report.duplicate_of, "category": report.category,
        "excerpt": first_words(report.description),  # which report it is, in the resident's own words
    }
    if report.routed_org_id is not None and event.action == "route":  # named in each one's language
        org = await orgs_service.get(session, report.routed_org_id)
        payload["routed_names"] = dict(org.name) if org is not None else None
    await campaigns_service.tell_people(  # an offline resident's news goes to their mediator
        session, kind=kind, payload=payload, user_ids=[report.user_id], key=f"report:{report.id}:{kind}:{event.id}",
    )
    return True


async def queue_followup(session: AsyncSession, report: Report) -> None:
    if report.user_id is None:
        return
    await campaigns_service.tell_people(
        session, kind=FOLLOWUP_KIND,
        payload={"report_id": report.id, "category": report.category, "excerpt": first_words(report.description)},
        user_ids=[report.user_id],
        key=f"report:{report.id}:followup:{report.followup_due_at:%Y%m%d%H%M%S%f}",  # once per resolution
    )


def _category(ctx: RenderContext) -> str:
    code = ctx.payload.get("category") or ""
    return texts.category_name(ctx.community, code, ctx.locale) if ctx.community else code


def render_status(ctx: RenderContext) -> Outgoing:
    payload = ctx.payload
    if payload.get("routed_names"):  # the organisation's name in the resident's language
        payload = {**payload, "routed_to": orgs_service.name_in(payload["routed_names"], ctx.locale)}
    return Outgoing(text=texts.status_notification(payload, _category(ctx)))


def render_followup(ctx: RenderContext) -> Outgoing:
    report_id = int(ctx.payload["report_id"])
    return Outgoing(text=texts.followup_question(report_id, _category(ctx), ctx.payload.get("excerpt")),
                    reply_markup=resident_keyboards.followup(report_id))


register_kind(STATUS_KIND, render_status)
register_kind(FOLLOWUP_KIND, render_followup)


async def run_report_checks(
    sessionmaker: Any, bot: Bot, settings: Settings, i18n: I18n, delivery: DeliveryEngine | None,
    now: datetime | None = None, community: Community | None = None,
) -> tuple[int, int]:
    """The scheduler's periodic trigger: post cards that could not be posted before, raise stale
    reports again, ask "is it fixed?" when due. The database says what is due; each report is
    raised once per period of silence and asked once per resolution."""
    async with sessionmaker() as session:
        if community is not None:
            late = await reports_service.without_card(session, now)  # claimed: no other worker posts them
            await session.commit()
            with i18n.context(), i18n.use_locale(settings.moderators_chat_locale):
                for report in late:
                    if not await post_card(bot, session, report, settings, community, i18n):
                        await reports_service.release_card_claim(session, report.id)
                    await session.commit()
        stale = await reports_service.claim_stale(session, settings.report_stale_hours, now)
        followups = await reports_service.claim_followups(session, now)
        for report in followups:
            await queue_followup(session, report)
        await session.commit()
        with i18n.context(), i18n.use_locale(settings.moderators_chat_locale):
            for report in stale:
                await post_under_card(bot, session, report, texts.stale(report.id, settings.report_stale_hours))
        await session.commit()
    if followups and delivery is not None:
        delivery.wake()
    return len(stale), len(followups)


@jobs.job("report-checks", seconds=REPORT_CHECK_SECONDS)
async def report_checks_job(ctx: jobs.JobContext) -> None:
    await run_report_checks(ctx.sessionmaker, ctx.bot, ctx.settings, ctx.i18n, ctx.delivery, community=ctx.community)
