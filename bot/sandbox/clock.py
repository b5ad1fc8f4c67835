"""The sandbox's clock: real time plus an offset that `:clock +2h` moves forward.

The bot reads time in two ways: features ask the delivery engine (``delivery.now()``, what the
tests replace with a controllable clock) and services, column defaults and the scheduled checks
call ``storage.models.utcnow()``. The sandbox sets the first and shifts the second at its one
source (``storage.models.datetime``), so every part of the bot sees the same moved time.
APScheduler keeps real time: it only triggers the checks, and the sandbox runs them itself
right after moving the clock.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import storage.models as models

_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
_PART = re.compile(r"(\d+)\s*([wdhm])")


def parse_offset(text: str) -> timedelta | None:
    """``+2h``, ``+30m``, ``+1d``, ``+1d2h``, ``+1w`` (the ``+`` may be left out); None if not
    understood or not forward."""
    text = text.strip().lower().lstrip("+").replace(" ", "")
    if not text or _PART.sub("", text):
        return None
    total = sum((int(n) * _UNITS[unit] for n, unit in _PART.findall(text)), timedelta())
    return total if total > timedelta() else None


def describe(delta: timedelta) -> str:
    """1 d 2 h 5 min (whole minutes)."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{mins} min" if mins else ""]
    return " ".join(p for p in parts if p) or "0 min"


class SandboxClock:
    """Real time plus ``offset``; ``install()`` makes ``storage.models.utcnow`` follow it."""

    def __init__(self, offset: timedelta = timedelta()) -> None:
        self.offset = offset
        self._installed = False

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> datetime:
        self.offset += delta
        return self.now()

    def install(self) -> None:
        clock = self

        class _Shifted(datetime):
            @classmethod
            def now(cls, tz=None):  # type: ignore[no-untyped-def,override]
                return datetime.now(tz) + clock.offset

        models.datetime = _Shifted  # type: ignore[misc]
        self._installed = True

    def uninstall(self) -> None:
        if self._installed:
            models.datetime = datetime  # type: ignore[misc]
            self._installed = False
