"""Events: organizers publish them with /newevent and follow them with /events; residents answer
Going / Maybe / Can't go (a waitlist when full), get a calendar file, ask the speakers, are
reminded, check in with the venue's code, and rate the event afterwards.

Reminders, the speakers' questions and the feedback question are due by the database
(``check_due``, run periodically and at start-up), so nothing is sent twice or lost to a restart.
"""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import jobs
from bot.commands import ORGANIZING, CommandSpec, register
from bot.community import Community
from bot.config import SUPPORTED_LOCALES, Settings
from bot.delivery import DeliveryEngine
from bot.i18n import N_
from bot.ics import event_ics
from bot.qr import qr_png
from bot.scheduler import DUE_CHECK_SECONDS
from bot.services import campaigns as campaigns_service
from bot.services import events as events_service
from bot.services import orgs as orgs_service
from bot.services.campaigns import Audience
from bot.services.errors import DomainError
from bot.services.events import EventDraft
from handlers import acting
from handlers import audience as audience_picker
from handlers import deeplinks
from handlers.acting import ActCb
from handlers.audience import AudCb, language_name
from handlers.events import keyboards, texts
from handlers.events import kinds as _kinds  # noqa: F401 - registers the campaign kinds
from handlers.events.keyboards import EvCb, EvOrgCb, NewEvCb
from handlers.polls import valid_id
from handlers.polls.texts import only_organizers, pick, split
from handlers.shared import (
    MENU_EVENTS,
    NOT_COMMAND,
    MenuText,
    close_buttons,
    edit_text,
    launch,
    publish_button,
    role_routers,
)
from handlers.when import fmt_example, read_when
from storage.models import Event, User

register(
    CommandSpec("events", N_("Upcoming events")),
    CommandSpec("newevent", N_("Create an event"), ORGANIZING),
)

log = logging.getLogger(__name__)
OWNER = "event"  # of the shared audience picker's buttons
router, staff = role_routers("events", ORGANIZING, only_organizers,
                             EvOrgCb.filter(), NewEvCb.filter(), AudCb.filter(F.owner == OWNER),
                             ActCb.filter(F.cmd == "newevent"))
residents = Router(name="events-residents")
router.include_router(residents)


class EventText(StatesGroup):
    question = State()  # data: event
    comment = State()  # data: event


class NewEvent(StatesGroup):
    kind = State()
    title = State()
    start = State()
    end = State()
    place = State()
    capacity = State()
    speakers = State()
    panel = State()
    translation = State()
    audience = State()


class EditEvent(StatesGroup):
    time = State()  # data: event
    place = State()
    title = State()
    capacity = State()


def reminder_offsets(settings: Settings) -> tuple[timedelta, ...]:
    return tuple(timedelta(hours=h) for h in settings.event_reminder_hours)


# ================================================================== residents

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
        await _send_ics(message, event, locale)
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


async def _send_ics(message: Message, event: Event, locale: str) -> None:
    """The calendar file, in the reader's language; ``sequence`` follows the event's changes so
    a calendar replaces its copy."""
    location = event.venue or event.online_url
    content = event_ics(
        uid=f"event-{event.id}@hromada", title=pick(event.title, locale, event.default_locale),
        starts_at=event.starts_at, ends_at=event.ends_at,
        description=pick(event.description or {}, locale, event.default_locale), location=location,
        url=event.online_url, stamp=event.updated_at, sequence=event.version - 1,
        geo=(event.latitude, event.longitude) if event.latitude is not None and event.longitude is not None else None,
        cancelled=event.status == "cancelled",
    )
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
    items = [texts.resident_item(n, events_service.event_json(e), status, locale, settings.tz)
             for n, (e, status) in enumerate(found, 1)]
    await message.answer(texts.resident_list(items), reply_markup=keyboards.open_events([e.id for e, _s in found]))


async def check_due(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                    delivery: DeliveryEngine) -> int:
    """The periodic check: queue the reminders, questions and feedback that are due."""
    async with sessionmaker() as session:
        created = await events_service.queue_due(session, delivery.now(), offsets=reminder_offsets(settings),
                                                 organizers_chat_id=settings.organizers_chat_id)
        await session.commit()
    if created:
        delivery.wake()
    return created


@jobs.job("event-due", seconds=DUE_CHECK_SECONDS, at_start=True)
async def check_due_job(ctx: jobs.JobContext) -> None:
    await check_due(ctx.sessionmaker, ctx.settings, ctx.delivery)


# ================================================================== organizers: /events

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
        link = f"https://t.me/{me.username}?start=checkin_{event.checkin_token}"
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
    elif action == "c":
        await message.answer(texts.ask_cancel(title), reply_markup=keyboards.confirm_cancel(event.id))
    elif action == "cy":
        try:
            done = await events_service.cancel(session, event, now)
        except DomainError as exc:
            callback_answer.text = texts.refusal(exc.code)
            return
        await session.commit()
        for campaign_id in await events_service.queued_campaigns(session, event):
            delivery.cancelled(campaign_id)
        delivery.wake()
        await close_buttons(callback)
        callback_answer.text = texts.cancelled_done() if done else texts.refusal("cancelled")
    elif action in ("t", "p", "n", "k"):
        target = {"t": EditEvent.time, "p": EditEvent.place, "n": EditEvent.title, "k": EditEvent.capacity}[action]
        await state.set_state(target)
        await state.update_data(event=event.id)
        if action == "t":
            await message.answer(texts.ask_new_time(settings.tz, fmt_example(now, settings.tz)))
        elif action == "p":
            await message.answer(texts.ask_new_place())
        elif action == "n":
            await message.answer(texts.ask_title(language_name(locale)))
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


# ================================================================== organizers: /newevent

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
                   roles: set[str]) -> None:
    org_id = await acting.ask(message, session, user, roles, "newevent")
    if org_id != acting.ASKED:
        await _start(message, state, org_id)


@staff.callback_query(ActCb.filter(F.cmd == "newevent"))
async def newevent_as(callback: CallbackQuery, callback_data: ActCb, state: FSMContext) -> None:
    await close_buttons(callback)
    await _start(callback.message, state, callback_data.org or None)  # type: ignore[arg-type]


async def _start(message: Message, state: FSMContext, org_id: int | None) -> None:
    await state.clear()
    await state.set_state(NewEvent.kind)
    await state.update_data(nonce=uuid.uuid4().hex[:16], draft=EventDraft(audience=Audience().to_json()).to_json(),
                            org_id=org_id)
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
    await callback.message.answer(texts.ask_title(language_name(settings.default_locale)))  # type: ignore[union-attr]


@staff.message(StateFilter(NewEvent.title), F.text, NOT_COMMAND)
async def got_title(message: Message, state: FSMContext, settings: Settings, delivery: DeliveryEngine) -> None:
    try:
        title, description = events_service.parse_title(message.text or "")
    except DomainError as exc:
        await message.answer(texts.title_error(exc))
        return
    draft = _draft(await state.get_data())
    draft.title = {settings.default_locale: title}
    draft.description = {settings.default_locale: description} if description else {}
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
    draft = _draft(await state.get_data())
    locale = i18n.current_locale
    audience = Audience.from_json(draft.audience)
    count = await campaigns_service.count_audience(session, audience)
    data = _preview_json(draft, settings)
    done = [c for c in SUPPORTED_LOCALES if c in draft.title and c != settings.default_locale]
    languages = ", ".join(language_name(c) for c in SUPPORTED_LOCALES if c in draft.title)
    text = texts.panel(data, await audience_picker.describe(session, audience, community, locale), count, languages, locale,
                       settings.tz)
    await message.answer(text, reply_markup=keyboards.panel(count, done, settings.default_locale, locale))


def _preview_json(draft: EventDraft, settings: Settings) -> dict[str, Any]:
    assert draft.starts_at is not None and draft.ends_at is not None
    return {
        "id": 0, "kind": draft.kind, "title": draft.title, "description": draft.description,
        "starts_at": draft.starts_at.isoformat(), "ends_at": draft.ends_at.isoformat(), "venue": draft.venue,
        "latitude": draft.latitude, "longitude": draft.longitude, "online_url": draft.online_url,
        "capacity": draft.capacity, "speakers": draft.speakers, "default_locale": settings.default_locale,
        "status": "scheduled", "version": 1,
    }


@staff.callback_query(StateFilter(NewEvent.panel), NewEvCb.filter(F.step == "tr"))
async def translation_step(callback: CallbackQuery, callback_data: NewEvCb, state: FSMContext) -> None:
    if callback_data.value not in SUPPORTED_LOCALES:
        return
    await close_buttons(callback)
    await state.set_state(NewEvent.translation)
    await state.update_data(translating=callback_data.value)
    await callback.message.answer(texts.ask_translation(language_name(callback_data.value)))  # type: ignore[union-attr]


@staff.message(StateFilter(NewEvent.translation), F.text, NOT_COMMAND)
async def got_translation(message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
                          community: Community, i18n: I18n) -> None:
    data = await state.get_data()
    try:
        title, description = events_service.parse_title(message.text or "")
    except DomainError as exc:
        await message.answer(texts.title_error(exc))
        return
    draft = _draft(data)
    locale = data.get("translating")
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
        session, draft, default_locale=settings.default_locale, created_by=user.id if user else None, now=now)
    event.org = org
    await launch(message, session, delivery, i18n.current_locale, kind="event", org_id=org.id if org else None,
                 payload={"event": events_service.event_json(event)}, audience=audience, key=key, count=count,
                 created_by=user.id if user else None, now=now, created=lambda _c: texts.created(event.id),
                 owner=event)
