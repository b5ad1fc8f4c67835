"""Keyboards and texts shared by several features (built per request, never at import)."""
from __future__ import annotations

from typing import Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import BaseFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.community import Community
from bot.i18n import LANGUAGE_NAMES, N_
from bot.services.users import TOPICS

TOPIC_NAMES = {
    "reports": N_("Local problems and their fixes"),
    "polls": N_("Polls and surveys"),
    "events": N_("Events and meetings"),
    "proposals": N_("Project proposals"),
}


class LangCb(CallbackData, prefix="lang"):
    code: str


class PickCb(CallbackData, prefix="pick"):
    """A choice in a wizard step: `step` names the step so an old button cannot hit a new step."""

    step: str
    value: str = ""


def language_keyboard(current: str | None = None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        mark = " ✓" if code == current else ""
        kb.button(text=f"{name}{mark}", callback_data=LangCb(code=code))
    kb.adjust(2)
    return kb.as_markup()


def district_keyboard(community: Community, locale: str, step: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for district in community.districts:
        kb.button(text=district.name(locale), callback_data=PickCb(step=step, value=district.code))
    kb.adjust(2)
    return kb.as_markup()


def topics_keyboard(selected: list[str], step: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for topic in TOPICS:
        mark = "☑️" if topic in selected else "⬜"
        kb.button(text=f"{mark} {_(TOPIC_NAMES[topic])}", callback_data=PickCb(step=step, value=topic))
    kb.button(text=_("Done ✅"), callback_data=PickCb(step=step, value="done"))
    kb.adjust(1)
    return kb.as_markup()


def topics_text(topics: list[str]) -> str:
    return ", ".join(_(TOPIC_NAMES[t]) for t in TOPICS if t in topics) or _("none")


async def close_buttons(callback: CallbackQuery) -> None:
    """Remove the buttons of an answered wizard message, so they cannot be pressed again."""
    if isinstance(callback.message, Message):
        try:
            await callback.message.edit_reply_markup(reply_markup=None)
        except TelegramBadRequest:
            pass


async def edit_text(callback: CallbackQuery, text: str, markup: Any) -> None:
    """Edit the pressed button's message in place ("not modified" is fine)."""
    if isinstance(callback.message, Message):
        try:
            await callback.message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message:
                raise


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def rows(*rows_: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[list(r) for r in rows_])


# The resident's main menu: big reply-keyboard buttons for people who don't type commands.
MENU_PROFILE = N_("👤 My profile")
MENU_HELP = N_("❓ Help")
MENU_REPORT = N_("📝 Report a problem")
MENU_POLLS = N_("📊 Polls")


def main_menu() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_(MENU_REPORT)), KeyboardButton(text=_(MENU_POLLS))],
            [KeyboardButton(text=_(MENU_PROFILE)), KeyboardButton(text=_(MENU_HELP))],
        ],
        resize_keyboard=True,
        is_persistent=True,
    )


class MenuText(BaseFilter):
    """Matches a reply-keyboard button's text in the sender's current language."""

    def __init__(self, msgid: str) -> None:
        self.msgid = msgid

    async def __call__(self, message: Message, **kwargs: Any) -> bool:
        return message.text is not None and message.text == _(self.msgid)
