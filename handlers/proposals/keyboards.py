"""Keyboards of project proposals (built per request: they hold translated text)."""
from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.community import Community
from bot.i18n import shorten
from bot.services.orgs import name_of
from bot.services.proposals import ACTIONS, CATEGORIES, SUPPORTABLE
from handlers.proposals import texts
from storage.models import Organisation, Proposal


class WizCb(CallbackData, prefix="pw"):
    """A wizard step's button: ``step`` names the step so an old button cannot hit a new one."""

    step: str
    v: str = ""


class ProjCb(CallbackData, prefix="pj"):
    """Lists and details: ``a`` list | show | sup | uns | photo | mine | edit | wd | new | fd | fs;
    ``p`` the page, ``d`` the district filter (its index; -1 none), ``s`` the status filter."""

    a: str
    id: int = 0
    p: int = 0
    d: int = -1
    s: str = ""
    n: int = 0  # 1: show it in a message of its own (from a notification, /myproposals)


class PModCb(CallbackData, prefix="pm"):
    """A moderator's button: action ``a`` on proposal ``id`` whose card showed status ``st``."""

    a: str
    id: int
    st: str


def skip(step: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Skip"), callback_data=WizCb(step=step, v="skip"))
    return kb.as_markup()


def districts(community: Community, locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for district in community.districts:
        kb.button(text=district.name(locale), callback_data=WizCb(step="dist", v=district.code))
    kb.button(text=_("The whole community"), callback_data=WizCb(step="dist", v="-"))
    kb.adjust(2)
    return kb.as_markup()


def categories() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code in CATEGORIES:
        kb.button(text=texts.category_name(code), callback_data=WizCb(step="cat", v=code))
    kb.adjust(1)
    return kb.as_markup()


def orgs(choices: list[Organisation], locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=texts.as_myself(), callback_data=WizCb(step="org", v="-"))
    for org in choices:
        kb.button(text=f"🏢 {name_of(org, locale)[:50]}", callback_data=WizCb(step="org", v=str(org.id)))
    kb.adjust(1)
    return kb.as_markup()


def review() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Send to the moderators"), callback_data=WizCb(step="rev", v="send"))
    for field, label in (("title", _("✏️ Title")), ("problem", _("✏️ Problem")), ("solution", _("✏️ Proposal")),
                         ("district", _("✏️ District")), ("category", _("✏️ Kind")), ("budget", _("✏️ Budget")),
                         ("photo", _("✏️ Photo"))):
        kb.button(text=label, callback_data=WizCb(step="rev", v=field))
    kb.button(text=_("🗑 Drop"), callback_data=WizCb(step="rev", v="drop"))
    kb.adjust(1, 3, 2, 2, 1)
    return kb.as_markup()


def listing(items: list[Proposal], page: int, pages: int, d: int, s: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    sizes = []
    for p in items:
        kb.button(text=texts.list_button(p), callback_data=ProjCb(a="show", id=p.id, p=page, d=d, s=s))
        sizes.append(1)
    nav = 0
    if page > 0:
        kb.button(text="◀️", callback_data=ProjCb(a="list", p=page - 1, d=d, s=s))
        nav += 1
    if page + 1 < pages:
        kb.button(text="▶️", callback_data=ProjCb(a="list", p=page + 1, d=d, s=s))
        nav += 1
    if nav:
        sizes.append(nav)
    kb.button(text=_("📍 District"), callback_data=ProjCb(a="fd", d=d, s=s))
    kb.button(text=_("🔎 Status"), callback_data=ProjCb(a="fs", d=d, s=s))
    kb.button(text=_("➕ Propose a project"), callback_data=ProjCb(a="new"))
    kb.button(text=_("🗂 Mine"), callback_data=ProjCb(a="mine"))
    sizes += [2, 2]
    kb.adjust(*sizes)
    return kb.as_markup()


def district_filter(community: Community, locale: str, s: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("All districts"), callback_data=ProjCb(a="list", d=-1, s=s))
    for index, district in enumerate(community.districts):
        kb.button(text=district.name(locale), callback_data=ProjCb(a="list", d=index, s=s))
    kb.adjust(2)
    return kb.as_markup()


def status_filter(d: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("All current"), callback_data=ProjCb(a="list", d=d, s=""))
    for status in ("published", "review", "accepted", "in_progress", "realised", "rejected"):
        kb.button(text=texts.status_name(status), callback_data=ProjCb(a="list", d=d, s=status))
    kb.adjust(1)
    return kb.as_markup()


def detail(p: Proposal, user_id: int | None, supported: bool, page: int, d: int, s: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if p.status in SUPPORTABLE and p.user_id != user_id:
        if supported:
            kb.button(text=_("↩️ Withdraw my support"), callback_data=ProjCb(a="uns", id=p.id, p=page, d=d, s=s))
        else:
            kb.button(text=_("👍 Support"), callback_data=ProjCb(a="sup", id=p.id, p=page, d=d, s=s))
    if p.photo_file_id:
        kb.button(text=_("📷 Photo"), callback_data=ProjCb(a="photo", id=p.id))
    if p.user_id is not None and p.user_id == user_id:
        if p.status == "changes":
            kb.button(text=_("✏️ Edit and send again"), callback_data=ProjCb(a="edit", id=p.id))
        if p.status in ("submitted", "changes"):
            kb.button(text=_("↩️ Withdraw my proposal"), callback_data=ProjCb(a="wd", id=p.id))
    kb.button(text=_("⬅️ Back"), callback_data=ProjCb(a="list", p=page, d=d, s=s))
    kb.adjust(1)
    return kb.as_markup()


def mine(items: list[Proposal]) -> InlineKeyboardMarkup | None:
    if not items:
        return None
    kb = InlineKeyboardBuilder()
    for p in items:
        kb.button(text=f"#{p.id} {shorten(p.title, 40)}", callback_data=ProjCb(a="show", id=p.id, n=1))
    kb.adjust(1)
    return kb.as_markup()


def news(payload_id: int, status: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if status == "changes":
        kb.button(text=_("✏️ Edit and send again"), callback_data=ProjCb(a="edit", id=payload_id))
    kb.button(text=_("💡 See the proposal"), callback_data=ProjCb(a="show", id=payload_id, n=1))
    kb.adjust(1)
    return kb.as_markup()


def moderation(p: Proposal, channel: InlineKeyboardButton | None = None) -> InlineKeyboardMarkup | None:
    """The card's buttons by status; ``channel`` (publish to the public channel) once realised."""
    labels = {
        "publish": _("📣 Publish"), "changes": _("✏️ Ask for changes"), "duplicate": _("🔁 Duplicate"),
        "review": _("🏛 Under review"), "accept": _("✅ Accepted"), "start": _("🛠 Work started"),
        "progress": _("📈 Progress"), "realise": _("🎉 Realised"), "reject": _("🚫 Reject"),
    }
    kb = InlineKeyboardBuilder()
    shown = 0
    for action, (starts, _target) in ACTIONS.items():
        if p.status in starts:
            kb.button(text=labels[action], callback_data=PModCb(a=action, id=p.id, st=p.status))
            shown += 1
    if channel is not None and p.status == "realised":
        kb.add(channel)
        shown += 1
    if not shown:
        return None
    kb.adjust(2)
    return kb.as_markup()
