"""Organizer announcements: the /announce wizard, /campaigns, and cancelling a running campaign.

Text (plus an optional photo or document) in the default language -> optional translations ->
audience -> preview and confirm (now or at a time, urgent or not). Sending is the delivery
engine's job (kind "announcement", rendered per resident in their language).
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from aiogram import Bot, F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import ORGANIZING
from bot.community import Community
from bot.config import SUPPORTED_LOCALES, Settings, parse_quiet_hours
from bot.delivery import CampaignCb, DeliveryEngine, register_kind, send_outgoing
from bot.delivery.progress import title_of
from bot.delivery.quiet import QuietHours
from bot.services import campaigns as campaigns_service
from bot.services import orgs as orgs_service
from bot.services.campaigns import Audience
from bot.services.errors import DomainError
from handlers import acting, langs
from handlers import audience as audience_picker
from handlers.acting import ActCb
from handlers.announce import keyboards, texts
from handlers.announce.keyboards import AnnCb
from handlers.audience import AudCb
from handlers.langs import WriteCb
from handlers.shared import NOT_COMMAND, close_buttons, edit_text, launch, role_routers
from handlers.when import fmt_example, read_when
from storage.models import Organisation, User

# /announce and /campaigns are registered in bot.commands (organizers only: /help, menus, guard).
register_kind(texts.KIND, texts.render_announcement, title=lambda campaign: texts.title(campaign.id))

# Organizers only (admins pass too); anyone else pressing one of these buttons is told no.
router, staff = role_routers("announce", ORGANIZING, texts.only_organizers,
                             AnnCb.filter(), AudCb.filter(), WriteCb.filter(F.owner == "ann"), CampaignCb.filter(), ActCb.filter(F.cmd == "announce"))

OWNER = "ann"  # of the shared audience picker's buttons


class Announce(StatesGroup):
    text = State()
    translations = State()
    translation = State()
    audience = State()
    confirm = State()
    when = State()


# ------------------------------------------------------------------ helpers

def _audience(data: dict[str, Any]) -> Audience:
    return Audience.from_json(data.get("audience"))


def _send_at(data: dict[str, Any]) -> datetime | None:
    value = data.get("send_at")
    return datetime.fromisoformat(value) if value else None


def _lang(data: dict[str, Any], settings: Settings) -> str:
    """The language the organizer writes the announcement in (their own unless they chose another)."""
    return langs.writing(data, settings.default_locale)


def _payload(data: dict[str, Any], settings: Settings, org: Organisation | None = None) -> dict[str, Any]:
    return {"texts": data.get("texts") or {}, "media": data.get("media"), "default_locale": _lang(data, settings),
            **acting.payload_names(org)}


def _quiet_label(settings: Settings) -> str:
    window = parse_quiet_hours(settings.quiet_hours) if settings.quiet_hours else None
    return QuietHours(window, settings.tz).label()


def _check_length(body: str, i18n: I18n, with_media: bool, org: bool = False) -> str | None:
    limit = texts.body_limit(i18n, with_media) - (texts.ORG_LINE_MAX if org else 0)
    length = texts.utf16_len(body)
    if length <= limit:
        return None
    return texts.caption_too_long(limit, length) if with_media else texts.too_long(limit, length)


async def _show_translations(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    await state.set_state(Announce.translations)
    lang, done = _lang(data, settings), list(data.get("texts") or {})
    await message.answer(langs.menu_text(lang, done), reply_markup=langs.menu_keyboard(OWNER, lang, done))


async def _audience_view(
    data: dict[str, Any], view: str, session: AsyncSession, community: Community, i18n: I18n
) -> tuple[str, Any]:
    return await audience_picker.view(_audience(data), view, session, community, i18n.current_locale, OWNER)


async def _panel(
    data: dict[str, Any], session: AsyncSession, settings: Settings, community: Community, i18n: I18n
) -> tuple[str, Any]:
    audience = _audience(data)
    count = await campaigns_service.count_audience(session, audience)
    locale = i18n.current_locale
    send_at = _send_at(data)
    urgent = bool(data.get("urgent"))
    languages = [c for c in SUPPORTED_LOCALES if c in (data.get("texts") or {})]
    languages.sort(key=lambda c: c != _lang(data, settings))
    text = texts.confirm_panel(
        audience=await audience_picker.describe(session, audience, community, locale), count=count, languages=languages,
        send_at=send_at, urgent=urgent, tz=settings.tz, locale=locale,
        quiet=_quiet_label(settings),
    )
    if send_at is None:
        label = _("✅ Send to {residents}").format(residents=audience_picker.residents(count, locale))
    else:
        label = _("✅ Schedule for {residents}").format(residents=audience_picker.residents(count, locale))
    return text, keyboards.confirm(count=count, scheduled=send_at is not None, urgent=urgent, send_label=label)


async def _preview(
    message: Message, bot: Bot, data: dict[str, Any], settings: Settings, i18n: I18n
) -> None:
    payload = {**_payload(data, settings), "org": data.get("preview_org")}
    lang = payload["default_locale"]
    versions = [c for c in SUPPORTED_LOCALES if c in payload["texts"]] or [lang]
    versions.sort(key=lambda c: c != lang)
    await message.answer(texts.preview_intro(len(versions)))
    for locale in versions:
        if len(versions) > 1:
            await message.answer(texts.preview_label(locale, locale == lang))
        out = texts.render(payload, locale, i18n)
        await send_outgoing(bot, message.chat.id, out)


async def _show_confirm(
    message: Message, bot: Bot, state: FSMContext, session: AsyncSession, settings: Settings,
    community: Community, i18n: I18n, *, preview: bool = True,
) -> None:
    await state.set_state(Announce.confirm)
    data = await state.get_data()
    if preview:
        await _preview(message, bot, data, settings, i18n)
    text, markup = await _panel(data, session, settings, community, i18n)
    await message.answer(text, reply_markup=markup)


# ------------------------------------------------------------------ /announce: the text

@staff.message(Command("announce"))
async def announce(message: Message, state: FSMContext, i18n: I18n, session: AsyncSession,
                   user: User | None, roles: set[str]) -> None:
    org_id = await acting.ask(message, session, user, roles, "announce")
    if org_id != acting.ASKED:
        await _start(message, state, i18n, session, org_id)


@staff.callback_query(ActCb.filter(F.cmd == "announce"))
async def announce_as(callback: CallbackQuery, callback_data: ActCb, state: FSMContext, i18n: I18n,
                      session: AsyncSession) -> None:
    await close_buttons(callback)
    await _start(callback.message, state, i18n, session, callback_data.org or None)  # type: ignore[arg-type]


async def _start(message: Message, state: FSMContext, i18n: I18n, session: AsyncSession,
                 org_id: int | None) -> None:
    org = await orgs_service.get(session, org_id) if org_id else None  # for the preview; checked at Send
    await state.clear()
    await state.set_state(Announce.text)
    await state.update_data(nonce=uuid.uuid4().hex[:16], texts={}, media=None, org_id=org_id,
                            preview_org=acting.payload_names(org).get("org"),
                            audience=Audience().to_json(), send_at=None, urgent=False)
    # in the organizer's own language, unless they tap another
    await langs.ask(message, state, OWNER, i18n.current_locale, texts.ask_text(i18n.current_locale))


@staff.callback_query(StateFilter(Announce.text), WriteCb.filter((F.owner == OWNER) & (F.a == "in")))
async def text_language(callback: CallbackQuery, callback_data: WriteCb, state: FSMContext) -> None:
    await langs.switched(callback, callback_data, state, texts.ask_text)


@staff.message(StateFilter(Announce.text), F.text, NOT_COMMAND)
async def got_text(message: Message, state: FSMContext, settings: Settings, i18n: I18n) -> None:
    data = await state.get_data()
    body = await _body(message, message.text, _lang(data, settings))
    if body is None:
        return
    problem = _check_length(body, i18n, with_media=False, org=bool(data.get("org_id")))
    if problem:
        await message.answer(problem)
        return
    await state.update_data(texts={_lang(data, settings): body}, media=None)
    await _show_translations(message, state, settings)


@staff.message(StateFilter(Announce.text), F.photo | F.document)
async def got_media(message: Message, state: FSMContext, settings: Settings, i18n: I18n) -> None:
    data = await state.get_data()
    body = await _body(message, message.caption or "", _lang(data, settings))
    if body is None:
        return
    problem = _check_length(body, i18n, with_media=True, org=bool(data.get("org_id")))
    if problem:
        await message.answer(problem)
        return
    if message.photo:
        media = {"kind": "photo", "file_id": message.photo[-1].file_id}
    else:
        assert message.document is not None
        media = {"kind": "document", "file_id": message.document.file_id, "filename": message.document.file_name}
    await state.update_data(texts={_lang(data, settings): body}, media=media)
    await _show_translations(message, state, settings)


async def _body(message: Message, text: str | None, lang: str) -> str | None:
    """The text for ``lang`` as typed; None (and the organizer told why) for one with another
    language's "uk:" line in it."""
    try:
        return langs.strip_code(text, lang) if text else ""
    except DomainError as exc:
        await message.answer(langs.language_line_error(exc, lang))
        return None


@staff.message(StateFilter(Announce.text), NOT_COMMAND)
async def text_expected(message: Message) -> None:
    await message.answer(texts.not_text())


# ------------------------------------------------------------------ translations

@staff.callback_query(StateFilter(Announce.translations), WriteCb.filter(F.owner == OWNER))
async def translations_step(
    callback: CallbackQuery, callback_data: WriteCb, state: FSMContext, session: AsyncSession,
    settings: Settings, community: Community, i18n: I18n,
) -> None:
    data = await state.get_data()
    locale = langs.requested(callback_data, _lang(data, settings))
    if callback_data.a == "add" and locale:
        await close_buttons(callback)
        await state.set_state(Announce.translation)
        await state.update_data(translating=locale)
        await callback.message.answer(langs.ask_translation(locale))  # type: ignore[union-attr]
    elif callback_data.a == "next":
        await close_buttons(callback)
        await state.set_state(Announce.audience)
        text, markup = await _audience_view(data, "", session, community, i18n)
        await callback.message.answer(text, reply_markup=markup)  # type: ignore[union-attr]


@staff.message(StateFilter(Announce.translation), F.text, NOT_COMMAND)
async def got_translation(message: Message, state: FSMContext, settings: Settings, i18n: I18n) -> None:
    data = await state.get_data()
    locale = data.get("translating")
    if locale not in SUPPORTED_LOCALES:
        await _show_translations(message, state, settings)
        return
    body = await _body(message, message.text, locale)
    if body is None:
        return
    problem = _check_length(body, i18n, with_media=bool(data.get("media")), org=bool(data.get("org_id")))
    if problem:
        await message.answer(problem)
        return
    all_texts = dict(data.get("texts") or {})
    all_texts[locale] = body
    await state.update_data(texts=all_texts, translating=None)
    await _show_translations(message, state, settings)


@staff.message(StateFilter(Announce.translation), NOT_COMMAND)
async def translation_expected(message: Message) -> None:
    await message.answer(texts.translation_as_text())


# ------------------------------------------------------------------ audience

@staff.callback_query(StateFilter(Announce.audience), AudCb.filter(F.owner == OWNER))
async def audience_step(
    callback: CallbackQuery, callback_data: AudCb, state: FSMContext, session: AsyncSession, bot: Bot,
    settings: Settings, community: Community, i18n: I18n, callback_answer: CallbackAnswer,
) -> None:
    audience = _audience(await state.get_data())
    done = await audience_picker.step(callback, callback_data, audience, session, community, i18n.current_locale,
                                      callback_answer)
    await state.update_data(audience=audience.to_json())
    if done:
        await _show_confirm(callback.message, bot, state, session, settings, community, i18n)  # type: ignore[arg-type]


# ------------------------------------------------------------------ confirm

@staff.callback_query(StateFilter(Announce.confirm), AnnCb.filter(F.step == "cf"))
async def confirm_step(
    callback: CallbackQuery, callback_data: AnnCb, state: FSMContext, session: AsyncSession, bot: Bot,
    settings: Settings, community: Community, i18n: I18n, user: User | None, delivery: DeliveryEngine,
    callback_answer: CallbackAnswer, roles: set[str],
) -> None:
    action = callback_data.action
    data = await state.get_data()
    if action == "urgent":
        await state.update_data(urgent=not data.get("urgent"))
        text, markup = await _panel(await state.get_data(), session, settings, community, i18n)
        await edit_text(callback, text, markup)
    elif action == "now":
        await state.update_data(send_at=None)
        text, markup = await _panel(await state.get_data(), session, settings, community, i18n)
        await edit_text(callback, text, markup)
    elif action == "later":
        await close_buttons(callback)
        await state.set_state(Announce.when)
        example = fmt_example(delivery.now(), settings.tz)
        await callback.message.answer(texts.ask_when(settings.tz, example))  # type: ignore[union-attr]
    elif action == "audience":
        await close_buttons(callback)
        await state.set_state(Announce.audience)
        text, markup = await _audience_view(data, "", session, community, i18n)
        await callback.message.answer(text, reply_markup=markup)  # type: ignore[union-attr]
    elif action == "drop":
        await state.clear()
        await close_buttons(callback)
        await callback.message.answer(texts.cancelled_draft())  # type: ignore[union-attr]
    elif action == "send":
        await _send(callback, data, state, session, bot, settings, i18n, user, delivery, callback_answer, roles)


async def _send(
    callback: CallbackQuery, data: dict[str, Any], state: FSMContext, session: AsyncSession, bot: Bot,
    settings: Settings, i18n: I18n, user: User | None, delivery: DeliveryEngine, callback_answer: CallbackAnswer,
    roles: set[str],
) -> None:
    message = callback.message
    assert isinstance(message, Message)
    if not (data.get("texts") or {}).get(_lang(data, settings)) and not data.get("media"):
        await state.clear()
        await close_buttons(callback)
        await message.answer(texts.expired())
        return
    now = delivery.now()  # the engine's clock decides what is due
    send_at = _send_at(data)
    if send_at is not None and send_at <= now:
        callback_answer.text = texts.scheduled_time_passed()
        callback_answer.show_alert = True
        return
    audience = _audience(data)
    key = f"announce:{data.get('nonce')}"
    # the draft goes first: a second tap finds none (and the campaign key stops a racing one)
    claimed = await acting.claim(callback, state, session, user, roles, data.get("org_id"), audience, key,
                                 callback_answer)
    if claimed is None:
        return
    count, org = claimed
    await launch(message, session, delivery, i18n.current_locale, kind=texts.KIND,
                 payload=_payload(data, settings, org), org_id=org.id if org else None,
                 audience=audience, key=key, count=count, created_by=user.id if user else None, now=now,
                 send_at=send_at, urgent=bool(data.get("urgent")),
                 created=lambda campaign: texts.created(campaign.id, scheduled=send_at is not None))


@staff.message(StateFilter(Announce.when), F.text, NOT_COMMAND)
async def got_when(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, settings: Settings,
    community: Community, i18n: I18n, delivery: DeliveryEngine,
) -> None:
    when = await read_when(message, delivery.now(), settings.tz, i18n.current_locale)
    if when is None:
        return
    await state.update_data(send_at=when.isoformat())
    await _show_confirm(message, bot, state, session, settings, community, i18n, preview=False)


@staff.message(StateFilter(Announce.when), NOT_COMMAND)
async def when_expected(message: Message, settings: Settings, delivery: DeliveryEngine) -> None:
    await message.answer(texts.ask_when(settings.tz, fmt_example(delivery.now(), settings.tz)))


# ------------------------------------------------------------------ /campaigns and cancelling

async def _campaigns_view(session: AsyncSession, settings: Settings, i18n: I18n,
                          scope: set[int] | None) -> tuple[str, Any]:
    locale = i18n.current_locale
    items, ids = [], []
    for campaign in await campaigns_service.recent_campaigns(session, [texts.KIND], orgs=scope):
        if campaign.status == "scheduled":
            status = texts.status_scheduled(campaign.send_at, settings.tz, locale)
        else:
            counts = await campaigns_service.delivery_counts(session, campaign.id)
            if campaign.status == "running":
                status = texts.status_running(counts.get("sent", 0), campaign.total, locale)
            else:
                status = texts.status_finished(campaign.status, counts, locale)
        if campaign.urgent:
            status += " · 🚨"
        snippet = texts.snippet(campaign.payload) if campaign.kind == texts.KIND else ""
        items.append((campaign.id, status, snippet))
        if campaign.status in campaigns_service.ACTIVE:  # what can still be cancelled
            ids.append(campaign.id)
    return texts.campaigns_list(items), keyboards.campaigns(ids)


@staff.message(Command("campaigns"))
async def list_campaigns(message: Message, session: AsyncSession, settings: Settings, i18n: I18n,
                         user: User | None, roles: set[str]) -> None:
    text, markup = await _campaigns_view(session, settings, i18n, await orgs_service.scope_of(session, user, roles))
    await message.answer(text, reply_markup=markup)


@staff.callback_query(CampaignCb.filter(F.action.in_({"cancel", "lcancel"})))
async def cancel_campaign(
    callback: CallbackQuery, callback_data: CampaignCb, session: AsyncSession, settings: Settings, i18n: I18n,
    delivery: DeliveryEngine, callback_answer: CallbackAnswer, user: User | None, roles: set[str],
) -> None:
    scope = await orgs_service.scope_of(session, user, roles)
    campaign = await campaigns_service.get_campaign(session, callback_data.id)
    if campaign is not None and not orgs_service.in_scope(campaign.org_id, scope):
        callback_answer.text, callback_answer.show_alert = texts.only_organizers(), True  # another organisation's
        return
    cancelled = await campaigns_service.cancel_campaign(session, callback_data.id)
    await session.commit()
    name = title_of(campaign) if campaign is not None else texts.title(callback_data.id)
    if cancelled:
        delivery.cancelled(callback_data.id)
        callback_answer.text = texts.campaign_cancelled(name)
    else:
        callback_answer.text = texts.campaign_not_active(name)
    if callback_data.action == "lcancel":
        text, markup = await _campaigns_view(session, settings, i18n, scope)
        await edit_text(callback, text, markup)
