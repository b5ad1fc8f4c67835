"""/newpoll: the organizer builds a poll or a survey (or sends a survey file), then sends it."""
from __future__ import annotations

import uuid
from typing import Any

from aiogram import Bot, F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from bot.config import SUPPORTED_LOCALES, Settings
from bot.delivery import DeliveryEngine
from bot.i18n import fmt_moment
from bot.services import campaigns as campaigns_service
from bot.services import polls as polls_service
from bot.services.campaigns import Audience
from bot.services.errors import DomainError
from bot.services.polls import PollDraft, QuestionDraft
from handlers import acting, langs
from handlers import audience as audience_picker
from handlers.acting import ActCb
from handlers.audience import AudCb
from handlers.langs import WriteCb
from handlers.polls import keyboards, texts
from handlers.polls.base import FILE_MAX, NOT_COMMAND, OWNER, NewPoll, staff
from handlers.polls.keyboards import NewPollCb
from handlers.shared import close_buttons, edit_text, launch
from handlers.when import fmt_example, read_when
from storage.models import User


def _draft(data: dict[str, Any]) -> PollDraft:
    return PollDraft.from_json(data.get("draft"))


async def _save(state: FSMContext, draft: PollDraft, **extra: Any) -> None:
    await state.update_data(draft=draft.to_json(), **extra)


@staff.message(Command("newpoll"))
async def newpoll(message: Message, state: FSMContext, delivery: DeliveryEngine, session: AsyncSession,
                  user: User | None, roles: set[str], i18n: I18n) -> None:
    org_id = await acting.ask(message, session, user, roles, "newpoll")
    if org_id != acting.ASKED:
        await _start(message, state, delivery, org_id, i18n.current_locale)


@staff.callback_query(ActCb.filter(F.cmd == "newpoll"))
async def newpoll_as(callback: CallbackQuery, callback_data: ActCb, state: FSMContext,
                     delivery: DeliveryEngine, i18n: I18n) -> None:
    await close_buttons(callback)
    await _start(callback.message, state, delivery, callback_data.org or None, i18n.current_locale)  # type: ignore[arg-type]


def _lang(data: dict[str, Any], settings: Settings) -> str:
    """The language the organizer writes the poll in (their own unless they chose another; a
    survey file's own): the poll's default language."""
    return langs.writing(data, settings.default_locale)


async def _start(message: Message, state: FSMContext, delivery: DeliveryEngine, org_id: int | None,
                 locale: str) -> None:
    await state.clear()
    draft = PollDraft(closes_at=delivery.now() + polls_service.DEFAULT_DURATION, audience=Audience().to_json())
    await state.set_state(NewPoll.kind)
    await _save(state, draft, nonce=uuid.uuid4().hex[:16], org_id=org_id, **{langs.KEY: locale})
    await message.answer(texts.ask_kind(first=True), reply_markup=keyboards.kinds())


@staff.callback_query(StateFilter(NewPoll.kind), NewPollCb.filter(F.step == "kind"))
async def chose_kind(callback: CallbackQuery, callback_data: NewPollCb, state: FSMContext, settings: Settings) -> None:
    if callback_data.action not in polls_service.KINDS:
        return
    await close_buttons(callback)
    await state.set_state(NewPoll.question)
    await state.update_data(kind=callback_data.action)
    data = await state.get_data()
    lang, message = _lang(data, settings), callback.message
    assert isinstance(message, Message)
    if _fresh(data):  # the first text: its language can still change
        await langs.ask(message, state, OWNER, lang, texts.ask_question(callback_data.action, lang, first=True))
    else:
        await message.answer(texts.ask_question(callback_data.action, lang))


def _fresh(data: dict[str, Any]) -> bool:
    draft = _draft(data)
    return not draft.questions and not draft.title


@staff.callback_query(StateFilter(NewPoll.question), WriteCb.filter((F.owner == OWNER) & (F.a == "in")))
async def question_language(callback: CallbackQuery, callback_data: WriteCb, state: FSMContext) -> None:
    data = await state.get_data()
    if _fresh(data):
        kind = data.get("kind") or "single"
        await langs.switched(callback, callback_data, state, lambda code: texts.ask_question(kind, code, first=True))


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
        # the file's own language, else the community's: never the uploader's
        draft = polls_service.parse_file(content, settings.default_locale, SUPPORTED_LOCALES, delivery.now())
    except DomainError as exc:
        await message.answer(texts.bad_file(exc))
        return
    old = _draft(await state.get_data())
    draft.audience = old.audience
    draft.closes_at = draft.closes_at or old.closes_at
    await _save(state, draft, **{langs.KEY: draft.language or settings.default_locale})
    await _show_panel(message, bot, state, session, settings, community, i18n, delivery)


@staff.message(StateFilter(NewPoll.kind), NOT_COMMAND)
async def kind_expected(message: Message) -> None:
    await message.answer(texts.ask_kind(first=False), reply_markup=keyboards.kinds())


@staff.message(StateFilter(NewPoll.question), F.text, NOT_COMMAND)
async def got_question(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    kind = data.get("kind") or "single"
    loc = _lang(data, settings)
    try:
        question, options = polls_service.parse_question(langs.strip_code(message.text, loc), kind)
    except DomainError as exc:
        await message.answer(_question_error(exc, loc))
        return
    draft = _draft(data)
    draft.questions.append(QuestionDraft(kind, {loc: question}, [{loc: o} for o in options]))
    await _save(state, draft, target=len(draft.questions) - 1)
    await _show_translations(message, state, settings)


@staff.message(StateFilter(NewPoll.question), NOT_COMMAND)
async def question_expected(message: Message) -> None:
    await message.answer(texts.question_error(DomainError("empty")))


@staff.message(StateFilter(NewPoll.title), F.text, NOT_COMMAND)
async def got_title(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    try:
        title = " ".join(langs.strip_code(message.text, _lang(data, settings)).split())
    except DomainError as exc:
        await message.answer(langs.language_line_error(exc, _lang(data, settings)))
        return
    if not title or len(title) > polls_service.TITLE_MAX:
        await message.answer(texts.title_error())
        return
    draft = _draft(data)
    draft.title = {_lang(data, settings): title}
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
    draft, target, lang = _draft(data), data.get("target"), _lang(data, settings)
    done = [c for c in SUPPORTED_LOCALES if c != lang and all(c in t for t in _target_texts(draft, target))]
    what = texts.what_title() if target == "title" else texts.what_question(int(target) + 1)
    await state.set_state(NewPoll.translations)
    await message.answer(langs.menu_text(lang, done, what), reply_markup=langs.menu_keyboard(OWNER, lang, done))


def _question_error(exc: DomainError, lang: str) -> str:
    return langs.language_line_error(exc, lang) if exc.code == "language_line" else texts.question_error(exc)


@staff.callback_query(StateFilter(NewPoll.translations), WriteCb.filter((F.owner == OWNER) & F.a.in_({"add", "next"})))
async def translations_step(
    callback: CallbackQuery, callback_data: WriteCb, state: FSMContext, bot: Bot, session: AsyncSession,
    settings: Settings, community: Community, i18n: I18n, delivery: DeliveryEngine,
) -> None:
    message = callback.message
    assert isinstance(message, Message)
    data = await state.get_data()
    locale = langs.requested(callback_data, _lang(data, settings))
    if callback_data.a == "add":
        if locale is None:
            return
        await close_buttons(callback)
        with_options = data.get("target") != "title" and bool(_draft(data).questions[int(data["target"])].options)
        await state.set_state(NewPoll.translation)
        await state.update_data(translating=locale)
        await message.answer(texts.ask_translation(locale, with_options))
        return
    await close_buttons(callback)
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
    try:
        typed = langs.strip_code(message.text, locale)
    except DomainError as exc:
        await message.answer(langs.language_line_error(exc, locale))
        return
    if target == "title":
        title = " ".join(typed.split())
        if not title or len(title) > polls_service.TITLE_MAX:
            await message.answer(texts.title_error())
            return
        draft.title[locale] = title
    else:
        question = draft.questions[int(target)]
        try:
            text, options = polls_service.parse_question(typed, question.kind)
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
                 locale: str, lang: str) -> tuple[str, Any]:
    audience = Audience.from_json(draft.audience)
    count = await campaigns_service.count_audience(session, audience)
    languages = sorted(draft.languages(), key=lambda c: (c != lang, SUPPORTED_LOCALES.index(c)))
    closes = (fmt_moment(draft.closes_at, locale, settings.tz) + f" ({settings.tz.key})"
              if draft.closes_at else "—")
    text = texts.panel(
        [{"kind": q.kind, "text": q.text} for q in draft.questions],
        texts.pick(draft.title, locale, lang) if draft.title else "",
        draft.anonymous, closes, await audience_picker.describe(session, audience, community, locale), count, languages,
        lang, locale,
    )
    can_add = len(draft.questions) < polls_service.MAX_QUESTIONS
    return text, keyboards.panel(count, draft.anonymous, can_add, locale)


def _preview_json(draft: PollDraft, lang: str) -> dict[str, Any]:
    return {
        "id": 0, "title": draft.title, "anonymous": draft.anonymous, "default_locale": lang,
        "closes_at": draft.closes_at.isoformat() if draft.closes_at else None,
        "questions": [{"kind": q.kind, "text": q.text, "options": q.options} for q in draft.questions],
    }


async def _show_panel(
    message: Message, bot: Bot, state: FSMContext, session: AsyncSession, settings: Settings,
    community: Community, i18n: I18n, delivery: DeliveryEngine, *, preview: bool = True,
) -> None:
    await state.set_state(NewPoll.panel)
    state_data = await state.get_data()
    draft, lang = _draft(state_data), _lang(state_data, settings)
    locale = i18n.current_locale
    if preview:
        data = _preview_json(draft, lang)
        await message.answer(texts.preview_intro())
        await message.answer(texts.question_text(data, 0, lang, settings.tz),
                             reply_markup=keyboards.question(data, 0, lang))
    text, markup = await _panel(draft, session, settings, community, locale, lang)
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
        text, markup = await _panel(draft, session, settings, community, locale, _lang(data, settings))
        await edit_text(callback, text, markup)
    elif action == "add":
        await close_buttons(callback)
        if len(draft.questions) >= polls_service.MAX_QUESTIONS:
            await message.answer(texts.too_many_questions(polls_service.MAX_QUESTIONS))
        elif not draft.title:
            await state.set_state(NewPoll.title)
            await message.answer(texts.ask_title(_lang(data, settings)))
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
        session, draft, default_locale=_lang(data, settings), created_by=user.id if user else None, now=now)
    poll.org = org
    await launch(message, session, delivery, i18n.current_locale, kind="poll", org_id=org.id if org else None,
                 payload={"poll": polls_service.poll_json(poll)}, audience=audience, key=key, count=count,
                 created_by=user.id if user else None, now=now, created=lambda _c: texts.created(poll.id),
                 owner=poll)
