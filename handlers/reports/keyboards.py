"""Buttons of the resident's side of issue reports (built per request)."""
from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.community import Community
from handlers.reports import texts
from storage.models import Report


class RepCb(CallbackData, prefix="rep"):
    """A choice in the /report wizard; `step` names the step so old buttons cannot hit a new one."""

    step: str
    value: str = ""


class MyCb(CallbackData, prefix="myr"):
    """The resident acting on one of their reports: open, info, withdraw, wd_yes, reply, fixed, notfixed."""

    action: str
    id: int


def categories(community: Community, locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for category in community.categories:
        kb.button(text=category.name(locale), callback_data=RepCb(step="cat", value=category.code))
    kb.adjust(2)
    return kb.as_markup()


def photos_done(count: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if count:
        kb.button(text=_("Done ✅"), callback_data=RepCb(step="photos", value="done"))
    else:
        kb.button(text=_(texts.SKIP), callback_data=RepCb(step="photos", value="done"))
    return kb.as_markup()


def location() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_(texts.SEND_LOCATION), request_location=True)],
            [KeyboardButton(text=_(texts.SKIP))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def far_confirm() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Yes, it is right"), callback_data=RepCb(step="far", value="yes"))
    kb.button(text=_("No, I will send another"), callback_data=RepCb(step="far", value="no"))
    kb.adjust(1)
    return kb.as_markup()


def districts(community: Community, locale: str, current: str | None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if current:
        kb.button(text=_("✅ Keep {district}").format(district=community.district_name(current, locale)),
                  callback_data=RepCb(step="district", value=current))
    for district in community.districts:
        if district.code != current:
            kb.button(text=district.name(locale), callback_data=RepCb(step="district", value=district.code))
    kb.adjust(1, 2)
    return kb.as_markup()


def identity(pseudonym: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🙈 No, only “{pseudonym}”").format(pseudonym=pseudonym),
              callback_data=RepCb(step="identity", value="no"))
    kb.button(text=_("👤 Yes, show my name"), callback_data=RepCb(step="identity", value="yes"))
    kb.adjust(1)
    return kb.as_markup()


def review() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Send the report"), callback_data=RepCb(step="review", value="send"))
    kb.button(text=_("✖️ Cancel"), callback_data=RepCb(step="review", value="cancel"))
    kb.adjust(1)
    return kb.as_markup()


def my_reports(reports: list[Report]) -> InlineKeyboardMarkup | None:
    kb = InlineKeyboardBuilder()
    for report in reports:
        kb.button(text=f"#{report.id}", callback_data=MyCb(action="open", id=report.id))
    kb.adjust(5)
    return kb.as_markup() if reports else None


def report_actions(report_id: int, is_open: bool) -> InlineKeyboardMarkup | None:
    if not is_open:
        return None
    kb = InlineKeyboardBuilder()
    kb.button(text=_("➕ Add information"), callback_data=MyCb(action="info", id=report_id))
    kb.button(text=_("↩️ Withdraw"), callback_data=MyCb(action="withdraw", id=report_id))
    kb.adjust(1)
    return kb.as_markup()


def withdraw_confirm(report_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Yes, withdraw it"), callback_data=MyCb(action="wd_yes", id=report_id))
    kb.button(text=_("No, keep it"), callback_data=MyCb(action="open", id=report_id))
    kb.adjust(1)
    return kb.as_markup()


def reply_button(report_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("↩️ Reply"), callback_data=MyCb(action="reply", id=report_id))
    return kb.as_markup()


def followup(report_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("👍 Yes, it is fixed"), callback_data=MyCb(action="fixed", id=report_id))
    kb.button(text=_("👎 No, still a problem"), callback_data=MyCb(action="notfixed", id=report_id))
    kb.adjust(1)
    return kb.as_markup()
