"""Admins grant and revoke organizer, moderator and mediator roles: by id, @username or a reply."""
from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import HasRole
from bot.menus import publish_user_commands
from bot.services import users as users_service
from bot.services.errors import DomainError
from bot.services.users import GRANTABLE_ROLES
from handlers.errors import error_text
from handlers.shared import person
from storage.models import User

log = logging.getLogger(__name__)
router = Router(name="admin")
router.message.filter(HasRole("admin"))

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
    try:
        changed = (
            await users_service.grant_role(session, target, role, message.from_user.id if message.from_user else None)
            if grant else await users_service.revoke_role(session, target, role)
        )
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    if grant:
        text = _("{who} is now {role}.") if changed else _("{who} already is {role}.")
    else:
        text = _("{who} is no longer {role}.") if changed else _("{who} was not {role}.")
    await message.answer(text.format(who=person(target), role=role))
    if changed:
        await session.commit()
        await publish_user_commands(bot, target, settings, i18n)


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
