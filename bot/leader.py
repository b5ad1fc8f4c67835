"""The leader: the one worker that runs scheduled work (bot.jobs with ``leader=True``).

On PostgreSQL the leader holds a session-level advisory lock (``pg_try_advisory_lock``) on a
connection of its own, kept for the life of the process. The others try again every
``retry_seconds``. The leader checks its connection as often; when the connection is lost (the
database restarted, the network failed, asyncpg noticed it closing) it stops being the leader at
once, and tries again like the others (after one extra interval, so a healthy worker goes first). When a leader dies (even SIGKILL) PostgreSQL ends its
session and frees the lock, so another worker takes over at its next try: within
``retry_seconds``.

On SQLite there is one process, and it is always the leader.

``is_leader`` and ``event`` (set while leader) are what other parts (the delivery engine) may
look at; ``on_change`` callbacks are called with the new state.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

LOCK_KEY = 0x68726D6C  # "hrml": one key per database (advisory locks are per database)
RETRY_SECONDS = 12.0


class Leader:
    def __init__(self, database_url: str, *, retry_seconds: float = RETRY_SECONDS, key: int = LOCK_KEY,
                 name: str | None = None) -> None:
        parsed = make_url(database_url)
        self.backend = parsed.get_backend_name()
        self._dsn = (parsed.set(drivername="postgresql").render_as_string(hide_password=False)
                     if self.backend == "postgresql" else None)
        self.retry_seconds = retry_seconds
        self.key = key
        self.name = name or f"pid {os.getpid()}"
        self.event = asyncio.Event()  # set while this process is the leader
        self.on_change: list[Callable[[bool], Any]] = []
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._pause_until = 0.0

    @property
    def is_leader(self) -> bool:
        return self.event.is_set()

    async def wait(self) -> None:
        """Until this process is the leader."""
        await self.event.wait()

    async def start(self) -> bool:
        """Try once now (so a single process is the leader before its first jobs run), then keep
        trying, or keep checking, in the background. Returns whether this process leads."""
        if self._dsn is None:
            self._set(True)
            return True
        await self._attempt()
        self._task = asyncio.create_task(self._loop(), name="leader")
        return self.is_leader

    async def stop(self) -> None:
        """Stop leading (the lock goes with the connection) and stop trying."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self.is_leader and self._conn is not None:
            with contextlib.suppress(Exception):  # free it now: a new process may start at once
                await self._conn.fetchval("SELECT pg_advisory_unlock($1)", self.key, timeout=5)
        await self._drop_connection()
        self._set(False)

    # ------------------------------------------------------------------ internals

    def _set(self, leading: bool) -> None:
        if leading == self.is_leader:
            return
        if leading:
            self.event.set()
            if self._dsn is not None:
                log.info("Worker %s is now the leader: scheduled work runs here", self.name)
        else:
            self.event.clear()
            # a worker that just lost its connection lets a healthy one take over first
            self._pause_until = time.monotonic() + 2 * self.retry_seconds
            if not self._closing:
                log.warning("Worker %s is no longer the leader", self.name)
        for callback in list(self.on_change):
            try:
                callback(leading)
            except Exception:  # noqa: BLE001 - one listener's fault does not stop the others
                log.exception("Leader change callback failed")

    def _lost(self, _conn: Any = None) -> None:
        """asyncpg calls this when the connection closes: not the leader any more, at once."""
        self._conn = None
        self._set(False)

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.remove_termination_listener(self._lost)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)
            if not conn.is_closed():
                conn.terminate()

    async def _attempt(self) -> None:
        import asyncpg

        try:
            if self._conn is None or self._conn.is_closed():
                self._set(False)
                self._conn = await asyncpg.connect(self._dsn, timeout=10)
                self._conn.add_termination_listener(self._lost)
            if self.is_leader:
                await self._conn.fetchval("SELECT 1", timeout=10)  # still connected, still holding it
            elif time.monotonic() >= self._pause_until and await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key, timeout=10):
                self._set(True)
        except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("Leader lock: %s", exc)
            self._set(False)
            await self._drop_connection()

    async def _loop(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.retry_seconds)
            try:
                await self._attempt()
            except Exception:  # noqa: BLE001 - whatever went wrong, keep trying (not leading)
                log.exception("Leader lock: unexpected error")
                self._set(False)
                await self._drop_connection()
