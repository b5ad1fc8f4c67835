"""/newevent: the organizer builds an event step by step, previews it and publishes it."""
from __future__ import annotations

import uuid
from typing import Any

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from bot.config import SUPPORTED_LOCALES, Settings
from bot.delivery import DeliveryEngine
from bot.i18n import typed_button
from bot.services import campaigns as campaigns_service
from bot.services import events as events_service
from bot.services.campaigns import Audience
from bot.services.errors import DomainError
from bot.services.events import EventDraft
from handlers import acting, langs
from handlers import audience as audience_picker
from handlers.acting import ActCb
from handlers.audience import AudCb, language_name
from handlers.langs import WriteCb
from handlers.events import keyboards, texts
from handlers.events.base import OWNER, NewEvent, staff
from handlers.events.keyboards import NewEvCb
from handlers.shared import NOT_COMMAND, close_buttons, launch
from handlers.when import fmt_example, read_when
from storage.models import User


def _draft(data: dict[str, Any]) -> EventDraft:
    return EventDraft.from_json(data.get("draft"))


async def _save(state: FSMContext, draft: EventDraft) -> None:
    await state.update_data(draft=draft.to_json())


async def _step(message: Message, state: FSMContext, draft: EventDraft, next_state: State, question: str,
                markup: Any = None) -> None:
    """Keep the draft and ask the next step's question."""
    await _save(state, draft)
    await state.set_state(next_state)
    await message.answer(question, reply_markup=markup)


@staff.message(Command("newevent"))
async def newevent(message: Message, state: FSMContext, session: AsyncSession, user: User | None,
                   roles: set[str], i18n: I18n) -> None:
    org_id = await acting.ask(message, session, user, roles, "newevent")
    if org_id != acting.ASKED:
        await _start(message, state, org_id, i18n.current_locale)


@staff.callback_query(ActCb.filter(F.cmd == "newevent"))
async def newevent_as(callback: CallbackQuery, callback_data: ActCb, state: FSMContext, i18n: I18n) -> None:
    await close_buttons(callback)
    await _start(callback.message, state, callback_data.org or None, i18n.current_locale)  # type: ignore[arg-type]


def _lang(data: dict[str, Any], settings: Settings) -> str:
    """The language the organizer writes the event in (their own unless they chose another)."""
    return langs.writing(data, settings.default_locale)


async def _start(message: Message, state: FSMContext, org_id: int | None, locale: str) -> None:
    await state.clear()
    await state.set_state(NewEvent.kind)
    await state.update_data(nonce=uuid.uuid4().hex[:16], draft=EventDraft(audience=Audience().to_json()).to_json(),
                            org_id=org_id, **{langs.KEY: locale})
    await message.answer(texts.ask_kind(), reply_markup=keyboards.kinds())


@staff.callback_query(StateFilter(NewEvent.kind), NewEvCb.filter(F.step == "kind"))
async def chose_kind(callback: CallbackQuery, callback_data: NewEvCb, state: FSMContext, settings: Settings) -> None:
    if callback_data.action not in events_service.KINDS:
        return
    draft = _draft(await state.get_data())
    draft.kind = callback_data.action
    await _save(state, draft)
    await close_buttons(callback)
    await state.set_state(NewEvent.title)
    lang = _lang(await state.get_data(), settings)
    await langs.ask(callback.message, state, OWNER, lang, texts.ask_title(lang, first=True))  # type: ignore[arg-type]


@staff.callback_query(StateFilter(NewEvent.title), WriteCb.filter((F.owner == OWNER) & (F.a == "in")))
async def title_language(callback: CallbackQuery, callback_data: WriteCb, state: FSMContext) -> None:
    await langs.switched(callback, callback_data, state, lambda code: texts.ask_title(code, first=True))


def _title(text: str | None, lang: str) -> tuple[str, str | None]:
    return events_service.parse_title(langs.strip_code(text, lang))


def _title_error(exc: DomainError, lang: str) -> str:
    return langs.language_line_error(exc, lang) if exc.code == "language_line" else texts.title_error(exc)


@staff.message(StateFilter(NewEvent.title), F.text, NOT_COMMAND)
async def got_title(message: Message, state: FSMContext, settings: Settings, delivery: DeliveryEngine) -> None:
    data = await state.get_data()
    lang = _lang(data, settings)
    try:
        title, description = _title(message.text, lang)
    except DomainError as exc:
        await message.answer(_title_error(exc, lang))
        return
    draft = _draft(data)
    draft.title = {lang: title}
    draft.description = {lang: description} if description else {}
    await _step(message, state, draft, NewEvent.start,
                texts.ask_start(settings.tz, fmt_example(delivery.now(), settings.tz)))


@staff.message(StateFilter(NewEvent.start), F.text, NOT_COMMAND)
async def got_start(message: Message, state: FSMContext, settings: Settings, i18n: I18n,
                    delivery: DeliveryEngine) -> None:
    when = await read_when(message, delivery.now(), settings.tz, i18n.current_locale)
    if when is None:
        return
    draft = _draft(await state.get_data())
    draft.starts_at = when
    await _step(message, state, draft, NewEvent.end,
                texts.ask_end(texts.moment(when, i18n.current_locale, settings.tz)))


@staff.message(StateFilter(NewEvent.end), F.text, NOT_COMMAND)
async def got_end(message: Message, state: FSMContext, settings: Settings) -> None:
    draft = _draft(await state.get_data())
    assert draft.starts_at is not None
    try:
        draft.ends_at = events_service.parse_end(message.text or "", draft.starts_at, settings.tz)
    except DomainError as exc:
        await message.answer(texts.end_error(exc))
        return
    await _step(message, state, draft, NewEvent.place, texts.ask_place())


@staff.message(StateFilter(NewEvent.place), F.location)
async def got_location(message: Message, state: FSMContext) -> None:
    assert message.location is not None
    draft = _draft(await state.get_data())
    draft.latitude, draft.longitude = message.location.latitude, message.location.longitude
    await _step(message, state, draft, NewEvent.capacity, texts.ask_capacity(), keyboards.no_limit())


@staff.message(StateFilter(NewEvent.place), F.text, NOT_COMMAND)
async def got_place(message: Message, state: FSMContext) -> None:
    try:
        venue, url = events_service.parse_place(message.text or "")
    except DomainError as exc:
        await message.answer(texts.place_error(exc))
        return
    draft = _draft(await state.get_data())
    draft.venue, draft.online_url = venue, url
    await _step(message, state, draft, NewEvent.capacity, texts.ask_capacity(), keyboards.no_limit())


@staff.message(StateFilter(NewEvent.capacity), F.text, NOT_COMMAND)
async def got_capacity(message: Message, state: FSMContext) -> None:
    try:
        capacity = events_service.parse_capacity(message.text or "")
    except DomainError as exc:
        await message.answer(texts.capacity_error(exc), reply_markup=keyboards.no_limit())
        return
    draft = _draft(await state.get_data())
    draft.capacity = capacity
    await _step(message, state, draft, NewEvent.speakers, texts.ask_speakers(), keyboards.skip())


@staff.callback_query(StateFilter(NewEvent.capacity), NewEvCb.filter(F.step == "cap"))
async def no_capacity(callback: CallbackQuery, state: FSMContext) -> None:
    await close_buttons(callback)
    await state.set_state(NewEvent.speakers)
    await callback.message.answer(texts.ask_speakers(), reply_markup=keyboards.skip())  # type: ignore[union-attr]


@staff.message(StateFilter(NewEvent.speakers), F.text, NOT_COMMAND)
async def got_speakers(message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
                       community: Community, i18n: I18n) -> None:
    speakers = " ".join((message.text or "").split())
    if typed_button(speakers, "Skip"):  # typed, in any language: no speakers
        speakers = ""
    if len(speakers) > events_service.SPEAKERS_MAX:
        await message.answer(texts.speakers_error())
        return
    draft = _draft(await state.get_data())
    draft.speakers = speakers or None
    await _save(state, draft)
    await _show_panel(message, state, session, settings, community, i18n)


@staff.callback_query(StateFilter(NewEvent.speakers), NewEvCb.filter(F.step == "sp"))
async def no_speakers(callback: CallbackQuery, state: FSMContext, session: AsyncSession, settings: Settings,
                      community: Community, i18n: I18n) -> None:
    await close_buttons(callback)
    await _show_panel(callback.message, state, session, settings, community, i18n)  # type: ignore[arg-type]


async def _show_panel(message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
                      community: Community, i18n: I18n) -> None:
    await state.set_state(NewEvent.panel)
    state_data = await state.get_data()
    draft, lang = _draft(state_data), _lang(state_data, settings)
    locale = i18n.current_locale
    audience = Audience.from_json(draft.audience)
    count = await campaigns_service.count_audience(session, audience)
    data = _preview_json(draft, lang)
    done = [c for c in SUPPORTED_LOCALES if c in draft.title and c != lang]
    languages = ", ".join(language_name(c) for c in sorted(draft.title, key=lambda c: (c != lang, SUPPORTED_LOCALES.index(c)))
                          if c in SUPPORTED_LOCALES)
    text = texts.panel(data, await audience_picker.describe(session, audience, community, locale), count, languages, locale,
                       settings.tz)
    await message.answer(text, reply_markup=keyboards.panel(count, langs.add_buttons(OWNER, lang, done), locale))


def _preview_json(draft: EventDraft, lang: str) -> dict[str, Any]:
    assert draft.starts_at is not None and draft.ends_at is not None
    return {
        "id": 0, "kind": draft.kind, "title": draft.title, "description": draft.description,
        "starts_at": draft.starts_at.isoformat(), "ends_at": draft.ends_at.isoformat(), "venue": draft.venue,
        "latitude": draft.latitude, "longitude": draft.longitude, "online_url": draft.online_url,
        "capacity": draft.capacity, "speakers": draft.speakers, "default_locale": lang,
        "status": "scheduled", "version": 1,
    }


@staff.callback_query(StateFilter(NewEvent.panel), WriteCb.filter((F.owner == OWNER) & (F.a == "add")))
async def translation_step(callback: CallbackQuery, callback_data: WriteCb, state: FSMContext,
                           settings: Settings) -> None:
    locale = langs.requested(callback_data, _lang(await state.get_data(), settings))
    if locale is None:
        return
    await close_buttons(callback)
    await state.set_state(NewEvent.translation)
    await state.update_data(translating=locale)
    await callback.message.answer(texts.ask_translation(locale))  # type: ignore[union-attr]


@staff.message(StateFilter(NewEvent.translation), F.text, NOT_COMMAND)
async def got_translation(message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
                          community: Community, i18n: I18n) -> None:
    data = await state.get_data()
    locale = data.get("translating")
    try:
        title, description = _title(message.text, str(locale))
    except DomainError as exc:
        await message.answer(_title_error(exc, str(locale)))
        return
    draft = _draft(data)
    if locale in SUPPORTED_LOCALES:
        draft.title[locale] = title
        if description:
            draft.description[locale] = description
        await _save(state, draft)
    await _show_panel(message, state, session, settings, community, i18n)


@staff.callback_query(StateFilter(NewEvent.panel), NewEvCb.filter(F.step == "cf"))
async def panel_step(
    callback: CallbackQuery, callback_data: NewEvCb, state: FSMContext, session: AsyncSession, user: User | None,
    settings: Settings, community: Community, i18n: I18n, delivery: DeliveryEngine, callback_answer: CallbackAnswer,
    roles: set[str],
) -> None:
    message = callback.message
    assert isinstance(message, Message)
    data = await state.get_data()
    draft = _draft(data)
    if not draft.title or draft.starts_at is None:
        await state.clear()
        await close_buttons(callback)
        await message.answer(texts.draft_expired())
        return
    if callback_data.action == "audience":
        await close_buttons(callback)
        await state.set_state(NewEvent.audience)
        text, markup = await audience_picker.view(
            Audience.from_json(draft.audience), "", session, community, i18n.current_locale, OWNER)
        await message.answer(text, reply_markup=markup)
    elif callback_data.action == "drop":
        await state.clear()
        await close_buttons(callback)
        await message.answer(texts.draft_dropped())
    elif callback_data.action == "send":
        await _publish(callback, draft, data, state, session, settings, i18n, user, delivery, callback_answer, roles)


@staff.callback_query(StateFilter(NewEvent.audience), AudCb.filter(F.owner == OWNER))
async def audience_step(
    callback: CallbackQuery, callback_data: AudCb, state: FSMContext, session: AsyncSession, settings: Settings,
    community: Community, i18n: I18n, callback_answer: CallbackAnswer,
) -> None:
    draft = _draft(await state.get_data())
    audience = Audience.from_json(draft.audience)
    done = await audience_picker.step(callback, callback_data, audience, session, community, i18n.current_locale,
                                      callback_answer)
    draft.audience = audience.to_json()
    await _save(state, draft)
    if done:
        await _show_panel(callback.message, state, session, settings, community, i18n)  # type: ignore[arg-type]


async def _publish(
    callback: CallbackQuery, draft: EventDraft, data: dict[str, Any], state: FSMContext, session: AsyncSession,
    settings: Settings, i18n: I18n, user: User | None, delivery: DeliveryEngine, callback_answer: CallbackAnswer,
    roles: set[str],
) -> None:
    message = callback.message
    assert isinstance(message, Message)
    now = delivery.now()
    audience = Audience.from_json(draft.audience)
    try:
        events_service.check_draft(draft, now)
    except DomainError:
        callback_answer.text = texts.start_passed()
        callback_answer.show_alert = True
        return
    key = f"event:{data.get('nonce')}"
    claimed = await acting.claim(callback, state, session, user, roles, data.get("org_id"), audience, key,
                                 callback_answer)
    if claimed is None:
        return
    count, org = claimed
    event = await events_service.create_event(
        session, draft, default_locale=_lang(data, settings), created_by=user.id if user else None, now=now)
    event.org = org
    await launch(message, session, delivery, i18n.current_locale, kind="event", org_id=org.id if org else None,
                 payload={"event": events_service.event_json(event)}, audience=audience, key=key, count=count,
                 created_by=user.id if user else None, now=now, created=lambda _c: texts.created(event.id),
                 owner=event)
