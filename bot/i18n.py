"""Babel/gettext wiring: catalog compilation, locale detection, CLDR formatting.

Jobs outside a handler wrap their work in ``with i18n.use_locale(user.language):``.
"""
from __future__ import annotations

import html
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from aiogram.types import TelegramObject, User as TgUser
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from bot.config import SUPPORTED_LOCALES
from bot.services.text import shorten  # noqa: F401 - (where handlers have always found it)

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
LANGUAGE_NAMES = {"uk": "Українська", "ru": "Русский", "bg": "Български", "en": "English"}
# Babel's extractor keywords: `__` is lazy, `N_` marks a msgid translated later; `pgettext` and
# `NC_` give a msgid a context (one English word for nouns of different genders).
EXTRACT_KEYWORDS = ("_", "__", "N_", "ngettext:1,2", "lazy_ngettext:1,2", "pgettext:1c,2", "NC_:1c,2")
# the code, and the dashboard's Jinja2 templates (bot/dashboard/templates)
EXTRACT_MAPPING = "locales/babel.cfg"


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a string for extraction; it is translated where it is shown."""
    return message


class Contextual(NamedTuple):
    """A msgid with its context (msgctxt), marked by NC_ and translated by `tr`."""

    context: str
    message: str


def NC_(context: str, message: str) -> Contextual:  # noqa: N802 - as N_, with a context
    """Mark a msgid with a context (what the word is about: "report status", "poll"...), so that
    one English word can have a translation per grammatical gender; translated where shown."""
    return Contextual(context, message)


def pgettext(context: str, message: str) -> str:
    """gettext with a context, in the current locale (aiogram's I18n has no pgettext of its own)."""
    i18n = I18n.get_current(no_error=True)
    if i18n is None:
        return message
    translations = i18n.locales.get(i18n.current_locale)
    return translations.pgettext(context, message) if translations is not None else message


def tr(message: str | Contextual) -> str:
    """A marked msgid (N_ or NC_) in the current locale."""
    if isinstance(message, Contextual):
        return pgettext(message.context, message.message)
    from aiogram.utils.i18n import gettext

    return gettext(message)


def compile_catalogs(locales_dir: Path = LOCALES_DIR, force: bool = False) -> list[Path]:
    """Compile every .po into .mo when missing or older than its .po. Returns what was written."""
    written = []
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


def create_i18n(default_locale: str) -> I18n:
    compile_catalogs()
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


def detect_locale(language_code: str | None, default: str) -> str:
    """Telegram's language code ('uk', 'ru-RU', 'bg') -> one of ours, else the default."""
    if language_code:
        base = language_code.replace("_", "-").split("-")[0].lower()
        if base in SUPPORTED_LOCALES:
            return base
    return default


class UserLocaleMiddleware(I18nMiddleware):
    """The saved language of a known user; otherwise what Telegram reports; otherwise default.
    In the moderators' group everything is in the group's one language (MODERATORS_LOCALE),
    whoever writes or presses there."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        settings = data.get("settings")
        chat = data.get("event_chat")
        if settings is not None and chat is not None and chat.id == settings.moderators_chat_id:
            return settings.moderators_chat_locale
        user = data.get("user")
        if user is not None and user.language:
            return user.language
        tg_user: TgUser | None = data.get("event_from_user")
        return detect_locale(tg_user.language_code if tg_user else None, self.i18n.default_locale)


def language_in(code: str, locale: str) -> str:
    """A language's name in the reader's language, from CLDR ('Англійська' for en in uk), with a
    capital first letter; the code itself if CLDR does not know it."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(code).get_display_name(locale) or code
    except (ValueError, TypeError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:]


def esc(text: object) -> str:
    """Escape user-supplied text for parse_mode=HTML."""
    return html.escape(str(text), quote=False)


# Dates and times a person reads: three uses, one CLDR format each, in every locale. A day is the
# "long" date (December 9, 2026 / 9 грудня 2026 р.), with its weekday ("full") where a resident
# plans around it (an event); a time is the "short" time (18:15 / 6:15 PM), never seconds; a
# moment is the day and the time glued the locale's way. Files for machines (CSV, XLSX, ICS,
# JSON) keep ISO 8601 and never come through here.

def fmt_day(value: datetime, locale: str, tz: ZoneInfo, *, weekday: bool = False) -> str:
    """The day of ``value`` in ``tz``: "December 9, 2026" ("Wednesday, December 9, 2026")."""
    return format_date(value.astimezone(tz).date(), format="full" if weekday else "long", locale=locale)


def fmt_time(value: datetime, locale: str, tz: ZoneInfo) -> str:
    """The time of day of ``value`` in ``tz``, without seconds: "18:15", "6:15 PM"."""
    return format_time(value.astimezone(tz), format="short", locale=locale)


def fmt_moment(value: datetime, locale: str, tz: ZoneInfo, *, weekday: bool = False) -> str:
    """A day and a time: "December 9, 2026, 6:15 PM", "9 грудня 2026 р., 18:15"."""
    glue = str(Locale.parse(locale).datetime_formats["medium"]).replace("'", "")
    return glue.replace("{1}", fmt_day(value, locale, tz, weekday=weekday)).replace("{0}", fmt_time(value, locale, tz))


def fmt_datetime(value: datetime, locale: str, tz: ZoneInfo, fmt: str = "medium") -> str:
    """Kept for callers not moved yet: the moment, whatever ``fmt`` asks."""
    return fmt_moment(value, locale, tz)


def fmt_date(value: datetime, locale: str, tz: ZoneInfo, fmt: str = "long") -> str:
    """Kept for callers not moved yet: the day, whatever ``fmt`` asks."""
    return fmt_day(value, locale, tz)


def fmt_number(value: int | float | Decimal, locale: str) -> str:
    return format_decimal(value, locale=locale)


def typed_button(text: str | None, msgid: str) -> bool:
    """Whether a typed message is a button's text (``msgid``, e.g. "Skip") in any supported
    language, case and spacing ignored: a "Skip" typed on a screen of another language (or the
    skip button of an old keyboard in another language) is never taken for an answer."""
    from aiogram.utils.i18n import get_i18n

    typed = " ".join((text or "").split()).casefold()
    if not typed:
        return False
    i18n = get_i18n()
    words = {msgid, *(i18n.gettext(msgid, locale=code) for code in SUPPORTED_LOCALES)}
    return typed in {" ".join(word.split()).casefold() for word in words}
