"""Keyboards of recommendations (built per request: they hold translated text)."""
from __future__ import annotations

from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.community import Community
from bot.i18n import shorten
from bot.services import recommendations as rs
from bot.services.orgs import name_of
from handlers.recommendations import texts
from storage.models import Organisation, Recommendation


class RecCb(CallbackData, prefix="rc"):
    """An organizer's button: ``a`` list | show | a lifecycle action (rs.ACTIONS) on recommendation
    ``id`` whose card showed status ``st``; ``v`` the step's choice (days, how, the answer)."""

    a: str
    id: int = 0
    st: str = ""
    v: str = ""


class NewRecCb(CallbackData, prefix="nr"):
    """A /newrec wizard button: ``step`` body | dist, so an old button cannot hit a new step."""

    step: str
    v: str = ""


class EvCb(CallbackData, prefix="re"):
    """Evidence of a draft: ``a`` menu | list (of kind ``k``) | add (``r``: its id, or the days of
    report counts) | done."""

    a: str
    id: int
    k: str = ""
    r: int = 0


class RecVoteCb(CallbackData, prefix="rv"):
    """A resident's or representative's button: ``a`` show | doc (the council's answer as a document)
    | sup | uns | end | une (``org``)."""

    a: str
    id: int
    org: int = 0


def bodies(community: Community, locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for body in community.bodies:
        kb.button(text=body.name(locale), callback_data=NewRecCb(step="body", v=body.code))
    kb.adjust(1)
    return kb.as_markup()


def districts(community: Community, locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for district in community.districts:
        kb.button(text=district.name(locale), callback_data=NewRecCb(step="dist", v=district.code))
    kb.button(text=_("The whole community"), callback_data=NewRecCb(step="dist", v="-"))
    kb.adjust(2)
    return kb.as_markup()


def evidence_menu(rec_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for kind in rs.EVIDENCE_KINDS:
        kb.button(text=_(texts.KIND_NAMES[kind]), callback_data=EvCb(a="list", id=rec_id, k=kind))
    kb.button(text=_("✅ Done"), callback_data=EvCb(a="done", id=rec_id))
    kb.adjust(1)
    return kb.as_markup()


def candidates(rec_id: int, kind: str, found: list[tuple[int, Any]], locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for ref_id, thing in found:
        kb.button(text=texts.candidate_label(kind, thing, locale), callback_data=EvCb(a="add", id=rec_id, k=kind,
                                                                                       r=ref_id))
    kb.button(text=_("⬅️ Back"), callback_data=EvCb(a="menu", id=rec_id))
    kb.adjust(1)
    return kb.as_markup()


def organizer_list(recs: list[Recommendation], locale: str) -> InlineKeyboardMarkup | None:
    if not recs:
        return None
    kb = InlineKeyboardBuilder()
    for rec in recs:
        kb.button(text=f"#{rec.id} {shorten(texts.pick(rec.title, locale, rec.default_locale), 30)}",
                  callback_data=RecCb(a="show", id=rec.id))
    kb.adjust(1)
    return kb.as_markup()


def card(rec: Recommendation, settings: Any = None) -> InlineKeyboardMarkup:
    """The next steps only (checked again on the server when pressed); its latest public step to
    the public channel, when one is configured."""
    from handlers.shared import publish_button

    kb = InlineKeyboardBuilder()
    if rs.channel_kind(rec) and (button := publish_button(settings, "rec", rec.id)) is not None:
        kb.add(button)
    if rec.status == "draft":
        kb.button(text=_("📎 Evidence"), callback_data=EvCb(a="menu", id=rec.id))
    for action in rs.next_actions(rec):
        kb.button(text=_(texts.ACTION_NAMES[action]), callback_data=RecCb(a=action, id=rec.id, st=rec.status))
    if rec.status in rs.DISCUSSABLE:
        kb.button(text=_("💬 Discuss with residents"), callback_data=RecCb(a="discuss", id=rec.id, st=rec.status))
    if rec.answer_file_id:
        kb.button(text=_("📎 The council's answer (document)"), callback_data=RecVoteCb(a="doc", id=rec.id))
    if rec.status in rs.ENDORSABLE:  # as residents and representatives see it (to endorse it too)
        kb.button(text=_("🔎 Evidence and details"), callback_data=RecVoteCb(a="show", id=rec.id))
    kb.button(text=_("⬅️ All recommendations"), callback_data=RecCb(a="list"))
    kb.adjust(1)
    return kb.as_markup()


def choices(rec: Recommendation, action: str, options: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for value, label in options:
        kb.button(text=label, callback_data=RecCb(a=action, id=rec.id, st=rec.status, v=value))
    kb.button(text=_("⬅️ Back"), callback_data=RecCb(a="show", id=rec.id))
    kb.adjust(1)
    return kb.as_markup()


def public(rec_id: int) -> InlineKeyboardMarkup:
    """Under the recommendation residents get when it opens."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("👍 Support"), callback_data=RecVoteCb(a="sup", id=rec_id))
    kb.button(text=_("🔎 Evidence and details"), callback_data=RecVoteCb(a="show", id=rec_id))
    kb.adjust(1)
    return kb.as_markup()


def more(rec_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔎 Evidence and details"), callback_data=RecVoteCb(a="show", id=rec_id))
    return kb.as_markup()


def resident_card(rec: Recommendation, *, can_support: bool, supports: bool,
                  orgs: list[tuple[Organisation, bool]], locale: str) -> InlineKeyboardMarkup | None:
    """Support or take it back; a representative endorses for (or takes back) each organisation."""
    kb = InlineKeyboardBuilder()
    if supports and rec.status in rs.REVOCABLE:
        kb.button(text=_("↩️ Withdraw my support"), callback_data=RecVoteCb(a="uns", id=rec.id))
    elif can_support and not supports:
        kb.button(text=_("👍 Support"), callback_data=RecVoteCb(a="sup", id=rec.id))
    if rec.answer_file_id:
        kb.button(text=_("📎 The council's answer (document)"), callback_data=RecVoteCb(a="doc", id=rec.id))
    for org, endorsed in orgs:
        name = shorten(name_of(org, locale), 30)
        if endorsed and rec.status in rs.REVOCABLE:
            kb.button(text=_("↩️ Take back for {org}").format(org=name),
                      callback_data=RecVoteCb(a="une", id=rec.id, org=org.id))
        elif not endorsed and rec.status in rs.ENDORSABLE:
            kb.button(text=_("🏢 Endorse for {org}").format(org=name),
                      callback_data=RecVoteCb(a="end", id=rec.id, org=org.id))
    kb.adjust(1)
    markup = kb.as_markup()
    return markup if markup.inline_keyboard else None
