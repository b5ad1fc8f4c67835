"""First router: a restricted command from someone without the role gets a polite refusal."""
from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import BaseFilter
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.commands import allowed, spec

router = Router(name="guard")


class RefusedCommand(BaseFilter):
    async def __call__(self, message: Message, roles: set[str] | None = None, **kwargs: Any) -> bool:
        text = message.text or message.caption or ""
        if not text.startswith("/"):
            return False
        name = text[1:].split(maxsplit=1)[0].split("@")[0].lower() if len(text) > 1 else ""
        found = spec(name)
        # a group command is checked by its feature, which also admits the group's Telegram admins
        return found is not None and found.where == "private" and not allowed(found, roles or set())


@router.message(RefusedCommand())
async def refuse(message: Message) -> None:
    if message.chat.type == "private":
        await message.answer(
            _("Sorry, this command is not available to you. Type /help to see what you can do.")
        )
