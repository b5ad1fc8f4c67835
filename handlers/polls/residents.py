"""Residents answer polls and surveys: taps on the poll message, typed answers, links."""
from __future__ import annotations

from typing import Any

from aiogram import Bot, F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from bot.config import Settings
from bot.delivery import DeliveryEngine
from bot.services import polls as polls_service
from bot.services.errors import DomainError
from bot.services.polls import CachedPoll
from handlers import deeplinks
from handlers.polls import keyboards, texts
from handlers.polls.base import MENU_TEXT, NOT_COMMAND, TAPS, PollText, key_of, residents, valid_id
from handlers.polls.keyboards import VoteCb
from handlers.shared import close_buttons, edit_text
from storage.models import Poll, User


def _data(poll: Poll | CachedPoll) -> dict[str, Any]:
    """What a poll's messages are rendered from (a cached poll keeps it made)."""
    return poll.data if isinstance(poll, CachedPoll) else polls_service.poll_json(poll)


async def send_question(
    bot: Bot, chat_id: int, poll: Poll | CachedPoll, position: int, mine: list[int | str], settings: Settings,
    locale: str, state: FSMContext | None = None,
) -> None:
    """Send a question; a free-text one also waits for the resident's next message as its answer
    (the "Write my answer" button is then only a hint)."""
    data = _data(poll)
    survey = len(poll.questions) > 1
    await bot.send_message(
        chat_id, texts.question_text(data, position, locale, settings.tz, mine),
        reply_markup=keyboards.question(data, position, locale, mine, survey_next=survey),
    )
    if state is not None and data["questions"][position]["kind"] == "text" and not mine:
        await state.set_state(PollText.answer)
        await state.update_data(poll=poll.id, q=position)


async def _show_step(
    bot: Bot, chat_id: int, poll: Poll, user: User, session: AsyncSession, settings: Settings, locale: str,
    poll_secret: bytes, state: FSMContext | None = None,
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
    await send_question(bot, chat_id, poll, min(step, len(poll.questions) - 1), answers.get(step, []), settings, locale,
                        state)


async def _after_answer(
    bot: Bot, chat_id: int, poll: Poll | CachedPoll, answered: polls_service.Answered, position: int,
    session: AsyncSession, settings: Settings, locale: str, state: FSMContext | None = None,
) -> None:
    """In a survey, the first answer to the resident's current question brings the next one."""
    if len(poll.questions) == 1 or not answered.advanced:
        return
    if answered.response.completed_at is not None and answered.response.step >= len(poll.questions):
        await bot.send_message(chat_id, texts.survey_done())
        return
    nxt = answered.response.step
    answers = await polls_service.answers_of(session, answered.response)
    await send_question(bot, chat_id, poll, nxt, answers.get(nxt, []), settings, locale, state)


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
        await _after_answer(bot, message.chat.id, cached, answered, cb.q, session, settings, locale, state)
        return
    poll = await polls_service.get_poll(session, cb.p)
    try:
        if cb.a == "s":
            if poll is None or poll.status != "open" or (poll.closes_at and poll.closes_at <= now):
                raise DomainError("closed" if poll else "unknown_poll")
            await _show_step(bot, message.chat.id, poll, user, session, settings, locale, poll_secret, state)
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
    await _after_answer(bot, message.chat.id, poll, answered, cb.q, session, settings, locale, state)


@residents.message(StateFilter(PollText.answer), F.text, NOT_COMMAND, ~MENU_TEXT)
async def text_answer(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, user: User | None,
    settings: Settings, i18n: I18n, delivery: DeliveryEngine, poll_secret: bytes,
) -> None:
    data = await state.get_data()
    if user is None or not user.is_registered:
        await state.clear()
        return
    await take_text_answer(message, state, session, bot, user, settings, i18n, delivery, poll_secret,
                           int(data.get("poll") or 0), int(data.get("q") or 0))


async def take_text_answer(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, user: User, settings: Settings,
    i18n: I18n, delivery: DeliveryEngine, poll_secret: bytes, poll_id: int, position: int,
) -> None:
    """The resident's message is their answer to the free-text question ``position`` of the poll:
    saved, shown back under the question, and a survey's next question follows."""
    poll = await polls_service.get_poll(session, poll_id)
    try:
        answered = await polls_service.answer_text(
            session, poll, position, message.text or "", user, key_of(poll_secret, poll_id, user), delivery.now(),
        )
    except DomainError as exc:
        if exc.code in ("empty", "too_long"):
            await state.set_state(PollText.answer)  # the question still waits for its answer
            await state.update_data(poll=poll_id, q=position)
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
    await _after_answer(bot, message.chat.id, poll, answered, position, session, settings, locale, state)


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


