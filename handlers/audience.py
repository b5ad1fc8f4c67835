"""The audience picker shared by every organizer wizard (announcements, polls, ...): who should
get it, by district, language, topic and role. Keyboards and texts are built per request."""
from __future__ import annotations

from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from bot.config import SUPPORTED_LOCALES
from bot.i18n import LANGUAGE_NAMES, N_, esc, fmt_number, pgettext
from bot.services import campaigns as campaigns_service
from bot.services import groups as groups_service
from bot.services.campaigns import Audience
from bot.services.users import GRANTABLE_ROLES, TOPICS
from handlers.shared import TOPIC_NAMES, close_buttons, edit_text

ROLE_NAMES = {"organizer": N_("Organizers"), "moderator": N_("Moderators"), "mediator": N_("Mediators")}
PICKER_GROUPS = 60  # buttons in the working groups view (Telegram allows 100)
FIELDS = {"d": "districts", "l": "languages", "t": "topics", "r": "roles", "g": "groups"}


class AudCb(CallbackData, prefix="aud"):
    """A button of the picker. ``owner`` names the wizard (each handles its own); action is
    all | view <d|l|t|r|g> | d|l|t|r|g <value> | back | next (g: a working group's id)."""

    owner: str
    action: str
    value: str = ""


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def residents(count: int, locale: str) -> str:
    return ngettext("{count} resident", "{count} residents", count).format(count=fmt_number(count, locale))


def summary(audience: Audience, community: Community, locale: str, group_names: dict[int, str] | None = None) -> str:
    if audience.is_everyone:
        return _("all registered residents")
    parts = []
    if audience.districts:
        parts.append(_("districts: {names}").format(
            names=", ".join(community.district_name(c, locale) for c in audience.districts)))
    if audience.languages:
        parts.append(_("languages: {names}").format(names=", ".join(language_name(c) for c in audience.languages)))
    if audience.topics:
        parts.append(_("interested in: {names}").format(
            names=", ".join(_(TOPIC_NAMES[t]) for t in audience.topics if t in TOPIC_NAMES)))
    if audience.roles:
        parts.append(_("roles: {names}").format(names=", ".join(_(ROLE_NAMES.get(r, r)) for r in audience.roles)))
    if audience.groups:
        names = group_names or {}
        parts.append(_("working groups: {names}").format(
            names=", ".join(esc(names.get(g, f"#{g}")) for g in audience.groups)))
    return "; ".join(parts)


def _named(names: dict[int, dict[str, str]], locale: str) -> dict[int, str]:
    # imported here: handlers.polls.texts imports this module
    from handlers.polls.texts import pick

    return {gid: pick(name, locale, "en") for gid, name in names.items()}


async def open_group_names(session: AsyncSession, locale: str) -> dict[int, str]:
    """The open working groups, id -> name in ``locale`` (oldest first)."""
    return _named({g.id: g.name for g, _n in await groups_service.open_groups(session, limit=PICKER_GROUPS)}, locale)


async def describe(session: AsyncSession, audience: Audience, community: Community, locale: str) -> str:
    """``summary`` with the working groups named."""
    return summary(audience, community, locale, await _names(session, audience, locale))


def who_gets_it(owner: str) -> str:
    """The picker's question, with what "it" is (its gender differs by language)."""
    match owner:
        case "poll":
            return pgettext("poll", "<b>Who should get it?</b>")
        case "event":
            return pgettext("event", "<b>Who should get it?</b>")
        case "disc":
            return pgettext("discussion", "<b>Who should get it?</b>")
        case _:
            return pgettext("announcement", "<b>Who should get it?</b>")


def menu_text(audience: Audience, community: Community, locale: str, count: int, view: str,
              group_names: dict[int, str] | None = None, owner: str = "ann") -> str:
    lines = [
        who_gets_it(owner),
        _("Audience: {audience}").format(audience=summary(audience, community, locale, group_names)),
        _("Matching now: {residents}").format(residents=residents(count, locale)),
    ]
    hint = {
        "d": _("Choose one or more districts."),
        "l": _("Choose one or more languages."),
        "t": _("Choose one or more topics of interest."),
        "r": _("Choose one or more roles."),
        "g": _("Choose one or more working groups: their members get it."),
    }.get(view)
    if hint:
        lines.append(hint)
    return "\n".join(lines)


def nobody() -> str:
    return _("Nobody matches this audience. Please change it.")


def _mark(on: bool) -> str:
    return "☑️" if on else "⬜"


def keyboard(aud: Audience, view: str, community: Community, locale: str, owner: str,
             group_names: dict[int, str] | None = None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()

    def cb(action: str, value: str = "") -> AudCb:
        return AudCb(owner=owner, action=action, value=value)

    if view == "d":
        for d in community.districts:
            kb.button(text=f"{_mark(d.code in aud.districts)} {d.name(locale)}", callback_data=cb("d", d.code))
    elif view == "l":
        for code in SUPPORTED_LOCALES:
            kb.button(text=f"{_mark(code in aud.languages)} {language_name(code)}", callback_data=cb("l", code))
    elif view == "t":
        for topic in TOPICS:
            kb.button(text=f"{_mark(topic in aud.topics)} {_(TOPIC_NAMES[topic])}", callback_data=cb("t", topic))
    elif view == "r":
        for role in GRANTABLE_ROLES:
            kb.button(text=f"{_mark(role in aud.roles)} {_(ROLE_NAMES[role])}", callback_data=cb("r", role))
    elif view == "g":
        for gid, name in (group_names or {}).items():
            kb.button(text=f"{_mark(gid in aud.groups)} {name[:40]}", callback_data=cb("g", str(gid)))
    if view in FIELDS:
        kb.button(text=_("⬅️ Back"), callback_data=cb("back"))
        kb.adjust(1)
        return kb.as_markup()

    def count(items: list[str]) -> str:
        return f" ({len(items)})" if items else ""

    kb.button(text=("✅ " if aud.is_everyone else "") + _("👥 Everyone"), callback_data=cb("all"))
    kb.button(text=_("🏘 Districts") + count(aud.districts), callback_data=cb("view", "d"))
    kb.button(text=_("🗣 Languages") + count(aud.languages), callback_data=cb("view", "l"))
    kb.button(text=_("⭐ Topics") + count(aud.topics), callback_data=cb("view", "t"))
    kb.button(text=_("🎖 Roles") + count(aud.roles), callback_data=cb("view", "r"))
    if group_names or aud.groups:
        kb.button(text=_("🤝 Working groups") + count(aud.groups), callback_data=cb("view", "g"))
    kb.button(text=_("Continue ➡️"), callback_data=cb("next"))
    kb.adjust(1, 2, 2, *((1,) if group_names or aud.groups else ()), 1)
    return kb.as_markup()


def apply(audience: Audience, action: str, value: str, community: Community, group_ids: set[int] | None = None) -> str:
    """Apply a button (not "next") to ``audience`` in place; returns the view to show next."""
    if action == "all":
        audience.districts, audience.languages, audience.topics, audience.roles = [], [], [], []
        audience.groups = []
        audience.user_ids = None
        return ""
    if action == "view" and value in FIELDS:
        return value
    if action == "g":  # a working group: only open ones can be chosen (the id comes from the client)
        gid = int(value) if value.isdigit() else 0
        if gid in audience.groups:
            audience.groups.remove(gid)
        elif gid in (group_ids or set()):
            audience.groups.append(gid)
        return action
    if action in FIELDS:
        valid = {
            "d": {d.code for d in community.districts},
            "l": set(SUPPORTED_LOCALES),
            "t": set(TOPICS),
            "r": set(GRANTABLE_ROLES),
        }[action]
        if value in valid:
            items: list[str] = getattr(audience, FIELDS[action])
            if value in items:
                items.remove(value)
            else:
                items.append(value)
        return action
    return ""


async def view(
    audience: Audience, view_: str, session: AsyncSession, community: Community, locale: str, owner: str
) -> tuple[str, Any]:
    count = await campaigns_service.count_audience(session, audience)
    groups = await open_group_names(session, locale)
    chosen = {**groups, **{g: n for g, n in (await _names(session, audience, locale)).items()}}
    return (menu_text(audience, community, locale, count, view_, chosen, owner),
            keyboard(audience, view_, community, locale, owner, groups))


async def _names(session: AsyncSession, audience: Audience, locale: str) -> dict[int, str]:
    return _named(await groups_service.names(session, audience.groups), locale)


async def step(
    callback: CallbackQuery, callback_data: AudCb, audience: Audience, session: AsyncSession,
    community: Community, locale: str, callback_answer: CallbackAnswer,
) -> bool:
    """Handle a picker button for ``audience`` (changed in place: the caller saves it). True when
    the organizer pressed Continue with someone in the audience: the caller moves on."""
    if callback_data.action == "next":
        if await campaigns_service.count_audience(session, audience) == 0:
            callback_answer.text = nobody()
            callback_answer.show_alert = True
            return False
        await close_buttons(callback)
        return True
    group_ids = set(await open_group_names(session, locale)) if callback_data.action == "g" else set()
    view_ = apply(audience, callback_data.action, callback_data.value, community, group_ids)
    text, markup = await view(audience, view_, session, community, locale, callback_data.owner)
    await edit_text(callback, text, markup)
    return False


async def claim_send(
    callback: CallbackQuery, state: FSMContext, session: AsyncSession, audience: Audience, key: str,
    callback_answer: CallbackAnswer,
) -> int | None:
    """Before a wizard's draft goes out: the number of recipients, with the draft cleared and its
    buttons gone; or None — nobody in the audience (the organizer is told), or a double tap
    (a campaign with this key exists already)."""
    count = await campaigns_service.count_audience(session, audience)
    if count == 0:
        callback_answer.text = nobody()
        callback_answer.show_alert = True
        return None
    if await campaigns_service.get_campaign_by_key(session, key) is not None:
        return None
    await state.clear()
    await close_buttons(callback)
    return count
