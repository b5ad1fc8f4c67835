"""Destructive buttons ask first: "Close poll #3 now?" with [Yes, close] [No], as a second
message or in place of the pressed one. Both answers are the feature's own CallbackData, so a
confirmation is handled like any other press and re-checked on the server when it comes (the
role, the organisation, and that the object is still in the state to be acted on); a stale one
says what happened instead. The feature keeps its own words; this module keeps the shape."""
from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.shared import edit_text


def keyboard(yes: str, yes_data: CallbackData, no_data: CallbackData, no: str | None = None) -> InlineKeyboardMarkup:
    """[yes] [No] in one row; ``yes`` names the action ("🗑 Yes, remove")."""
    kb = InlineKeyboardBuilder()
    kb.button(text=yes, callback_data=yes_data)
    kb.button(text=no or _("No"), callback_data=no_data)
    kb.adjust(2)
    return kb.as_markup()


def nothing_changed() -> str:
    return _("Nothing was changed.")


async def settle(callback: CallbackQuery, text: str) -> None:
    """The confirmation message becomes its outcome (what was done, kept, or already so), without
    buttons, so it cannot be pressed again."""
    await edit_text(callback, text, None)
