"""Organizers: /recommendations (the list, a card with the evidence then and now, the next steps),
/newrec (the wizard) and the evidence of a draft. Every button is re-checked on the server (the
organizer role, by the router) and every step by the service (a stale tap changes nothing)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from bot.config import SUPPORTED_LOCALES, Settings
from bot.delivery import DeliveryEngine
from bot.i18n import shorten
from bot.services import campaigns as campaigns_service
from bot.services import recommendations as rs
from bot.services.campaigns import Audience
from bot.services.errors import DomainError
from handlers import langs
from handlers.langs import WriteCb
from handlers.recommendations import keyboards, texts
from handlers.recommendations.base import OWNER, NewRec, RecInput, staff
from handlers.recommendations.keyboards import EvCb, NewRecCb, RecCb
from handlers.shared import NOT_COMMAND, close_buttons, edit_text
from storage.models import Recommendation, User

TEXT_ACTIONS = ("start", "milestone", "fail", "answer")  # a typed text completes these


async def card_view(session: AsyncSession, rec: Recommendation, settings: Settings, community: Community,
                    locale: str) -> tuple[str, Any]:
    items = [(item, await rs.figures(session, item, settings.poll_min_group,
                                            settings.discussion_min_group))
             for item in await rs.evidence(session, rec.id)]
    orgs = [texts.pick(org.name, locale, "en") for _e, org in await rs.endorsements(session, rec.id)]
    text = texts.card(rec, items, orgs, await rs.steps(session, rec.id), community, locale, settings.tz)
    return text, keyboards.card(rec, settings)


async def _list(session: AsyncSession, locale: str) -> tuple[str, Any]:
    recs = await rs.listing(session)
    return (texts.organizer_list([texts.organizer_item(r, locale) for r in recs]),
            keyboards.organizer_list(recs, locale))


@staff.message(Command("recommendations"))
async def recommendations_command(message: Message, session: AsyncSession, i18n: I18n) -> None:
    text, markup = await _list(session, i18n.current_locale)
    await message.answer(text, reply_markup=markup)


# -- the card and its steps ------------------------------------------------------------------------


@staff.callback_query(RecCb.filter())
async def rec_button(callback: CallbackQuery, callback_data: RecCb, callback_answer: CallbackAnswer,
                     session: AsyncSession, user: User | None, state: FSMContext, settings: Settings,
                     community: Community, i18n: I18n, delivery: DeliveryEngine, poll_secret: bytes) -> None:
    locale, cb = i18n.current_locale, callback_data
    if cb.a == "list":
        await edit_text(callback, *(await _list(session, locale)))
        return
    rec = await rs.get(session, cb.id)
    if rec is None:
        callback_answer.text, callback_answer.show_alert = texts.error_text(DomainError("rec_missing")), True
        return
    if cb.a == "discuss":
        await _discuss(callback, rec, cb, session, user, settings, community, i18n, delivery, callback_answer)
        return
    if cb.a != "show":
        # a stale card (someone was first, or an old message): say so and show it as it is now
        if rec.status != cb.st:
            callback_answer.text, callback_answer.show_alert = texts.error_text(DomainError("rec_changed")), True
        elif cb.a not in rs.next_actions(rec):
            callback_answer.text, callback_answer.show_alert = texts.error_text(DomainError("rec_not_allowed")), True
        else:
            prompt = _choice(rec, cb, community, locale)
            if prompt is not None:
                await edit_text(callback, *prompt)
                return
            if cb.a in TEXT_ACTIONS:
                await state.set_state(RecInput.text)
                await state.update_data(rec=rec.id, action=cb.a, st=cb.st, answer=cb.v)
                await close_buttons(callback)
                assert callback.message is not None
                await callback.message.answer(texts.ask_answer_text(cb.v) if cb.a == "answer" else
                                              texts.ask_reason() if cb.a == "fail" else texts.ask_progress())
                return
            note = await _step(session, rec, cb.a, user, delivery, poll_secret, cb.v)
            if isinstance(note, DomainError):
                callback_answer.text, callback_answer.show_alert = texts.error_text(note), True
            else:
                callback_answer.text = note
        rec = await rs.get(session, cb.id)
        assert rec is not None
    await edit_text(callback, *(await card_view(session, rec, settings, community, locale)))


async def _discuss(callback: CallbackQuery, rec: Recommendation, cb: RecCb, session: AsyncSession, user: User | None,
                   settings: Settings, community: Community, i18n: I18n, delivery: DeliveryEngine,
                   callback_answer: CallbackAnswer) -> None:
    """💬 Discuss with residents: a discussion seeded from the recommendation goes to its audience
    (the progress message follows, as for /newdiscussion), attached as its evidence."""
    from handlers.discussions import texts as discussion_texts
    from handlers.shared import launch

    message = callback.message
    assert isinstance(message, Message)
    if rec.status != cb.st:
        callback_answer.text, callback_answer.show_alert = texts.error_text(DomainError("rec_changed")), True
        return
    question = {}
    for loc in SUPPORTED_LOCALES:
        with i18n.use_locale(loc):
            question[loc] = texts.discussion_question(shorten(texts.pick(rec.title, loc, rec.default_locale), 150))
    now = delivery.now()
    try:
        discussion = await rs.discuss(session, rec, question, user.id if user else None, now,
                                      settings.discussion_min_group)
    except DomainError as exc:
        await session.rollback()
        callback_answer.text, callback_answer.show_alert = texts.error_text(exc), True
        return
    audience = Audience.from_json(discussion.audience)
    count = await campaigns_service.count_audience(session, audience)
    payload = {"discussion": {"id": discussion.id, "question": discussion.question,
                              "default_locale": discussion.default_locale,
                              "closes_at": discussion.closes_at.isoformat() if discussion.closes_at else None}}
    await close_buttons(callback)
    await launch(message, session, delivery, i18n.current_locale, kind="discussion", payload=payload,
                 audience=audience, key=rs.discussion_key(rec.id), count=count,
                 created_by=user.id if user else None, now=now,
                 created=lambda _c: discussion_texts.created(discussion.id), owner=discussion)
    callback_answer.text = texts.discussion_opened()


def _choice(rec: Recommendation, cb: RecCb, community: Community, locale: str) -> tuple[str, Any] | None:
    """The choice a step needs before it is taken (None: it has what it needs)."""
    if cb.v:
        return None
    if cb.a == "open":
        options = [(str(days), ngettext("{count} day", "{count} days", days).format(count=days))
                   for days in rs.OPEN_DAYS]
        return texts.choose_days(), keyboards.choices(rec, "open", options)
    if cb.a == "submit":
        options = [(how, _(texts.HOW_NAMES[how])) for how in rs.HOW]
        return texts.choose_how(texts.body_name(community, rec.body, locale)), keyboards.choices(rec, "submit", options)
    if cb.a == "answer":
        options = [(a, _(texts.ANSWER_NAMES[a])) for a in rs.ANSWERS]
        return texts.choose_answer(), keyboards.choices(rec, "answer", options)
    return None


async def _step(session: AsyncSession, rec: Recommendation, action: str, user: User | None,
                delivery: DeliveryEngine, poll_secret: bytes, value: str, text: str | None = None,
                answer: str | None = None, document: str | None = None) -> str | DomainError:
    """Take the step, queue what it sends (the recommendation to residents, the news), commit and
    wake the engine. Returns the toast, or the error (rolled back)."""
    now = delivery.now()
    extra: dict[str, Any] = {}
    if action == "open":
        days = int(value) if value.isdigit() and int(value) in rs.OPEN_DAYS else rs.OPEN_DAYS[0]
        extra["until"] = now + timedelta(days=days)
    elif action == "submit":
        extra.update(to=rec.body, how=value)
    elif action == "answer":
        extra.update(answer=answer, text=text, document=document)
    elif action in ("start", "milestone", "fail"):
        extra["text"] = text
    try:
        fresh, _step_row = await rs.act(session, rec.id, action, user.id if user else None, expected=rec.status,
                                        now=now, **extra)
        note = texts.done(fresh.status)
        if action == "open":
            await rs.publish(session, fresh, user.id if user else None, now)
            note += " " + texts.published()
        if await rs.tell(session, fresh, poll_secret, now) is not None:
            note += " " + texts.told()
    except DomainError as exc:
        await session.rollback()
        return exc
    await session.commit()
    delivery.wake()
    return note


@staff.message(StateFilter(RecInput.text), F.document)
async def got_step_document(message: Message, state: FSMContext, session: AsyncSession, user: User | None,
                            settings: Settings, community: Community, i18n: I18n, delivery: DeliveryEngine,
                            poll_secret: bytes) -> None:
    """The council's answer as its document: the caption (or the file's name) is its text."""
    data = await state.get_data()
    if data.get("action") != "answer" or message.document is None:
        await message.answer(texts.ask_reason() if data.get("action") == "fail" else texts.ask_progress())
        return
    text = message.caption or message.document.file_name or ""
    await got_step_text(message, state, session, user, settings, community, i18n, delivery, poll_secret,
                        text=text, document=message.document.file_id)


@staff.message(StateFilter(RecInput.text), F.text, NOT_COMMAND)
async def got_step_text(message: Message, state: FSMContext, session: AsyncSession, user: User | None,
                        settings: Settings, community: Community, i18n: I18n, delivery: DeliveryEngine,
                        poll_secret: bytes, text: str | None = None, document: str | None = None) -> None:
    typed = message.text if text is None else text
    data = await state.get_data()
    rec = await rs.get(session, int(data.get("rec") or 0))
    if rec is None:
        await state.clear()
        await message.answer(texts.error_text(DomainError("rec_missing")))
        return
    if rec.status != data.get("st"):
        await state.clear()
        await message.answer(texts.error_text(DomainError("rec_changed")))
    else:
        try:  # check the input first: a wrong one keeps the step waiting
            if data["action"] in ("start", "milestone"):
                rs.parse_progress(typed)
            else:
                rs.clean_note(typed)
        except DomainError as exc:
            await message.answer(texts.error_text(exc))
            return
        await state.clear()
        note = await _step(session, rec, data["action"], user, delivery, poll_secret, "", text=typed,
                           answer=data.get("answer"), document=document)
        await message.answer(texts.error_text(note) if isinstance(note, DomainError) else note)
        rec = await rs.get(session, rec.id)
        assert rec is not None
    text, markup = await card_view(session, rec, settings, community, i18n.current_locale)
    await message.answer(text, reply_markup=markup)


# -- /newrec -----------------------------------------------------------------------------------------


@staff.message(Command("newrec"))
async def newrec(message: Message, state: FSMContext, i18n: I18n) -> None:
    await state.clear()
    await state.set_state(NewRec.title)
    await state.update_data(rec=rs.Draft().to_json())
    await langs.ask(message, state, OWNER, i18n.current_locale, texts.ask_title(i18n.current_locale))


@staff.callback_query(StateFilter(NewRec.title), WriteCb.filter((F.owner == OWNER) & (F.a == "in")))
async def title_language(callback: CallbackQuery, callback_data: WriteCb, state: FSMContext) -> None:
    await langs.switched(callback, callback_data, state, texts.ask_title)


def _lang(data: dict[str, Any], settings: Settings) -> str:
    """The language the organizer writes the recommendation in (their own unless they chose another)."""
    return langs.writing(data, settings.default_locale)


def _error(exc: DomainError, lang: str) -> str:
    return langs.language_line_error(exc, lang) if exc.code == "language_line" else texts.error_text(exc)


TEXT_STEPS = {NewRec.title.state: "title", NewRec.text.state: "text", NewRec.problem.state: "problem",
              NewRec.proposal.state: "proposal"}


@staff.message(StateFilter(NewRec.title, NewRec.text, NewRec.problem, NewRec.proposal), F.text, NOT_COMMAND)
async def got_text(message: Message, state: FSMContext, settings: Settings, community: Community,
                   i18n: I18n) -> None:
    current, data = await state.get_state() or "", await state.get_data()
    name, lang = TEXT_STEPS[current], _lang(data, settings)
    draft = rs.Draft.from_json(data.get("rec"))
    try:
        if name in ("title", "text"):
            setattr(draft, name, {lang: rs.clean_text(name, langs.strip_code(message.text, lang))})
        else:
            setattr(draft, name, rs.clean_text(name, message.text))
    except DomainError as exc:
        await message.answer(_error(exc, lang))  # the step waits
        return
    await state.update_data(rec=draft.to_json())
    if name == "text":
        await _show_translations(message, state, settings)
        return
    following = {"title": (NewRec.text, texts.ask_text, None), "problem": (NewRec.proposal, texts.ask_proposal, None),
                 "proposal": (NewRec.body, texts.ask_body, lambda: keyboards.bodies(community, i18n.current_locale))}
    step, question, markup = following[name]
    await state.set_state(step)
    await message.answer(question(), reply_markup=markup() if markup else None)


async def _show_translations(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    await langs.show_menu(message, state, OWNER, _lang(data, settings), rs.Draft.from_json(data.get("rec")).title,
                          NewRec.translations)


@staff.callback_query(StateFilter(NewRec.translations), WriteCb.filter(F.owner == OWNER))
async def translations_step(callback: CallbackQuery, callback_data: WriteCb, state: FSMContext,
                            settings: Settings) -> None:
    lang = _lang(await state.get_data(), settings)
    if await langs.menu_tapped(callback, callback_data, state, lang, NewRec.translation, texts.ask_translation):
        assert isinstance(callback.message, Message)
        await state.set_state(NewRec.problem)
        await callback.message.answer(texts.ask_problem())


@staff.message(StateFilter(NewRec.translation), F.text, NOT_COMMAND)
async def got_translation(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    locale = str(data.get("translating"))
    if locale not in SUPPORTED_LOCALES:
        await _show_translations(message, state, settings)
        return
    draft = rs.Draft.from_json(data.get("rec"))
    try:
        title, _sep, text = langs.strip_code(message.text, locale).strip().partition("\n")
        if not text.strip():
            await message.answer(texts.translation_needs_both())  # the step waits
            return
        draft.title = {**draft.title, locale: rs.clean_text("title", title)}
        draft.text = {**draft.text, locale: rs.clean_text("text", text)}
    except DomainError as exc:
        await message.answer(_error(exc, locale))
        return
    await state.update_data(rec=draft.to_json())
    await _show_translations(message, state, settings)


@staff.callback_query(NewRecCb.filter())
async def wizard_button(callback: CallbackQuery, callback_data: NewRecCb, callback_answer: CallbackAnswer,
                        state: FSMContext, session: AsyncSession, user: User | None, settings: Settings,
                        community: Community, i18n: I18n, delivery: DeliveryEngine) -> None:
    current = await state.get_state()
    draft = rs.Draft.from_json((await state.get_data()).get("rec"))
    locale = i18n.current_locale
    assert callback.message is not None
    if callback_data.step == "body" and current == NewRec.body.state and community.body(callback_data.v):
        draft.body = callback_data.v
        await state.update_data(rec=draft.to_json())
        await state.set_state(NewRec.district)
        await close_buttons(callback)
        await callback.message.answer(texts.ask_district(), reply_markup=keyboards.districts(community, locale))
        return
    if callback_data.step == "dist" and current == NewRec.district.state and (
            callback_data.v == "-" or community.district(callback_data.v)):
        draft.district = None if callback_data.v == "-" else callback_data.v
        await close_buttons(callback)
        try:
            rec = await rs.create(session, draft, user.id if user else None,
                                  _lang(await state.get_data(), settings),
                                  [b.code for b in community.bodies], delivery.now())
        except DomainError as exc:
            await state.clear()
            await callback.message.answer(texts.error_text(exc))
            return
        await state.clear()
        await session.commit()
        await callback.message.answer(texts.evidence_menu(texts.pick(rec.title, locale, rec.default_locale), 0),
                                      reply_markup=keyboards.evidence_menu(rec.id))
        return
    callback_answer.text = texts.error_text(DomainError("rec_not_allowed"))  # an old wizard's button


# -- evidence of a draft -----------------------------------------------------------------------------


@staff.callback_query(EvCb.filter())
async def evidence_button(callback: CallbackQuery, callback_data: EvCb, callback_answer: CallbackAnswer,
                          session: AsyncSession, settings: Settings, community: Community, i18n: I18n,
                          delivery: DeliveryEngine) -> None:
    locale, cb = i18n.current_locale, callback_data
    rec = await rs.get(session, cb.id)
    if rec is None:
        callback_answer.text, callback_answer.show_alert = texts.error_text(DomainError("rec_missing")), True
        return
    if rec.status != "draft" or cb.a == "done":
        if rec.status != "draft":
            callback_answer.text = texts.error_text(DomainError("rec_not_allowed"))
        await edit_text(callback, *(await card_view(session, rec, settings, community, locale)))
        return
    if cb.a == "list" and cb.k in rs.EVIDENCE_KINDS:
        found = await rs.candidates(session, cb.k, delivery.now())
        if not found:
            callback_answer.text, callback_answer.show_alert = texts.nothing_to_attach(), True
            return
        await edit_text(callback, texts.choose_candidate(cb.k), keyboards.candidates(rec.id, cb.k, found, locale))
        return
    if cb.a == "add" and cb.k in rs.EVIDENCE_KINDS:
        try:
            await rs.attach(session, rec, cb.k, cb.r, settings.poll_min_group, delivery.now(),
                            settings.discussion_min_group)
        except DomainError as exc:
            await session.rollback()
            callback_answer.text, callback_answer.show_alert = texts.error_text(exc), True
        else:
            await session.commit()
            callback_answer.text = texts.attached()
        rec = await rs.get(session, cb.id)
        assert rec is not None
    count = len(await rs.evidence(session, rec.id))
    await edit_text(callback, texts.evidence_menu(texts.pick(rec.title, locale, rec.default_locale), count),
                    keyboards.evidence_menu(rec.id))
