"""Client-side flood control: stay under Telegram's limits instead of collecting 429s.

* overall: ``rate`` messages per second, evenly spaced (a reservation queue), and never more than
  ``rate`` actually issued within any one-second window (a task that woke up late must not
  burst: that is what Telegram's sliding window counts);
* one private chat: one message per ``private_interval`` seconds;
* one group: ``group_per_minute`` messages per minute (evenly spaced);
* a 429 pauses everything for ``retry_after``.

``time_scale`` divides every duration (tests and benchmarks run Telegram's clock faster; the
fake Bot API does the same with its ``Limits.time_scale``).
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable


class RateLimiter:
    def __init__(
        self,
        rate: float = 30.0,
        private_interval: float = 1.0,
        group_per_minute: int = 20,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        guard: float = 0.005,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.guard = guard
        self.configure(rate, private_interval, group_per_minute, time_scale)
        self._global_next = 0.0
        self._issued: deque[float] = deque()
        self._chat_next: dict[int, float] = {}
        self.paused_until = 0.0
        self.pauses = 0

    def configure(self, rate: float, private_interval: float, group_per_minute: int, time_scale: float) -> None:
        scale = time_scale if time_scale > 0 else 1.0
        self.scale = scale
        # Our clock is not Telegram's: a request reaches it a few ms later, by a varying amount.
        # Windows get ``guard`` seconds of slack so that jitter cannot squeeze one send too many in.
        self.window = 1.0 / scale + self.guard
        self.interval = self.window / rate if rate > 0 else 0.0
        self.cap = max(1, int(rate)) if rate > 0 else 0
        self.private_interval = private_interval / scale
        self.group_interval = (60.0 / group_per_minute) / scale if group_per_minute > 0 else 0.0

    def chat_wait(self, chat_id: int) -> float:
        """Seconds until ``chat_id`` may get its next message (0: now)."""
        return max(0.0, self._chat_next.get(chat_id, 0.0) - self.clock())

    def pause(self, retry_after: float) -> None:
        """Telegram said 429: nothing goes out for ``retry_after`` Telegram seconds."""
        until = self.clock() + retry_after / self.scale
        if until > self.paused_until:
            self.paused_until = until
            self.pauses += 1
        self._global_next = max(self._global_next, self.paused_until)

    async def acquire(self, chat_id: int, max_chat_wait: float = 1.5, stop: Callable[[], bool] | None = None) -> float:
        """Wait for a send slot for ``chat_id`` and take it; returns 0.

        When the chat itself is busy for longer than ``max_chat_wait`` (or ``stop()`` becomes
        true) returns the seconds to wait instead, without taking a slot: the caller defers.
        """
        while True:
            now = self.clock()
            if stop is not None and stop():
                return max(0.001, self.paused_until - now)
            chat_free = self._chat_next.get(chat_id, 0.0)
            wait = max(self.paused_until, chat_free) - now
            if wait > 0:
                if chat_free - now > max_chat_wait:
                    return chat_free - now
                await self.sleep(wait)
                continue
            slot = max(now, self._global_next)
            self._global_next = slot + self.interval
            spacing = self.private_interval if chat_id > 0 else self.group_interval
            self._chat_next[chat_id] = slot + spacing
            if slot > now:
                await self.sleep(slot - now)
                if self.paused_until > self.clock():
                    # a 429 arrived while we waited for our turn: queue again after the pause
                    self._chat_next[chat_id] = chat_free
                    continue
            await self._window_slot()
            if len(self._chat_next) > 50_000:
                self._forget(self.clock())
            return 0.0

    async def _window_slot(self) -> None:
        """Wait until fewer than ``cap`` sends were issued in the last window; count this one."""
        if not self.cap:
            return
        issued = self._issued
        while True:
            now = self.clock()
            while issued and issued[0] <= now - self.window:
                issued.popleft()
            if len(issued) < self.cap:
                issued.append(now)
                self._global_next = max(self._global_next, now + self.interval)
                return
            await self.sleep(issued[0] + self.window - now + 1e-4)

    def _forget(self, now: float) -> None:
        self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
