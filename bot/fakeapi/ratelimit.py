"""Sliding-window flood control mirroring Telegram's documented bot limits."""

from __future__ import annotations

import math
from collections import deque

from .models import Limits


class RateLimiter:
    """Remembers when messages were accepted; answers "how long until the next one may go"."""

    def __init__(self) -> None:
        self._per_chat: dict[int, deque[float]] = {}
        self._global: deque[float] = deque()

    @staticmethod
    def _wait(times: deque[float], window: float, cap: int, now: float) -> float:
        while times and times[0] <= now - window:
            times.popleft()
        if cap <= 0:
            return window
        if len(times) < cap:
            return 0.0
        # the (len - cap + 1)-th oldest entry has to leave the window
        return times[len(times) - cap] + window - now

    def retry_after(self, limits: Limits, chat_id: int, now: float) -> int | None:
        """None if a message to ``chat_id`` may be sent now, else Telegram's ``retry_after``."""
        if not limits.enabled:
            return None
        scale = limits.time_scale if limits.time_scale > 0 else 1.0
        if chat_id > 0:
            window, cap = 1.0 / scale, limits.per_private_chat_per_sec + limits.burst
        else:
            window, cap = 60.0 / scale, limits.per_group_per_min + limits.group_burst
        wait = max(
            self._wait(self._per_chat.setdefault(chat_id, deque()), window, cap, now),
            self._wait(self._global, 1.0 / scale, limits.global_per_sec, now),
        )
        if wait <= 0:
            return None
        return max(1, math.ceil(wait * scale - 1e-9))

    def record(self, chat_id: int, now: float, count: int = 1) -> None:
        for _ in range(count):
            self._per_chat.setdefault(chat_id, deque()).append(now)
            self._global.append(now)

    def reset(self) -> None:
        self._per_chat.clear()
        self._global.clear()
