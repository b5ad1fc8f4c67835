"""One send rate for every engine on the database: a token bucket in Redis.

Several worker processes each running a delivery engine must together stay within Telegram's
limits. Each send takes its slot with one atomic Lua script (a GCRA bucket on Redis' own clock):

* overall: ``rate`` messages per second, evenly spaced, shared by all engines;
* one private chat: one message per ``private_interval``; one group: ``group_per_minute``;
* a 429 seen by any engine pauses all of them for ``retry_after``.

Same interface as :class:`bot.delivery.limiter.RateLimiter` (``acquire``, ``pause``,
``configure``); used when ``REDIS_URL`` is set. Keys live under ``prefix`` and expire on their own.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from bot.delivery.limiter import RateLimiter

log = logging.getLogger(__name__)

# KEYS: global TAT, chat TAT, pause. ARGV: global interval, chat interval, mode, pause seconds.
# mode "take": returns {"ok"} or {"chat"|"global"|"pause", wait-seconds-as-string}.
# mode "pause": sets the pause (never shortens it).
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
if ARGV[3] == 'pause' then
  local untl = now + tonumber(ARGV[4])
  local cur = tonumber(redis.call('GET', KEYS[3]) or '0')
  if untl > cur then
    redis.call('SET', KEYS[3], tostring(untl), 'PX', math.ceil(tonumber(ARGV[4]) * 1000) + 1000)
    return {'paused', tostring(untl - now)}
  end
  return {'kept', tostring(cur - now)}
end
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
if paused > now then return {'pause', tostring(paused - now)} end
local chat_next = tonumber(redis.call('GET', KEYS[2]) or '0')
if chat_next > now then return {'chat', tostring(chat_next - now)} end
local g_interval = tonumber(ARGV[1])
local c_interval = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat > now then return {'global', tostring(tat - now)} end
if g_interval > 0 then
  redis.call('SET', KEYS[1], tostring(now + g_interval), 'PX', math.ceil(g_interval * 1000) + 1000)
end
if c_interval > 0 then
  redis.call('SET', KEYS[2], tostring(now + c_interval), 'PX', math.ceil(c_interval * 1000) + 1000)
end
return {'ok', '0'}
"""


class RedisRateLimiter:
    def __init__(self, redis: Any, prefix: str = "hromada:delivery", rate: float = 30.0,
                 private_interval: float = 1.0, group_per_minute: int = 20, time_scale: float = 1.0,
                 guard: float = 0.005, sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        self.redis = redis
        self.prefix = prefix
        self.guard = guard
        self.sleep = sleep
        self.pauses = 0
        self.calls = 0
        self._script = redis.register_script(_SCRIPT)
        # Redis unreachable: this engine limits itself meanwhile (and says so), it does not stop
        self.local = RateLimiter()
        self._redis_down_until = 0.0
        self.configure(rate, private_interval, group_per_minute, time_scale)

    def configure(self, rate: float, private_interval: float, group_per_minute: int, time_scale: float) -> None:
        scale = time_scale if time_scale > 0 else 1.0
        self.scale = scale
        window = 1.0 / scale + self.guard
        self.interval = window / rate if rate > 0 else 0.0
        self.private_interval = private_interval / scale
        self.group_interval = (60.0 / group_per_minute) / scale if group_per_minute > 0 else 0.0
        self.local.configure(rate, private_interval, group_per_minute, time_scale)

    def _keys(self, chat_id: int) -> list[str]:
        return [f"{self.prefix}:global", f"{self.prefix}:chat:{chat_id}", f"{self.prefix}:pause"]

    async def acquire(self, chat_id: int, max_chat_wait: float = 1.5, stop: Callable[[], bool] | None = None) -> float:
        """Wait for a shared send slot for ``chat_id`` and take it; returns 0. When the chat is
        busy for longer than ``max_chat_wait`` (or ``stop()``) returns the seconds to wait."""
        spacing = self.private_interval if chat_id > 0 else self.group_interval
        keys = self._keys(chat_id)
        while True:
            if stop is not None and stop():
                return 0.001
            if time.monotonic() < self._redis_down_until:
                return await self.local.acquire(chat_id, max_chat_wait, stop)
            self.calls += 1
            try:
                verdict, wait_s = await self._script(keys=keys, args=[repr(self.interval), repr(spacing), "take", "0"])
            except Exception as exc:  # noqa: BLE001 - any Redis failure
                log.warning("The shared rate limit is unavailable (%s); limiting this engine alone for 5 s", exc)
                self._redis_down_until = time.monotonic() + 5.0
                continue
            verdict = verdict.decode() if isinstance(verdict, bytes) else verdict
            if verdict == "ok":
                return 0.0
            wait = float(wait_s)
            if verdict == "chat" and wait > max_chat_wait:
                return wait
            await self.sleep(max(wait, 0.0005))

    def pause(self, retry_after: float) -> None:
        """A 429 (retry_after in Telegram seconds): every engine waits."""
        self.pauses += 1
        self.local.pause(retry_after)
        seconds = retry_after / self.scale
        task = asyncio.ensure_future(self._script(keys=self._keys(0), args=["0", "0", "pause", repr(seconds)]))
        task.add_done_callback(lambda t: t.exception())

    async def clear(self) -> None:
        """Forget every key under the prefix (tests)."""
        keys = [k async for k in self.redis.scan_iter(match=f"{self.prefix}:*")]
        if keys:
            await self.redis.delete(*keys)
