"""Profile, language, help, privacy, data export and deletion, cancel."""
from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from bot.config import Settings
from bot.delivery import DeliveryEngine
from bot.i18n import LANGUAGE_NAMES, detect_locale
from bot.services import users as users_service
from bot.services.errors import DomainError
from bot.services.users import TOPICS
from handlers.deeplinks import deeplink
from handlers.errors import error_text
from handlers.moderation import cards as mod_cards
from handlers.profile import mydata, texts
from handlers.registration import Reg, ask
from handlers.shared import (
    MENU_HELP,
    MENU_PROFILE,
    LangCb,
    MenuText,
    PickCb,
    button,
    district_keyboard,
    language_keyboard,
    main_menu,
    rows,
    topics_keyboard,
)
from storage.models import User

router = Router(name="profile")
router.message.filter(F.chat.type == "private")
router.callback_query.filter(F.message.chat.type == "private")


class EditProfile(StatesGroup):
    name = State()


def _profile_keyboard():  # type: ignore[no-untyped-def]
    return rows(
        [button(_("✏️ Name"), PickCb(step="profile", value="name")),
         button(_("📍 District"), PickCb(step="profile", value="district"))],
        [button(_("🔔 Topics"), PickCb(step="profile", value="topics")),
         button(_("🌐 Language"), PickCb(step="profile", value="language"))],
    )


async def _need_registration(message: Message) -> None:
    await message.answer(_("Please register first: type /start."))


async def show_profile(message: Message, user: User, community: Community, settings: Settings, i18n: I18n) -> None:
    await message.answer(
        texts.profile(user, community, i18n.current_locale, settings.tz), reply_markup=_profile_keyboard()
    )


@router.message(Command("profile"))
@router.message(MenuText(MENU_PROFILE))
async def profile(
    message: Message, state: FSMContext, user: User | None, community: Community, settings: Settings, i18n: I18n
) -> None:
    if user is None or not user.is_registered:
        await _need_registration(message)
        return
    await state.clear()
    await show_profile(message, user, community, settings, i18n)


@router.callback_query(PickCb.filter(F.step == "profile"))
async def profile_edit(
    callback: CallbackQuery, callback_data: PickCb, state: FSMContext, user: User | None,
    community: Community, i18n: I18n,
) -> None:
    message = callback.message
    if user is None or not user.is_registered or message is None:
        return
    match callback_data.value:
        case "name":
            await state.set_state(EditProfile.name)
            await message.answer(_("Type your new name (or /cancel)."))
        case "district":
            await message.answer(
                _("Choose your district:"),
                reply_markup=district_keyboard(community, i18n.current_locale, "profile_district"),
            )
        case "topics":
            await message.answer(
                _("Tap to switch a topic on or off, then tap Done."),
                reply_markup=topics_keyboard(list(user.topics or []), "profile_topics"),
            )
        case "language":
            await message.answer(_("Choose your language:"), reply_markup=language_keyboard(user.language))


@router.message(StateFilter(EditProfile.name), F.text & ~F.text.startswith("/"))
async def profile_name(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None,
    community: Community, settings: Settings, i18n: I18n,
) -> None:
    if user is None:
        await state.clear()
        return
    try:
        await users_service.update_profile(session, user, display_name=message.text)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    await state.clear()
    await message.answer(_("Saved."))
    await show_profile(message, user, community, settings, i18n)


@router.message(StateFilter(EditProfile.name), ~F.text)
async def profile_name_not_text(message: Message) -> None:
    await message.answer(_("Please send your name as a text message."))


@router.callback_query(PickCb.filter(F.step == "profile_district"))
async def profile_district(
    callback: CallbackQuery, callback_data: PickCb, session: AsyncSession, user: User | None,
    community: Community, settings: Settings, i18n: I18n,
) -> None:
    if user is None or not user.is_registered or callback.message is None:
        return
    district = community.district(callback_data.value)
    if district is None:
        await callback.answer(_("This district is no longer on the list. Please choose again."))
        return
    await users_service.update_profile(session, user, district=district.code)
    await callback.message.edit_text(_("Saved: {value}").format(value=district.name(i18n.current_locale)))
    await show_profile(callback.message, user, community, settings, i18n)  # type: ignore[arg-type]


@router.callback_query(PickCb.filter(F.step == "profile_topics"))
async def profile_topics(
    callback: CallbackQuery, callback_data: PickCb, session: AsyncSession, user: User | None,
    community: Community, settings: Settings, i18n: I18n,
) -> None:
    if user is None or not user.is_registered or callback.message is None:
        return
    topics = list(user.topics or [])
    if callback_data.value == "done":
        await callback.message.edit_text(_("Saved."))
        await show_profile(callback.message, user, community, settings, i18n)  # type: ignore[arg-type]
        return
    if callback_data.value not in TOPICS:
        return
    topics = [t for t in topics if t != callback_data.value] if callback_data.value in topics else topics + [callback_data.value]
    await users_service.update_profile(session, user, topics=topics)
    await callback.message.edit_reply_markup(reply_markup=topics_keyboard(user.topics, "profile_topics"))


@router.message(Command("language"))
async def language(message: Message, user: User | None, i18n: I18n) -> None:
    await message.answer(_("Choose your language:"), reply_markup=language_keyboard(i18n.current_locale))


@router.callback_query(LangCb.filter())
async def language_chosen(
    callback: CallbackQuery, callback_data: LangCb, state: FSMContext, session: AsyncSession,
    user: User | None, settings: Settings, community: Community, i18n: I18n,
) -> None:
    if callback_data.code not in LANGUAGE_NAMES or callback.message is None or callback.from_user is None:
        return
    if user is None:
        tg = callback.from_user
        user = await users_service.ensure_user(
            session, tg.id, detect_locale(tg.language_code, settings.default_locale), tg.username
        )
    await users_service.set_language(session, user, callback_data.code)
    i18n.current_locale = callback_data.code
    await callback.message.edit_text(
        _("Language: {language}").format(language=LANGUAGE_NAMES[callback_data.code])
    )
    current = await state.get_state()
    if current in Reg.__state_names__:
        if current == Reg.language.state:  # the language question itself is answered now
            await state.set_state(Reg.name)
        await ask(callback.message, state, community, i18n)  # type: ignore[arg-type]
    elif user.is_registered:
        await callback.message.answer(_("Done. I will speak {language} with you.").format(
            language=LANGUAGE_NAMES[callback_data.code]), reply_markup=main_menu())


@router.message(Command("help"))
@router.message(MenuText(MENU_HELP))
async def help_(message: Message, user: User | None, roles: set[str]) -> None:
    await message.answer(texts.help_text(roles, user is not None and user.is_registered))


@router.message(Command("privacy"))
async def privacy(message: Message, user: User | None) -> None:
    await message.answer(texts.privacy(user))


@router.message(Command("cancel"))
async def cancel(message: Message, state: FSMContext, user: User | None) -> None:
    current = await state.get_state()
    await state.clear()
    if current is None:
        await message.answer(_("There is nothing to cancel."))
    elif user is not None and user.is_registered:
        await message.answer(_("Cancelled."), reply_markup=main_menu())
    else:
        await message.answer(_("Cancelled. Type /start to register again."))


@router.message(Command("mydata"))
async def mydata_command(message: Message, session: AsyncSession, user: User | None, community: Community,
                         settings: Settings, delivery: DeliveryEngine) -> None:
    if user is None:
        await message.answer(_("We store nothing about you."))
        return
    await mydata.send(message, session, user, community, settings.tz, delivery.now(), "hromada-my-data",
                      _("Everything we store about you. To erase it, type /deleteme."))


@router.message(Command("deleteme"))
async def deleteme(message: Message, user: User | None) -> None:
    if user is None:
        await message.answer(_("We store nothing about you."))
        return
    await message.answer(
        _("Delete your personal data? Your name, topics, Telegram id and username will be erased. "
          "This cannot be undone."),
        reply_markup=rows(
            [button(_("🗑 Yes, delete my data"), PickCb(step="deleteme", value="yes"))],
            [button(_("Cancel"), PickCb(step="deleteme", value="no"))],
        ),
    )


@router.callback_query(PickCb.filter(F.step == "deleteme"))
async def deleteme_confirmed(
    callback: CallbackQuery, callback_data: PickCb, state: FSMContext, session: AsyncSession, user: User | None,
    bot: Bot, settings: Settings, community: Community, i18n: I18n, poll_secret: bytes,
) -> None:
    if callback.message is None:
        return
    if callback_data.value != "yes":
        await callback.message.edit_text(_("Nothing was deleted."))
        return
    if user is None:
        await callback.message.edit_text(_("We store nothing about you."))
        return
    await state.clear()
    await mod_cards.delete_authored(bot, session, user.id, settings.moderators_chat_locale)  # their words or name
    for report in await users_service.erase_user(session, user, poll_secret):  # cards that showed the name
        await mod_cards.refresh_card(bot, session, report, settings, community, i18n)
    await callback.message.edit_text(_("Your personal data were deleted. Goodbye!"))
    await callback.message.answer(
        _("If you want to come back, type /start."), reply_markup=ReplyKeyboardRemove()
    )


@deeplink("privacy")
async def privacy_link(message: Message, rest: str, data: dict) -> None:  # type: ignore[type-arg]
    """`t.me/<bot>?start=privacy`, e.g. printed on a consent poster."""
    await message.answer(texts.privacy(data.get("user")))


@deeplink("help")
async def help_link(message: Message, rest: str, data: dict) -> None:  # type: ignore[type-arg]
    user = data.get("user")
    await message.answer(texts.help_text(data.get("roles") or set(), user is not None and user.is_registered))
