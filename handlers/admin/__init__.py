"""Admins grant and revoke organizer, moderator and mediator roles: by id, @username or a reply.
Revoking asks first ("Revoke … from …? [Yes, revoke] [No]"); the answer is checked again when it
comes (an admin's, and the person still holds the role)."""
from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import HasRole
from bot.menus import publish_user_commands
from bot.services import users as users_service
from bot.services.errors import DomainError
from bot.services.users import GRANTABLE_ROLES
from handlers import confirm
from handlers.errors import error_text
from handlers.shared import person
from storage.models import User

log = logging.getLogger(__name__)
router = Router(name="admin")
router.message.filter(HasRole("admin"))
admins = Router(name="admin-buttons")
admins.callback_query.filter(HasRole("admin"))
refusals = Router(name="admin-refusals")
router.include_routers(admins, refusals)


class RoleCb(CallbackData, prefix="role"):
    """Revoking a role, confirmed: a rv (revoke) | no; u = users.id; r = the role."""

    a: str
    u: int
    r: str

USAGE = "/{cmd} organizer|moderator|mediator @username|id"


async def _target(message: Message, session: AsyncSession, ref: str | None) -> User | None:
    if ref:
        return await users_service.find_user(session, ref)
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None:
        return await users_service.by_telegram_id(session, reply.from_user.id)
    return None


async def _change(
    message: Message, command: CommandObject, session: AsyncSession, bot: Bot, settings: Settings,
    i18n: I18n, grant: bool,
) -> None:
    parts = (command.args or "").split()
    if not parts or parts[0] not in GRANTABLE_ROLES:
        await message.answer(_("Usage: {usage}").format(usage=USAGE.format(cmd=command.command)))
        return
    role = parts[0]
    target = await _target(message, session, parts[1] if len(parts) > 1 else None)
    if target is None or target.telegram_id is None:
        await message.answer(
            _("I don't know this person. They must start the bot first; then use their id or @username.")
        )
        return
    if not grant:  # asks first
        if not any(item.role == role for item in target.roles):
            await message.answer(_("{who} was not {role}.").format(who=person(target), role=role))
            return
        await message.answer(
            _("Revoke the role {role} from {who}? They lose its commands at once.").format(
                role=role, who=person(target)),
            reply_markup=confirm.keyboard(_("Yes, revoke"), RoleCb(a="rv", u=target.id, r=role),
                                          RoleCb(a="no", u=target.id, r=role)))
        return
    try:
        changed = await users_service.grant_role(session, target, role,
                                                 message.from_user.id if message.from_user else None)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    text = _("{who} is now {role}.") if changed else _("{who} already is {role}.")
    await message.answer(text.format(who=person(target), role=role))
    if changed:
        await session.commit()
        await publish_user_commands(bot, target, settings, i18n)


@admins.callback_query(RoleCb.filter(F.a.in_({"rv", "no"})))
async def revoke_confirmed(
    callback: CallbackQuery, callback_data: RoleCb, session: AsyncSession, bot: Bot, settings: Settings,
    i18n: I18n, callback_answer: CallbackAnswer,
) -> None:
    target = await users_service.by_id(session, callback_data.u)
    if target is None or callback_data.r not in GRANTABLE_ROLES:
        await confirm.settle(callback, _("This button is no longer active."))
        return
    if callback_data.a == "no":
        await confirm.settle(callback, confirm.nothing_changed())
        return
    await session.refresh(target, ["roles"])
    changed = await users_service.revoke_role(session, target, callback_data.r)  # not if revoked meanwhile
    text = _("{who} is no longer {role}.") if changed else _("{who} was not {role}.")
    callback_answer.text = text.format(who=target.display_name or "—", role=callback_data.r)
    await confirm.settle(callback, text.format(who=person(target), role=callback_data.r))
    if changed:
        await session.commit()
        await publish_user_commands(bot, target, settings, i18n)


@refusals.callback_query(RoleCb.filter())
async def refuse(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text, callback_answer.show_alert = _("Sorry, only admins can do this."), True


@router.message(Command("grant"))
async def grant(
    message: Message, command: CommandObject, session: AsyncSession, bot: Bot, settings: Settings, i18n: I18n
) -> None:
    await _change(message, command, session, bot, settings, i18n, grant=True)


@router.message(Command("revoke"))
async def revoke(
    message: Message, command: CommandObject, session: AsyncSession, bot: Bot, settings: Settings, i18n: I18n
) -> None:
    await _change(message, command, session, bot, settings, i18n, grant=False)


@router.message(Command("roles"))
async def roles(message: Message, session: AsyncSession, settings: Settings) -> None:
    holders = await users_service.role_holders(session)
    lines = [_("<b>Roles</b>"), _("Admins (from ADMIN_IDS): {ids}").format(
        ids=", ".join(str(i) for i in settings.admin_ids) or "—")]
    for user, role in holders:
        lines.append(f"• {role}: {person(user)}")
    if not holders:
        lines.append(_("No organizers or moderators yet. Use /grant."))
    await message.answer("\n".join(lines))
