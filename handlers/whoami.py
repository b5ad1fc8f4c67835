"""A new operator's first minutes: `/whoami` tells anyone their Telegram id (for ADMIN_IDS), and
`/chatid` in a group tells its id (for MODERATORS_CHAT_ID / ORGANIZERS_CHAT_ID) to an admin, or to
anyone while no ADMIN_IDS is set."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings

router = Router(name="whoami")


@router.message(Command("whoami"), F.chat.type == "private")
async def whoami(message: Message) -> None:
    assert message.from_user is not None
    await message.answer(_("Your Telegram id: <code>{id}</code>\nAn operator puts it in ADMIN_IDS to make you an "
                           "admin.").format(id=message.from_user.id))


@router.message(Command("chatid"), F.chat.type.in_({"group", "supergroup"}))
async def chatid(message: Message, settings: Settings, roles: set[str]) -> None:
    if settings.admin_ids and "admin" not in roles:
        await message.reply(_("Only the bot's admins can ask for this chat's id."))
        return
    await message.reply(_("This chat's id: <code>{id}</code>\nPut it in MODERATORS_CHAT_ID or ORGANIZERS_CHAT_ID.")
                        .format(id=message.chat.id))
