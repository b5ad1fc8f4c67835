"""Organizers follow events: /events, the tallies and comments, and changing time, place, title
or capacity."""
from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, F
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import ORGANIZING
from bot.config import Settings
from bot.delivery import DeliveryEngine
from bot.qr import qr_png
from bot.services import events as events_service
from bot.services import orgs as orgs_service
from bot.services.errors import DomainError
from handlers import confirm
from handlers.events import keyboards, texts
from handlers.events.base import EditEvent, router, staff
from handlers.events.keyboards import EvOrgCb, NewEvCb
from handlers.polls import valid_id
from handlers.polls.texts import only_organizers, pick, split
from handlers.shared import (
    MENU_EVENTS,
    NOT_COMMAND,
    MenuText,
    close_buttons,
    edit_text,
    publish_button,
)
from handlers.when import fmt_example, read_when
from storage.models import User

log = logging.getLogger(__name__)


@router.message(Command("events"))
@router.message(MenuText(MENU_EVENTS))
async def events_command(
    message: Message, session: AsyncSession, user: User | None, roles: set[str], settings: Settings,
    i18n: I18n, delivery: DeliveryEngine,
) -> None:
    locale = i18n.current_locale
    now = delivery.now()
    if roles & ORGANIZING or "admin" in roles:
        events = await events_service.upcoming(session, now, limit=10,
                                               orgs=await orgs_service.scope_of(session, user, roles))
        tallies = await events_service.tallies(session, [e.id for e in events])
        items = [texts.organizer_item(events_service.event_json(e), tallies[e.id], locale, settings.tz) for e in events]
        await message.answer(texts.organizer_list(items), reply_markup=keyboards.organizer_list([e.id for e in events]))
        return
    if user is None or not user.is_registered:
        from handlers.polls.texts import register_first

        await message.answer(register_first())
        return
    found = await events_service.upcoming_for(session, user, now)
    tallies = await events_service.tallies(session, [e.id for e, _s in found])
    items = [texts.resident_item(n, events_service.event_json(e), status, locale, settings.tz,
                                 places=events_service.places_left(e, tallies[e.id]))
             for n, (e, status) in enumerate(found, 1)]
    await message.answer(texts.resident_list(items), reply_markup=keyboards.open_events([e.id for e, _s in found]))



@staff.callback_query(EvOrgCb.filter())
async def organizer_button(
    callback: CallbackQuery, callback_data: EvOrgCb, state: FSMContext, session: AsyncSession, bot: Bot,
    settings: Settings, i18n: I18n, delivery: DeliveryEngine, callback_answer: CallbackAnswer,
    user: User | None, roles: set[str],
) -> None:
    message = callback.message
    event_id = valid_id(callback_data.id)
    event = await events_service.get_event(session, event_id) if event_id else None
    if event is not None and not orgs_service.in_scope(event.org_id, await orgs_service.scope_of(session, user, roles)):
        callback_answer.text, callback_answer.show_alert = only_organizers(), True  # another organisation's
        return
    if not isinstance(message, Message) or event is None:
        callback_answer.text = texts.refusal("unknown_event")
        return
    locale = i18n.current_locale
    action = callback_data.action
    now = delivery.now()
    title = pick(event.title, locale, event.default_locale)
    if action == "d":
        tally = (await events_service.tallies(session, [event.id]))[event.id]
        questions = await events_service.question_count(session, event.id)
        comments = await events_service.comment_count(session, event.id)
        text = texts.details(events_service.event_json(event), tally, questions, locale, settings.tz, comments)
        channel = publish_button(settings, "event", event.id) if event.starts_at <= now else None
        await message.answer(text, reply_markup=keyboards.details(event.id, event.status == "cancelled", channel,
                                                                  comments))
    elif action == "fb":
        await _send_comments(bot, message, session, event.id, title)
    elif action == "qr":
        me = await bot.me()
        link = events_service.checkin_link(me.username or "", event)
        await message.answer_photo(BufferedInputFile(qr_png(link), f"checkin-{event.id}.png"),
                                   caption=texts.checkin_caption(link))
    elif action in ("att", "m"):
        if action == "m":
            person = valid_id(callback_data.u)
            try:
                if person is None:
                    raise DomainError("unknown_person")
                await events_service.mark_attended(session, event, person, now)
            except DomainError:
                callback_answer.text = texts.refusal("stale")
                return
            await session.commit()
        people = await events_service.attendees(session, event.id)
        if not people:
            callback_answer.text = texts.nobody_going()
            return
        if action == "att":
            await message.answer(texts.attendance_menu(title), reply_markup=keyboards.attendance(event.id, people))
        else:
            await edit_text(callback, texts.attendance_menu(title), keyboards.attendance(event.id, people))
    elif action == "c":  # asks first
        if event.status == "cancelled":
            callback_answer.text = texts.refusal("cancelled")
            return
        await message.answer(texts.ask_cancel(event.id, title), reply_markup=confirm.keyboard(
            texts.cancel_yes(), EvOrgCb(action="cy", id=event.id), EvOrgCb(action="cn", id=event.id),
            texts.cancel_no()))
    elif action == "cn":
        await confirm.settle(callback, texts.refusal("cancelled") if event.status == "cancelled"
                             else texts.kept(event.id))
    elif action == "cy":  # confirmed: cancelled only if it still can be
        try:
            done = await events_service.cancel(session, event, now)
        except DomainError as exc:
            callback_answer.text = texts.refusal(exc.code)
            await confirm.settle(callback, texts.refusal(exc.code))
            return
        await session.commit()
        for campaign_id in await events_service.queued_campaigns(session, event):
            delivery.cancelled(campaign_id)
        delivery.wake()
        callback_answer.text = texts.cancelled_done() if done else texts.refusal("cancelled")
        await confirm.settle(callback, callback_answer.text)
    elif action in ("t", "p", "n", "k"):
        target = {"t": EditEvent.time, "p": EditEvent.place, "n": EditEvent.title, "k": EditEvent.capacity}[action]
        await state.set_state(target)
        await state.update_data(event=event.id)
        if action == "t":
            await message.answer(texts.ask_new_time(settings.tz, fmt_example(now, settings.tz)))
        elif action == "p":
            await message.answer(texts.ask_new_place())
        elif action == "n":
            await message.answer(texts.ask_title(locale))
        else:
            await message.answer(texts.ask_capacity(), reply_markup=keyboards.no_limit("ecap"))


VOICES_SENT = 10  # feedback voice notes sent per press of "Comments" (the newest)


async def _send_comments(bot: Bot, message: Message, session: AsyncSession, event_id: int, title: str) -> None:
    """The feedback comments in a message (split within Telegram's limit), then the voice notes
    as voice messages, each sent by its file_id (no resident's account shows)."""
    found = await events_service.comments(session, event_id)
    voices = [c for c in found if c.voice_file_id][:VOICES_SENT]
    thread = message.message_thread_id if message.is_topic_message else None
    for part in split(texts.comments_list(title, found, len(voices))):
        await message.answer(part)
    for item in voices:
        assert item.voice_file_id is not None
        try:
            await bot.send_voice(message.chat.id, item.voice_file_id, caption=texts.voice_caption(title, item.score),
                                 message_thread_id=thread)
        except TelegramAPIError as exc:  # a file_id Telegram no longer knows: the others still go
            log.info("Could not send a feedback voice note of event #%s: %s", event_id, exc)


async def _apply_change(message: Message, state: FSMContext, session: AsyncSession, delivery: DeliveryEngine,
                        **change: Any) -> None:
    data = await state.get_data()
    event = await events_service.get_event(session, int(data.get("event") or 0))
    await state.clear()
    if event is None:
        await message.answer(texts.refusal("unknown_event"))
        return
    try:
        changed = await events_service.change(session, event, delivery.now(), **change)
    except DomainError as exc:
        await message.answer(texts.refusal(exc.code))
        return
    await session.commit()
    delivery.wake()
    await message.answer(texts.changed_done() if changed else texts.nothing_changed())


@staff.message(StateFilter(EditEvent.time), F.text, NOT_COMMAND)
async def got_new_time(message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
                       i18n: I18n, delivery: DeliveryEngine) -> None:
    when = await read_when(message, delivery.now(), settings.tz, i18n.current_locale)
    if when is not None:
        await _apply_change(message, state, session, delivery, starts_at=when)


@staff.message(StateFilter(EditEvent.place), F.text, NOT_COMMAND)
async def got_new_place(message: Message, state: FSMContext, session: AsyncSession,
                        delivery: DeliveryEngine) -> None:
    try:
        venue, url = events_service.parse_place(message.text or "")
    except DomainError as exc:
        await message.answer(texts.place_error(exc))
        return
    await _apply_change(message, state, session, delivery, venue=venue, online_url=url)


@staff.message(StateFilter(EditEvent.title), F.text, NOT_COMMAND)
async def got_new_title(message: Message, state: FSMContext, session: AsyncSession, i18n: I18n,
                        delivery: DeliveryEngine) -> None:
    """The title and description in the organizer's language (the other versions stay)."""
    try:
        title, description = events_service.parse_title(message.text or "")
    except DomainError as exc:
        await message.answer(texts.title_error(exc))
        return
    await _apply_change(message, state, session, delivery, title=(i18n.current_locale, title, description))


async def _apply_capacity(message: Message, state: FSMContext, session: AsyncSession, delivery: DeliveryEngine,
                          capacity: int | None) -> None:
    data = await state.get_data()
    event = await events_service.get_event(session, int(data.get("event") or 0))
    await state.clear()
    try:
        if event is None:
            raise DomainError("unknown_event")
        promoted = await events_service.set_capacity(session, event, capacity, delivery.now())
    except DomainError as exc:
        await message.answer(texts.refusal(exc.code))
        return
    await session.commit()
    delivery.wake()
    await message.answer(texts.places_changed(len(promoted)))


@staff.message(StateFilter(EditEvent.capacity), F.text, NOT_COMMAND)
async def got_new_capacity(message: Message, state: FSMContext, session: AsyncSession,
                           delivery: DeliveryEngine) -> None:
    try:
        capacity = events_service.parse_capacity(message.text or "")
    except DomainError as exc:
        await message.answer(texts.capacity_error(exc), reply_markup=keyboards.no_limit("ecap"))
        return
    await _apply_capacity(message, state, session, delivery, capacity)


@staff.callback_query(StateFilter(EditEvent.capacity), NewEvCb.filter(F.step == "ecap"))
async def new_capacity_unlimited(callback: CallbackQuery, state: FSMContext, session: AsyncSession,
                                 delivery: DeliveryEngine) -> None:
    await close_buttons(callback)
    await _apply_capacity(callback.message, state, session, delivery, None)  # type: ignore[arg-type]


