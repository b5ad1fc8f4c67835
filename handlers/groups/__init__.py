"""Working groups: /groups (everyone: join, leave, next meetings; coordinators and organizers
write to a group through the delivery engine) and /newgroup (organizers). A group is also an
audience in the shared picker (handlers/audience.py)."""
from __future__ import annotations

import math

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import CommandSpec, register
from bot.config import SUPPORTED_LOCALES, Settings
from bot.delivery import DeliveryEngine, Outgoing, RenderContext, register_kind
from bot.i18n import N_
from bot.services import campaigns as campaigns_service
from bot.services import groups as groups_service
from bot.services import users as users_service
from bot.services.campaigns import Audience
from bot.services.errors import DomainError
from handlers import langs
from handlers.groups import texts
from handlers.langs import WriteCb
from handlers.polls import valid_id
from handlers.shared import NOT_COMMAND, close_buttons, edit_text, grid, role_routers
from storage.models import User

register(
    CommandSpec("groups", N_("Working groups: join, leave, next meetings")),
    CommandSpec("newgroup", N_("Create a working group"), frozenset({"organizer"}), purpose="create"),
)

KIND = "group-message"


class GroupCb(CallbackData, prefix="wg"):
    """``a``: join | leave | msg (write to it) | send | stop (the message) | skip (no coordinator)
    | page (``id`` is the page); ``p``: the list's page to show again."""

    a: str
    id: int = 0
    p: int = 0


class NewGroup(StatesGroup):
    name = State()
    description = State()
    translations = State()
    translation = State()  # data: translating
    coordinator = State()


class GroupMessage(StatesGroup):
    text = State()
    confirm = State()


router = Router(name="groups")
router.message.filter(F.chat.type == "private")
router.callback_query.filter(F.message.chat.type == "private")
OWNER = "group"  # of the shared language buttons
creators, organizers = role_routers("groups-new", frozenset({"organizer"}), texts.not_allowed,
                                    GroupCb.filter(F.a == "skip"), WriteCb.filter(F.owner == OWNER))
router.include_router(creators)


# -- /groups ---------------------------------------------------------------------------------------


async def _listing(session: AsyncSession, user: User | None, roles: set[str], settings: Settings, locale: str,
                   now: object, page: int = 0) -> tuple[str, InlineKeyboardMarkup | None]:
    pages = max(1, math.ceil(await groups_service.count_open(session) / groups_service.PAGE))
    page = min(max(page, 0), pages - 1)
    groups = await groups_service.open_groups(session, offset=page * groups_service.PAGE)
    mine = await groups_service.memberships(session, user.id) if user else set()
    meetings = await groups_service.next_meetings(session, [g.id for g, _n in groups], now)  # type: ignore[arg-type]
    buttons = []
    for group, _n in groups:
        title = texts.name(group.name, locale)
        if group.id in mine:
            buttons.append((texts.leave_button(title), GroupCb(a="leave", id=group.id, p=page)))
        else:
            buttons.append((texts.join_button(title), GroupCb(a="join", id=group.id, p=page)))
        if user is not None and groups_service.may_message(group, user, roles):
            buttons.append((texts.message_button(title), GroupCb(a="msg", id=group.id)))
    if page > 0:
        buttons.append(("◀️", GroupCb(a="page", id=page - 1)))
    if page + 1 < pages:
        buttons.append(("▶️", GroupCb(a="page", id=page + 1)))
    return texts.listing(groups, mine, meetings, locale, settings.tz, page, pages), grid(buttons, 1)


@router.callback_query(GroupCb.filter(F.a == "page"))
async def page_button(callback: CallbackQuery, callback_data: GroupCb, session: AsyncSession, user: User | None,
                      roles: set[str], settings: Settings, i18n: I18n, delivery: DeliveryEngine) -> None:
    text, markup = await _listing(session, user, roles, settings, i18n.current_locale, delivery.now(),
                                  min(callback_data.id, 10_000))
    await edit_text(callback, text, markup)


@router.message(Command("groups"))
async def groups_command(message: Message, session: AsyncSession, user: User | None, roles: set[str],
                         settings: Settings, i18n: I18n, delivery: DeliveryEngine) -> None:
    text, markup = await _listing(session, user, roles, settings, i18n.current_locale, delivery.now())
    await message.answer(text, reply_markup=markup)


@router.callback_query(GroupCb.filter(F.a.in_({"join", "leave"})))
async def membership(callback: CallbackQuery, callback_data: GroupCb, session: AsyncSession, user: User | None,
                     roles: set[str], settings: Settings, i18n: I18n, delivery: DeliveryEngine,
                     callback_answer: CallbackAnswer) -> None:
    if user is None or user.registered_at is None:
        callback_answer.text, callback_answer.show_alert = texts.register_first(), True
        return
    group_id = valid_id(callback_data.id) or 0
    group = await groups_service.get(session, group_id) if group_id else None
    locale = i18n.current_locale
    title = texts.name(group.name, locale) if group else ""
    try:
        if callback_data.a == "join":
            await groups_service.join(session, group_id, user, delivery.now())
            callback_answer.text = texts.joined(title)
        else:
            await groups_service.leave(session, group_id, user.id)
            callback_answer.text = texts.left(title)
    except DomainError as exc:
        callback_answer.text, callback_answer.show_alert = texts.error_text(exc), True
        return
    await session.commit()
    text, markup = await _listing(session, user, roles, settings, locale, delivery.now(), min(callback_data.p, 10_000))
    await edit_text(callback, text, markup)


# -- writing to a group ----------------------------------------------------------------------------


async def _may(session: AsyncSession, group_id: int, user: User | None, roles: set[str]) -> bool:
    group_id = valid_id(group_id) or 0  # from the client: never trusted, never out of range
    return bool(user is not None and group_id
                and groups_service.may_message(await groups_service.get(session, group_id), user, roles))


async def _members(session: AsyncSession, group_id: int) -> int:
    return await campaigns_service.count_audience(session, Audience(groups=[group_id]))


@router.callback_query(GroupCb.filter(F.a == "msg"))
async def write(callback: CallbackQuery, callback_data: GroupCb, session: AsyncSession, user: User | None,
                roles: set[str], state: FSMContext, i18n: I18n, callback_answer: CallbackAnswer) -> None:
    if not await _may(session, callback_data.id, user, roles):
        callback_answer.text, callback_answer.show_alert = texts.not_allowed(), True
        return
    members = await _members(session, callback_data.id)
    if not members:
        callback_answer.text, callback_answer.show_alert = texts.nobody(), True
        return
    group = await groups_service.get(session, callback_data.id)
    assert group is not None and isinstance(callback.message, Message)
    await state.set_state(GroupMessage.text)
    await state.update_data(group=group.id)
    await callback.message.answer(texts.ask_message(texts.name(group.name, i18n.current_locale), members))


@router.message(StateFilter(GroupMessage.text), F.text, NOT_COMMAND)
async def got_message(message: Message, session: AsyncSession, state: FSMContext, i18n: I18n) -> None:
    try:
        text = groups_service.clean_message(message.text)
    except DomainError as exc:
        await message.answer(texts.error_text(exc))
        return
    data = await state.get_data()
    group = await groups_service.get(session, valid_id(data.get("group", 0)) or 0)
    if group is None:
        await state.clear()
        await message.answer(texts.closed())
        return
    members = await _members(session, group.id)
    await state.update_data(text=text)
    await state.set_state(GroupMessage.confirm)
    locale = i18n.current_locale
    await message.answer(texts.group_message({"group": group.name, "text": text}, locale))
    await message.answer(texts.preview(texts.name(group.name, locale)), reply_markup=grid(
        [(texts.send_button(members), GroupCb(a="send", id=group.id)), (texts.cancel_button(), GroupCb(a="stop"))], 1))


@router.message(StateFilter(GroupMessage.text))
async def message_expected(message: Message) -> None:
    await message.answer(texts.text_expected())


@router.callback_query(StateFilter(GroupMessage.confirm), GroupCb.filter(F.a.in_({"send", "stop"})))
async def send(callback: CallbackQuery, callback_data: GroupCb, session: AsyncSession, user: User | None,
               roles: set[str], state: FSMContext, delivery: DeliveryEngine, callback_answer: CallbackAnswer) -> None:
    data = await state.get_data()
    if callback_data.a == "stop":
        await state.clear()
        await close_buttons(callback)
        callback_answer.text = texts.cancelled()
        return
    if callback_data.id != data.get("group") or not await _may(session, callback_data.id, user, roles):
        callback_answer.text, callback_answer.show_alert = texts.not_allowed(), True
        return
    group = await groups_service.get(session, callback_data.id)
    members = await _members(session, callback_data.id)
    assert group is not None and user is not None and isinstance(callback.message, Message)
    if not members:
        callback_answer.text, callback_answer.show_alert = texts.nobody(), True
        return
    key = f"group-msg:{group.id}:{callback.message.chat.id}:{callback.message.message_id}"
    await campaigns_service.create_campaign(
        session, kind=KIND, payload={"group": group.name, "group_id": group.id, "text": data["text"]},
        audience=Audience(groups=[group.id]), created_by=user.id, key=key, now=delivery.now())
    await session.commit()
    delivery.wake()
    await state.clear()
    await close_buttons(callback)
    callback_answer.text = texts.sending(members)


def render_group_message(ctx: RenderContext) -> Outgoing:
    return Outgoing(text=texts.group_message(ctx.payload, ctx.locale))


register_kind(KIND, render_group_message)


# -- /newgroup -------------------------------------------------------------------------------------


@organizers.message(Command("newgroup"))
async def newgroup(message: Message, state: FSMContext, i18n: I18n) -> None:
    await state.clear()
    await state.set_state(NewGroup.name)
    await langs.ask(message, state, OWNER, i18n.current_locale, texts.ask_name(i18n.current_locale))


@organizers.callback_query(StateFilter(NewGroup.name), WriteCb.filter((F.owner == OWNER) & (F.a == "in")))
async def name_language(callback: CallbackQuery, callback_data: WriteCb, state: FSMContext) -> None:
    await langs.switched(callback, callback_data, state, texts.ask_name)


def _lang(data: dict[str, object], settings: Settings) -> str:
    """The language the organizer writes the group's texts in (their own unless they chose another)."""
    return langs.writing(data, settings.default_locale)


def _error(exc: DomainError, lang: str) -> str:
    return langs.language_line_error(exc, lang) if exc.code == "language_line" else texts.error_text(exc)


@organizers.message(StateFilter(NewGroup.name, NewGroup.description), F.text, NOT_COMMAND)
async def got_text(message: Message, state: FSMContext, settings: Settings) -> None:
    current, data = await state.get_state(), await state.get_data()
    lang = _lang(data, settings)
    try:
        typed = langs.strip_code(message.text, lang)
        if current == NewGroup.name.state:
            await state.update_data(name=groups_service.clean_name(typed, lang, (lang,)))
            await state.set_state(NewGroup.description)
            await message.answer(texts.ask_description())
        else:
            await state.update_data(description=groups_service.clean_description(typed, lang, (lang,)))
            await _show_translations(message, state, settings)
    except DomainError as exc:
        await message.answer(_error(exc, lang))


async def _show_translations(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    await langs.show_menu(message, state, OWNER, _lang(data, settings), data.get("name") or {}, NewGroup.translations)


@organizers.callback_query(StateFilter(NewGroup.translations), WriteCb.filter(F.owner == OWNER))
async def translations_step(callback: CallbackQuery, callback_data: WriteCb, state: FSMContext,
                            settings: Settings) -> None:
    lang = _lang(await state.get_data(), settings)
    if await langs.menu_tapped(callback, callback_data, state, lang, NewGroup.translation, texts.ask_translation):
        assert isinstance(callback.message, Message)
        await state.set_state(NewGroup.coordinator)
        await callback.message.answer(texts.ask_coordinator(), reply_markup=grid([(texts.skip(), GroupCb(a="skip"))], 1))


@organizers.message(StateFilter(NewGroup.translation), F.text, NOT_COMMAND)
async def got_translation(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    locale = str(data.get("translating"))
    if locale not in SUPPORTED_LOCALES:
        await _show_translations(message, state, settings)
        return
    try:
        first, _sep, rest = langs.strip_code(message.text, locale).partition("\n")
        name = groups_service.clean_name(first, locale, (locale,))
        description = groups_service.clean_description(rest, locale, (locale,)) if rest.strip() else {}
    except DomainError as exc:
        await message.answer(_error(exc, locale))
        return
    await state.update_data(name={**(data.get("name") or {}), **name},
                            description={**(data.get("description") or {}), **description})
    await _show_translations(message, state, settings)


@organizers.message(StateFilter(NewGroup.coordinator), F.text, NOT_COMMAND)
async def got_coordinator(message: Message, session: AsyncSession, state: FSMContext, user: User, bot: Bot,
                          i18n: I18n, delivery: DeliveryEngine) -> None:
    coordinator = await users_service.find_user(session, message.text or "")
    if coordinator is None or coordinator.telegram_id is None:
        await message.answer(texts.no_such_person())
        return
    await _create(message, session, state, user, coordinator, bot, i18n, delivery)


@organizers.callback_query(StateFilter(NewGroup.coordinator), GroupCb.filter(F.a == "skip"))
async def skip_coordinator(callback: CallbackQuery, session: AsyncSession, state: FSMContext, user: User, bot: Bot,
                           i18n: I18n, delivery: DeliveryEngine) -> None:
    await close_buttons(callback)
    if isinstance(callback.message, Message):
        await _create(callback.message, session, state, user, None, bot, i18n, delivery)


@organizers.message(StateFilter(NewGroup.name, NewGroup.description, NewGroup.translation, NewGroup.coordinator),
                    NOT_COMMAND)
async def text_expected(message: Message) -> None:
    await message.answer(texts.text_expected())


async def _create(message: Message, session: AsyncSession, state: FSMContext, user: User, coordinator: User | None,
                  bot: Bot, i18n: I18n, delivery: DeliveryEngine) -> None:
    data = await state.get_data()
    group = await groups_service.create(session, data["name"], data["description"],
                                        coordinator.id if coordinator else None, user.id, delivery.now())
    await session.commit()
    await state.clear()
    locale = i18n.current_locale
    who = (coordinator.display_name or coordinator.username or str(coordinator.telegram_id)) if coordinator else None
    await message.answer(texts.created(texts.name(group.name, locale), who))
    if coordinator is not None and coordinator.telegram_id is not None and coordinator.id != user.id:
        theirs = coordinator.language if coordinator.language in SUPPORTED_LOCALES else locale
        with i18n.use_locale(theirs):
            notice = texts.you_coordinate(texts.name(group.name, theirs))
        try:
            await bot.send_message(coordinator.telegram_id, notice)
        except TelegramAPIError:  # they blocked the bot: the group works without the notice
            pass
