"""Resident registration: language, name, district, topics, consent (five taps with defaults)."""
from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from bot.config import Settings
from bot.i18n import LANGUAGE_NAMES, detect_locale, esc
from bot.services import users as users_service
from bot.services.errors import DomainError
from bot.services.users import TOPICS
from handlers import deeplinks
from handlers.errors import error_text
from handlers.registration import texts
from handlers.shared import (
    LangCb,
    PickCb,
    button,
    district_keyboard,
    language_keyboard,
    main_menu,
    rows,
    topics_keyboard,
    topics_text,
)
from storage.models import User

router = Router(name="registration")
router.message.filter(F.chat.type == "private")
router.callback_query.filter(F.message.chat.type == "private")

NOT_A_COMMAND = F.text & ~F.text.startswith("/")


class Reg(StatesGroup):
    language = State()
    name = State()
    district = State()
    topics = State()
    consent = State()


async def ask(chat: Message, state: FSMContext, community: Community, i18n: I18n) -> None:
    """(Re-)ask the question of the current registration step."""
    current = await state.get_state()
    data = await state.get_data()
    locale = i18n.current_locale
    if current == Reg.language.state:
        await chat.answer(texts.greeting(community, locale), reply_markup=language_keyboard(locale))
    elif current == Reg.name.state:
        suggested = data.get("suggested_name")
        markup = None
        if suggested:
            markup = rows([button(_("Keep «{name}»").format(name=suggested), PickCb(step="name"))])
        await chat.answer(texts.ask_name(suggested), reply_markup=markup)
    elif current == Reg.district.state:
        await chat.answer(texts.ask_district(), reply_markup=district_keyboard(community, locale, "district"))
    elif current == Reg.topics.state:
        await chat.answer(texts.ask_topics(), reply_markup=topics_keyboard(data.get("topics", []), "topics"))
    elif current == Reg.consent.state:
        await chat.answer(
            texts.ask_consent(),
            reply_markup=rows(
                [button(_("✅ I agree"), PickCb(step="consent", value="yes"))],
                [button(_("No, thanks"), PickCb(step="consent", value="no"))],
            ),
        )


async def _close_question(callback: CallbackQuery, answer: str) -> None:
    """Replace the answered question's buttons by the answer, so old buttons cannot be reused."""
    if callback.message is not None and hasattr(callback.message, "edit_text"):
        await callback.message.edit_text(
            f"{callback.message.html_text}\n\n➡️ <b>{esc(answer)}</b>", reply_markup=None
        )


def _suggested_name(tg: TgUser) -> str | None:
    try:
        return users_service.clean_name(tg.first_name)
    except DomainError:
        return None


@router.message(CommandStart())
async def start(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    community: Community,
    i18n: I18n,
    **data: Any,
) -> None:
    payload = (command.args or "").strip() or None
    if user is not None and user.is_registered:
        await state.clear()
        if payload:
            await deeplinks.dispatch(
                message, payload, {"session": session, "user": user, "settings": settings,
                                   "community": community, "state": state, "i18n": i18n, **data},
            )
        else:
            await message.answer(texts.welcome_back(user.display_name), reply_markup=main_menu())
        return
    tg = message.from_user
    assert tg is not None
    await begin(message, tg, payload, state, session, settings, community, i18n)


async def begin(
    chat: Message, tg: TgUser, payload: str | None, state: FSMContext, session: AsyncSession,
    settings: Settings, community: Community, i18n: I18n,
) -> None:
    """Start (or resume) registration in ``chat``; ``payload`` is a deep link acted on once the
    person is registered (another feature may start registration this way, e.g. a vote)."""
    if payload:
        await state.update_data(deeplink=payload)
    current = await state.get_state()
    if current in Reg.__state_names__:
        await chat.answer(texts.resume())
        await ask(chat, state, community, i18n)
        return
    await users_service.ensure_user(
        session, tg.id, detect_locale(tg.language_code, settings.default_locale), tg.username
    )
    await state.set_state(Reg.language)
    await state.update_data(suggested_name=_suggested_name(tg), topics=list(TOPICS))
    await ask(chat, state, community, i18n)


@router.callback_query(StateFilter(Reg.language), LangCb.filter())
async def chose_language(
    callback: CallbackQuery,
    callback_data: LangCb,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    community: Community,
    i18n: I18n,
) -> None:
    if callback_data.code not in LANGUAGE_NAMES or user is None:
        return
    await users_service.set_language(session, user, callback_data.code)
    i18n.current_locale = callback_data.code
    await _close_question(callback, LANGUAGE_NAMES[callback_data.code])
    await state.set_state(Reg.name)
    await ask(callback.message, state, community, i18n)  # type: ignore[arg-type]


@router.message(StateFilter(Reg.name), NOT_A_COMMAND)
async def typed_name(message: Message, state: FSMContext, community: Community, i18n: I18n) -> None:
    try:
        name = users_service.clean_name(message.text)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    await state.update_data(name=name)
    await state.set_state(Reg.district)
    await ask(message, state, community, i18n)


@router.callback_query(StateFilter(Reg.name), PickCb.filter(F.step == "name"))
async def kept_name(callback: CallbackQuery, state: FSMContext, community: Community, i18n: I18n) -> None:
    data = await state.get_data()
    if not data.get("suggested_name"):
        return
    await state.update_data(name=data["suggested_name"])
    await _close_question(callback, data["suggested_name"])
    await state.set_state(Reg.district)
    await ask(callback.message, state, community, i18n)  # type: ignore[arg-type]


@router.message(StateFilter(Reg.name), ~F.text)
async def name_not_text(message: Message) -> None:
    await message.answer(texts.name_as_text())


@router.callback_query(StateFilter(Reg.district), PickCb.filter(F.step == "district"))
async def chose_district(
    callback: CallbackQuery, callback_data: PickCb, state: FSMContext, community: Community, i18n: I18n
) -> None:
    district = community.district(callback_data.value)
    if district is None:
        await callback.answer(_("This district is no longer on the list. Please choose again."))
        await ask(callback.message, state, community, i18n)  # type: ignore[arg-type]
        return
    await state.update_data(district=district.code)
    await _close_question(callback, district.name(i18n.current_locale))
    await state.set_state(Reg.topics)
    await ask(callback.message, state, community, i18n)  # type: ignore[arg-type]


@router.callback_query(StateFilter(Reg.topics), PickCb.filter(F.step == "topics"))
async def toggled_topic(
    callback: CallbackQuery, callback_data: PickCb, state: FSMContext, community: Community, i18n: I18n
) -> None:
    data = await state.get_data()
    topics: list[str] = list(data.get("topics", []))
    if callback_data.value == "done":
        await _close_question(callback, topics_text(topics))
        await state.set_state(Reg.consent)
        await ask(callback.message, state, community, i18n)  # type: ignore[arg-type]
        return
    if callback_data.value not in TOPICS:
        return
    if callback_data.value in topics:
        topics.remove(callback_data.value)
    else:
        topics.append(callback_data.value)
    await state.update_data(topics=topics)
    if callback.message is not None and hasattr(callback.message, "edit_reply_markup"):
        await callback.message.edit_reply_markup(reply_markup=topics_keyboard(topics, "topics"))


@router.callback_query(StateFilter(Reg.consent), PickCb.filter(F.step == "consent"))
async def consent(
    callback: CallbackQuery,
    callback_data: PickCb,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    community: Community,
    bot: Bot,
    **rest: Any,
) -> None:
    message = callback.message
    assert message is not None
    data = await state.get_data()
    if user is None or not data.get("name") or not data.get("district"):
        await state.clear()
        await message.answer(_("Sorry, your registration expired. Type /start to begin again."))
        return
    if callback_data.value != "yes":
        await _close_question(callback, _("No, thanks"))
        await state.clear()
        await users_service.forget_unregistered(session, user)
        await message.answer(texts.declined())
        return
    await users_service.complete_registration(
        session, user, name=data["name"], district=data["district"], topics=data.get("topics", [])
    )
    await _close_question(callback, _("✅ I agree"))
    await state.clear()
    await message.answer(texts.registered(user.display_name or ""), reply_markup=main_menu())
    if data.get("deeplink"):
        await deeplinks.dispatch(
            message, data["deeplink"],
            {"session": session, "user": user, "settings": settings, "community": community,
             "state": state, "bot": bot, **rest},
        )


@router.message(StateFilter(Reg.language, Reg.district, Reg.topics, Reg.consent), ~F.text.startswith("/"))
async def expected_button(message: Message, state: FSMContext, community: Community, i18n: I18n) -> None:
    await message.answer(texts.use_buttons())
    await ask(message, state, community, i18n)
