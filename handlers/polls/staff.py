"""Organizers follow polls: /polls, the results with charts, closing and publishing the results."""
from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, InputMediaPhoto, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot import charts
from bot.commands import ORGANIZING
from bot.community import Community
from bot.config import Settings
from bot.delivery import DeliveryEngine
from bot.i18n import fmt_moment
from bot.services import orgs as orgs_service
from bot.services import polls as polls_service
from bot.services.errors import DomainError
from handlers import chart_texts, confirm
from handlers.polls import keyboards, texts
from handlers.polls.base import router, staff, valid_id
from handlers.polls.jobs import stop_sending
from handlers.polls.keyboards import PollCb
from handlers.shared import MENU_POLLS, MenuText, publish_button
from storage.models import Poll, User


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
        closes = fmt_moment(poll.closes_at, locale, settings.tz) if poll.closes_at else None
        items.append(texts.organizer_item(poll.id, name, poll.status, people.get(poll.id, 0), closes, locale))
    return texts.organizer_list(items), keyboards.organizer_list([p.id for p in polls])


async def send_results(
    bot: Bot, chat_id: int, poll: Poll, session: AsyncSession, settings: Settings, community: Community,
    locale: str, *, thread_id: int | None = None,
) -> None:
    """The results: totals per question and the free-text answers, with "📊 Charts and
    breakdowns" (:func:`send_breakdowns`) below."""
    results = await polls_service.results(session, poll, settings.poll_min_group)
    text = texts.results_text(results, poll.status, locale, poll.default_locale, community, breakdowns=False,
                              free_texts=True)
    parts = texts.split(text)
    markup = keyboards.results(poll.id, poll.status, poll.results_published_at is not None,
                               publish_button(settings, "poll", poll.id))
    for n, part in enumerate(parts):
        await bot.send_message(chat_id, part, message_thread_id=thread_id,
                               reply_markup=markup if n == len(parts) - 1 else None)


async def send_breakdowns(
    bot: Bot, chat_id: int, poll: Poll, session: AsyncSession, settings: Settings, community: Community,
    locale: str, *, thread_id: int | None = None,
) -> None:
    """Below the results: the breakdowns by district and language (or why there are none), then
    one chart per question with counts."""
    results = await polls_service.results(session, poll, settings.poll_min_group)
    for part in texts.split(texts.breakdowns_text(results, locale, poll.default_locale, community)):
        await bot.send_message(chat_id, part, message_thread_id=thread_id)
    album: list[InputMediaPhoto] = []
    for n, q in enumerate(results.questions, 1):
        if q.kind == "text" or not q.answered:
            continue
        labels = texts.question_labels(q, locale, poll.default_locale)
        if q.kind == "scale":
            labels = chart_texts.scale_labels(labels)
        whole = q.answered if q.kind == "multi" else sum(q.counts)
        image = charts.bar_chart(
            texts.chart_title(n, texts.pick(q.text, locale, poll.default_locale)),
            list(zip(labels, q.counts, strict=True)),
            value_labels=[f"{c} · {texts.pct(c, whole, locale)}" for c in q.counts],
            subtitle=chart_texts.subtitle(
                texts.pick(poll.title, locale, poll.default_locale) if poll.title else None,
                chart_texts.answered(q.answered, locale),
                chart_texts.period(poll.created_at, poll.closed_at or poll.closes_at, locale, settings.tz)),
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


def _charts_pending(message: Message, poll_id: int) -> bool:
    """Whether this results message still has its "Charts and breakdowns" button."""
    wanted = PollCb(action="b", id=poll_id).pack()
    markup = message.reply_markup
    return bool(markup and any(b.callback_data == wanted for row in markup.inline_keyboard for b in row))


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
    elif callback_data.action == "b":  # once per results message: the button goes, what it shows follows
        if not _charts_pending(message, poll.id):
            callback_answer.text = texts.breakdowns_shown()
            return
        await edit_text_markup(callback, keyboards.results(
            poll.id, poll.status, poll.results_published_at is not None, publish_button(settings, "poll", poll.id),
            charts=False))
        await send_breakdowns(bot, message.chat.id, poll, session, settings, community, locale, thread_id=thread)
    elif callback_data.action == "c":  # asks first
        if poll.status != "open":  # and the pressed message gets the buttons of a closed poll
            callback_answer.text = texts.already_closed(poll.id)
            await edit_text_markup(callback, keyboards.results(poll.id, poll.status, poll.results_published_at is not None,
                                                               publish_button(settings, "poll", poll.id),
                                                               charts=_charts_pending(message, poll.id)))
            return
        name = texts.poll_name(poll.title, poll.questions[0].text, locale, poll.default_locale)
        await message.answer(texts.ask_close(poll.id, name), reply_markup=confirm.keyboard(
            texts.close_yes(), PollCb(action="cy", id=poll.id), PollCb(action="cn", id=poll.id)))
    elif callback_data.action == "cn":
        await confirm.settle(callback, texts.kept_open(poll.id) if poll.status == "open"
                             else texts.already_closed(poll.id))
    elif callback_data.action == "cy":  # confirmed: closed only if it is still open
        closed = await polls_service.close_and_queue(
            session, poll.id, delivery.now(), min_group=settings.poll_min_group,
            organizers_chat_id=settings.organizers_chat_id,
        )
        await session.commit()
        stop_sending(delivery, closed)
        outcome = texts.closed_now(poll.id) if closed else texts.already_closed(poll.id)
        callback_answer.text = outcome
        await confirm.settle(callback, outcome)
        if closed and (settings.organizers_chat_id is None or message.chat.id != settings.organizers_chat_id):
            await session.refresh(poll)
            await send_results(bot, message.chat.id, poll, session, settings, community, locale, thread_id=thread)
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
                                                           channel=publish_button(settings, "poll", poll.id),
                                                           charts=_charts_pending(message, poll.id)))


async def edit_text_markup(callback: CallbackQuery, markup: Any) -> None:
    if isinstance(callback.message, Message):
        try:
            await callback.message.edit_reply_markup(reply_markup=markup)
        except TelegramBadRequest:
            pass


