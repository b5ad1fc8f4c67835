"""Inline keyboards of the announcement wizard and /campaigns (built per request)."""
from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.community import Community
from bot.config import SUPPORTED_LOCALES
from bot.delivery import CampaignCb
from bot.services.campaigns import Audience
from bot.services.users import GRANTABLE_ROLES, TOPICS
from handlers.announce.texts import ROLE_NAMES, language_name
from handlers.shared import TOPIC_NAMES


class AnnCb(CallbackData, prefix="ann"):
    """A wizard button. ``step`` names the wizard step, so a button of an old step does nothing.

    tr: translations (lang <code> | next); aud: audience (all | view <d|l|t|r> | d|l|t|r <value> |
    back | next); cf: confirm (later | now | urgent | audience | send | drop).
    """

    step: str
    action: str
    value: str = ""


def _mark(on: bool) -> str:
    return "☑️" if on else "⬜"


def translations(texts: dict[str, str], default_locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code in SUPPORTED_LOCALES:
        if code == default_locale:
            continue
        label = f"✏️ {language_name(code)} ✓" if code in texts else f"➕ {language_name(code)}"
        kb.button(text=label, callback_data=AnnCb(step="tr", action="lang", value=code))
    kb.button(text=_("Continue ➡️"), callback_data=AnnCb(step="tr", action="next"))
    kb.adjust(len(SUPPORTED_LOCALES) - 1, 1)
    return kb.as_markup()


def audience(aud: Audience, view: str, community: Community, locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if view == "d":
        for d in community.districts:
            kb.button(text=f"{_mark(d.code in aud.districts)} {d.name(locale)}",
                      callback_data=AnnCb(step="aud", action="d", value=d.code))
    elif view == "l":
        for code in SUPPORTED_LOCALES:
            kb.button(text=f"{_mark(code in aud.languages)} {language_name(code)}",
                      callback_data=AnnCb(step="aud", action="l", value=code))
    elif view == "t":
        for topic in TOPICS:
            kb.button(text=f"{_mark(topic in aud.topics)} {_(TOPIC_NAMES[topic])}",
                      callback_data=AnnCb(step="aud", action="t", value=topic))
    elif view == "r":
        for role in GRANTABLE_ROLES:
            kb.button(text=f"{_mark(role in aud.roles)} {_(ROLE_NAMES[role])}",
                      callback_data=AnnCb(step="aud", action="r", value=role))
    if view in ("d", "l", "t", "r"):
        kb.button(text=_("⬅️ Back"), callback_data=AnnCb(step="aud", action="back"))
        kb.adjust(1)
        return kb.as_markup()

    def count(items: list[str]) -> str:
        return f" ({len(items)})" if items else ""

    kb.button(text=("✅ " if aud.is_everyone else "") + _("👥 Everyone"), callback_data=AnnCb(step="aud", action="all"))
    kb.button(text=_("🏘 Districts") + count(aud.districts), callback_data=AnnCb(step="aud", action="view", value="d"))
    kb.button(text=_("🗣 Languages") + count(aud.languages), callback_data=AnnCb(step="aud", action="view", value="l"))
    kb.button(text=_("⭐ Topics") + count(aud.topics), callback_data=AnnCb(step="aud", action="view", value="t"))
    kb.button(text=_("🎖 Roles") + count(aud.roles), callback_data=AnnCb(step="aud", action="view", value="r"))
    kb.button(text=_("Continue ➡️"), callback_data=AnnCb(step="aud", action="next"))
    kb.adjust(1, 2, 2, 1)
    return kb.as_markup()


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
    if not ids:
        return None
    kb = InlineKeyboardBuilder()
    for campaign_id in ids:
        kb.button(text=_("✖ Cancel #{id}").format(id=campaign_id),
                  callback_data=CampaignCb(action="lcancel", id=campaign_id))
    kb.adjust(2)
    return kb.as_markup()
