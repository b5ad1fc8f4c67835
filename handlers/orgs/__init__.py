"""The organisations network: /orgs for everyone (browse, say you are a member or a
representative); admins register organisations (/neworg), confirm representatives and remove
organisations. A confirmed representative acts as organizer for their organisation (see
``acting``)."""
from __future__ import annotations

import logging
import math
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import CommandSpec, register
from bot.community import Community
from bot.config import SUPPORTED_LOCALES, Settings
from bot.delivery import DeliveryEngine, Outgoing, RenderContext, register_kind
from bot.filters import HasRole
from bot.i18n import N_
from bot.menus import publish_user_commands
from bot.services import campaigns as campaigns_service
from bot.services import orgs as orgs_service
from bot.services import users as users_service
from bot.services.campaigns import Audience
from bot.services.errors import DomainError
from bot.services.orgs import OrgDraft
from handlers import confirm, langs
from handlers.langs import WriteCb
from handlers.orgs import texts
from handlers.shared import NOT_COMMAND, close_buttons, edit_text
from handlers.shared import person as person_label
from storage.models import Organisation, User

log = logging.getLogger(__name__)
register(
    CommandSpec("orgs", N_("Organisations of the network")),
    CommandSpec("neworg", N_("Register an organisation"), frozenset({"admin"}), purpose="create"),
)
router = Router(name="orgs")
router.message.filter(F.chat.type == "private")
router.callback_query.filter(F.message.chat.type == "private")

NOTICE_KIND = "org-notice"


class OrgCb(CallbackData, prefix="org"):
    """``a``: list (page ``p``), show, member, rep, leave, rm, rmok, ok/no (request of user ``u``),
    new, reqs, d (a district ``v`` in the new organisation's list), done."""

    a: str
    id: int = 0
    p: int = 0
    u: int = 0
    v: str = ""


class NewOrg(StatesGroup):
    name = State()
    description = State()
    translations = State()
    translation = State()  # data: translating
    contact = State()
    districts = State()


def _is_admin(roles: set[str]) -> bool:
    return "admin" in roles


# -- browsing --------------------------------------------------------------------------------------


async def _listing(session: AsyncSession, page: int, locale: str, roles: set[str]
                   ) -> tuple[str, InlineKeyboardMarkup]:
    orgs, total = await orgs_service.listing(session, page)
    pages = max(1, math.ceil(total / orgs_service.PAGE))
    kb = InlineKeyboardBuilder()
    for org in orgs:
        kb.button(text=orgs_service.name_of(org, locale)[:60], callback_data=OrgCb(a="show", id=org.id, p=page))
    sizes = [1] * len(orgs)
    nav = 0
    if page > 0:
        kb.button(text="◀️", callback_data=OrgCb(a="list", p=page - 1))
        nav += 1
    if page + 1 < pages:
        kb.button(text="▶️", callback_data=OrgCb(a="list", p=page + 1))
        nav += 1
    if nav:
        sizes.append(nav)
    if _is_admin(roles):
        kb.button(text=_("➕ New organisation"), callback_data=OrgCb(a="new"))
        kb.button(text=_("🎙 Requests"), callback_data=OrgCb(a="reqs"))
        sizes.append(2)
    kb.adjust(*sizes)
    return texts.listing(total, page, pages, locale), kb.as_markup()


async def _card(session: AsyncSession, org: Organisation, user: User | None, community: Community,
                locale: str, roles: set[str], page: int) -> tuple[str, InlineKeyboardMarkup]:
    members, reps = await orgs_service.member_counts(session, org.id)
    mine = await orgs_service.membership(session, org.id, user.id) if user else None
    if mine is not None and mine.status == "withdrawn":  # a request taken back: as if none
        mine = None
    kb = InlineKeyboardBuilder()
    if mine is None:
        kb.button(text=_("🤝 I am a member"), callback_data=OrgCb(a="member", id=org.id, p=page))
    if mine is None or (mine.role == "member"):
        kb.button(text=_("🎙 I represent it"), callback_data=OrgCb(a="rep", id=org.id, p=page))
    if mine is not None and mine.status != "declined":
        kb.button(text=_("🚪 Leave"), callback_data=OrgCb(a="leave", id=org.id, p=page))
    if _is_admin(roles):
        kb.button(text=_("🗑 Remove from the network"), callback_data=OrgCb(a="rm", id=org.id, p=page))
    kb.button(text=_("⬅️ Back"), callback_data=OrgCb(a="list", p=page))
    kb.adjust(1)
    return texts.card(org, community, locale, members, reps, mine), kb.as_markup()


@router.message(Command("orgs"))
async def orgs_command(message: Message, session: AsyncSession, i18n: I18n, roles: set[str]) -> None:
    text, markup = await _listing(session, 0, i18n.current_locale, roles)
    await message.answer(text, reply_markup=markup)


@router.callback_query(OrgCb.filter(F.a.in_({"list", "show", "member", "rep", "leave"})))
async def org_button(
    callback: CallbackQuery, callback_data: OrgCb, session: AsyncSession, bot: Bot, user: User | None,
    roles: set[str], settings: Settings, community: Community, i18n: I18n, callback_answer: CallbackAnswer,
) -> None:
    locale = i18n.current_locale
    page = max(0, min(callback_data.p, 10_000))
    if callback_data.a == "list":
        await edit_text(callback, *await _listing(session, page, locale, roles))
        return
    org = await orgs_service.live(session, callback_data.id) if 0 < callback_data.id < 2**31 else None
    if org is None:
        callback_answer.text, callback_answer.show_alert = texts.error_text(DomainError("org_missing")), True
        await edit_text(callback, *await _listing(session, 0, locale, roles))
        return
    if callback_data.a != "show":
        if user is None or not user.is_registered:
            callback_answer.text = _("Please register first: type /start.")
            callback_answer.show_alert = True
            return
        ask_admins = False
        try:
            if callback_data.a == "leave":
                await orgs_service.leave(session, org.id, user)
                callback_answer.text = texts.left(org, locale)
            else:
                role = "member" if callback_data.a == "member" else orgs_service.REPRESENTATIVE
                _row, ask_admins = await orgs_service.join(session, org.id, user, role)
                callback_answer.text = (texts.member_saved(org, locale) if role == "member"
                                        else texts.request_sent(org, locale))
        except DomainError as exc:
            callback_answer.text = texts.error_text(exc)
            callback_answer.show_alert = True
        else:
            await session.commit()
            callback_answer.show_alert = callback_data.a == "rep"
            if callback_data.a == "rep" and ask_admins:
                await _tell_admins(bot, session, user, org, settings, i18n)
            elif callback_data.a == "leave":
                await publish_user_commands(bot, user, settings, i18n)
    await edit_text(callback, *await _card(session, org, user, community, locale, roles, page))


def _request_keyboard(org_id: int, user_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Confirm"), callback_data=OrgCb(a="ok", id=org_id, u=user_id))
    kb.button(text=_("❌ Decline"), callback_data=OrgCb(a="no", id=org_id, u=user_id))
    return kb.as_markup()


async def _tell_admins(bot: Bot, session: AsyncSession, user: User, org: Organisation, settings: Settings,
                       i18n: I18n) -> None:
    """Each admin gets the request with Confirm / Decline, in their own language."""
    for admin_id in settings.admin_ids:
        admin = await users_service.by_telegram_id(session, admin_id)
        locale = admin.language if admin else settings.default_locale
        with i18n.use_locale(locale):
            text, markup = texts.request_for_admin(person_label(user), org, locale), _request_keyboard(org.id, user.id)
        try:
            await bot.send_message(admin_id, text, reply_markup=markup)
        except TelegramAPIError as exc:
            log.info("Could not tell admin %s about a representative request: %s", admin_id, exc)


# -- admins ----------------------------------------------------------------------------------------

admins = Router(name="orgs-admins")
router.include_router(admins)


admins.message.filter(HasRole("admin"))
admins.callback_query.filter(HasRole("admin"))


async def _notify(session: AsyncSession, user_id: int, event: str, org: Organisation, key: str) -> None:
    await campaigns_service.create_campaign(
        session, kind=NOTICE_KIND, payload={"event": event, "org": org.name},
        audience=Audience(user_ids=[user_id]), key=key)


@admins.callback_query(OrgCb.filter(F.a.in_({"ok", "no"})))
async def decide(
    callback: CallbackQuery, callback_data: OrgCb, session: AsyncSession, bot: Bot, user: User | None,
    settings: Settings, i18n: I18n, delivery: DeliveryEngine, callback_answer: CallbackAnswer,
) -> None:
    confirm = callback_data.a == "ok"
    try:
        row, person = await orgs_service.decide(session, callback_data.id, callback_data.u, confirm,
                                                callback.from_user.id, delivery.now())
    except DomainError as exc:
        callback_answer.text, callback_answer.show_alert = texts.error_text(exc), True
        await close_buttons(callback)
        return
    org = await orgs_service.get(session, callback_data.id)
    assert org is not None
    await _notify(session, person.id, row.status, org, f"org:{org.id}:{person.id}:{row.status}:{row.decided_at:%s%f}")
    await session.commit()
    delivery.wake()
    await publish_user_commands(bot, person, settings, i18n)
    if isinstance(callback.message, Message):
        await edit_text(callback, texts.decided(confirm, person_label(person), org, i18n.current_locale), None)


@admins.callback_query(OrgCb.filter(F.a == "reqs"))
async def requests(callback: CallbackQuery, session: AsyncSession, i18n: I18n, callback_answer: CallbackAnswer) -> None:
    waiting = await orgs_service.pending(session)
    if not waiting:
        callback_answer.text, callback_answer.show_alert = texts.no_requests(), True
        return
    for _row, org, person in waiting[:20]:
        await callback.message.answer(  # type: ignore[union-attr]
            texts.request_for_admin(person_label(person), org, i18n.current_locale),
            reply_markup=_request_keyboard(org.id, person.id))


@admins.callback_query(OrgCb.filter(F.a.in_({"rm", "rmok"})))
async def remove(
    callback: CallbackQuery, callback_data: OrgCb, session: AsyncSession, bot: Bot, settings: Settings,
    i18n: I18n, delivery: DeliveryEngine, callback_answer: CallbackAnswer, roles: set[str],
) -> None:
    locale = i18n.current_locale
    org = await orgs_service.live(session, callback_data.id)
    if org is None:  # removed meanwhile (a stale confirmation): it says so, and loses its buttons
        callback_answer.text, callback_answer.show_alert = texts.error_text(DomainError("org_missing")), True
        if callback_data.a == "rmok":
            await confirm.settle(callback, texts.error_text(DomainError("org_missing")))
        return
    if callback_data.a == "rm":  # asks first, in place of the card; "No" brings the card back
        await edit_text(callback, texts.confirm_remove(org, locale), confirm.keyboard(
            _("🗑 Yes, remove"), OrgCb(a="rmok", id=org.id, p=callback_data.p),
            OrgCb(a="show", id=org.id, p=callback_data.p)))
        return
    org, lost = await orgs_service.remove(session, org.id, delivery.now())
    stopped = []  # its announcements still waiting for their time no longer go out in its name
    for campaign in await campaigns_service.active_campaigns(session, orgs={org.id}):
        if campaign.status == "scheduled" and await campaigns_service.cancel_campaign(session, campaign.id):
            stopped.append(campaign.id)
    for person in lost:
        await _notify(session, person.id, "removed", org, f"org:{org.id}:{person.id}:removed")
    await session.commit()
    for campaign_id in stopped:
        delivery.cancelled(campaign_id)
    delivery.wake()
    for person in lost:
        await publish_user_commands(bot, person, settings, i18n)
    callback_answer.text = texts.removed(org, locale)
    await edit_text(callback, *await _listing(session, 0, locale, roles))


@admins.callback_query(OrgCb.filter(F.a == "new"))
async def new_button(callback: CallbackQuery, state: FSMContext, i18n: I18n) -> None:
    await _start(callback.message, state, i18n.current_locale)  # type: ignore[arg-type]


@admins.message(Command("neworg"))
async def neworg(message: Message, state: FSMContext, i18n: I18n) -> None:
    await _start(message, state, i18n.current_locale)


OWNER = "org"  # of the shared language buttons


async def _start(message: Message, state: FSMContext, locale: str) -> None:
    await state.clear()
    await state.set_state(NewOrg.name)
    await state.update_data(org=OrgDraft().to_json())
    await langs.ask(message, state, OWNER, locale, texts.ask_name(locale))


@admins.callback_query(StateFilter(NewOrg.name), WriteCb.filter((F.owner == OWNER) & (F.a == "in")))
async def name_language(callback: CallbackQuery, callback_data: WriteCb, state: FSMContext) -> None:
    await langs.switched(callback, callback_data, state, texts.ask_name)


def _lang(data: dict[str, Any], settings: Settings) -> str:
    """The language the admin writes the organisation's texts in (their own unless they chose another)."""
    return langs.writing(data, settings.default_locale)


def _error(exc: DomainError, lang: str) -> str:
    return langs.language_line_error(exc, lang) if exc.code == "language_line" else texts.error_text(exc)


async def _show_translations(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    await langs.show_menu(message, state, OWNER, _lang(data, settings), OrgDraft.from_json(data.get("org")).name,
                          NewOrg.translations)


@admins.callback_query(StateFilter(NewOrg.translations), WriteCb.filter(F.owner == OWNER))
async def translations_step(callback: CallbackQuery, callback_data: WriteCb, state: FSMContext,
                            settings: Settings) -> None:
    lang = _lang(await state.get_data(), settings)
    if await langs.menu_tapped(callback, callback_data, state, lang, NewOrg.translation, texts.ask_translation):
        assert isinstance(callback.message, Message)
        await state.set_state(NewOrg.contact)
        await callback.message.answer(texts.ask_contact())


@admins.message(StateFilter(NewOrg.translation), F.text, NOT_COMMAND)
async def got_translation(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    locale = str(data.get("translating"))
    if locale not in SUPPORTED_LOCALES:
        await _show_translations(message, state, settings)
        return
    draft = await _draft(state)
    try:
        first, _sep, rest = langs.strip_code(message.text, locale).partition("\n")
        name = orgs_service.parse_texts(first, locale, (locale,), orgs_service.NAME_MAX)
        description = (orgs_service.parse_texts(rest, locale, (locale,), orgs_service.DESCRIPTION_MAX)
                       if rest.strip() else {})
    except DomainError as exc:
        await message.answer(_error(exc, locale))
        return
    draft.name.update(name)
    draft.description.update(description)
    await state.update_data(org=draft.to_json())
    await _show_translations(message, state, settings)


async def _draft(state: FSMContext) -> OrgDraft:
    return OrgDraft.from_json((await state.get_data()).get("org"))


def _districts_keyboard(draft: OrgDraft, community: Community, locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for district in community.districts:
        mark = "☑️" if district.code in draft.districts else "⬜"
        kb.button(text=f"{mark} {district.name(locale)}", callback_data=OrgCb(a="d", v=district.code))
    kb.button(text=_("Done ✅"), callback_data=OrgCb(a="done"))
    kb.adjust(1)
    return kb.as_markup()


@admins.message(StateFilter(NewOrg.name, NewOrg.description, NewOrg.contact), F.text, NOT_COMMAND)
async def got_text(message: Message, state: FSMContext, settings: Settings, community: Community, i18n: I18n) -> None:
    draft = await _draft(state)
    current = await state.get_state()
    lang = _lang(await state.get_data(), settings)
    try:
        if current == NewOrg.name.state:
            draft.name = orgs_service.parse_texts(langs.strip_code(message.text, lang), lang, (lang,),
                                                  orgs_service.NAME_MAX)
            following, question, markup = NewOrg.description, texts.ask_description(), None
        elif current == NewOrg.description.state:
            draft.description = orgs_service.parse_texts(langs.strip_code(message.text, lang), lang, (lang,),
                                                         orgs_service.DESCRIPTION_MAX)
            await state.update_data(org=draft.to_json())
            await _show_translations(message, state, settings)
            return
        else:
            draft.contact = orgs_service.clean_contact(message.text)
            following, question = NewOrg.districts, texts.ask_districts()
            markup = _districts_keyboard(draft, community, i18n.current_locale)
    except DomainError as exc:
        await message.answer(_error(exc, lang))
        return
    await state.update_data(org=draft.to_json())
    await state.set_state(following)
    await message.answer(question, reply_markup=markup)


@admins.message(StateFilter(NewOrg.name, NewOrg.description, NewOrg.translation, NewOrg.contact), NOT_COMMAND)
async def text_expected(message: Message) -> None:
    await message.answer(_("Please answer with text, or /cancel."))


@admins.callback_query(StateFilter(NewOrg.districts), OrgCb.filter(F.a.in_({"d", "done"})))
async def districts_step(
    callback: CallbackQuery, callback_data: OrgCb, state: FSMContext, session: AsyncSession, user: User | None,
    community: Community, i18n: I18n, roles: set[str], delivery: DeliveryEngine,
) -> None:
    draft = await _draft(state)
    locale = i18n.current_locale
    if callback_data.a == "d":
        if community.district(callback_data.v) is not None:
            if callback_data.v in draft.districts:
                draft.districts.remove(callback_data.v)
            else:
                draft.districts.append(callback_data.v)
        await state.update_data(org=draft.to_json())
        await edit_text(callback, texts.ask_districts(), _districts_keyboard(draft, community, locale))
        return
    if not draft.name:
        await state.clear()
        await close_buttons(callback)
        return
    org = await orgs_service.create(session, draft, user.id if user else None, delivery.now())
    await session.commit()
    await state.clear()
    await close_buttons(callback)
    await callback.message.answer(texts.created(org, locale))  # type: ignore[union-attr]


# Anyone else pressing (or forging) an admin's button.
refusals = Router(name="orgs-refusals")
router.include_router(refusals)


@refusals.callback_query(OrgCb.filter())
@refusals.callback_query(WriteCb.filter(F.owner == OWNER))
async def refuse(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = _("Sorry, only admins can do this.")
    callback_answer.show_alert = True


def render_notice(ctx: RenderContext) -> Outgoing:
    names = ctx.payload.get("org") or {}
    name = names.get(ctx.locale) or names.get("en") or next(iter(names.values()), "")
    return Outgoing(text=texts.notice(ctx.payload.get("event", ""), name))


register_kind(NOTICE_KIND, render_notice)
