"""Quiet hours: a daily window in the community's time zone when non-urgent campaigns wait."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


class QuietHours:
    """``window`` is (start, end) in minutes of the day, as from ``bot.config.parse_quiet_hours``;
    the window may wrap midnight (22:00-08:00). None or start == end: never quiet."""

    def __init__(self, window: tuple[int, int] | None, tz: ZoneInfo) -> None:
        self.window = window if window and window[0] != window[1] else None
        self.tz = tz

    def _minute(self, local: datetime) -> int:
        return local.hour * 60 + local.minute

    def is_quiet(self, now: datetime) -> bool:
        if self.window is None:
            return False
        start, end = self.window
        m = self._minute(now.astimezone(self.tz))
        return start <= m < end if start < end else (m >= start or m < end)

    def ends_at(self, now: datetime) -> datetime | None:
        """When the current quiet period ends (UTC); None when it is not quiet now."""
        if not self.is_quiet(now) or self.window is None:
            return None
        local = now.astimezone(self.tz)
        end_h, end_m = divmod(self.window[1], 60)
        candidate = local.replace(hour=end_h, minute=end_m, second=0, microsecond=0)
        if candidate <= local:
            candidate = (local + timedelta(days=1)).replace(hour=end_h, minute=end_m, second=0, microsecond=0)
        # wall-clock arithmetic, then re-resolve the offset (DST days)
        candidate = candidate.replace(tzinfo=None).replace(tzinfo=self.tz)
        return candidate.astimezone(UTC)

    def label(self) -> str:
        if self.window is None:
            return ""
        (sh, sm), (eh, em) = divmod(self.window[0], 60), divmod(self.window[1], 60)
        return f"{sh:02d}:{sm:02d}–{eh:02d}:{em:02d}"
