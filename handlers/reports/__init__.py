"""Residents report local problems: /report (category, description or voice note, photos,
place, district, anonymity, review) and /myreports (status, add information, withdraw).
Replies to the moderators' relayed messages go back under the report's card."""
from __future__ import annotations

import functools
import logging
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import BaseFilter, Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from bot.config import Settings
from bot.i18n import esc, typed_button
from bot.services import reports as reports_service
from bot.services import users as users_service
from bot.services.errors import DomainError
from bot.services.reports import MAX_PHOTOS, Draft
from bot.services.text import new_alias
from bot.updates import after_commit, when_sent
from handlers.guard import not_for_you
from handlers.moderation import (
    cards as mod_cards,  # a module: the two packages import each other
)
from handlers.reports import keyboards, texts
from handlers.reports.keyboards import MyCb, RepCb
from handlers.shared import MENU_REPORT, MenuText, main_menu
from storage.models import Report, User

log = logging.getLogger(__name__)
router = Router(name="reports")
router.message.filter(F.chat.type == "private")
router.callback_query.filter(F.message.chat.type == "private")

NOT_A_COMMAND = ~F.text.startswith("/")


class ReportFlow(StatesGroup):
    category = State()
    description = State()
    photos = State()
    location = State()
    far = State()
    district = State()
    identity = State()
    review = State()


class MyInput(StatesGroup):
    info = State()
    reply = State()


def _registered(user: User | None) -> bool:
    return user is not None and user.is_registered


async def _draft(state: FSMContext) -> Draft:
    return Draft.from_json((await state.get_data()).get("draft"))


async def _save(state: FSMContext, draft: Draft) -> None:
    await state.update_data(draft=draft.to_json())


async def _close(callback: CallbackQuery, answer: str) -> None:
    """Show the chosen answer under the question and remove its buttons."""
    message = callback.message
    if message is not None and hasattr(message, "edit_text"):
        try:
            await message.edit_text(f"{message.html_text}\n\n➡️ <b>{esc(answer)}</b>", reply_markup=None)
        except TelegramAPIError:
            pass


# -- replies to the moderators (first: an explicit reply wins over any step in progress) -----------


class RepliedReport(BaseFilter):
    """The message replies to a message about one of the sender's reports: a relayed message or
    a status notification."""

    async def __call__(self, message: Message, session: AsyncSession, user: User | None = None,
                       **kwargs: Any) -> bool | dict[str, Any]:
        reply = message.reply_to_message
        if reply is None or user is None or (message.text or "").startswith("/"):
            return False
        if (kwargs.get("raw_state") or "").startswith(f"{ReportFlow.__name__}:"):
            return False  # in the middle of a new report, a reply is part of it
        report = await reports_service.by_message(session, message.chat.id, reply.message_id)
        if report is None:
            report = await reports_service.by_notification(
                session, user.id, reply.message_id, (mod_cards.STATUS_KIND, mod_cards.FOLLOWUP_KIND)
            )
        if report is None:
            return False
        if report.user_id != user.id and not await _mediates(session, user, report.user_id):
            return False
        return {"report": report}


async def _mediates(session: AsyncSession, user: User, resident_id: int | None) -> bool:
    """Is ``user`` the mediator of this offline resident (who gets the resident's news and answers
    the moderators for them)?"""
    resident = await users_service.by_id(session, resident_id) if resident_id else None
    return resident is not None and resident.is_offline and resident.mediator_id == user.id


async def _to_moderators(
    message: Message, bot: Bot, session: AsyncSession, report: Report, user: User, settings: Settings,
    i18n: I18n, added: bool = False,
) -> bool:
    text = (message.text or message.caption or "").strip()[: reports_service.DESCRIPTION_MAX]
    media = mod_cards.relayable_media(message)
    if not text and media is None:
        await message.answer(_("Please answer with text, a photo or a voice note."))
        return False
    limit = mod_cards.CAPTION_TEXT_MAX if media else 3500
    with i18n.use_locale(settings.moderators_chat_locale):  # the group's language, not the resident's
        who = await mod_cards.reporter_label(session, report)
        body = (texts.resident_added if added else texts.resident_wrote)(report.id, who, text, limit)
    await reports_service.note(session, report.id, reports_service.Actor(user.id, user.telegram_id),
                               "info" if added else "from_reporter", mod_cards.relayed_note(text, media))
    await mod_cards.post_under_card(bot, session, report, body, media, author_id=user.id)
    return True


@router.message(RepliedReport())
async def reply_to_moderators(
    message: Message, bot: Bot, session: AsyncSession, report: Report, user: User, settings: Settings, i18n: I18n,
) -> None:
    if await _to_moderators(message, bot, session, report, user, settings, i18n):
        await message.answer(texts.relayed_to_moderators())


# -- /report ---------------------------------------------------------------------------------------


@router.message(Command("report"))
@router.message(MenuText(MENU_REPORT))
async def start_report(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None, settings: Settings,
    community: Community, i18n: I18n,
) -> None:
    if not _registered(user):
        await message.answer(texts.register_first())
        return
    assert user is not None
    try:
        await reports_service.check_rate(session, user.id, settings.reports_per_hour)
    except DomainError as exc:
        await message.answer(texts.error_text(exc))
        return
    await state.clear()
    await state.set_state(ReportFlow.category)
    await _save(state, Draft(district=user.district))
    await message.answer(texts.ask_category(), reply_markup=keyboards.categories(community, i18n.current_locale))


@router.callback_query(StateFilter(ReportFlow.category), RepCb.filter(F.step == "cat"))
async def chose_category(
    callback: CallbackQuery, callback_data: RepCb, state: FSMContext, community: Community, i18n: I18n,
) -> None:
    category = community.category(callback_data.value)
    if category is None:
        return
    draft = await _draft(state)
    draft.category = category.code
    await _save(state, draft)
    await _close(callback, category.name(i18n.current_locale))
    await state.set_state(ReportFlow.description)
    await callback.message.answer(texts.ask_description())  # type: ignore[union-attr]


@router.message(StateFilter(ReportFlow.description), F.text, NOT_A_COMMAND)
async def description_text(message: Message, state: FSMContext) -> None:
    try:
        text = reports_service.clean_description(message.text)
    except DomainError as exc:
        await message.answer(texts.error_text(exc))
        return
    draft = await _draft(state)
    draft.description = text
    await _save(state, draft)
    await _ask_photos(message, state)


@router.message(StateFilter(ReportFlow.description), F.voice)
async def description_voice(message: Message, state: FSMContext) -> None:
    draft = await _draft(state)
    draft.voice_file_id = message.voice.file_id  # type: ignore[union-attr]
    await _save(state, draft)
    await message.answer(_("🎤 Voice note received."))
    await _ask_photos(message, state)


@router.message(StateFilter(ReportFlow.description), ~F.text)
async def description_other(message: Message) -> None:
    await message.answer(texts.description_not_text())


async def _ask_photos(message: Message, state: FSMContext) -> None:
    await state.set_state(ReportFlow.photos)
    await state.update_data(photo_msg=None, photo_prompt=None)
    prompt = await message.answer(texts.ask_photos(), reply_markup=keyboards.photos_done(0))
    # its id is kept once Telegram has it (after the commit), to take its buttons away later
    await when_sent(prompt, lambda sent: _keep(state, photo_prompt=sent.message_id))


async def _keep(state: FSMContext, **ids: int) -> None:
    """Message ids kept in the conversation once Telegram has sent them (see when_sent)."""
    if await state.get_state() == ReportFlow.photos.state:
        await state.update_data(**ids)


@router.message(StateFilter(ReportFlow.photos), F.photo)
async def photo(message: Message, state: FSMContext, bot: Bot) -> None:
    draft = await _draft(state)
    data = await state.get_data()
    overflow = len(draft.photos) >= MAX_PHOTOS
    if not overflow:
        draft.photos.append(message.photo[-1].file_id)  # type: ignore[index]
        await _save(state, draft)
    if len(draft.photos) == 1 and not overflow and data.get("photo_prompt"):
        try:  # its "Skip" would now be misleading: "Done" comes with the counter below
            await bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=data["photo_prompt"],
                                                reply_markup=None)
        except TelegramAPIError:
            pass
    text = texts.too_many_photos() if overflow else texts.photo_added(len(draft.photos))
    markup = keyboards.photos_done(len(draft.photos))
    status_id = data.get("photo_msg")
    if status_id:
        if overflow and data.get("overflow_told"):
            return  # said once: the same words again would change nothing
        await bot.edit_message_text(text=text, chat_id=message.chat.id, message_id=status_id, reply_markup=markup)
        if overflow:
            await state.update_data(overflow_told=True)
        return
    sent = await message.answer(text, reply_markup=markup)
    await state.update_data(overflow_told=overflow or data.get("overflow_told", False))
    await when_sent(sent, lambda real: _keep(state, photo_msg=real.message_id))


@router.message(StateFilter(ReportFlow.photos), F.document)
async def photo_as_file(message: Message) -> None:
    await message.answer(texts.photo_as_file())


@router.message(StateFilter(ReportFlow.photos), F.location)
async def location_instead_of_photos(
    message: Message, state: FSMContext, bot: Bot, community: Community, i18n: I18n
) -> None:
    """A resident who sends the place straight away is done with photos: take it as the place."""
    data = await state.get_data()
    for key in ("photo_prompt", "photo_msg"):
        if data.get(key):
            try:
                await bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=data[key], reply_markup=None)
            except TelegramAPIError:
                pass
    await state.set_state(ReportFlow.location)
    await location(message, state, community, i18n)


@router.message(StateFilter(ReportFlow.photos), NOT_A_COMMAND)
async def photo_other(message: Message, state: FSMContext) -> None:
    draft = await _draft(state)
    await message.answer(texts.photo_wrong_kind(), reply_markup=keyboards.photos_done(len(draft.photos)))


@router.callback_query(StateFilter(ReportFlow.photos), RepCb.filter(F.step == "photos"))
async def photos_done(callback: CallbackQuery, state: FSMContext, community: Community, i18n: I18n) -> None:
    if callback.message is not None and hasattr(callback.message, "edit_reply_markup"):
        try:
            await callback.message.edit_reply_markup(reply_markup=None)
        except TelegramAPIError:
            pass
    await state.set_state(ReportFlow.location)
    await callback.message.answer(texts.ask_location(community, i18n.current_locale), reply_markup=keyboards.location())  # type: ignore[union-attr]


@router.message(StateFilter(ReportFlow.location), F.location)
async def location(message: Message, state: FSMContext, community: Community, i18n: I18n) -> None:
    lat, lon = message.location.latitude, message.location.longitude  # type: ignore[union-attr]
    km = reports_service.outside_area(lat, lon, community.center, community.radius_km)
    if km is not None:
        await state.update_data(far=[lat, lon])
        await state.set_state(ReportFlow.far)
        await message.answer(texts.far_away(km), reply_markup=keyboards.far_confirm())
        return
    draft = await _draft(state)
    draft.latitude, draft.longitude, draft.address = lat, lon, None
    await _save(state, draft)
    await _placed(message, state, community, i18n, draft)


@router.message(StateFilter(ReportFlow.location), F.text, NOT_A_COMMAND)
async def address(message: Message, state: FSMContext, community: Community, i18n: I18n) -> None:
    draft = await _draft(state)
    if typed_button(message.text, texts.SKIP):  # in any language, any case: never an address
        draft.latitude = draft.longitude = draft.address = None
    else:
        try:
            draft.address = reports_service.clean_note(message.text, reports_service.ADDRESS_MAX)
        except DomainError as exc:
            await message.answer(texts.error_text(exc))
            return
        draft.latitude = draft.longitude = None
    await _save(state, draft)
    await _placed(message, state, community, i18n, draft)


@router.message(StateFilter(ReportFlow.location), NOT_A_COMMAND)
async def location_other(message: Message) -> None:
    await message.answer(texts.location_wrong_kind(), reply_markup=keyboards.location())


@router.callback_query(StateFilter(ReportFlow.far), RepCb.filter(F.step == "far"))
async def far_confirmed(
    callback: CallbackQuery, callback_data: RepCb, state: FSMContext, community: Community, i18n: I18n,
) -> None:
    data = await state.get_data()
    if callback_data.value != "yes" or not data.get("far"):
        await _close(callback, _("No, I will send another"))
        await state.set_state(ReportFlow.location)
        await callback.message.answer(texts.ask_location(community, i18n.current_locale), reply_markup=keyboards.location())  # type: ignore[union-attr]
        return
    await _close(callback, _("Yes, it is right"))
    draft = await _draft(state)
    draft.latitude, draft.longitude = data["far"]
    draft.address = None
    await _save(state, draft)
    await _placed(callback.message, state, community, i18n, draft)  # type: ignore[arg-type]


@router.message(StateFilter(ReportFlow.far), NOT_A_COMMAND)
async def far_waiting(message: Message) -> None:
    await message.answer(_("Please answer with the buttons above: is the location right?"),
                         reply_markup=keyboards.far_confirm())


async def _placed(message: Message, state: FSMContext, community: Community, i18n: I18n, draft: Draft) -> None:
    await message.answer(
        _("📍 Place: {place}").format(place=texts.place(draft.latitude, draft.longitude, draft.address)),
        reply_markup=main_menu(),
    )
    await state.set_state(ReportFlow.district)
    locale = i18n.current_locale
    await message.answer(
        texts.ask_district(community.district_name(draft.district, locale)),
        reply_markup=keyboards.districts(community, locale, draft.district),
    )


@router.callback_query(StateFilter(ReportFlow.district), RepCb.filter(F.step == "district"))
async def chose_district(
    callback: CallbackQuery, callback_data: RepCb, state: FSMContext, community: Community, i18n: I18n,
    user: User | None,
) -> None:
    district = community.district(callback_data.value)
    if district is None or user is None:
        return
    draft = await _draft(state)
    draft.district = district.code
    await _save(state, draft)
    await _close(callback, district.name(i18n.current_locale))
    await state.set_state(ReportFlow.identity)
    draft.alias = alias = draft.alias or new_alias()  # this report's own: never another report's
    await _save(state, draft)
    await callback.message.answer(texts.ask_identity(alias), reply_markup=keyboards.identity(alias))  # type: ignore[union-attr]


@router.callback_query(StateFilter(ReportFlow.identity), RepCb.filter(F.step == "identity"))
async def chose_identity(
    callback: CallbackQuery, callback_data: RepCb, state: FSMContext, community: Community, i18n: I18n,
    user: User | None,
) -> None:
    if user is None:
        return
    draft = await _draft(state)
    draft.show_identity = callback_data.value == "yes"
    await _save(state, draft)
    await _close(callback, _("👤 Yes, show my name") if draft.show_identity else _("🙈 No, stay anonymous"))
    await state.set_state(ReportFlow.review)
    await callback.message.answer(  # type: ignore[union-attr]
        texts.review(draft, community, i18n.current_locale, draft.alias or "R-?", user.display_name or ""),
        reply_markup=keyboards.review(),
    )


@router.callback_query(StateFilter(ReportFlow.review), RepCb.filter(F.step == "review"))
async def review_done(
    callback: CallbackQuery, callback_data: RepCb, state: FSMContext, session: AsyncSession, bot: Bot,
    user: User | None, settings: Settings, community: Community, i18n: I18n, sessionmaker: Any,
) -> None:
    message = callback.message
    assert message is not None
    if callback_data.value != "send" or user is None:
        await state.clear()
        await _close(callback, _("✖️ Cancel"))
        await message.answer(texts.cancelled(), reply_markup=main_menu())
        return
    draft = await _draft(state)
    try:
        report = await reports_service.create(session, user, draft, per_hour=settings.reports_per_hour)
    except DomainError as exc:
        await message.answer(texts.error_text(exc))  # the draft stays: they can send it later
        return
    await state.clear()
    await _close(callback, _("✅ Send the report"))
    await message.answer(texts.sent(report.id), reply_markup=main_menu())
    # after the commit, in a session of its own: the report is safe even if posting the card fails
    await after_commit(functools.partial(mod_cards.post_card_of, sessionmaker, report.id, bot, settings,
                                         community, i18n))


# -- /myreports ------------------------------------------------------------------------------------


async def _own(session: AsyncSession, report_id: int, user: User | None) -> Report | None:
    report = await reports_service.get(session, report_id)
    return report if report is not None and user is not None and report.user_id == user.id else None


@router.message(Command("myreports"))
async def my_reports(
    message: Message, session: AsyncSession, user: User | None, settings: Settings, community: Community,
    i18n: I18n,
) -> None:
    if not _registered(user):
        await message.answer(texts.register_first())
        return
    assert user is not None
    reports = await reports_service.for_user(session, user.id)
    await message.answer(texts.my_reports(reports, community, i18n.current_locale, settings.tz),
                         reply_markup=keyboards.my_reports(reports))


@router.callback_query(MyCb.filter(F.action == "open"))
async def open_report(
    callback: CallbackQuery, callback_data: MyCb, session: AsyncSession, user: User | None, settings: Settings,
    community: Community, i18n: I18n, callback_answer: CallbackAnswer,
) -> None:
    report = await _own(session, callback_data.id, user)
    if report is None:
        callback_answer.text, callback_answer.show_alert = not_for_you(), True
        return
    await callback.message.answer(  # type: ignore[union-attr]
        texts.report_detail(report, community, i18n.current_locale, settings.tz),
        reply_markup=keyboards.report_actions(report.id, report.status in reports_service.OPEN),
    )


@router.callback_query(MyCb.filter(F.action.in_({"info", "reply"})))
async def ask_text(callback: CallbackQuery, callback_data: MyCb, state: FSMContext, session: AsyncSession,
                   user: User | None, callback_answer: CallbackAnswer) -> None:
    report = await _own(session, callback_data.id, user)
    if report is None:
        callback_answer.text, callback_answer.show_alert = not_for_you(), True
        return
    if report.status in reports_service.FINAL and callback_data.action == "info":
        callback_answer.text = texts.error_text(DomainError("report_final", status=report.status))
        return
    await state.clear()
    await state.set_state(MyInput.info if callback_data.action == "info" else MyInput.reply)
    await state.update_data(report_id=report.id)
    ask = texts.ask_info if callback_data.action == "info" else texts.ask_reply
    await callback.message.answer(ask(report.id))  # type: ignore[union-attr]


@router.message(StateFilter(MyInput), NOT_A_COMMAND)
async def typed_text(
    message: Message, state: FSMContext, bot: Bot, session: AsyncSession, user: User | None, settings: Settings,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    report = await _own(session, int(data.get("report_id") or 0), user)
    current = await state.get_state()
    if report is None or user is None:
        await state.clear()
        return
    added = current == MyInput.info.state
    if added:
        if mod_cards.relayable_media(message) is None:
            try:
                reports_service.clean_description(message.text)
            except DomainError as exc:
                await message.answer(texts.error_text(exc))
                return
        if report.status in reports_service.FINAL:
            await state.clear()
            await message.answer(texts.error_text(DomainError("report_final", status=report.status)))
            return
    if not await _to_moderators(message, bot, session, report, user, settings, i18n, added=added):
        return
    await state.clear()
    await message.answer(texts.info_added(report.id) if added else texts.relayed_to_moderators(),
                         reply_markup=main_menu())


@router.callback_query(MyCb.filter(F.action == "withdraw"))
async def withdraw_ask(callback: CallbackQuery, callback_data: MyCb, session: AsyncSession,
                       user: User | None, callback_answer: CallbackAnswer) -> None:
    report = await _own(session, callback_data.id, user)
    if report is None:
        callback_answer.text, callback_answer.show_alert = not_for_you(), True
        return
    await callback.message.answer(texts.confirm_withdraw(report.id),  # type: ignore[union-attr]
                                  reply_markup=keyboards.withdraw_confirm(report.id))


@router.callback_query(MyCb.filter(F.action == "wd_yes"))
async def withdraw_yes(
    callback: CallbackQuery, callback_data: MyCb, bot: Bot, session: AsyncSession, user: User | None,
    settings: Settings, community: Community, i18n: I18n, callback_answer: CallbackAnswer,
) -> None:
    if user is None or await _own(session, callback_data.id, user) is None:
        callback_answer.text, callback_answer.show_alert = not_for_you(), True
        return
    try:
        report = await reports_service.withdraw(session, callback_data.id, user)
    except DomainError as exc:
        await _close(callback, texts.error_text(exc))
        return
    await _close(callback, texts.withdrawn(report.id))
    await mod_cards.refresh_card(bot, session, report, settings, community, i18n)
    with i18n.use_locale(settings.moderators_chat_locale):
        await mod_cards.post_under_card(bot, session, report, texts.resident_withdrew(report.id))


@router.callback_query(MyCb.filter(F.action.in_({"fixed", "notfixed"})))
async def followup_answer(
    callback: CallbackQuery, callback_data: MyCb, bot: Bot, session: AsyncSession, user: User | None,
    settings: Settings, community: Community, i18n: I18n, callback_answer: CallbackAnswer,
) -> None:
    if user is None or await _own(session, callback_data.id, user) is None:
        callback_answer.text, callback_answer.show_alert = not_for_you(), True
        return
    fixed = callback_data.action == "fixed"
    try:
        report = await reports_service.followup_answer(session, callback_data.id, user, fixed)
    except DomainError:
        await _close(callback, _("This question was already answered."))
        return
    if fixed:
        await _close(callback, texts.followup_thanks())
        return
    await _close(callback, texts.followup_reopened(report.id))
    await mod_cards.refresh_card(bot, session, report, settings, community, i18n)
    with i18n.use_locale(settings.moderators_chat_locale):
        await mod_cards.post_under_card(bot, session, report, texts.reopened_in_group(report.id))
