"""First router: a restricted command from someone without the role gets a polite refusal; and the
one check of the ids in every button (`install`, on the root router) and deep link (`valid_link`)."""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from types import UnionType
from typing import Any, Union, get_args, get_origin

from aiogram import Router
from aiogram.filters import BaseFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.commands import allowed, spec
from bot.services.text import CONTROLS, without_controls

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


# ------------------------------------------------------------ ids in buttons and links, in one place

MAX_ID = 2**31 - 1  # every id column is a 32-bit integer; callback data and links are client-supplied
_ID = re.compile(r"-?[0-9]{1,10}")
_FACTORIES: dict[str, type[CallbackData]] = {}


def id_in_range(text: str) -> bool:
    """A decimal number that fits an id column (the sign allowed, as some factories use -1)."""
    return bool(_ID.fullmatch(text)) and abs(int(text)) <= MAX_ID


def _factory(prefix: str) -> type[CallbackData] | None:
    if prefix not in _FACTORIES:  # a factory defined after the last look is found on its first use
        stack = list(CallbackData.__subclasses__())
        while stack:
            cls = stack.pop()
            stack.extend(cls.__subclasses__())
            if getattr(cls, "__prefix__", None):
                _FACTORIES[cls.__prefix__] = cls
    return _FACTORIES.get(prefix)


def _is_int(annotation: Any) -> bool:
    return annotation is int or (get_origin(annotation) in (Union, UnionType) and int in get_args(annotation))


def forged_ids(data: str) -> bool:
    """Callback data of a known factory whose integer field is not a number that fits an id."""
    prefix, _sep, _rest = data.partition(":")
    cls = _factory(prefix)
    if cls is None:
        return False
    parts = data.split(cls.__separator__)[1:]
    for (name, field), raw in zip(cls.model_fields.items(), parts, strict=False):
        if _is_int(field.annotation) and raw != "" and not id_in_range(raw):
            return True
    return False


class ForgedIds(BaseFilter):
    async def __call__(self, callback: CallbackQuery) -> bool:
        return bool(callback.data) and forged_ids(callback.data)  # type: ignore[arg-type]


async def refuse_forged(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    """Registered on the root router, before every feature: a forged id never reaches a query."""
    callback_answer.text, callback_answer.show_alert = not_for_you(), True


def not_for_you() -> str:
    return _("Sorry, this button is not for you.")


async def clean_typed(handler: Callable[[Message, dict[str, Any]], Awaitable[Any]], event: Message,
                      data: dict[str, Any]) -> Any:
    """Every text and caption anyone types loses its control characters here, once, before any
    feature reads it (a description, an address, an answer, a name: the same cleaning everywhere)."""
    changes = {field: without_controls(value) for field in ("text", "caption")
               if (value := getattr(event, field, None)) and CONTROLS.search(value)}
    return await handler(event.model_copy(update=changes) if changes else event, data)


def install(root: Router) -> None:
    from handlers.acting import ActCb, not_theirs, refuse_not_theirs

    root.callback_query.register(refuse_forged, ForgedIds())
    root.callback_query.register(refuse_not_theirs, ActCb.filter(), not_theirs)  # every wizard's first tap
    root.message.outer_middleware(clean_typed)  # type: ignore[arg-type]
    root.edited_message.outer_middleware(clean_typed)  # type: ignore[arg-type]
