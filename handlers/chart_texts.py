"""The words inside charts (bot.charts draws them): the line under a chart's title with n and the
period, and the named ends of the 1–5 scale. Shared by polls, discussions, /stats and the
council document, so a chart says the same things wherever it appears."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.i18n import fmt_day, fmt_number


def period(start: datetime | None, end: datetime | None, locale: str, tz: ZoneInfo) -> str | None:
    """'1 Nov 2026 – 8 Nov 2026' (one day: that day); None when nothing is known."""
    if start is None and end is None:
        return None
    first = fmt_day(start, locale, tz) if start else None
    last = fmt_day(end, locale, tz) if end else None
    if first and last and first != last:
        return f"{first} – {last}"
    return first or last


def subtitle(*parts: str | None) -> str:
    """The parts that are known, joined: 'Needs of the district · 16 answered · 1–8 Nov 2026'."""
    return " · ".join(p for p in parts if p)


def answered(count: int, locale: str) -> str:
    return ngettext("n = {count} answered", "n = {count} answered", count).format(count=fmt_number(count, locale))


def participants(count: int, locale: str) -> str:
    return ngettext("n = {count} participant", "n = {count} participants", count).format(
        count=fmt_number(count, locale))


def in_all(count: int, locale: str) -> str:
    return ngettext("n = {count} in all", "n = {count} in all", count).format(count=fmt_number(count, locale))


def scale_labels(labels: list[str]) -> list[str]:
    """The 1–5 scale's bars with their ends named: '1 — not at all', '2', '3', '4', '5 — very much'."""
    if len(labels) < 2:
        return labels
    return [_("{value} — not at all").format(value=labels[0]), *labels[1:-1],
            _("{value} — very much").format(value=labels[-1])]
