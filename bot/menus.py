"""Telegram command menus (setMyCommands) per language and per role scope.

Menus are a convenience: a failure here is logged as a warning and never stops the bot.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat, MenuButtonCommands
from aiogram.utils.i18n import I18n
from aiohttp import ClientError

from bot.commands import commands_for, effective_roles
from bot.config import SUPPORTED_LOCALES, Settings
from storage.models import User

log = logging.getLogger(__name__)


def _commands(i18n: I18n, roles: set[str], locale: str, where: str = "private") -> list[BotCommand]:
    return [
        BotCommand(command=c.name, description=i18n.gettext(c.description, locale=locale)[:256])
        for c in commands_for(roles, where)
    ]


async def _safe(what: str, coro) -> bool:  # type: ignore[no-untyped-def]
    try:
        await coro
        return True
    except (TelegramAPIError, ClientError, TimeoutError) as exc:
        log.warning("Could not %s: %s", what, exc)
        return False


async def _publish(bot: Bot, what: str, scope, commands: Callable[[str | None], list[BotCommand]]) -> None:  # type: ignore[no-untyped-def]
    """A menu for every language code (Telegram picks by the person's app language) and a default;
    ``commands(locale)`` gives the menu for that code (None: the default)."""
    for locale in (*SUPPORTED_LOCALES, None):
        items = commands(locale)
        if not items:
            return
        if not await _safe(f"set {what} ({locale or 'default'})",
                           bot.set_my_commands(items, scope=scope, language_code=locale)):
            return  # the chat is not reachable: the other languages would fail the same way


async def publish_default_commands(bot: Bot, settings: Settings, i18n: I18n) -> None:
    """Residents' menu in every language, the staff groups' and the admins' menus likewise."""

    def menu(roles: set[str], where: str = "private") -> Callable[[str | None], list[BotCommand]]:
        return lambda locale: _commands(i18n, roles, locale or settings.default_locale, where)

    await _publish(bot, "commands", BotCommandScopeAllPrivateChats(), menu(set()))
    await _safe("set the menu button", bot.set_chat_menu_button(menu_button=MenuButtonCommands()))
    for chat_id in {settings.moderators_chat_id, settings.organizers_chat_id} - {None}:
        await _publish(bot, f"group commands for {chat_id}", BotCommandScopeChat(chat_id=chat_id),
                       menu({"moderator", "organizer"}, "group"))
    for admin_id in settings.admin_ids:
        await _publish(bot, f"admin commands for {admin_id}", BotCommandScopeChat(chat_id=admin_id),
                       menu({"admin"}))


async def publish_user_commands(bot: Bot, user: User, settings: Settings, i18n: I18n) -> None:
    """A role holder's personal menu, in their language (after a grant or revoke). It replaces the
    menus of every language code, so none published at start (for an admin) hides it."""
    if user.telegram_id is None:
        return
    roles = effective_roles(user.role_names, user.telegram_id, settings.admin_ids)
    commands = _commands(i18n, roles, user.language)
    await _publish(bot, f"commands for {user.telegram_id}", BotCommandScopeChat(chat_id=user.telegram_id),
                   lambda _locale: commands)
