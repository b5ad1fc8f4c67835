"""Community mediators: register residents without a smartphone, act for them, link them later.

``/residents`` lists the offline residents a mediator registered (admins: all), ``/newresident``
registers one (name, district, language, optional phone, the consent read aloud), ``/act M-4821``
(or a typed code, or ▶️ on a card) acts for one: from then on, until ⏹ at the top of the menu,
the mediator uses the resident's own screens and what they do is saved for the resident, marked
as assisted (bot/middlewares.py ActingMiddleware). ``/start link_<token>`` lets the resident take
their history over to their own Telegram account once they confirm.

This router comes before every other: a mediator's commands and the ⏹ button work while acting.
"""
from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import (
    BaseFilter,
    Command,
    CommandObject,
    CommandStart,
    StateFilter,
)
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message, TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import CommandSpec, register
from bot.community import Community
from bot.config import SUPPORTED_LOCALES, Settings
from bot.delivery import DeliveryEngine
from bot.i18n import N_, esc, typed_button
from bot.middlewares import acting_code
from bot.qr import qr_png
from bot.services import mediators as mediators_service
from bot.services import users as users_service
from bot.services.errors import DomainError
from bot.services.users import NAME_MAX
from handlers.mediators import keyboards, news, texts  # noqa: F401  (news: the 'mediated' kind)
from handlers.mediators.keyboards import LinkCb, MedCb
from handlers.moderation import cards as mod_cards
from handlers.profile import mydata
from handlers.shared import (
    NOT_COMMAND,
    PickCb,
    close_buttons,
    district_keyboard,
    edit_text,
    main_menu,
)
from storage.models import User

MEDIATING = frozenset({mediators_service.ROLE})
register(
    CommandSpec("residents", N_("Residents you registered: find, act for, link"), MEDIATING),
    CommandSpec("newresident", N_("Register a resident without a smartphone"), MEDIATING, purpose="create"),
    CommandSpec("act", N_("Act for a resident: /act M-4821"), MEDIATING),
)


class IsMediator(BaseFilter):
    """A mediator (or admin) by their own roles, also while acting for a resident; with a row of
    their own (an admin who never started the bot has none)."""

    async def __call__(self, event: TelegramObject, roles: set[str] | None = None, user: User | None = None,
                      mediator_roles: set[str] | None = None) -> bool:
        own = mediator_roles if mediator_roles is not None else (roles or set())
        return user is not None and bool(own & {mediators_service.ROLE, "admin"})


class MedReg(StatesGroup):
    name = State()
    district = State()
    language = State()
    phone = State()
    consent = State()


class MedFind(StatesGroup):
    query = State()


router = Router(name="mediators")
router.message.filter(F.chat.type == "private")
staff = Router(name="mediators-staff")
staff.message.filter(IsMediator())
staff.callback_query.filter(IsMediator())
router.include_router(staff)


def _me(data: dict[str, Any]) -> tuple[User, set[str]]:
    """The mediator themselves (also while acting for someone) and their own roles."""
    if data.get("mediator") is not None:
        return data["mediator"], data["mediator_roles"]
    return data["user"], data["roles"]


def _menu_as(code: str | None) -> Any:
    """The main menu as it looks while acting for ``code`` (None: as themselves)."""
    token = acting_code.set(code)
    try:
        return main_menu()
    finally:
        acting_code.reset(token)


# ================================================================== not (or no longer) a mediator

@router.callback_query(MedCb.filter(), ~IsMediator())
@router.callback_query(PickCb.filter(F.step.startswith("md_")), ~IsMediator())
async def refused_button(callback: CallbackQuery, state: FSMContext, callback_answer: CallbackAnswer) -> None:
    if (await state.get_state() or "").startswith(("MedReg", "MedFind")):
        await state.clear()
    callback_answer.text = texts.not_mediator()
    callback_answer.show_alert = True


@router.message(StateFilter(MedReg, MedFind), ~IsMediator())
async def revoked_mid_step(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(texts.not_mediator() + "\n" + texts.declined(), reply_markup=main_menu())


@router.message(F.text.startswith("⏹"))
async def stop(message: Message, state: FSMContext, session: AsyncSession, **data: Any) -> None:
    me, _roles = _me(data)
    if me is None:
        return
    await state.clear()  # a step half-done for the resident is not finished as the mediator
    target = await mediators_service.stop_acting(session, me)
    await session.commit()
    await message.answer(texts.acting_stopped(target.code if target else None), reply_markup=_menu_as(None))


# ================================================================== the resident links their account

@router.message(CommandStart(deep_link=True, magic=F.args.startswith("link_")))
async def link_opened(message: Message, command: CommandObject, session: AsyncSession, community: Community,
                      i18n: I18n, **data: Any) -> None:
    token = (command.args or "")[5:]
    target = await mediators_service.by_link_token(session, token)
    if target is None:
        await message.answer(texts.link_expired())
        return
    me, _roles = _me(data)
    if me is not None and me.id == target.mediator_id:
        await message.answer(texts.link_own_account())
        return
    await message.answer(texts.link_question(target, community, i18n.current_locale),
                         reply_markup=keyboards.link_question(token))


@router.callback_query(LinkCb.filter())
async def link_answered(
    callback: CallbackQuery, callback_data: LinkCb, state: FSMContext, session: AsyncSession, bot: Bot,
    i18n: I18n, delivery: DeliveryEngine, poll_secret: bytes, **data: Any,
) -> None:
    await close_buttons(callback)
    chat = callback.message
    if chat is None:
        return
    if callback_data.a != "y":
        await bot.send_message(chat.chat.id, texts.link_declined())
        return
    target = await mediators_service.by_link_token(session, callback_data.t)
    if target is None:
        await bot.send_message(chat.chat.id, texts.link_expired())
        return
    me, _roles = _me(data)
    if me is not None and me.id == target.mediator_id:
        await bot.send_message(chat.chat.id, texts.link_own_account())
        return
    code, mediator_id = target.code, target.mediator_id
    account = await mediators_service.link(session, target, callback.from_user.id, callback.from_user.username,
                                           me, poll_secret, delivery.now())
    await state.clear()
    await session.commit()
    with i18n.use_locale(account.language):
        await bot.send_message(chat.chat.id, texts.linked(account.display_name), reply_markup=main_menu())
    mediator = await users_service.by_id(session, mediator_id)
    if mediator is not None and mediator.telegram_id is not None:
        with i18n.use_locale(mediator.language):
            await bot.send_message(mediator.telegram_id, texts.mediator_told_linked(code))


# ================================================================== while acting, the resident's data

class Acting(BaseFilter):
    async def __call__(self, event: TelegramObject, mediator: User | None = None) -> bool:
        return mediator is not None


@router.message(Command("mydata", "deleteme"), Acting())
async def data_while_acting(message: Message, command: CommandObject, session: AsyncSession, **data: Any) -> None:
    """Acting for a resident, /mydata and /deleteme are about the resident: the card's buttons."""
    target: User = data["user"]
    if command.command == "mydata":
        await _send_export(message, session, target, data["community"], data["settings"], data["delivery"])
    else:
        await message.answer(texts.confirm_delete(target.code), reply_markup=keyboards.confirm_delete(target))


# ================================================================== the list and the card

async def _listing(session: AsyncSession, community: Community, locale: str, data: dict[str, Any],
                   query: str | None = None, page: int = 0) -> tuple[str, Any]:
    me, roles = _me(data)
    found, total = await mediators_service.residents(session, me, roles, query, page * mediators_service.PAGE)
    items = [texts.item(u, community, locale) for u in found]
    return texts.listing(items, total, query), keyboards.listing(found, total, page)


@staff.message(Command("residents"))
async def residents(message: Message, command: CommandObject, state: FSMContext, session: AsyncSession,
                    community: Community, i18n: I18n, **data: Any) -> None:
    await state.clear()
    text, markup = await _listing(session, community, i18n.current_locale, data, (command.args or "").strip() or None)
    await message.answer(text, reply_markup=markup)


@staff.callback_query(MedCb.filter(F.a == "l"))
async def listing_page(callback: CallbackQuery, callback_data: MedCb, session: AsyncSession,
                       community: Community, i18n: I18n, **data: Any) -> None:
    text, markup = await _listing(session, community, i18n.current_locale, data, page=max(callback_data.page, 0))
    await edit_text(callback, text, markup)


@staff.callback_query(MedCb.filter(F.a == "s"))
async def find(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(MedFind.query)
    if isinstance(callback.message, Message):
        await callback.message.answer(_("🔎 Type a code (M-4821) or part of a name."))


@staff.message(StateFilter(MedFind.query), F.text, NOT_COMMAND)
async def found(message: Message, state: FSMContext, session: AsyncSession, community: Community, i18n: I18n,
                **data: Any) -> None:
    await state.clear()
    text, markup = await _listing(session, community, i18n.current_locale, data, (message.text or "").strip())
    await message.answer(text, reply_markup=markup)


async def _target(session: AsyncSession, data: dict[str, Any], ref: str | int) -> User:
    me, roles = _me(data)
    return await mediators_service.resident(session, me, roles, ref)


async def _card(session: AsyncSession, target: User, community: Community, locale: str, settings: Settings,
                data: dict[str, Any]) -> str:
    me, _roles = _me(data)
    mediator = None
    if target.mediator_id != me.id:  # an admin looking at another mediator's resident
        other = await users_service.by_id(session, target.mediator_id)
        mediator = esc(other.display_name or other.username or "—") if other else "—"
    return texts.card(target, community, locale, settings.tz, mediator)


@staff.message(F.text.regexp(r"^\s*[MmМм]-?\s*\d{4,6}\s*$"), StateFilter(None))
async def typed_code(message: Message, session: AsyncSession, community: Community, settings: Settings,
                     i18n: I18n, **data: Any) -> None:
    """A mediator types a resident's code: their card."""
    try:
        target = await _target(session, data, message.text or "")
    except DomainError as exc:
        await message.answer(texts.error(exc))
        return
    await message.answer(await _card(session, target, community, i18n.current_locale, settings, data),
                         reply_markup=keyboards.card(target))


@staff.callback_query(MedCb.filter(F.a.in_({"v", "a", "x", "d", "D", "k"})))
async def on_resident(
    callback: CallbackQuery, callback_data: MedCb, state: FSMContext, session: AsyncSession, bot: Bot,
    community: Community, settings: Settings, i18n: I18n, callback_answer: CallbackAnswer, poll_secret: bytes,
    **data: Any,
) -> None:
    try:  # the id comes from the client: checked again, every time
        target = await _target(session, data, callback_data.id)
    except DomainError as exc:
        callback_answer.text = texts.error(exc)
        callback_answer.show_alert = True
        return
    message = callback.message
    if not isinstance(message, Message):
        return
    action = callback_data.a
    if action == "v":
        await state.clear()
        await edit_text(callback, await _card(session, target, community, i18n.current_locale, settings, data),
                        keyboards.card(target))
    elif action == "a":
        await _act(message, state, session, target, data)
    elif action == "x":
        await _send_export(message, session, target, community, settings, data["delivery"])
    elif action == "d":
        await message.answer(texts.confirm_delete(target.code), reply_markup=keyboards.confirm_delete(target))
    elif action == "D":
        code = target.code
        await mod_cards.delete_authored(bot, session, target.id, settings.moderators_chat_locale)  # their words, name
        for report in await mediators_service.erase(session, target, poll_secret):
            await mod_cards.refresh_card(bot, session, report, settings, community, i18n)
        await session.commit()
        await edit_text(callback, texts.deleted(code), None)
        if acting_code.get() == code:  # they deleted the resident they were acting for
            await state.clear()
            await message.answer(texts.acting_stopped(code), reply_markup=_menu_as(None))
    elif action == "k":
        token = await mediators_service.link_token(session, target)
        await session.commit()
        url = f"https://t.me/{(await bot.me()).username}?start=link_{token}"
        await message.answer_photo(BufferedInputFile(qr_png(url), filename="link.png"),
                                   caption=texts.link_instructions(target.code, url))


@staff.message(Command("act"))
async def act_command(message: Message, command: CommandObject, state: FSMContext, session: AsyncSession,
                      **data: Any) -> None:
    if not command.args:
        await message.answer(_("Usage: {usage}").format(usage="/act M-4821"))
        return
    try:
        target = await _target(session, data, command.args.strip())
    except DomainError as exc:
        await message.answer(texts.error(exc))
        return
    await _act(message, state, session, target, data)


async def _act(message: Message, state: FSMContext, session: AsyncSession, target: User,
               data: dict[str, Any]) -> None:
    me, _roles = _me(data)
    await state.clear()  # a step half-done for someone else does not carry over
    await mediators_service.start_acting(session, me, target)
    await session.commit()
    await message.answer(texts.acting_started(target), reply_markup=_menu_as(target.code))


async def _send_export(message: Message, session: AsyncSession, target: User, community: Community,
                       settings: Settings, delivery: Any) -> None:
    await mydata.send(message, session, target, community, settings.tz, delivery.now(), f"hromada-{target.code}",
                      texts.export_caption(target.code))


# ================================================================== registering a resident

@staff.message(Command("newresident"))
@staff.callback_query(MedCb.filter(F.a == "r"))
async def new_resident(event: Message | CallbackQuery, state: FSMContext) -> None:
    message = event.message if isinstance(event, CallbackQuery) else event
    if not isinstance(message, Message):
        return
    await state.clear()
    await state.set_state(MedReg.name)
    await message.answer(texts.ask_name())


@staff.message(StateFilter(MedReg.name), F.text, NOT_COMMAND)
async def got_name(message: Message, state: FSMContext, community: Community, i18n: I18n) -> None:
    try:
        name = users_service.clean_name(message.text)
    except DomainError as exc:
        await message.answer(texts.error(exc) if exc.code != "name_too_long" else
                             texts.error(DomainError("name_too_long", max=NAME_MAX)))
        return
    await state.update_data(name=name)
    await state.set_state(MedReg.district)
    await message.answer(texts.ask_district(), reply_markup=district_keyboard(community, i18n.current_locale,
                                                                              "md_district"))


@staff.message(StateFilter(MedReg.name), NOT_COMMAND)
async def name_expected(message: Message) -> None:
    await message.answer(texts.error(DomainError("name_empty")))


@staff.callback_query(StateFilter(MedReg.district), PickCb.filter(F.step == "md_district"))
async def got_district(callback: CallbackQuery, callback_data: PickCb, state: FSMContext, session: AsyncSession,
                       community: Community, i18n: I18n, **data: Any) -> None:
    if community.district(callback_data.value) is None or not isinstance(callback.message, Message):
        return
    await close_buttons(callback)
    await state.update_data(district=callback_data.value)
    name = (await state.get_data()).get("name") or ""
    same = await mediators_service.likely_duplicates(session, name, callback_data.value)
    if same:
        me, roles = _me(data)
        mine = {u.id for u in same if mediators_service.can_manage(me, roles, u)}
        await callback.message.answer(texts.duplicates(same, community, i18n.current_locale),
                                      reply_markup=keyboards.duplicates(same, mine))
        return
    await _ask_language(callback.message, state)


async def _ask_language(message: Message, state: FSMContext) -> None:
    await state.set_state(MedReg.language)
    await message.answer(texts.ask_language(), reply_markup=keyboards.languages())


@staff.callback_query(StateFilter(MedReg.district), PickCb.filter(F.step == "md_dup"))
async def duplicate_answered(callback: CallbackQuery, callback_data: PickCb, state: FSMContext) -> None:
    await close_buttons(callback)
    if not isinstance(callback.message, Message):
        return
    if callback_data.value == "go":
        await _ask_language(callback.message, state)
    else:
        await state.clear()
        await callback.message.answer(texts.declined())


@staff.callback_query(StateFilter(MedReg.language), PickCb.filter(F.step == "md_lang"))
async def got_language(callback: CallbackQuery, callback_data: PickCb, state: FSMContext) -> None:
    if callback_data.value not in SUPPORTED_LOCALES or not isinstance(callback.message, Message):
        return
    await close_buttons(callback)
    await state.update_data(language=callback_data.value)
    await state.set_state(MedReg.phone)
    await callback.message.answer(texts.ask_phone(), reply_markup=keyboards.skip_phone())


@staff.message(StateFilter(MedReg.phone), F.text, NOT_COMMAND)
async def got_phone(message: Message, state: FSMContext, i18n: I18n) -> None:
    if typed_button(message.text, "Skip"):  # typed, in any language: no phone
        await _ask_consent(message, state, i18n, None)
        return
    try:
        phone = mediators_service.clean_phone(message.text)
    except DomainError as exc:
        await message.answer(texts.error(exc), reply_markup=keyboards.skip_phone())
        return
    await _ask_consent(message, state, i18n, phone)


@staff.callback_query(StateFilter(MedReg.phone), PickCb.filter(F.step == "md_phone"))
async def skipped_phone(callback: CallbackQuery, state: FSMContext, i18n: I18n) -> None:
    await close_buttons(callback)
    if isinstance(callback.message, Message):
        await _ask_consent(callback.message, state, i18n, None)


async def _ask_consent(message: Message, state: FSMContext, i18n: I18n, phone: str | None) -> None:
    await state.update_data(phone=phone)
    await state.set_state(MedReg.consent)
    with i18n.use_locale((await state.get_data()).get("language") or i18n.current_locale):
        aloud = texts.consent_aloud()
    await message.answer(f"{texts.consent_heading()}\n\n{aloud}\n\n{texts.consent_question()}",
                         reply_markup=keyboards.consent())


@staff.callback_query(StateFilter(MedReg.consent), PickCb.filter(F.step == "md_consent"))
async def got_consent(callback: CallbackQuery, callback_data: PickCb, state: FSMContext, session: AsyncSession,
                      delivery: DeliveryEngine, **data: Any) -> None:
    await close_buttons(callback)
    if not isinstance(callback.message, Message):
        return
    draft = await state.get_data()
    await state.clear()
    if callback_data.value != "yes":
        await callback.message.answer(texts.declined())
        return
    me, _roles = _me(data)
    target = await mediators_service.register(
        session, me, name=draft.get("name") or "", district=draft.get("district") or "",
        language=draft.get("language") or "uk", phone=draft.get("phone"), now=delivery.now())
    await session.commit()
    await callback.message.answer(texts.registered(target), reply_markup=keyboards.after_register(target))


@staff.message(StateFilter(MedReg.district, MedReg.language, MedReg.consent), NOT_COMMAND)
async def button_expected(message: Message) -> None:
    await message.answer(texts.step_waits())


@staff.message(StateFilter(MedReg.phone), NOT_COMMAND)
async def phone_expected(message: Message) -> None:
    await message.answer(texts.error(DomainError("phone_invalid")), reply_markup=keyboards.skip_phone())
