"""Mediators' buttons (built per request)."""
from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.i18n import LANGUAGE_NAMES, shorten
from bot.services.mediators import PAGE
from handlers.shared import PickCb, button, rows
from storage.models import User


class MedCb(CallbackData, prefix="md"):
    """``a``: l list page | s search | v view | a act | x export | d delete? | D delete | k link |
    r register."""

    a: str
    id: int = 0
    page: int = 0


class LinkCb(CallbackData, prefix="lk"):
    """The resident's answer to "link this account?": ``a`` y | n; ``t`` the one-time token."""

    a: str
    t: str


def listing(found: list[User], total: int, page: int) -> InlineKeyboardMarkup:
    lines = [[button(shorten(f"{u.code} · {u.display_name or '—'}", 60), MedCb(a="v", id=u.id))] for u in found]
    nav = []
    if page > 0:
        nav.append(button("◀️", MedCb(a="l", page=page - 1)))
    if (page + 1) * PAGE < total:
        nav.append(button("▶️", MedCb(a="l", page=page + 1)))
    if nav:
        lines.append(nav)
    lines.append([button(_("➕ New resident"), MedCb(a="r")), button(_("🔎 Find"), MedCb(a="s"))])
    return rows(*lines)


def card(user: User) -> InlineKeyboardMarkup:
    return rows(
        [button(_("▶️ Act for them"), MedCb(a="a", id=user.id))],
        [button(_("🔗 Link their Telegram"), MedCb(a="k", id=user.id))],
        [button(_("📤 Their data"), MedCb(a="x", id=user.id)), button(_("🗑 Delete"), MedCb(a="d", id=user.id))],
        [button(_("◀️ All residents"), MedCb(a="l"))],
    )


def after_register(user: User) -> InlineKeyboardMarkup:
    return rows(
        [button(_("▶️ Act for them now"), MedCb(a="a", id=user.id))],
        [button(_("➕ Register another"), MedCb(a="r")), button(_("🤝 My residents"), MedCb(a="l"))],
    )


def duplicates(found: list[User], mine: set[int]) -> InlineKeyboardMarkup:
    lines = [[button(_("Open {code}").format(code=u.code), MedCb(a="v", id=u.id))] for u in found if u.id in mine]
    lines.append([button(_("Someone else: continue"), PickCb(step="md_dup", value="go"))])
    lines.append([button(_("✖ Stop"), PickCb(step="md_dup", value="stop"))])
    return rows(*lines)


def languages() -> InlineKeyboardMarkup:
    names = [button(name, PickCb(step="md_lang", value=code)) for code, name in LANGUAGE_NAMES.items()]
    return rows(names[:2], names[2:])


def skip_phone() -> InlineKeyboardMarkup:
    return rows([button(_("Skip"), PickCb(step="md_phone", value="skip"))])


def consent() -> InlineKeyboardMarkup:
    return rows(
        [button(_("✅ I read it aloud; they agree"), PickCb(step="md_consent", value="yes"))],
        [button(_("✖ They do not agree"), PickCb(step="md_consent", value="no"))],
    )


def confirm_delete(user: User) -> InlineKeyboardMarkup:
    return rows(
        [button(_("🗑 Yes, delete their data"), MedCb(a="D", id=user.id))],
        [button(_("Cancel"), MedCb(a="v", id=user.id))],
    )


def link_question(token: str) -> InlineKeyboardMarkup:
    return rows([button(_("✅ Yes, it is me"), LinkCb(a="y", t=token))],
                [button(_("✖ No"), LinkCb(a="n", t=token))])
