"""Inline keyboards of the announcement wizard and /campaigns (built per request)."""
from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.delivery import CampaignCb
from handlers.shared import grid


class AnnCb(CallbackData, prefix="ann"):
    """A wizard button. ``step`` names the wizard step, so a button of an old step does nothing.

    cf: confirm (later | now | urgent | audience | send | drop).
    (The audience step uses handlers.audience.AudCb and the language ones handlers.langs.WriteCb,
    both with owner "ann".)
    """

    step: str
    action: str
    value: str = ""


def confirm(*, count: int, scheduled: bool, urgent: bool, send_label: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=send_label, callback_data=AnnCb(step="cf", action="send"))
    if scheduled:
        kb.button(text=_("▶️ Send now instead"), callback_data=AnnCb(step="cf", action="now"))
    else:
        kb.button(text=_("🕒 Schedule for later"), callback_data=AnnCb(step="cf", action="later"))
    kb.button(text=(_("🚨 Urgent: on") if urgent else _("🔕 Urgent: off")), callback_data=AnnCb(step="cf", action="urgent"))
    kb.button(text=_("👥 Change audience"), callback_data=AnnCb(step="cf", action="audience"))
    kb.button(text=_("✖ Don't send"), callback_data=AnnCb(step="cf", action="drop"))
    kb.adjust(1, 2, 2)
    return kb.as_markup()


def campaigns(ids: list[int]) -> InlineKeyboardMarkup | None:
    return grid([(_("✖ Cancel #{id}").format(id=campaign_id), CampaignCb(action="lcancel", id=campaign_id))
                 for campaign_id in ids], 2)
