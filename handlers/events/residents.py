"""Residents answer events: Going / Maybe / Can't go, the calendar file, questions to the
speakers, check-in and feedback."""
from __future__ import annotations

from typing import Any

from aiogram import Bot, F
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from bot.config import Settings
from bot.delivery import DeliveryEngine
from bot.i18n import typed_button
from bot.services import events as events_service
from bot.services.errors import DomainError
from handlers import calendar
from handlers import deeplinks
from handlers.events import keyboards, texts
from handlers.events.base import EventText, residents
from handlers.events.keyboards import EvCb
from handlers.polls import valid_id
from handlers.polls.texts import pick
from handlers.shared import NOT_COMMAND, close_buttons, edit_text
from storage.models import Event, User


async def _card(session: AsyncSession, event: Event, user: User | None, settings: Settings,
                locale: str, status: str | None = None) -> tuple[str, Any]:
    """The event's card for this resident; ``status``: their answer, when the caller knows it."""
    places = None
    if event.capacity is not None:  # (without a limit there are no places to count)
        places = events_service.places_left(event, (await events_service.tallies(session, [event.id]))[event.id])
    if status is None and user is not None:
        mine = await events_service.rsvp_of(session, event.id, user.id)
        status = mine.status if mine else None
    data = events_service.event_json(event)
    text = texts.card(data, locale, settings.tz, status=status, places=places)
    markup = None if event.status == "cancelled" else keyboards.event(event.id, event.version)
    return text, markup


@residents.callback_query(EvCb.filter())
async def event_button(
    callback: CallbackQuery, callback_data: EvCb, state: FSMContext, session: AsyncSession, bot: Bot,
    user: User | None, settings: Settings, community: Community, i18n: I18n, delivery: DeliveryEngine,
    callback_answer: CallbackAnswer,
) -> None:
    cb = callback_data
    message = callback.message
    event_id = valid_id(cb.e)
    if not isinstance(message, Message) or event_id is None:
        callback_answer.text = texts.refusal("stale")
        return
    if user is None or not user.is_registered:
        from handlers.polls.texts import register_first
        from handlers.registration import begin

        callback_answer.text = register_first()
        callback_answer.show_alert = True
        await begin(message, callback.from_user, f"event_{event_id}", state, session, settings, community, i18n)
        return
    event = await events_service.get_event(session, event_id)
    locale = i18n.current_locale
    now = delivery.now()
    if event is None:
        callback_answer.text = texts.refusal("unknown_event")
        return
    if not await events_service.may_see(session, event, user):
        callback_answer.text, callback_answer.show_alert = texts.refusal("not_for_you"), True
        return
    if cb.a == "open":
        text, markup = await _card(session, event, user, settings, locale)
        await message.answer(text, reply_markup=markup)
        return
    if cb.a == "ics":
        await _send_ics(message, event, locale, community, now)
        return
    if cb.a == "f":
        await _feedback(callback, cb, event, state, session, user, now, callback_answer)
        return
    if cb.a == "skip":
        await state.clear()
        await close_buttons(callback)
        callback_answer.text = texts.comment_saved()
        return
    if cb.v != event.version and cb.a in ("going", "maybe", "no", "ask"):
        callback_answer.text = texts.refusal("cancelled" if event.status == "cancelled" else "changed")
        text, markup = await _card(session, event, user, settings, locale)
        await message.answer(text, reply_markup=markup)
        return
    choice = {"yes": "going", "off": "no"}.get(cb.a, cb.a)
    try:
        if cb.a == "ask":
            events_service.questions_open(event, now)
            await state.set_state(EventText.question)
            await state.update_data(event=event.id)
            await message.answer(texts.ask_question())
            return
        result = await events_service.answer(session, event, user, choice, now)
        await events_service.tell_promoted(session, event, result.promoted, now)
    except DomainError as exc:
        callback_answer.text = texts.refusal(exc.code)
        return
    card = None
    if cb.a not in ("yes", "off"):  # the card as it is now, read in the same transaction
        card = await _card(session, event, user, settings, locale, status=result.status)
    await session.commit()
    if result.promoted:
        delivery.wake()
    callback_answer.text = texts.answer_saved(result.status)
    if card is None:
        await close_buttons(callback)
        return
    await edit_text(callback, *card)


async def _send_ics(message: Message, event: Event, locale: str, community: Community, now: Any) -> None:
    """The calendar file (handlers.calendar); ``sequence`` follows the event's changes so a
    calendar replaces its copy."""
    me = await message.bot.me() if message.bot else None
    content = calendar.event_file(event, locale, community, now, me.username if me else None)
    await message.answer_document(BufferedInputFile(content, filename=f"event-{event.id}.ics"))


async def _feedback(
    callback: CallbackQuery, cb: EvCb, event: Event, state: FSMContext, session: AsyncSession, user: User,
    now: Any, callback_answer: CallbackAnswer,
) -> None:
    try:
        await events_service.feedback(session, event, user, score=cb.o, now=now)
    except DomainError as exc:
        callback_answer.text = texts.refusal(exc.code)
        return
    await session.commit()
    await close_buttons(callback)
    await state.set_state(EventText.comment)
    await state.update_data(event=event.id)
    assert isinstance(callback.message, Message)
    await callback.message.answer(texts.ask_comment(), reply_markup=keyboards.skip_comment(event.id))


@residents.message(StateFilter(EventText.question, EventText.comment), F.text, NOT_COMMAND)
async def got_text(message: Message, state: FSMContext, session: AsyncSession, user: User | None,
                   delivery: DeliveryEngine) -> None:
    """A question for the speakers, or the comment after a rating."""
    data = await state.get_data()
    event = await events_service.get_event(session, int(data.get("event") or 0))
    if user is None:
        await state.clear()
        return
    asking = await state.get_state() == EventText.question.state
    if not asking and typed_button(message.text, "Skip"):  # typed, in any language: no comment
        await state.clear()
        await message.answer(texts.comment_saved())
        return
    try:
        if asking:
            await events_service.ask(session, event, user, message.text or "", delivery.now())
        else:
            await events_service.feedback(session, event, user, comment=message.text or "", now=delivery.now())
    except DomainError as exc:
        if exc.code in ("empty", "too_long"):
            await message.answer(texts.text_error(exc))
            return
        await state.clear()
        await message.answer(texts.refusal(exc.code))
        return
    await session.commit()
    await state.clear()
    await message.answer(texts.question_saved() if asking else texts.comment_saved())


@residents.message(StateFilter(EventText.comment), F.voice)
async def got_voice_comment(message: Message, state: FSMContext, session: AsyncSession, user: User | None,
                            delivery: DeliveryEngine) -> None:
    """A voice note instead of a written comment: kept by its file_id, sent to the organizers as voice."""
    data = await state.get_data()
    event = await events_service.get_event(session, int(data.get("event") or 0))
    await state.clear()
    if user is None or message.voice is None:
        return
    try:
        await events_service.feedback(session, event, user, voice_file_id=message.voice.file_id, now=delivery.now())
    except DomainError as exc:
        await message.answer(texts.refusal(exc.code))
        return
    await session.commit()
    await message.answer(texts.comment_saved())


@residents.message(StateFilter(EventText.question, EventText.comment), NOT_COMMAND)
async def text_expected(message: Message, state: FSMContext) -> None:
    if await state.get_state() == EventText.comment.state:
        await message.answer(texts.comment_expected())
        return
    await message.answer(texts.text_error(DomainError("empty")))


@deeplinks.deeplink("event")
async def event_link(message: Message, rest: str, data: dict[str, Any]) -> None:
    """`/start event_<id>`: the event card (a link in a channel post, or kept through registration)."""
    session: AsyncSession = data["session"]
    event_id = valid_id(rest)
    event = await events_service.get_event(session, event_id) if event_id else None
    if event is None:
        await message.answer(texts.refusal("unknown_event"))
        return
    user: User = data["user"]
    if not await events_service.may_see(session, event, user):
        await message.answer(texts.refusal("not_for_you"))
        return
    text, markup = await _card(session, event, user, data["settings"], user.language)
    await message.answer(text, reply_markup=markup)


@deeplinks.deeplink("checkin")
async def checkin_link(message: Message, rest: str, data: dict[str, Any]) -> None:
    """`/start checkin_<token>`: the code shown at the venue; marks the resident as attended, once."""
    session: AsyncSession = data["session"]
    user: User = data["user"]
    try:
        event, first = await events_service.check_in(session, rest[:32], user, data["delivery"].now())
    except DomainError as exc:
        await message.answer(texts.refusal(exc.code))
        return
    await session.commit()
    await message.answer(texts.checked_in(pick(event.title, user.language, event.default_locale), first))

