"""`hromada run --workers N`: N webhook worker processes sharing WEBHOOK_PORT, and their supervisor.

The parent process (this module's :func:`supervise`) applies the migrations and checks the
token and Redis once, then starts N children (``hromada run --worker-index I``). Each child is a
whole bot: it opens the webhook port with SO_REUSEPORT, so the kernel spreads Telegram's
connections over the children, and it handles the updates that reach it. Conversation state and
each person's update order are in Redis (so two quick messages from one person never race across
workers); scheduled work runs in the one child that holds the leader lock (bot.leader).

Only child 0 calls setWebhook (the others answer it locally; a restarted child 0 sets the same
webhook again, which Telegram accepts). A child that dies is started again (after a pause that
grows while it keeps dying at start); SIGTERM or SIGINT to the parent goes to every child, each
drains the updates in flight, and the parent exits when they are all done. SIGTERM to one child
drains that one; the others keep serving, and the parent starts a fresh one.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from typing import Any

log = logging.getLogger(__name__)

STOP_TIMEOUT = 60.0  # a child still draining after this long is killed
RESTART_PAUSE_MAX = 30.0
HEALTHY_AFTER = 30.0  # a child that lived this long is restarted at once


class SkipSetWebhook:
    """Bot API session middleware for children other than 0: their setWebhook is answered here,
    so only one process tells Telegram where the webhook is."""

    async def __call__(self, make_request: Any, bot: Any, method: Any) -> Any:
        from aiogram.methods import SetWebhook

        if isinstance(method, SetWebhook):
            return True
        return await make_request(bot, method)


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, a SIGTERM when the supervisor dies (even by SIGKILL),
    so no worker outlives it."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except OSError:
            pass


def child_command(index: int) -> list[str]:
    return [sys.executable, "-m", "bot.cli", "run", "--worker-index", str(index)]


class Supervisor:
    def __init__(self, count: int, command: Any = child_command, env: dict[str, str] | None = None) -> None:
        self.count = count
        self.command = command
        self.env = env
        self.procs: dict[int, asyncio.subprocess.Process] = {}
        self.started_at: dict[int, float] = {}
        self.pause: dict[int, float] = {}
        self.stopping = asyncio.Event()
        self.stopped: list[asyncio.subprocess.Process] = []  # the children running when told to stop

    async def spawn(self, index: int) -> None:
        proc = await asyncio.create_subprocess_exec(*self.command(index), env=self.env,
                                                    preexec_fn=_die_with_parent)
        self.procs[index] = proc
        self.started_at[index] = time.monotonic()
        log.info("Worker %s started (pid %s)", index, proc.pid)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop every child (each drains its updates in flight); the supervisor then returns."""
        if not self.stopping.is_set():
            log.info("Stopping %s workers", len(self.procs))
        self.stopping.set()
        for proc in self.procs.values():
            if proc.returncode is None:
                self.stopped.append(proc)
                try:
                    proc.send_signal(sig)
                except ProcessLookupError:
                    pass

    async def run(self) -> int:
        for index in range(self.count):
            await self.spawn(index)
        waits: dict[int, asyncio.Task[int]] = {}
        stop_wait = asyncio.create_task(self.stopping.wait())
        try:
            while not self.stopping.is_set():
                for index, proc in self.procs.items():
                    if index not in waits:
                        waits[index] = asyncio.create_task(proc.wait())
                done, _ = await asyncio.wait([*waits.values(), stop_wait], return_when=asyncio.FIRST_COMPLETED)
                for index, task in list(waits.items()):
                    if task not in done:
                        continue
                    del waits[index]
                    if self.stopping.is_set():
                        break
                    await self._restart(index, task.result())
        finally:
            stop_wait.cancel()
        return await self._wait_all()

    async def _restart(self, index: int, code: int) -> None:
        lived = time.monotonic() - self.started_at[index]
        pause = 0.0 if lived >= HEALTHY_AFTER else min(max(self.pause.get(index, 0.5) * 2, 1.0), RESTART_PAUSE_MAX)
        self.pause[index] = pause
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        log.warning("Worker %s (pid %s) %s; starting it again%s", index, self.procs[index].pid, how,
                    f" in {pause:.0f} s" if pause else "")
        if pause:
            try:
                await asyncio.wait_for(self.stopping.wait(), pause)
                return  # stopping meanwhile
            except asyncio.TimeoutError:
                pass
        await self.spawn(index)

    async def _wait_all(self) -> int:
        procs = list(self.procs.values())
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs)), STOP_TIMEOUT)
        except asyncio.TimeoutError:
            for proc in procs:
                if proc.returncode is None:
                    log.warning("Worker pid %s did not stop in %.0f s; killing it", proc.pid, STOP_TIMEOUT)
                    proc.kill()
            await asyncio.gather(*(p.wait() for p in procs))
        # a child ended by the signal we forwarded (no handler yet: it was starting) is a clean stop
        bad = [p.returncode for p in self.stopped if p.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)]
        return 1 if bad else 0


async def supervise(count: int) -> int:
    """Run ``count`` workers until SIGTERM/SIGINT; the exit code for the parent process."""
    supervisor = Supervisor(count, env={**os.environ, "WORKERS": str(count)})
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, supervisor.stop, signal.SIGTERM)
    log.info("Supervisor (pid %s): %s webhook workers", os.getpid(), count)
    return await supervisor.run()
