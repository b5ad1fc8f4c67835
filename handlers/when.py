"""Reading a date and time typed by an organizer ("25.12 18:30"), shared by the wizards that
schedule something (announcements, poll closing times, ...)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.i18n import fmt_moment
from bot.services.campaigns import parse_when
from bot.services.errors import DomainError


def fmt_when(value: datetime, tz: ZoneInfo, locale: str) -> str:
    """A moment an organizer scheduled, as bot.i18n writes moments."""
    return fmt_moment(value, locale, tz)


def fmt_example(now: datetime, tz: ZoneInfo) -> str:
    """Tomorrow 18:30 in the input format, e.g. 25.12 18:30."""
    tomorrow = now.astimezone(tz) + timedelta(days=1)
    return f"{tomorrow:%d.%m} 18:30"


def when_error(exc: DomainError, tz: ZoneInfo, locale: str) -> str:
    match exc.code:
        case "time_past":
            return _("That time has already passed ({time}). Please send a time in the future.").format(
                time=fmt_when(exc.params["when"], tz, locale))  # type: ignore[arg-type]
        case "time_too_far":
            return _("That is too far ahead: you can schedule at most a year in advance.")
    return _("I could not read that time. Please write it like <code>25.12 18:30</code> or <code>25.12.2026 18:30</code>.")


async def read_when(message: Message, now: datetime, tz: ZoneInfo, locale: str) -> datetime | None:
    """The time the message gives (UTC), or None after explaining what is wrong with it."""
    try:
        return parse_when(message.text or "", now, tz)
    except DomainError as exc:
        await message.answer(when_error(exc, tz, locale))
        return None
