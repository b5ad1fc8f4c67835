"""🏛 Pass on: a report goes to an organisation of /orgs, whose representatives can act on it.

The moderator picks the organisation on the card (handlers.moderation); the report then reaches
its confirmed representatives through the delivery engine, each in their language, as a card
with buttons (🛠 we are on it, 🎉 resolved, ↩️ not for us). Under the moderators' card a message
says where it is on its way and becomes the outcome: to whom it was delivered, or that the
organisation has no representative the bot can reach (with its contact). Every press of a
representative is checked again on the server: the report must still be passed on to an
organisation the person still represents, and still show the status their card showed.
"""
from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, ReplyParameters
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from bot.config import Settings
from bot.delivery import Media, Outgoing, ProgressContext, RenderContext, register_kind
from bot.services import campaigns as campaigns_service
from bot.services import orgs as orgs_service
from bot.services import reports as reports_service
from bot.services.campaigns import Audience
from bot.services.errors import DomainError
from bot.updates import after_commit
from handlers.moderation.cards import notify_reporter, post_under_card, refresh_card
from handlers.reports import texts
from storage.models import Organisation, Report, ReportEvent, User

log = logging.getLogger(__name__)
PASSED_KIND = "report_passed_on"
CAPTION_MAX = 1024
router = Router(name="moderation-passon")
router.callback_query.filter(F.message.chat.type == "private")


class OrgRepCb(CallbackData, prefix="rorg"):
    """A representative's button on a report passed on to organisation ``o``: action ``a``
    (progress | resolve | back) on report ``id``, pressed on a card showing status ``st``."""

    a: str
    id: int
    o: int
    st: str


def person_label(user: User) -> str:
    """A representative as the moderators see them (not escaped)."""
    name = user.display_name or ""
    handle = f"@{user.username}" if user.username else ""
    return " ".join(filter(None, (name, handle))) or f"R-{user.id}"


def _payload(report: Report, org: Organisation, photo_ids: list[str], people: list[str], mod_locale: str) -> dict[str, Any]:
    return {
        "report_id": report.id, "category": report.category, "district": report.district,
        "description": report.description, "voice": report.voice_file_id is not None, "photos": len(photo_ids),
        "photo": photo_ids[0] if photo_ids else None, "latitude": report.latitude, "longitude": report.longitude,
        "address": report.address, "status": report.status, "org_id": org.id, "org_names": dict(org.name),
        "org_label": orgs_service.name_of(org, mod_locale), "contact": org.contact, "people": people,
        "mod_locale": mod_locale,
    }


def _keyboard(report_id: int, org_id: int, status: str) -> InlineKeyboardMarkup | None:
    if status in reports_service.FINAL:
        return None
    kb = InlineKeyboardBuilder()
    if status in ("new", "accepted", "reopened"):
        kb.button(text=_("🛠 We're on it"), callback_data=OrgRepCb(a="progress", id=report_id, o=org_id, st=status))
    kb.button(text=_("🎉 Resolved"), callback_data=OrgRepCb(a="resolve", id=report_id, o=org_id, st=status))
    kb.button(text=_("↩️ Not for us"), callback_data=OrgRepCb(a="back", id=report_id, o=org_id, st=status))
    kb.adjust(2)
    return kb.as_markup()


def rep_card(payload: dict[str, Any], community: Community | None, locale: str) -> Outgoing:
    """The representative's card, in their language (``_`` is in it already)."""
    payload = {**payload, "org_label": orgs_service.name_in(payload.get("org_names"), locale)}
    category = texts.category_name(community, payload["category"], locale) if community else payload["category"]
    district = community.district_name(payload.get("district"), locale) if community else (payload.get("district") or "")
    photo = payload.get("photo")
    text = texts.passed_on_card(payload, category, district, photo is not None)
    if photo and len(text) > CAPTION_MAX:  # a caption: the description is shortened further
        text = texts.passed_on_card({**payload, "description": (payload.get("description") or "")[:200]}, category,
                                    district, True)[:CAPTION_MAX]
    media = Media(kind="photo", file_id=photo) if photo else None
    return Outgoing(text=text, media=media,
                    reply_markup=_keyboard(int(payload["report_id"]), int(payload["org_id"]), payload["status"]))


def render_passed(ctx: RenderContext) -> Outgoing:
    return rep_card(ctx.payload, ctx.community, ctx.locale)


def render_progress(ctx: ProgressContext) -> Outgoing | None:
    """Under the moderators' card, in their language: on its way, then to whom it was delivered."""
    p = ctx.campaign.payload
    with ctx.i18n.use_locale(p.get("mod_locale") or ctx.locale):
        if ctx.phase in ("scheduled", "running"):
            return Outgoing(text=texts.passing_on(int(p["report_id"]), p["org_label"], p["people"]))
        stats = ctx.stats
        return Outgoing(text=texts.passed_on(int(p["report_id"]), p["org_label"], p["people"], stats.sent,
                                             stats.total, p.get("contact")))


register_kind(PASSED_KIND, render_passed, progress=render_progress)


async def pass_on(bot: Bot, session: AsyncSession, report: Report, event: ReportEvent, settings: Settings,
                  i18n: I18n, delivery: Any) -> None:
    """The report was passed on (in this transaction): queue it for the organisation's
    representatives, with the outcome under the moderators' card; or say under the card that
    nobody there can be reached."""
    org = await orgs_service.get(session, report.routed_org_id) if report.routed_org_id else None
    if org is None:
        return
    locale = settings.moderators_chat_locale
    reps = [u for u in await orgs_service.representatives(session, org.id)
            if u.telegram_id is not None and u.unreachable_at is None]
    if not reps or delivery is None or report.card_chat_id is None:
        with i18n.use_locale(locale):
            await post_under_card(bot, session, report, texts.not_delivered(
                report.id, orgs_service.name_of(org, locale), org.contact))
        return
    payload = _payload(report, org, await reports_service.photos(session, report.id),
                       [person_label(u) for u in reps], locale)
    campaign = await campaigns_service.create_campaign(
        session, kind=PASSED_KIND, payload=payload, audience=Audience(user_ids=[u.id for u in reps]),
        key=f"report:{report.id}:passon:{event.id}", progress_chat_id=report.card_chat_id,
    )
    with i18n.use_locale(locale):
        first = texts.passing_on(report.id, payload["org_label"], payload["people"])
    campaign_id, chat_id, thread = campaign.id, report.card_chat_id, report.card_thread_id
    card_id = report.card_message_id

    async def post_progress() -> None:  # after the commit: the message the engine turns into the outcome
        try:
            sent = await bot.send_message(
                chat_id, first, message_thread_id=thread,
                reply_parameters=ReplyParameters(message_id=card_id, allow_sending_without_reply=True)
                if card_id else None)
        except TelegramAPIError as exc:
            log.warning("Could not post the progress of passing on report #%s: %s", report.id, exc)
            return
        async with delivery.sessionmaker() as other:
            await campaigns_service.set_progress_message(other, campaign_id, sent.message_id)
            await other.commit()

    await after_commit(post_progress)


# ------------------------------------------------------------------ the representatives' buttons

REP_ACTIONS = ("progress", "resolve", "back")  # what a representative may do on a report passed on to them


async def representative_action(
    bot: Bot, session: AsyncSession, report_id: int, org_id: int, action: str, expected: str, user: User | None,
    settings: Settings, community: Community, i18n: I18n, delivery: Any = None,
    callback: CallbackQuery | None = None,
) -> Report:
    """A representative acts on a report passed on to their organisation, wherever they pressed (their
    card's button, ``callback``, or the dashboard): checked again (still theirs, still open, still in
    ``expected``), changed (the audit trail records who), the reporter told, the moderators' card
    redrawn with a line under it, committed. Raises DomainError (nothing changed then); their own
    card is redrawn (or closed) when there is one."""
    try:
        report = await reports_service.routed_for(session, report_id, org_id, user)
    except DomainError:
        if callback is not None:
            await _close(callback)
        raise
    assert user is not None
    org = await orgs_service.get(session, org_id)
    assert org is not None
    if report.status != expected:
        if callback is not None:
            await _show(callback, session, report, org, settings, community, i18n)
        raise DomainError("report_changed")
    if action not in REP_ACTIONS:
        raise DomainError("report_not_allowed")
    actor = reports_service.Actor(user.id, user.telegram_id, user.display_name or person_label(user))
    locale = settings.moderators_chat_locale
    name = orgs_service.name_of(org, locale)
    try:
        if action == "back":
            report, event = await reports_service.give_back(session, report_id, org.id, actor,
                                                            now=delivery.now() if delivery else None)
        else:
            report, event = await reports_service.act(
                session, report_id, action, actor, expected=expected,
                followup_days=settings.report_followup_days, now=delivery.now() if delivery else None)
    except DomainError:
        await session.rollback()
        fresh = await reports_service.get(session, report_id)
        if fresh is not None and callback is not None:
            await _show(callback, session, fresh, org, settings, community, i18n)
        raise
    if action == "back":
        if callback is not None:
            await _edit(callback, texts.gave_back(report.id), None)
        with i18n.use_locale(locale):
            under = texts.organisation_gave_back(report.id, name, person_label(user))
    else:
        await notify_reporter(session, report, event)
        if callback is not None:
            await _show(callback, session, report, org, settings, community, i18n)
        with i18n.use_locale(locale):
            under = texts.organisation_acted(report.id, name, person_label(user), report.status)
    await refresh_card(bot, session, report, settings, community, i18n)
    await post_under_card(bot, session, report, under)
    await session.commit()
    if delivery is not None:
        delivery.wake()
    return report


@router.callback_query(OrgRepCb.filter())
async def representative_button(
    callback: CallbackQuery, callback_data: OrgRepCb, bot: Bot, session: AsyncSession, user: User | None,
    settings: Settings, community: Community, i18n: I18n, callback_answer: CallbackAnswer, delivery: Any = None,
) -> None:
    def alert(text: str, show: bool = True) -> None:
        callback_answer.text, callback_answer.show_alert = text, show

    if callback_data.a not in REP_ACTIONS:
        alert(_("This button is no longer active."))
        return
    try:
        report = await representative_action(bot, session, callback_data.id, callback_data.o, callback_data.a,
                                             callback_data.st, user, settings, community, i18n, delivery, callback)
    except DomainError as exc:
        alert(texts.error_text(exc))
        return
    if callback_data.a != "back":
        alert(texts.status_name(report.status), False)


async def _show(callback: CallbackQuery, session: AsyncSession, report: Report, org: Organisation,
                settings: Settings, community: Community, i18n: I18n) -> None:
    """The representative's card again, as the report is now (in their language)."""
    photo_ids = await reports_service.photos(session, report.id)
    payload = _payload(report, org, photo_ids, [], settings.moderators_chat_locale)
    out = rep_card(payload, community, i18n.current_locale)
    if report.routed_org_id != org.id or report.status in reports_service.FINAL:
        out.reply_markup = None
    await _edit(callback, out.text, out.reply_markup)


async def _edit(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    message = callback.message
    if message is None or not hasattr(message, "edit_text"):
        return
    try:
        if getattr(message, "photo", None):
            await message.edit_caption(caption=text, reply_markup=markup)
        else:
            await message.edit_text(text, reply_markup=markup)
    except TelegramAPIError as exc:
        if "not modified" not in str(exc):
            log.info("Could not edit a representative's card: %s", exc)


async def _close(callback: CallbackQuery) -> None:
    """A card that can no longer be acted on loses its buttons."""
    message = callback.message
    if message is None or not hasattr(message, "edit_reply_markup"):
        return
    try:
        await message.edit_reply_markup(reply_markup=None)
    except TelegramAPIError:
        pass
