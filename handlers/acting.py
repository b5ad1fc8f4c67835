"""On whose behalf an organizer's poll, event or announcement goes out.

A confirmed representative acts as organizer for their organisation: what they make carries the
organisation (``org_id``; residents read "From: <organisation>") and only they and the platform's
organizers manage it. When there is a choice (several organisations, or a platform organizer who
also represents one) the wizard asks first; the choice is checked again when the draft is sent,
so a representative whose organisation was removed meanwhile is told, and keeps the draft.
"""
from __future__ import annotations

from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import esc
from bot.services import orgs as orgs_service
from bot.services.errors import DomainError
from storage.models import Organisation, User

ASKED = -1  # ask() sent the question; the wizard starts when a button is pressed


class ActCb(CallbackData, prefix="act"):
    cmd: str
    org: int = 0  # 0: the platform itself


def platform(roles: set[str]) -> bool:
    return bool(roles & {"organizer", "admin"})


async def ask(message: Message, session: AsyncSession, user: User | None, roles: set[str], cmd: str) -> int | None:
    """The organisation to act for when there is no choice (None: the platform), or ASKED."""
    orgs = await orgs_service.represented(session, user.id) if user is not None else []
    if not orgs or (len(orgs) == 1 and not platform(roles)):
        return orgs[0].id if orgs else None
    locale = user.language if user else "en"
    kb = InlineKeyboardBuilder()
    for org in orgs:
        kb.button(text=f"🏢 {orgs_service.name_of(org, locale)[:50]}", callback_data=ActCb(cmd=cmd, org=org.id))
    if platform(roles):
        kb.button(text=_("🏛 The platform (no organisation)"), callback_data=ActCb(cmd=cmd, org=0))
    kb.adjust(1)
    await message.answer(_("On whose behalf?"), reply_markup=kb.as_markup())
    return ASKED


async def resolve(session: AsyncSession, user: User | None, roles: set[str], org_id: int | None) -> Organisation | None:
    """The organisation a draft goes out for, checked now. Raises DomainError("org_not_represented")
    when the person no longer represents it (or, being only a representative, chose none)."""
    if org_id is None or org_id == 0:
        if platform(roles):
            return None
        raise DomainError("org_not_represented", name="—")
    return await orgs_service.acting_for(session, user, org_id)


async def for_send(session: AsyncSession, user: User | None, roles: set[str], state: Any, org_id: int | None,
                   callback_answer: Any) -> tuple[bool, Organisation | None]:
    """Checked when a wizard's Send is pressed, before its draft goes: (True, the organisation or
    None for the platform), or (False, None) after telling why. The draft is kept, now from the
    platform (a platform organizer) or the next organisation the person still represents, so
    that pressing Send again sends it; with neither, the person can no longer send it."""
    try:
        return True, await resolve(session, user, roles, org_id)
    except DomainError as exc:
        remaining = await orgs_service.represented(session, user.id) if user is not None else []
        name = str(exc.params.get("name", ""))[:60]
        if platform(roles):
            fallback, text = None, _("You no longer represent «{name}». Press Send again to send it from "
                                     "the platform.").format(name=name)
        elif remaining:
            fallback = remaining[0].id
            text = _("You no longer represent «{name}». Press Send again to send it from «{other}».").format(
                name=name, other=orgs_service.name_of(remaining[0], user.language if user else "en")[:60])
        else:
            fallback, text = None, refused(DomainError(exc.code, name=name, alert=True))
        callback_answer.text, callback_answer.show_alert = text, True
        await state.update_data(org_id=fallback)
        return False, None


async def claim(callback: Any, state: Any, session: AsyncSession, user: User | None, roles: set[str],
                org_id: int | None, audience: Any, key: str, callback_answer: Any
                ) -> tuple[int, Organisation | None] | None:
    """A wizard's Send: the organisation checked (a refusal keeps the draft), then the draft claimed
    (``handlers.audience.claim_send``). (recipients, organisation or None), or None: told why."""
    from handlers.audience import claim_send

    ok, org = await for_send(session, user, roles, state, org_id, callback_answer)
    if not ok:
        return None
    count = await claim_send(callback, state, session, audience, key, callback_answer)
    return None if count is None else (count, org)


def payload_names(org: Organisation | None) -> dict[str, Any]:
    return {"org": dict(org.name)} if org is not None else {}


def from_line(names: dict[str, str] | None, locale: str) -> str:
    """"🏢 From: <organisation>" in the reader's language, with a blank line after; "" for none."""
    if not names:
        return ""
    name = names.get(locale) or names.get("en") or next(iter(names.values()), "")
    return _("🏢 From: {organisation}").format(organisation=esc(name)) + "\n\n"


def refused(exc: DomainError) -> str:
    from handlers.orgs.texts import error_text

    return error_text(exc)


async def not_theirs(callback: Any, callback_data: ActCb, session: AsyncSession, user: User | None = None,
                     roles: set[str] | None = None, **kwargs: Any) -> bool:
    """A filter for every "on whose behalf?" button: true when the person may not act for the
    chosen organisation (or, being only a representative, for the platform). Ids are sequential,
    so a forged ``act:newpoll:2`` is refused at the first tap, before any wizard starts."""
    try:
        await resolve(session, user, roles or set(), callback_data.org or None)
    except DomainError:
        return True
    return False


async def refuse_not_theirs(callback: Any, callback_answer: Any) -> None:
    callback_answer.text = _("You can act only for the organisations you represent.")
    callback_answer.show_alert = True
