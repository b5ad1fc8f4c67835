"""The outbox's circuit breaker: during a Telegram outage nothing is sent and nothing fails.

* **closed**: sends go out. A retryable error (5xx, network) from ``threshold`` sends in a row,
  to at least two different chats, with no success between them, means Telegram is down (one
  chat failing on its own is that chat's problem: its row retries with backoff as before).
* **open**: every send waits. After ``probe_base`` seconds the breaker lets **one** send through
  (half-open); its success closes the breaker and everything drains; its failure opens it again
  for twice as long, up to ``probe_max``.

Sends that fail while the breaker is open (or that open it) are not counted as attempts: an
outage of any length marks nothing ``failed``. Durations are divided by ``time_scale``.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class CircuitBreaker:
    def __init__(self, threshold: int = 5, probe_base: float = 1.0, probe_max: float = 30.0,
                 time_scale: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.state = CLOSED
        self.opened = 0  # times an outage was detected
        self.probes = 0
        self._failures = 0
        self._chats: set[int] = set()
        self._interval = 0.0
        self._open_until = 0.0
        self._probe_out = False
        self._changed = asyncio.Event()
        self.configure(threshold, probe_base, probe_max, time_scale)

    def configure(self, threshold: int, probe_base: float, probe_max: float, time_scale: float) -> None:
        scale = time_scale if time_scale > 0 else 1.0
        self.threshold = max(2, threshold)
        self.probe_base = probe_base / scale
        self.probe_max = max(probe_max / scale, self.probe_base)

    @property
    def is_open(self) -> bool:
        return self.state != CLOSED

    def success(self) -> None:
        self._failures = 0
        self._chats.clear()
        if self.state != CLOSED:
            self.state = CLOSED
            self._probe_out = False
            self._interval = 0.0
            self._notify()

    def failure(self, chat_id: int | None) -> bool:
        """A send failed with a retryable error. True: Telegram is down (do not count the attempt)."""
        if self.state == HALF_OPEN and self._probe_out:
            self._probe_out = False
            self._open(min(self.probe_max, max(self.probe_base, self._interval * 2)))
            return True
        if self.state != CLOSED:
            return True
        self._failures += 1
        if chat_id is not None:
            self._chats.add(chat_id)
        if self._failures >= self.threshold and len(self._chats) >= 2:
            self.opened += 1
            self._open(self.probe_base)
            return True
        return False

    def trip(self) -> None:
        """Open at once (a health check found Telegram down)."""
        if self.state == CLOSED:
            self.opened += 1
            self._open(self.probe_base)

    def released(self) -> None:
        """The probe send was given up before it reached Telegram (stop, cancel): let another go."""
        if self._probe_out:
            self._probe_out = False
            self._notify()

    def try_probe(self) -> bool:
        """Without waiting: True when the caller may probe now (it holds the probe: report the
        outcome with :meth:`success` or :meth:`failure`)."""
        if self.state == OPEN and self.clock() >= self._open_until:
            self.state = HALF_OPEN
        if self.state == HALF_OPEN and not self._probe_out:
            self._probe_out = True
            self.probes += 1
            return True
        return False

    async def wait(self, stop: Callable[[], bool] | None = None) -> str:
        """Wait until a send may go out: "go", or "probe" (the one send of a half-open breaker;
        report its outcome, or :meth:`released`), or "" when ``stop()`` became true first."""
        while True:
            if stop is not None and stop():
                return ""
            if self.state == CLOSED:
                return "go"
            now = self.clock()
            if self.state == OPEN and now >= self._open_until:
                self.state = HALF_OPEN
            if self.state == HALF_OPEN and not self._probe_out:
                self._probe_out = True
                self.probes += 1
                return "probe"
            timeout = max(0.005, self._open_until - now) if self.state == OPEN else 0.25
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(timeout, 0.5))
            except TimeoutError:
                pass

    def _open(self, interval: float) -> None:
        self.state = OPEN
        self._interval = interval
        self._open_until = self.clock() + interval
        self._failures = 0
        self._chats.clear()
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
