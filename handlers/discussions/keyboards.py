"""Buttons of online discussions (built per request, in the reader's language)."""
from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.services.discussions import REASONS
from handlers.discussions import texts
from handlers.shared import button, rows


class DiscCb(CallbackData, prefix="dc"):
    """A resident's button: ``a`` go (the next statement, in a new message) | more (the same, in
    place) | a / d / p (agree, disagree, pass on statement ``s``) | add (their own statement) |
    later; ``d`` the discussion."""

    a: str
    d: int
    s: int = 0


class DiscOrgCb(CallbackData, prefix="do"):
    """An organizer's button: ``a`` r (results) | c (close now) on discussion ``id``."""

    a: str
    id: int


class NewDiscCb(CallbackData, prefix="nd"):
    """The /newdiscussion wizard: ``a`` seeds-done | audience | closes | open | drop."""

    a: str


class StmtCb(CallbackData, prefix="ds"):
    """A statement card in the moderators' chat: ``a`` ok | no (show reasons) | rj (reject with
    reason ``r``) | back, on statement ``id``."""

    a: str
    id: int
    r: str = ""


def invitation(discussion_id: int) -> InlineKeyboardMarkup:
    return rows([button(_("💬 Take part"), DiscCb(a="go", d=discussion_id))])


def statement(discussion_id: int, statement_id: int) -> InlineKeyboardMarkup:
    def vote(text: str, action: str) -> InlineKeyboardButton:
        return button(text, DiscCb(a=action, d=discussion_id, s=statement_id))

    return rows(
        [vote(_("👍 Agree"), "a"), vote(_("👎 Disagree"), "d"), vote(_("🤷 Pass"), "p")],
        [button(_("✍️ Add my statement"), DiscCb(a="add", d=discussion_id)),
         button(_("⏸ Later"), DiscCb(a="later", d=discussion_id))],
    )


def all_seen(discussion_id: int) -> InlineKeyboardMarkup:
    return rows([button(_("🔄 Show me more"), DiscCb(a="more", d=discussion_id))],
                [button(_("✍️ Add my statement"), DiscCb(a="add", d=discussion_id))])


def open_list(items: list[tuple[int, int]]) -> InlineKeyboardMarkup | None:
    """One button per open discussion: (id, statements waiting)."""
    if not items:
        return None
    kb = InlineKeyboardBuilder()
    for n, (discussion_id, _left) in enumerate(items, 1):
        kb.button(text=texts.open_button(n), callback_data=DiscCb(a="go", d=discussion_id))
    kb.adjust(4)
    return kb.as_markup()


def organizer_list(ids: list[int]) -> InlineKeyboardMarkup | None:
    if not ids:
        return None
    kb = InlineKeyboardBuilder()
    for discussion_id in ids:
        kb.button(text=f"📊 #{discussion_id}", callback_data=DiscOrgCb(a="r", id=discussion_id))
    kb.adjust(4)
    return kb.as_markup()


def results(discussion_id: int, status: str, channel: InlineKeyboardButton | None) -> InlineKeyboardMarkup | None:
    buttons = []
    if status == "open":
        buttons.append([button(_("🔒 Close now"), DiscOrgCb(a="c", id=discussion_id))])
    elif channel is not None:
        buttons.append([channel])
    return rows(*buttons) if buttons else None


def seeds(count: int) -> InlineKeyboardMarkup | None:
    if count < 2:
        return None
    return rows([button(_("✅ That's all"), NewDiscCb(a="seeds-done"))])


def panel(count: int, translations: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    """``translations``: the shared ➕ buttons of the question (handlers.langs.add_buttons)."""
    return rows(
        translations,
        [button(_("👥 Audience"), NewDiscCb(a="audience")), button(_("⏰ Closing time"), NewDiscCb(a="closes"))],
        [button(texts.open_for(count), NewDiscCb(a="open"))],
        [button(_("🗑 Drop"), NewDiscCb(a="drop"))],
    )


def card(statement_id: int, view: str = "main") -> InlineKeyboardMarkup:
    if view == "reasons":
        return rows(*([button(texts.reason(code), StmtCb(a="rj", id=statement_id, r=code))] for code in REASONS),
                    [button(_("⬅️ Back"), StmtCb(a="back", id=statement_id))])
    return rows([button(_("✅ Approve"), StmtCb(a="ok", id=statement_id)),
                 button(_("🚫 Reject"), StmtCb(a="no", id=statement_id))])
