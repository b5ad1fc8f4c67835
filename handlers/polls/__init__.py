"""Polls and surveys.

Residents answer with buttons on the poll message (their answer is marked and can be changed
until the poll closes); a survey is answered one question per message and resumes where the
resident stopped. Organizers build polls with /newpoll (or send a survey file), follow them with
/polls, close them, and send the results to everyone who took part. Closing at the set time is
done by the periodic check (``close_due``), from the database, so a restart loses nothing.
"""
from __future__ import annotations

import uuid
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InputMediaPhoto, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import charts, jobs
from bot.commands import ORGANIZING, CommandSpec, register
from bot.community import Community
from bot.config import SUPPORTED_LOCALES, Settings
from bot.delivery import DeliveryEngine
from bot.i18n import N_, fmt_datetime
from bot.scheduler import DUE_CHECK_SECONDS
from bot.services import campaigns as campaigns_service
from bot.services import orgs as orgs_service
from bot.services import polls as polls_service
from bot.services.campaigns import Audience
from bot.services.errors import DomainError
from bot.services.polls import CachedPoll, PollDraft, QuestionDraft
from handlers import acting
from handlers import audience as audience_picker
from handlers import deeplinks
from handlers.acting import ActCb
from handlers.audience import AudCb
from handlers.polls import keyboards, texts
from handlers.polls import kinds as _kinds  # noqa: F401 - registers the campaign kinds
from handlers.polls.keyboards import NewPollCb, PollCb, VoteCb
from handlers.shared import MENU_POLLS, MenuText, close_buttons, edit_text, launch, publish_button, role_routers
from handlers.when import fmt_example, read_when
from storage.models import Poll, User

register(
    CommandSpec("polls", N_("Polls and surveys")),
    CommandSpec("newpoll", N_("Create a poll or a survey"), ORGANIZING),
)

OWNER = "poll"  # of the shared audience picker's buttons
router, staff = role_routers("polls", ORGANIZING, texts.only_organizers,  # /newpoll, results, closing
                             PollCb.filter(), NewPollCb.filter(), AudCb.filter(F.owner == OWNER),
                             ActCb.filter(F.cmd == "newpoll"))
residents = Router(name="polls-residents")
router.include_router(residents)

NOT_COMMAND = ~F.text.startswith("/")
FILE_MAX = 100_000


# a tap on an option: v (single, scale; a toggle on older multiple-choice buttons), + choose, - take off
TAPS: dict[str, bool | None] = {"v": None, "+": True, "-": False}


class PollText(StatesGroup):
    answer = State()  # data: poll, q


class NewPoll(StatesGroup):
    kind = State()
    question = State()
    title = State()
    translations = State()
    translation = State()
    audience = State()
    panel = State()
    closes = State()


MAX_ID = 2**31 - 1  # ids in callback data and links are client-supplied: check before any query


def valid_id(value: int | str) -> int | None:
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def key_of(poll_secret: bytes, poll_id: int, user: User) -> str:
    """The resident's participant hash for this poll (the handlers get ``poll_secret`` from the
    dispatcher: SECRET_KEY, or the bot's own kept secret, see polls_service.load_secret)."""
    return polls_service.participant_key(poll_secret, poll_id, user.id)


# ================================================================== residents

def _data(poll: Poll | CachedPoll) -> dict[str, Any]:
    """What a poll's messages are rendered from (a cached poll keeps it made)."""
    return poll.data if isinstance(poll, CachedPoll) else polls_service.poll_json(poll)


async def send_question(
    bot: Bot, chat_id: int, poll: Poll | CachedPoll, position: int, mine: list[int | str], settings: Settings,
    locale: str,
) -> None:
    data = _data(poll)
    survey = len(poll.questions) > 1
    await bot.send_message(
        chat_id, texts.question_text(data, position, locale, settings.tz, mine),
        reply_markup=keyboards.question(data, position, locale, mine, survey_next=survey),
    )


async def _show_step(
    bot: Bot, chat_id: int, poll: Poll, user: User, session: AsyncSession, settings: Settings, locale: str,
    poll_secret: bytes,
) -> None:
    """Send the resident the question they are at (a survey resumes), or the thank-you.
    Raises DomainError("not_for_you") when the poll was meant for others."""
    response = await polls_service.response_of(session, poll.id, key_of(poll_secret, poll.id, user))
    if response is None and not await polls_service.in_audience(session, poll, user):
        raise DomainError("not_for_you")
    answers = await polls_service.answers_of(session, response)
    step = response.step if response is not None else 0
    if response is not None and response.completed_at is not None:
        if len(poll.questions) > 1:
            await bot.send_message(chat_id, texts.survey_done())
            return
        step = 0
    await send_question(bot, chat_id, poll, min(step, len(poll.questions) - 1), answers.get(step, []), settings, locale)


async def _after_answer(
    bot: Bot, chat_id: int, poll: Poll | CachedPoll, answered: polls_service.Answered, position: int,
    session: AsyncSession, settings: Settings, locale: str,
) -> None:
    """In a survey, the first answer to the resident's current question brings the next one."""
    if len(poll.questions) == 1 or not answered.advanced:
        return
    if answered.response.completed_at is not None and answered.response.step >= len(poll.questions):
        await bot.send_message(chat_id, texts.survey_done())
        return
    nxt = answered.response.step
    answers = await polls_service.answers_of(session, answered.response)
    await send_question(bot, chat_id, poll, nxt, answers.get(nxt, []), settings, locale)


async def _edit_question(callback: CallbackQuery, poll: Poll | CachedPoll, position: int, mine: list[int | str],
                         settings: Settings, locale: str) -> None:
    data = _data(poll)
    await edit_text(callback, texts.question_text(data, position, locale, settings.tz, mine),
                    keyboards.question(data, position, locale, mine, survey_next=len(poll.questions) > 1))


async def _closed(callback: CallbackQuery, callback_answer: CallbackAnswer, code: str) -> None:
    callback_answer.text = texts.vote_error(code)
    if code == "closed" and isinstance(callback.message, Message):
        try:  # a closed poll keeps its text but loses its buttons
            await callback.message.edit_reply_markup(reply_markup=keyboards.closed(0))
        except TelegramBadRequest:
            pass


@residents.callback_query(VoteCb.filter())
async def vote_button(
    callback: CallbackQuery, callback_data: VoteCb, state: FSMContext, session: AsyncSession, bot: Bot,
    user: User | None, settings: Settings, community: Community, i18n: I18n, delivery: DeliveryEngine,
    callback_answer: CallbackAnswer, poll_secret: bytes,
) -> None:
    cb = callback_data
    if cb.a == "x":
        callback_answer.text = texts.vote_error("closed")
        return
    if cb.p == 0:
        callback_answer.text = texts.vote_error("preview")
        return
    if valid_id(cb.p) is None or not 0 <= cb.q < polls_service.MAX_QUESTIONS or not 0 <= cb.o <= 10:
        callback_answer.text = texts.vote_error("stale")
        return
    message = callback.message
    if not isinstance(message, Message):
        callback_answer.text = texts.vote_error("stale")
        return
    if user is None or not user.is_registered:
        from handlers.registration import begin

        callback_answer.text = texts.register_first()
        callback_answer.show_alert = True
        payload = f"vote_{cb.p}_{cb.q}_{cb.o}" if cb.a in TAPS else f"poll_{cb.p}"
        await begin(message, callback.from_user, payload, state, session, settings, community, i18n)
        return
    now = delivery.now()
    locale = i18n.current_locale
    key = key_of(poll_secret, cb.p, user)
    if cb.a in TAPS:  # the hot path: the poll's structure from memory, the vote in two or three statements
        cached = await polls_service.cached_poll(session, cb.p)
        try:
            answered = await polls_service.tap(session, cached, cb.q, cb.o, user, key, now, chosen=TAPS[cb.a])
        except DomainError as exc:
            await _closed(callback, callback_answer, exc.code)
            return
        await session.commit()
        assert cached is not None
        callback_answer.text = texts.saved()
        if answered.changed:
            await _edit_question(callback, cached, cb.q, answered.mine, settings, locale)
        await _after_answer(bot, message.chat.id, cached, answered, cb.q, session, settings, locale)
        return
    poll = await polls_service.get_poll(session, cb.p)
    try:
        if cb.a == "s":
            if poll is None or poll.status != "open" or (poll.closes_at and poll.closes_at <= now):
                raise DomainError("closed" if poll else "unknown_poll")
            await _show_step(bot, message.chat.id, poll, user, session, settings, locale, poll_secret)
            return
        if cb.a == "t":
            question = polls_service.open_question(poll, cb.q, now)
            await state.set_state(PollText.answer)
            await state.update_data(poll=cb.p, q=cb.q)
            assert poll is not None
            await message.answer(texts.ask_text_answer(texts.pick(question.text, locale, poll.default_locale)))
            return
        if cb.a != "n":
            callback_answer.text = texts.vote_error("stale")
            return
        answered = await polls_service.finish_multi(session, poll, cb.q, user, key, now)
    except DomainError as exc:
        await _closed(callback, callback_answer, exc.code)
        return
    await session.commit()
    assert poll is not None
    callback_answer.text = texts.saved()
    await close_buttons(callback)  # "Next" under a multiple choice
    await _after_answer(bot, message.chat.id, poll, answered, cb.q, session, settings, locale)


@residents.message(StateFilter(PollText.answer), F.text, NOT_COMMAND)
async def text_answer(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, user: User | None,
    settings: Settings, i18n: I18n, delivery: DeliveryEngine, poll_secret: bytes,
) -> None:
    data = await state.get_data()
    poll = await polls_service.get_poll(session, int(data.get("poll") or 0))
    position = int(data.get("q") or 0)
    if user is None or not user.is_registered:
        await state.clear()
        return
    try:
        answered = await polls_service.answer_text(
            session, poll, position, message.text or "", user, key_of(poll_secret, int(data.get("poll") or 0), user),
            delivery.now(),
        )
    except DomainError as exc:
        if exc.code in ("empty", "too_long"):
            await message.answer(texts.text_answer_error(exc))
            return
        await state.clear()
        await message.answer(texts.vote_error(exc.code))
        return
    await session.commit()
    await state.clear()
    assert poll is not None
    locale = i18n.current_locale
    data_json = polls_service.poll_json(poll)
    await message.answer(
        texts.saved() + "\n\n" + texts.question_text(data_json, position, locale, settings.tz, answered.mine),
        reply_markup=keyboards.question(data_json, position, locale, answered.mine),
    )
    await _after_answer(bot, message.chat.id, poll, answered, position, session, settings, locale)


@residents.message(StateFilter(PollText.answer), NOT_COMMAND)
async def text_answer_expected(message: Message) -> None:
    await message.answer(texts.text_answer_error(DomainError("empty")))


@deeplinks.deeplink("poll")
async def poll_link(message: Message, rest: str, data: dict[str, Any]) -> None:
    """`/start poll_<id>`: open a poll (a link in a channel post, or kept through registration)."""
    session: AsyncSession = data["session"]
    settings: Settings = data["settings"]
    user: User = data["user"]
    poll_id = valid_id(rest)
    poll = await polls_service.get_poll(session, poll_id) if poll_id else None
    if poll is None or poll.status != "open":
        await message.answer(texts.vote_error("closed" if poll else "unknown_poll"))
        return
    try:
        await _show_step(message.bot, message.chat.id, poll, user, session, settings,  # type: ignore[arg-type]
                         user.language, data["poll_secret"])
    except DomainError as exc:
        await message.answer(texts.vote_error(exc.code))


@deeplinks.deeplink("vote")
async def vote_link(message: Message, rest: str, data: dict[str, Any]) -> None:
    """``/start vote_<poll>_<question>_<choice>`` (also a vote tapped before registering): the poll
    is shown with that choice preselected and a button to confirm it; nothing is recorded until
    the resident presses it (a link posted anywhere must not vote for whoever opens it)."""
    session: AsyncSession = data["session"]
    settings: Settings = data["settings"]
    user: User = data["user"]
    parts = rest.split("_")
    small = [int(p) if p.isascii() and p.isdigit() and len(p) <= 2 else None for p in parts[1:]]
    if len(parts) != 3 or valid_id(parts[0]) is None or None in small:
        await message.answer(texts.vote_error("stale"))
        return
    poll_id, position, choice = int(parts[0]), small[0], small[1]
    assert position is not None and choice is not None
    poll = await polls_service.get_poll(session, poll_id)
    try:
        question = polls_service.open_question(poll, position, data["delivery"].now())
        assert poll is not None
        key = key_of(data["poll_secret"], poll_id, user)
        response = await polls_service.response_of(session, poll.id, key)
        if response is None and not await polls_service.in_audience(session, poll, user):
            raise DomainError("not_for_you")
        options = texts.option_texts(polls_service.poll_json(poll)["questions"][position], user.language,
                                     poll.default_locale)
        if question.kind in polls_service.CHOICE_KINDS and choice < len(options):
            label = options[choice]
        elif question.kind == "scale" and choice in polls_service.SCALE:
            label = str(choice)
        else:
            raise DomainError("bad_choice")
    except DomainError as exc:
        await message.answer(texts.vote_error(exc.code))
        return
    mine = (await polls_service.answers_of(session, response)).get(position, [])
    data_ = polls_service.poll_json(poll)
    markup = keyboards.question(data_, position, user.language, mine, survey_next=len(poll.questions) > 1)
    text = texts.question_text(data_, position, user.language, settings.tz, mine)
    if choice in mine:
        text += "\n\n" + texts.link_choice_kept(label)
    else:
        text += "\n\n" + texts.link_choice(label)
        markup.inline_keyboard.insert(0, [keyboards.confirm_choice(poll.id, position, choice)])
    await message.answer(text, reply_markup=markup)


# ================================================================== /polls

@router.message(Command("polls"))
@router.message(MenuText(MENU_POLLS))
async def polls_command(
    message: Message, session: AsyncSession, user: User | None, roles: set[str], settings: Settings,
    i18n: I18n, delivery: DeliveryEngine, poll_secret: bytes,
) -> None:
    locale = i18n.current_locale
    if roles & ORGANIZING or "admin" in roles:
        text, markup = await _organizer_list(session, settings, locale, await orgs_service.scope_of(session, user, roles))
        await message.answer(text, reply_markup=markup)
        return
    if user is None or not user.is_registered:
        await message.answer(texts.register_first())
        return
    found = await polls_service.open_for(session, user, poll_secret, delivery.now())
    items = [texts.resident_item(polls_service.poll_json(p), step, locale) for p, step in found]
    items = [f"{n}. {item[2:]}" for n, item in enumerate(items, 1)]
    await message.answer(texts.resident_list(items),
                         reply_markup=keyboards.open_polls([(p.id, step) for p, step in found]))


async def _organizer_list(session: AsyncSession, settings: Settings, locale: str,
                          scope: set[int] | None) -> tuple[str, Any]:
    polls = await polls_service.recent_polls(session, orgs=scope)
    people = await polls_service.participants(session, [p.id for p in polls])
    items = []
    for poll in polls:
        name = texts.poll_name(poll.title, poll.questions[0].text, locale, poll.default_locale)
        closes = fmt_datetime(poll.closes_at, locale, settings.tz, "short") if poll.closes_at else None
        items.append(texts.organizer_item(poll.id, name, poll.status, people.get(poll.id, 0), closes, locale))
    return texts.organizer_list(items), keyboards.organizer_list([p.id for p in polls])


async def send_results(
    bot: Bot, chat_id: int, poll: Poll, session: AsyncSession, settings: Settings, community: Community,
    locale: str, *, thread_id: int | None = None,
) -> None:
    """Results with breakdowns as text, then one chart per question with counts."""
    results = await polls_service.results(session, poll, settings.poll_min_group)
    text = texts.results_text(results, poll.status, locale, poll.default_locale, community)
    parts = texts.split(text)
    markup = keyboards.results(poll.id, poll.status, poll.results_published_at is not None,
                               publish_button(settings, "poll", poll.id))
    for n, part in enumerate(parts):
        await bot.send_message(chat_id, part, message_thread_id=thread_id,
                               reply_markup=markup if n == len(parts) - 1 else None)
    album: list[InputMediaPhoto] = []
    for n, q in enumerate(results.questions, 1):
        if q.kind == "text" or not q.answered:
            continue
        labels = texts.question_labels(q, locale, poll.default_locale)
        whole = q.answered if q.kind == "multi" else sum(q.counts)
        image = charts.bar_chart(
            texts.chart_title(n, texts.pick(q.text, locale, poll.default_locale)),
            list(zip(labels, q.counts, strict=True)),
            value_labels=[f"{c} · {texts.pct(c, whole, locale)}" for c in q.counts],
            subtitle=texts.chart_subtitle(q.answered, locale),
        )
        album.append(InputMediaPhoto(media=BufferedInputFile(image, f"poll-{poll.id}-{n}.png"),
                                     caption=texts.chart_caption(n)))
    # charts go as albums of up to 10: one request each, however many questions (groups allow
    # about 20 messages a minute)
    for start in range(0, len(album), 10):
        chunk = album[start:start + 10]
        if len(chunk) == 1:
            await bot.send_photo(chat_id, chunk[0].media, caption=chunk[0].caption, message_thread_id=thread_id)
        else:
            await bot.send_media_group(chat_id, chunk, message_thread_id=thread_id)  # type: ignore[arg-type]


def _staff_chat(callback: CallbackQuery, settings: Settings) -> bool:
    """Organizers' buttons work in private chats of organizers and in the organizers' chat."""
    message = callback.message
    return isinstance(message, Message) and (
        message.chat.type == "private" or message.chat.id == settings.organizers_chat_id)


@staff.callback_query(PollCb.filter())
async def poll_action(
    callback: CallbackQuery, callback_data: PollCb, session: AsyncSession, bot: Bot, user: User | None,
    settings: Settings, community: Community, i18n: I18n, delivery: DeliveryEngine,
    callback_answer: CallbackAnswer, poll_secret: bytes, roles: set[str],
) -> None:
    message = callback.message
    if not isinstance(message, Message) or not _staff_chat(callback, settings):
        callback_answer.text = texts.only_organizers()
        return
    poll = await polls_service.get_poll(session, callback_data.id) if valid_id(callback_data.id) else None
    if poll is not None and not orgs_service.in_scope(poll.org_id, await orgs_service.scope_of(session, user, roles)):
        callback_answer.text, callback_answer.show_alert = texts.only_organizers(), True  # another organisation's
        return
    if poll is None:
        callback_answer.text = texts.no_such_poll()
        return
    locale = i18n.current_locale
    thread = message.message_thread_id if message.is_topic_message else None
    if callback_data.action == "r":
        await send_results(bot, message.chat.id, poll, session, settings, community, locale, thread_id=thread)
    elif callback_data.action == "c":
        closed = await polls_service.close_and_queue(
            session, poll.id, delivery.now(), min_group=settings.poll_min_group,
            organizers_chat_id=settings.organizers_chat_id,
        )
        await session.commit()
        _stop_sending(delivery, closed)
        callback_answer.text = texts.closed_now(poll.id) if closed else texts.already_closed(poll.id)
        await session.refresh(poll)
        if settings.organizers_chat_id is None or message.chat.id != settings.organizers_chat_id:
            await send_results(bot, message.chat.id, poll, session, settings, community, locale, thread_id=thread)
        await close_buttons(callback)
    elif callback_data.action == "pub":
        try:
            count = await polls_service.publish_results(
                session, poll, poll_secret, delivery.now(), user.id if user else None, settings.poll_min_group)
        except DomainError:
            callback_answer.text = texts.already_published()
            callback_answer.show_alert = True
            return
        await session.commit()
        delivery.wake()
        if count == 0:
            callback_answer.text = texts.nobody_took_part()
            callback_answer.show_alert = True
            return
        callback_answer.text = texts.publishing(count, locale)
        await edit_text_markup(callback, keyboards.results(poll.id, "closed", published=True,
                                                           channel=publish_button(settings, "poll", poll.id)))


async def edit_text_markup(callback: CallbackQuery, markup: Any) -> None:
    if isinstance(callback.message, Message):
        try:
            await callback.message.edit_reply_markup(reply_markup=markup)
        except TelegramBadRequest:
            pass


async def close_due(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, delivery: DeliveryEngine) -> int:
    """The periodic check: close every poll whose time has come (once, even across restarts)."""
    closed = 0
    async with sessionmaker() as session:
        for poll_id in await polls_service.due_polls(session, delivery.now()):
            poll = await polls_service.close_and_queue(
                session, poll_id, delivery.now(), min_group=settings.poll_min_group,
                organizers_chat_id=settings.organizers_chat_id)
            await session.commit()
            if poll is not None:
                closed += 1
                _stop_sending(delivery, poll)
    return closed


@jobs.job("poll-close", seconds=DUE_CHECK_SECONDS, at_start=True)
async def close_due_job(ctx: jobs.JobContext) -> None:
    await close_due(ctx.sessionmaker, ctx.settings, ctx.delivery)


def _stop_sending(delivery: DeliveryEngine, poll: Poll | None) -> None:
    """A poll that closed while it was still going out: the rest are not sent (the service
    cancelled them); the queued results and button removals go out."""
    if poll is not None and poll.campaign_id is not None:
        delivery.cancelled(poll.campaign_id)
    delivery.wake()


# ================================================================== /newpoll

def _draft(data: dict[str, Any]) -> PollDraft:
    return PollDraft.from_json(data.get("draft"))


async def _save(state: FSMContext, draft: PollDraft, **extra: Any) -> None:
    await state.update_data(draft=draft.to_json(), **extra)


@staff.message(Command("newpoll"))
async def newpoll(message: Message, state: FSMContext, delivery: DeliveryEngine, session: AsyncSession,
                  user: User | None, roles: set[str]) -> None:
    org_id = await acting.ask(message, session, user, roles, "newpoll")
    if org_id != acting.ASKED:
        await _start(message, state, delivery, org_id)


@staff.callback_query(ActCb.filter(F.cmd == "newpoll"))
async def newpoll_as(callback: CallbackQuery, callback_data: ActCb, state: FSMContext,
                     delivery: DeliveryEngine) -> None:
    await close_buttons(callback)
    await _start(callback.message, state, delivery, callback_data.org or None)  # type: ignore[arg-type]


async def _start(message: Message, state: FSMContext, delivery: DeliveryEngine, org_id: int | None) -> None:
    await state.clear()
    draft = PollDraft(closes_at=delivery.now() + polls_service.DEFAULT_DURATION, audience=Audience().to_json())
    await state.set_state(NewPoll.kind)
    await _save(state, draft, nonce=uuid.uuid4().hex[:16], org_id=org_id)
    await message.answer(texts.ask_kind(first=True), reply_markup=keyboards.kinds())


@staff.callback_query(StateFilter(NewPoll.kind), NewPollCb.filter(F.step == "kind"))
async def chose_kind(callback: CallbackQuery, callback_data: NewPollCb, state: FSMContext, settings: Settings) -> None:
    if callback_data.action not in polls_service.KINDS:
        return
    await close_buttons(callback)
    await state.set_state(NewPoll.question)
    await state.update_data(kind=callback_data.action)
    await callback.message.answer(texts.ask_question(callback_data.action, settings.default_locale))  # type: ignore[union-attr]


@staff.message(StateFilter(NewPoll.kind), F.document)
async def got_file(
    message: Message, state: FSMContext, bot: Bot, session: AsyncSession, settings: Settings,
    community: Community, i18n: I18n, delivery: DeliveryEngine,
) -> None:
    document = message.document
    assert document is not None
    if _draft(await state.get_data()).questions:
        await message.answer(texts.file_only_at_start())
        return
    if (document.file_size or 0) > FILE_MAX:
        await message.answer(texts.file_too_big())
        return
    buffer = await bot.download(document)
    content = buffer.read() if buffer else b""
    try:
        draft = polls_service.parse_file(content, settings.default_locale, SUPPORTED_LOCALES, delivery.now())
    except DomainError as exc:
        await message.answer(texts.bad_file(exc))
        return
    old = _draft(await state.get_data())
    draft.audience = old.audience
    draft.closes_at = draft.closes_at or old.closes_at
    await _save(state, draft)
    await _show_panel(message, bot, state, session, settings, community, i18n, delivery)


@staff.message(StateFilter(NewPoll.kind), NOT_COMMAND)
async def kind_expected(message: Message) -> None:
    await message.answer(texts.ask_kind(first=False), reply_markup=keyboards.kinds())


@staff.message(StateFilter(NewPoll.question), F.text, NOT_COMMAND)
async def got_question(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    kind = data.get("kind") or "single"
    try:
        question, options = polls_service.parse_question(message.text or "", kind)
    except DomainError as exc:
        await message.answer(texts.question_error(exc))
        return
    draft = _draft(data)
    loc = settings.default_locale
    draft.questions.append(QuestionDraft(kind, {loc: question}, [{loc: o} for o in options]))
    await _save(state, draft, target=len(draft.questions) - 1)
    await _show_translations(message, state, settings)


@staff.message(StateFilter(NewPoll.question), NOT_COMMAND)
async def question_expected(message: Message) -> None:
    await message.answer(texts.question_error(DomainError("empty")))


@staff.message(StateFilter(NewPoll.title), F.text, NOT_COMMAND)
async def got_title(message: Message, state: FSMContext, settings: Settings) -> None:
    title = " ".join((message.text or "").split())
    if not title or len(title) > polls_service.TITLE_MAX:
        await message.answer(texts.title_error())
        return
    draft = _draft(await state.get_data())
    draft.title = {settings.default_locale: title}
    await _save(state, draft, target="title")
    await _show_translations(message, state, settings)


@staff.message(StateFilter(NewPoll.title), NOT_COMMAND)
async def title_expected(message: Message) -> None:
    await message.answer(texts.title_error())


def _target_texts(draft: PollDraft, target: Any) -> list[dict[str, str]]:
    """The texts being translated: the title, or a question and its options."""
    if target == "title":
        return [draft.title]
    question = draft.questions[int(target)]
    return [question.text, *question.options]


async def _show_translations(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    draft, target = _draft(data), data.get("target")
    done = [c for c in SUPPORTED_LOCALES if c != settings.default_locale
            and all(c in t for t in _target_texts(draft, target))]
    what = texts.what_title() if target == "title" else texts.what_question(int(target) + 1)
    await state.set_state(NewPoll.translations)
    await message.answer(texts.translations_menu(what, done),
                         reply_markup=keyboards.translations(done, settings.default_locale))


@staff.callback_query(StateFilter(NewPoll.translations), NewPollCb.filter(F.step == "tr"))
async def translations_step(
    callback: CallbackQuery, callback_data: NewPollCb, state: FSMContext, bot: Bot, session: AsyncSession,
    settings: Settings, community: Community, i18n: I18n, delivery: DeliveryEngine,
) -> None:
    message = callback.message
    assert isinstance(message, Message)
    await close_buttons(callback)
    if callback_data.action == "lang" and callback_data.value in SUPPORTED_LOCALES:
        data = await state.get_data()
        with_options = data.get("target") != "title" and bool(_draft(data).questions[int(data["target"])].options)
        await state.set_state(NewPoll.translation)
        await state.update_data(translating=callback_data.value)
        await message.answer(texts.ask_translation(callback_data.value, with_options))
        return
    data = await state.get_data()
    if data.get("target") == "title":  # the title came from "add a question": now its kind
        await state.set_state(NewPoll.kind)
        await message.answer(texts.ask_kind(first=False), reply_markup=keyboards.kinds())
        return
    await _show_panel(message, bot, state, session, settings, community, i18n, delivery)


@staff.message(StateFilter(NewPoll.translation), F.text, NOT_COMMAND)
async def got_translation(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    draft, target, locale = _draft(data), data.get("target"), data.get("translating")
    if locale not in SUPPORTED_LOCALES or target is None:
        await _show_translations(message, state, settings)
        return
    if target == "title":
        title = " ".join((message.text or "").split())
        if not title or len(title) > polls_service.TITLE_MAX:
            await message.answer(texts.title_error())
            return
        draft.title[locale] = title
    else:
        question = draft.questions[int(target)]
        try:
            text, options = polls_service.parse_question(message.text or "", question.kind)
            if len(options) != len(question.options):
                raise DomainError("options_mismatch", count=len(question.options))
        except DomainError as exc:
            await message.answer(texts.question_error(exc))
            return
        question.text[locale] = text
        for option, translated in zip(question.options, options, strict=True):
            option[locale] = translated
    await _save(state, draft, translating=None)
    await _show_translations(message, state, settings)


@staff.message(StateFilter(NewPoll.translation), NOT_COMMAND)
async def translation_expected(message: Message) -> None:
    await message.answer(texts.question_error(DomainError("empty")))


async def _panel(draft: PollDraft, session: AsyncSession, settings: Settings, community: Community,
                 locale: str) -> tuple[str, Any]:
    audience = Audience.from_json(draft.audience)
    count = await campaigns_service.count_audience(session, audience)
    languages = sorted(draft.languages(), key=lambda c: (c != settings.default_locale, SUPPORTED_LOCALES.index(c)))
    closes = (fmt_datetime(draft.closes_at, locale, settings.tz, "medium") + f" ({settings.tz.key})"
              if draft.closes_at else "—")
    text = texts.panel(
        [{"kind": q.kind, "text": q.text} for q in draft.questions],
        texts.pick(draft.title, locale, settings.default_locale) if draft.title else "",
        draft.anonymous, closes, await audience_picker.describe(session, audience, community, locale), count, languages,
        settings.default_locale, locale,
    )
    can_add = len(draft.questions) < polls_service.MAX_QUESTIONS
    return text, keyboards.panel(count, draft.anonymous, can_add, locale)


def _preview_json(draft: PollDraft, settings: Settings) -> dict[str, Any]:
    return {
        "id": 0, "title": draft.title, "anonymous": draft.anonymous, "default_locale": settings.default_locale,
        "closes_at": draft.closes_at.isoformat() if draft.closes_at else None,
        "questions": [{"kind": q.kind, "text": q.text, "options": q.options} for q in draft.questions],
    }


async def _show_panel(
    message: Message, bot: Bot, state: FSMContext, session: AsyncSession, settings: Settings,
    community: Community, i18n: I18n, delivery: DeliveryEngine, *, preview: bool = True,
) -> None:
    await state.set_state(NewPoll.panel)
    draft = _draft(await state.get_data())
    locale = i18n.current_locale
    if preview:
        data = _preview_json(draft, settings)
        await message.answer(texts.preview_intro())
        await message.answer(texts.question_text(data, 0, settings.default_locale, settings.tz),
                             reply_markup=keyboards.question(data, 0, settings.default_locale))
    text, markup = await _panel(draft, session, settings, community, locale)
    await message.answer(text, reply_markup=markup)


@staff.callback_query(StateFilter(NewPoll.panel), NewPollCb.filter(F.step == "cf"))
async def panel_step(
    callback: CallbackQuery, callback_data: NewPollCb, state: FSMContext, session: AsyncSession, bot: Bot,
    user: User | None, settings: Settings, community: Community, i18n: I18n, delivery: DeliveryEngine,
    callback_answer: CallbackAnswer, roles: set[str],
) -> None:
    message = callback.message
    assert isinstance(message, Message)
    data = await state.get_data()
    draft = _draft(data)
    action = callback_data.action
    locale = i18n.current_locale
    if not draft.questions:
        await state.clear()
        await close_buttons(callback)
        await message.answer(texts.draft_expired())
    elif action == "anon":
        draft.anonymous = not draft.anonymous
        await _save(state, draft)
        text, markup = await _panel(draft, session, settings, community, locale)
        await edit_text(callback, text, markup)
    elif action == "add":
        await close_buttons(callback)
        if len(draft.questions) >= polls_service.MAX_QUESTIONS:
            await message.answer(texts.too_many_questions(polls_service.MAX_QUESTIONS))
        elif not draft.title:
            await state.set_state(NewPoll.title)
            await message.answer(texts.ask_title(settings.default_locale))
        else:
            await state.set_state(NewPoll.kind)
            await message.answer(texts.ask_kind(first=False), reply_markup=keyboards.kinds())
    elif action == "closes":
        await close_buttons(callback)
        await state.set_state(NewPoll.closes)
        await message.answer(texts.ask_closes(settings.tz, fmt_example(delivery.now(), settings.tz)))
    elif action == "audience":
        await close_buttons(callback)
        await state.set_state(NewPoll.audience)
        text, markup = await audience_picker.view(
            Audience.from_json(draft.audience), "", session, community, locale, OWNER)
        await message.answer(text, reply_markup=markup)
    elif action == "drop":
        await state.clear()
        await close_buttons(callback)
        await message.answer(texts.draft_dropped())
    elif action == "send":
        await _send(callback, draft, data, state, session, settings, i18n, user, delivery, callback_answer, roles)


@staff.callback_query(StateFilter(NewPoll.audience), AudCb.filter(F.owner == OWNER))
async def audience_step(
    callback: CallbackQuery, callback_data: AudCb, state: FSMContext, session: AsyncSession, bot: Bot,
    settings: Settings, community: Community, i18n: I18n, delivery: DeliveryEngine, callback_answer: CallbackAnswer,
) -> None:
    draft = _draft(await state.get_data())
    audience = Audience.from_json(draft.audience)
    done = await audience_picker.step(callback, callback_data, audience, session, community, i18n.current_locale,
                                      callback_answer)
    draft.audience = audience.to_json()
    await _save(state, draft)
    if done:
        await _show_panel(callback.message, bot, state, session, settings, community, i18n, delivery,  # type: ignore[arg-type]
                          preview=False)


@staff.message(StateFilter(NewPoll.closes), F.text, NOT_COMMAND)
async def got_closes(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, settings: Settings,
    community: Community, i18n: I18n, delivery: DeliveryEngine,
) -> None:
    when = await read_when(message, delivery.now(), settings.tz, i18n.current_locale)
    if when is None:
        return
    draft = _draft(await state.get_data())
    draft.closes_at = when
    await _save(state, draft)
    await _show_panel(message, bot, state, session, settings, community, i18n, delivery, preview=False)


@staff.message(StateFilter(NewPoll.closes), NOT_COMMAND)
async def closes_expected(message: Message, settings: Settings, delivery: DeliveryEngine) -> None:
    await message.answer(texts.ask_closes(settings.tz, fmt_example(delivery.now(), settings.tz)))


async def _send(
    callback: CallbackQuery, draft: PollDraft, data: dict[str, Any], state: FSMContext, session: AsyncSession,
    settings: Settings, i18n: I18n, user: User | None, delivery: DeliveryEngine, callback_answer: CallbackAnswer,
    roles: set[str],
) -> None:
    message = callback.message
    assert isinstance(message, Message)
    now = delivery.now()
    if draft.closes_at is not None and draft.closes_at <= now:
        callback_answer.text = texts.closes_passed()
        callback_answer.show_alert = True
        return
    audience = Audience.from_json(draft.audience)
    key = f"poll:{data.get('nonce')}"
    claimed = await acting.claim(callback, state, session, user, roles, data.get("org_id"), audience, key,
                                 callback_answer)
    if claimed is None:
        return
    count, org = claimed
    poll = await polls_service.create_poll(
        session, draft, default_locale=settings.default_locale, created_by=user.id if user else None, now=now)
    poll.org = org
    await launch(message, session, delivery, i18n.current_locale, kind="poll", org_id=org.id if org else None,
                 payload={"poll": polls_service.poll_json(poll)}, audience=audience, key=key, count=count,
                 created_by=user.id if user else None, now=now, created=lambda _c: texts.created(poll.id),
                 owner=poll)
