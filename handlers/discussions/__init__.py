"""Online discussions (as Pol.is runs them).

Residents get an invitation, then one statement at a time with Agree / Disagree / Pass (the
message changes in place to the next one: fewer-voted statements first, never one they voted on
or wrote), add their own statement, typed or as a voice note (a moderator approves it first, and
writes down what a voice note says: handlers/discussions/moderation.py) and come back later with
"Show me more" or /discussions. Organizers open a discussion with /newdiscussion and follow it with /discussions: agreement per statement, common
ground, divisive statements, opinion groups, as text and a chart. Closing at the set time is the
periodic check's (``close_due``), from the database, so a restart loses nothing.
"""
from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import charts, jobs
from bot.commands import CommandSpec, register
from bot.community import Community
from bot.config import SUPPORTED_LOCALES, Settings
from bot.delivery import DeliveryEngine, Outgoing, RenderContext, register_kind
from bot.i18n import N_, fmt_moment
from bot.scheduler import DUE_CHECK_SECONDS
from bot.services import campaigns as campaigns_service
from bot.updates import after_commit
from bot.services import discussions as service
from bot.services.campaigns import Audience
from bot.services.errors import DomainError
from bot.services.opinions import Analysis
from handlers import chart_texts
from handlers import audience as audience_picker
from handlers import deeplinks, langs
from handlers.audience import AudCb, claim_send
from handlers.langs import WriteCb
from handlers.discussions import keyboards, texts
from handlers.discussions.keyboards import DiscCb, DiscOrgCb, NewDiscCb
from handlers.polls import valid_id
from handlers.polls.texts import pick, split
from handlers.shared import (
    NOT_COMMAND,
    close_buttons,
    edit_text,
    launch,
    publish_button,
    role_routers,
)
from handlers.when import fmt_example, read_when
from storage.models import Discussion, User

register(
    CommandSpec("discussions", N_("Online discussions: agree or disagree")),
    CommandSpec("newdiscussion", N_("Open an online discussion"), frozenset({"organizer"}), purpose="create"),
)

OWNER = "disc"  # of the shared audience picker's buttons
ORGANIZERS = frozenset({"organizer"})
router, staff = role_routers("discussions", ORGANIZERS, texts.only_organizers, DiscOrgCb.filter(),
                             NewDiscCb.filter(), AudCb.filter(F.owner == OWNER), WriteCb.filter(F.owner == OWNER))
residents = Router(name="discussions-residents")
router.include_router(residents)
TEXT_ERRORS = ("empty", "html", "too_short", "too_long", "duplicate")  # the resident tries again


class DiscText(StatesGroup):
    statement = State()  # data: d


class NewDisc(StatesGroup):
    question = State()
    seeds = State()
    panel = State()
    translation = State()  # data: translating
    audience = State()
    closes = State()


def key_of(secret: bytes, discussion_id: int, user: User) -> str:
    return service.participant_key(secret, discussion_id, user.id)


def question_of(discussion: Discussion | service.CachedDiscussion, locale: str) -> str:
    return pick(discussion.question, locale, discussion.default_locale)


# ================================================================== residents

async def next_view(session: AsyncSession, discussion: Discussion | service.CachedDiscussion, user: User, key: str,
                    locale: str, participant_id: int | None = None) -> tuple[str, Any]:
    """The statement the resident votes on next, or "all seen" with Show me more."""
    found, seen, total = await service.next_statement(session, discussion, user, key, participant_id)
    question = question_of(discussion, locale)
    if found is None:
        return texts.all_seen(question, total, locale), keyboards.all_seen(discussion.id)
    return texts.statement_text(question, found.text, seen, total, locale), keyboards.statement(discussion.id, found.id)


async def _open_discussion(session: AsyncSession, discussion_id: int | None, user: User, secret: bytes,
                           now: datetime) -> tuple[Discussion, str]:
    """The discussion, if this resident may vote in it now. Raises DomainError: unknown, closed,
    not_for_you."""
    discussion = service.check_open(await service.get(session, discussion_id) if discussion_id else None, now)
    key = key_of(secret, discussion.id, user)
    if not await service.may_take_part(session, discussion, user, key):
        raise DomainError("not_for_you")
    return discussion, key


@residents.callback_query(DiscCb.filter())
async def resident_button(
    callback: CallbackQuery, callback_data: DiscCb, state: FSMContext, session: AsyncSession,
    user: User | None, settings: Settings, community: Community, i18n: I18n, delivery: DeliveryEngine,
    callback_answer: CallbackAnswer, poll_secret: bytes,
) -> None:
    cb, message = callback_data, callback.message
    if cb.d == 0:
        callback_answer.text = texts.vote_error("preview")
        return
    if not isinstance(message, Message):
        return
    if user is None or not user.is_registered:
        from handlers.registration import begin

        callback_answer.text, callback_answer.show_alert = texts.register_first(), True
        await begin(message, callback.from_user, f"discussion_{valid_id(cb.d) or 0}", state, session, settings,
                    community, i18n)
        return
    locale, now = i18n.current_locale, delivery.now()
    if cb.a in service.VOTES:  # the hot path: the discussion from memory, the vote in three statements
        discussion_id = valid_id(cb.d)
        cached = await service.cached(session, discussion_id) if discussion_id else None
        key = key_of(poll_secret, cached.id, user) if cached is not None else ""
        participant_id: int | None = None
        try:
            participant_id, _changed = await service.tap_vote(session, cached, valid_id(cb.s) or 0, cb.a, user,
                                                              key, now)
            callback_answer.text = texts.saved()
        except DomainError as exc:
            callback_answer.text = texts.vote_error(exc.code)
            if exc.code != "bad_statement":
                callback_answer.show_alert = True
                await close_buttons(callback)
                return
        assert cached is not None
        text, markup = await next_view(session, cached, user, key, locale, participant_id)  # (in the same transaction)
        await session.commit()
        await edit_text(callback, text, markup)
        return
    try:
        discussion, key = await _open_discussion(session, valid_id(cb.d), user, poll_secret, now)
    except DomainError as exc:
        callback_answer.text = texts.vote_error(exc.code)
        if exc.code != "bad_statement":
            callback_answer.show_alert = True
            await close_buttons(callback)
            return
    if cb.a == "later":
        await close_buttons(callback)
        await message.answer(texts.later())
    elif cb.a == "add":
        await state.set_state(DiscText.statement)
        await state.update_data(d=discussion.id)
        await message.answer(texts.ask_statement(question_of(discussion, locale)))
    elif cb.a == "go":  # from an invitation or a list: the statements come in a message of their own
        text, markup = await next_view(session, discussion, user, key, locale)
        await message.answer(text, reply_markup=markup)
    else:  # a vote or "show me more": this message becomes the next statement
        text, markup = await next_view(session, discussion, user, key, locale)
        await edit_text(callback, text, markup)


@residents.message(StateFilter(DiscText.statement), F.text, NOT_COMMAND)
async def got_statement(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, user: User | None,
    settings: Settings, i18n: I18n, delivery: DeliveryEngine, poll_secret: bytes, sessionmaker: Any,
) -> None:
    await _submit(message, state, session, bot, user, settings, i18n, delivery, poll_secret, sessionmaker)


@residents.message(StateFilter(DiscText.statement), F.voice)
async def got_voice_statement(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, user: User | None,
    settings: Settings, i18n: I18n, delivery: DeliveryEngine, poll_secret: bytes, sessionmaker: Any,
) -> None:
    """A voice note instead of text: kept by its file_id; a moderator writes down what it says."""
    assert message.voice is not None
    await _submit(message, state, session, bot, user, settings, i18n, delivery, poll_secret, sessionmaker,
                  voice_file_id=message.voice.file_id)


async def _submit(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, user: User | None,
    settings: Settings, i18n: I18n, delivery: DeliveryEngine, poll_secret: bytes, sessionmaker: Any,
    voice_file_id: str | None = None,
) -> None:
    from handlers.discussions.moderation import post_card_of

    if user is None or not user.is_registered:
        await state.clear()
        return
    discussion = await service.get(session, valid_id((await state.get_data()).get("d") or 0) or 0)
    key = key_of(poll_secret, discussion.id, user) if discussion else ""
    try:
        found = await service.submit(session, discussion, message.text, user, key, delivery.now(),
                                     voice_file_id=voice_file_id)
    except DomainError as exc:
        if exc.code not in TEXT_ERRORS:
            await state.clear()
        await message.answer(texts.statement_error(exc))
        return
    await session.commit()
    await state.clear()
    assert discussion is not None
    await message.answer(texts.statement_sent(voice=voice_file_id is not None))
    await after_commit(functools.partial(post_card_of, sessionmaker, found.id, bot, settings, i18n))
    text, markup = await next_view(session, discussion, user, key, i18n.current_locale)
    await message.answer(text, reply_markup=markup)


@residents.message(StateFilter(DiscText.statement), NOT_COMMAND)
async def statement_expected(message: Message) -> None:
    await message.answer(texts.statement_expected())


@deeplinks.deeplink("discussion")
async def discussion_link(message: Message, rest: str, data: dict[str, Any]) -> None:
    """`/start discussion_<id>`: the next statement (also after registering from a button)."""
    user: User = data["user"]
    try:
        discussion, key = await _open_discussion(data["session"], valid_id(rest), user, data["poll_secret"],
                                                 data["delivery"].now())
    except DomainError as exc:
        await message.answer(texts.vote_error(exc.code))
        return
    text, markup = await next_view(data["session"], discussion, user, key, user.language)
    await message.answer(text, reply_markup=markup)


@deeplinks.deeplink("discussions")
async def discussions_link(message: Message, rest: str, data: dict[str, Any]) -> None:
    await discussions_command(message, **{name: data.get(name) for name in (
        "session", "user", "roles", "settings", "i18n", "delivery", "poll_secret")})


# ================================================================== /discussions

@router.message(Command("discussions"))
async def discussions_command(
    message: Message, session: AsyncSession, user: User | None, roles: set[str], settings: Settings,
    i18n: I18n, delivery: DeliveryEngine, poll_secret: bytes,
) -> None:
    locale = i18n.current_locale
    if roles & {"organizer", "admin"}:
        found = await service.recent(session)
        ids = [d.id for d in found]
        people, pending = await service.participants(session, ids), await service.pending_counts(session, ids)
        items = [texts.organizer_item(
            d.id, question_of(d, locale), d.status, people.get(d.id, 0), pending.get(d.id, 0),
            fmt_moment(d.closes_at, locale, settings.tz) if d.closes_at else None, locale) for d in found]
        await message.answer(texts.organizer_list(items), reply_markup=keyboards.organizer_list(ids))
    elif user is None or not user.is_registered:
        await message.answer(texts.register_first())
        return
    mine = await service.open_for(session, user, poll_secret, delivery.now()) if user and user.is_registered else []
    if not mine and roles & {"organizer", "admin"}:
        return  # an organizer who can take part too also gets the residents' list
    await message.answer(texts.open_list([(question_of(d, locale), left) for d, left in mine], locale),
                         reply_markup=keyboards.open_list([(d.id, left) for d, left in mine]))


async def send_results(bot: Bot, chat_id: int, discussion: Discussion, session: AsyncSession, settings: Settings,
                       locale: str, thread_id: int | None = None) -> None:
    """The results as text (split within Telegram's limit), then the agreement chart."""
    analysis = await service.results(session, discussion, settings.discussion_min_group)
    pending = (await service.pending_counts(session, [discussion.id])).get(discussion.id, 0)
    question = question_of(discussion, locale)
    text = texts.results(discussion.id, question, discussion.status, discussion.closes_at, analysis, pending,
                         settings.discussion_min_group, locale, settings.tz)
    markup = keyboards.results(discussion.id, discussion.status, publish_button(settings, "discussion", discussion.id))
    parts = split(text)
    for n, part in enumerate(parts):
        await bot.send_message(chat_id, part, message_thread_id=thread_id,
                               reply_markup=markup if n == len(parts) - 1 else None)
    bars, labels = texts.chart_bars(analysis.statements, locale)
    if bars:
        subtitle = chart_texts.subtitle(
            chart_texts.participants(analysis.participants, locale),
            chart_texts.period(discussion.created_at, discussion.closes_at, locale, settings.tz))
        image = charts.bar_chart(texts.chart_title(question), bars, value_labels=labels, subtitle=subtitle,
                                 note=texts.chart_subtitle())
        await bot.send_photo(chat_id, BufferedInputFile(image, f"discussion-{discussion.id}.png"),
                             message_thread_id=thread_id)


@staff.callback_query(DiscOrgCb.filter())
async def organizer_button(
    callback: CallbackQuery, callback_data: DiscOrgCb, session: AsyncSession, bot: Bot, settings: Settings,
    i18n: I18n, delivery: DeliveryEngine, callback_answer: CallbackAnswer,
) -> None:
    message = callback.message
    if not isinstance(message, Message):
        return
    discussion = await service.get(session, valid_id(callback_data.id) or 0)
    if discussion is None:
        callback_answer.text = texts.vote_error("unknown")
        return
    thread = message.message_thread_id if message.is_topic_message else None
    if callback_data.a == "c":
        closed = await close_and_queue(session, discussion.id, delivery.now(), settings)
        await session.commit()
        if closed is not None and closed.campaign_id is not None:  # invitations still queued stay unsent
            delivery.cancelled(closed.campaign_id)
        delivery.wake()
        callback_answer.text = texts.closed_now(discussion.id) if closed else texts.already_closed(discussion.id)
        await close_buttons(callback)
        await session.refresh(discussion)
        if settings.organizers_chat_id is not None and message.chat.id == settings.organizers_chat_id:
            return  # the results come there with the closing
    await send_results(bot, message.chat.id, discussion, session, settings, i18n.current_locale, thread)


# ================================================================== closing

async def close_and_queue(session: AsyncSession, discussion_id: int, now: datetime,
                          settings: Settings) -> Discussion | None:
    """Close the discussion and, in the same transaction, queue its results for the organizers'
    chat (the campaign key makes them once-only). None if it was not open."""
    discussion = await service.close(session, discussion_id, now)
    if discussion is None:
        return None
    if discussion.campaign_id is not None:  # invitations still going out: nobody else gets one
        await campaigns_service.cancel_campaign(session, discussion.campaign_id, now)
    if settings.organizers_chat_id is not None:
        analysis = await service.results(session, discussion, settings.discussion_min_group)
        await campaigns_service.create_campaign(
            session, kind="discussion-results-org", key=f"discussion:{discussion.id}:results", urgent=True, now=now,
            payload={"id": discussion.id, "question": discussion.question,
                     "default_locale": discussion.default_locale, "analysis": analysis.to_json()},
            audience=Audience(residents=False, chat_ids=[settings.organizers_chat_id]))
    return discussion


async def close_due(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                    delivery: DeliveryEngine) -> int:
    """The periodic check: close every discussion whose time has come (once, even across restarts)."""
    closed = 0
    async with sessionmaker() as session:
        for discussion_id in await service.due(session, delivery.now()):
            done = await close_and_queue(session, discussion_id, delivery.now(), settings)
            await session.commit()
            if done is not None:
                closed += 1
                if done.campaign_id is not None:
                    delivery.cancelled(done.campaign_id)
    if closed:
        delivery.wake()
    return closed


@jobs.job("discussion-close", seconds=DUE_CHECK_SECONDS, at_start=True)
async def close_due_job(ctx: jobs.JobContext) -> None:
    await close_due(ctx.sessionmaker, ctx.settings, ctx.delivery)


def render_invitation(ctx: RenderContext) -> Outgoing:
    data = ctx.payload["discussion"]
    assert ctx.settings is not None
    closes = datetime.fromisoformat(data["closes_at"]) if data.get("closes_at") else None
    return Outgoing(text=texts.invitation(data["question"], data["default_locale"], closes, ctx.locale,
                                          ctx.settings.tz),
                    reply_markup=keyboards.invitation(int(data["id"])))


def render_results_org(ctx: RenderContext) -> Outgoing:
    payload, settings = ctx.payload, ctx.settings
    assert settings is not None
    analysis = Analysis.from_json(payload["analysis"])
    text = texts.results_intro_org() + "\n\n" + texts.results(
        payload["id"], pick(payload["question"], ctx.locale, payload["default_locale"]), "closed", None, analysis,
        0, settings.discussion_min_group, ctx.locale, settings.tz)
    channel = publish_button(settings, "discussion", payload["id"])
    return Outgoing(text=split(text)[0], reply_markup=keyboards.results(payload["id"], "closed", channel))


register_kind("discussion", render_invitation,  # the organizer's progress names it by its own number
              title=lambda campaign: texts.number(campaign.payload["discussion"]["id"]))
register_kind("discussion-results-org", render_results_org)


# ================================================================== /newdiscussion

async def _draft(state: FSMContext) -> dict[str, Any]:
    return (await state.get_data()).get("draft") or {}


async def _save(state: FSMContext, draft: dict[str, Any]) -> None:
    await state.update_data(draft=draft)


def _lang(data: dict[str, Any], settings: Settings) -> str:
    """The language the organizer writes the question in (their own unless they chose another)."""
    return langs.writing(data, settings.default_locale)


@staff.message(Command("newdiscussion"))
async def newdiscussion(message: Message, state: FSMContext, i18n: I18n, delivery: DeliveryEngine) -> None:
    await state.clear()
    await state.set_state(NewDisc.question)
    closes = (delivery.now() + service.DEFAULT_DURATION).replace(minute=0, second=0, microsecond=0)  # a round hour
    await state.update_data(nonce=uuid.uuid4().hex[:16], draft={
        "question": {}, "seeds": [], "audience": Audience().to_json(), "closes_at": closes.isoformat()})
    await langs.ask(message, state, OWNER, i18n.current_locale, texts.ask_question(i18n.current_locale))


@staff.callback_query(StateFilter(NewDisc.question), WriteCb.filter((F.owner == OWNER) & (F.a == "in")))
async def question_language(callback: CallbackQuery, callback_data: WriteCb, state: FSMContext) -> None:
    await langs.switched(callback, callback_data, state, texts.ask_question)


def _question(text: str | None, lang: str) -> str:
    """The question in ``lang`` alone (DomainError as service.clean_question, and language_line)."""
    return service.clean_question(langs.strip_code(text, lang), lang, (lang,))[lang]


def _question_error(exc: DomainError, lang: str) -> str:
    return langs.language_line_error(exc, lang) if exc.code == "language_line" else texts.question_error(exc)


@staff.message(StateFilter(NewDisc.question), F.text, NOT_COMMAND)
async def got_question(message: Message, state: FSMContext, settings: Settings) -> None:
    lang = _lang(await state.get_data(), settings)
    try:
        question = _question(message.text, lang)
    except DomainError as exc:
        await message.answer(_question_error(exc, lang))
        return
    draft = await _draft(state)
    draft["question"] = {lang: question}
    await _save(state, draft)
    await state.set_state(NewDisc.seeds)
    await message.answer(texts.ask_seeds())


@staff.message(StateFilter(NewDisc.question), NOT_COMMAND)
async def question_expected(message: Message) -> None:
    await message.answer(texts.question_error(DomainError("empty")))


@staff.message(StateFilter(NewDisc.seeds), F.text, NOT_COMMAND)
async def got_seed(message: Message, state: FSMContext, i18n: I18n) -> None:
    draft = await _draft(state)
    seeds = list(draft.get("seeds") or [])
    try:
        service.add_seed(seeds, message.text)
    except DomainError as exc:
        await message.answer(texts.seed_error(exc))
        return
    draft["seeds"] = seeds
    await _save(state, draft)
    await message.answer(texts.seed_added(len(seeds), i18n.current_locale), reply_markup=keyboards.seeds(len(seeds)))


@staff.message(StateFilter(NewDisc.seeds), NOT_COMMAND)
async def seed_expected(message: Message) -> None:
    await message.answer(texts.statement_error(DomainError("empty")))


async def _show_panel(message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
                      community: Community, locale: str) -> None:
    draft = await _draft(state)
    lang = _lang(await state.get_data(), settings)
    audience = Audience.from_json(draft.get("audience"))
    count = await campaigns_service.count_audience(session, audience)
    closes = datetime.fromisoformat(draft["closes_at"])
    await state.set_state(NewDisc.panel)
    await message.answer(
        texts.panel(draft["question"], draft["seeds"], await audience_picker.describe(session, audience, community, locale),
                    fmt_moment(closes, locale, settings.tz) + f" ({settings.tz.key})", count, locale, lang),
        reply_markup=keyboards.panel(count, langs.add_buttons(OWNER, lang, draft["question"])))


@staff.callback_query(StateFilter(NewDisc.panel), WriteCb.filter((F.owner == OWNER) & (F.a == "add")))
async def translation_step(callback: CallbackQuery, callback_data: WriteCb, state: FSMContext,
                           settings: Settings) -> None:
    locale = langs.requested(callback_data, _lang(await state.get_data(), settings))
    if locale is None:
        return
    await close_buttons(callback)
    await state.set_state(NewDisc.translation)
    await state.update_data(translating=locale)
    await callback.message.answer(texts.ask_translation(locale))  # type: ignore[union-attr]


@staff.message(StateFilter(NewDisc.translation), F.text, NOT_COMMAND)
async def got_translation(message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
                          community: Community, i18n: I18n) -> None:
    locale = str((await state.get_data()).get("translating"))
    try:
        question = _question(message.text, locale) if locale in SUPPORTED_LOCALES else ""
    except DomainError as exc:
        await message.answer(_question_error(exc, locale))
        return
    draft = await _draft(state)
    if question:
        draft["question"][locale] = question
        await _save(state, draft)
    await _show_panel(message, state, session, settings, community, i18n.current_locale)


@staff.message(StateFilter(NewDisc.translation), NOT_COMMAND)
async def translation_expected(message: Message) -> None:
    await message.answer(texts.question_error(DomainError("empty")))


@staff.callback_query(StateFilter(NewDisc.seeds, NewDisc.panel), NewDiscCb.filter())
async def wizard_button(
    callback: CallbackQuery, callback_data: NewDiscCb, state: FSMContext, session: AsyncSession,
    user: User | None, settings: Settings, community: Community, i18n: I18n, delivery: DeliveryEngine,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback.message
    assert isinstance(message, Message)
    draft, locale, action = await _draft(state), i18n.current_locale, callback_data.a
    if len(draft.get("seeds") or []) < 2:
        callback_answer.text, callback_answer.show_alert = texts.seeds_needed(), True
        return
    if action == "seeds-done":
        await close_buttons(callback)
        await _show_panel(message, state, session, settings, community, locale)
    elif action == "audience":
        await close_buttons(callback)
        await state.set_state(NewDisc.audience)
        text, markup = await audience_picker.view(Audience.from_json(draft["audience"]), "", session, community,
                                                  locale, OWNER)
        await message.answer(text, reply_markup=markup)
    elif action == "closes":
        await close_buttons(callback)
        await state.set_state(NewDisc.closes)
        await message.answer(texts.ask_closes(settings.tz, fmt_example(delivery.now(), settings.tz)))
    elif action == "drop":
        await state.clear()
        await close_buttons(callback)
        await message.answer(texts.dropped())
    elif action == "open":
        await _open(callback, draft, state, session, user, i18n, delivery, callback_answer, settings)


@staff.callback_query(StateFilter(NewDisc.audience), AudCb.filter(F.owner == OWNER))
async def audience_step(
    callback: CallbackQuery, callback_data: AudCb, state: FSMContext, session: AsyncSession, settings: Settings,
    community: Community, i18n: I18n, callback_answer: CallbackAnswer,
) -> None:
    draft = await _draft(state)
    audience = Audience.from_json(draft.get("audience"))
    done = await audience_picker.step(callback, callback_data, audience, session, community, i18n.current_locale,
                                      callback_answer)
    draft["audience"] = audience.to_json()
    await _save(state, draft)
    if done:
        await _show_panel(callback.message, state, session, settings, community, i18n.current_locale)  # type: ignore[arg-type]


@staff.message(StateFilter(NewDisc.closes), F.text, NOT_COMMAND)
async def got_closes(message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
                     community: Community, i18n: I18n, delivery: DeliveryEngine) -> None:
    when = await read_when(message, delivery.now(), settings.tz, i18n.current_locale)
    if when is None:
        return
    draft = await _draft(state)
    draft["closes_at"] = when.isoformat()
    await _save(state, draft)
    await _show_panel(message, state, session, settings, community, i18n.current_locale)


@staff.message(StateFilter(NewDisc.closes), NOT_COMMAND)
async def closes_expected(message: Message, settings: Settings, delivery: DeliveryEngine) -> None:
    await message.answer(texts.ask_closes(settings.tz, fmt_example(delivery.now(), settings.tz)))


async def _open(callback: CallbackQuery, draft: dict[str, Any], state: FSMContext, session: AsyncSession,
                user: User | None, i18n: I18n, delivery: DeliveryEngine, callback_answer: CallbackAnswer,
                settings: Settings) -> None:
    message = callback.message
    assert isinstance(message, Message)
    now, closes = delivery.now(), datetime.fromisoformat(draft["closes_at"])
    if closes <= now:
        callback_answer.text, callback_answer.show_alert = texts.closes_passed(), True
        return
    audience = Audience.from_json(draft["audience"])
    key = f"discussion:{(await state.get_data()).get('nonce')}"
    count = await claim_send(callback, state, session, audience, key, callback_answer)
    if count is None:
        return
    discussion = await service.create(session, draft["question"], draft["seeds"], audience.to_json(), closes,
                                      _lang(await state.get_data(), settings), user.id if user else None, now)
    payload = {"discussion": {"id": discussion.id, "question": discussion.question,
                              "default_locale": discussion.default_locale, "closes_at": closes.isoformat()}}
    await launch(message, session, delivery, i18n.current_locale, kind="discussion", payload=payload,
                 audience=audience, key=key, count=count, created_by=user.id if user else None, now=now,
                 created=lambda _c: texts.created(discussion.id), owner=discussion)
