"""`/start <payload>` deep links. Features register a prefix; the payload is acted on once the
person is registered (kept in the registration state until then)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from handlers.guard import id_in_range

# A handler gets a message *in the person's chat*, to answer there, the payload's rest, and the
# handler data. Who the person is comes from data["user"]: after a registration the message is the
# bot's own (message.from_user is the bot), so never read the person from the message.
DeepLinkHandler = Callable[[Message, str, dict[str, Any]], Awaitable[None]]
_HANDLERS: dict[str, DeepLinkHandler] = {}


def deeplink(prefix: str) -> Callable[[DeepLinkHandler], DeepLinkHandler]:
    """Register a handler for payloads `prefix` or `prefix_<rest>`; it gets the rest."""

    def wrap(func: DeepLinkHandler) -> DeepLinkHandler:
        _HANDLERS[prefix] = func
        return func

    return wrap


async def dispatch(message: Message, payload: str, data: dict[str, Any]) -> None:
    prefix, _sep, rest = payload.partition("_")
    handler = _HANDLERS.get(prefix)
    # the one check of the numbers in every link: an id that fits no column never reaches a handler
    numbers = [part for part in rest.split("_") if part.isascii() and part.isdigit()]
    if handler is None or not all(id_in_range(part) for part in numbers):
        await message.answer(_("This link is not valid any more. Type /help to see what I can do."))
        return
    await handler(message, rest, data)
