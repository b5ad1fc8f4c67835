"""`hromada run --workers 2`: the real supervisor and two webhook workers sharing one port
(SO_REUSEPORT) on PostgreSQL + Redis, against the fake Bot API. Both serve; a SIGKILLed worker is
started again while the other keeps answering, and the scheduled work moves to it; SIGTERM ends
them all cleanly. Several workers on SQLite, without Redis or in polling mode stop at once."""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.fakeapi import FakeTelegram
from tests.harness import ORGANIZERS_CHAT, TOKEN

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("HROMADA_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BOT_", "DATABASE_", "WEBHOOK_", "REDIS_", "WORKERS", "LEADER_"))}
    env.update(COMMUNITY_FILE=str(ROOT / "communities" / "kherson.toml"), DEFAULT_LOCALE="en", **values)
    return env


def _owner_pid(client_port: int, server_port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` holds the server side of the TCP connection from ``client_port``
    (Linux: /proc/net/tcp gives the socket's inode, /proc/PID/fd the process holding it)."""
    local, remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1] == local and parts[2] == remote:
            inode = parts[9]
    if inode is None:
        return None
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
        except OSError:
            continue
    return None


class Run:
    """The supervisor as a subprocess, its log lines read as they come."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip())

    def matching(self, pattern: str) -> list[re.Match[str]]:
        return [m for line in self.lines if (m := re.search(pattern, line))]

    async def until(self, pattern: str, count: int = 1, timeout: float = 30) -> list[re.Match[str]]:
        deadline = time.monotonic() + timeout
        while len(found := self.matching(pattern)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {count}× {pattern!r} in:\n" + "\n".join(self.lines[-40:]))
            await asyncio.sleep(0.1)
        return found

    def workers(self) -> dict[int, int]:
        """Worker index -> pid of its latest start."""
        return {int(m[1]): int(m[2]) for m in self.matching(r"Worker (\d+) started \(pid (\d+)\)")}


def _update(update_id: int, user_id: int) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        "chat": {"id": user_id, "type": "private", "first_name": "Resident"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Resident", "language_code": "en"}}}


async def _post(port: int, update: dict, pids: list[int]) -> int | None:
    """POST one update on a new connection, as Telegram does (again if the connection was reset:
    one that reached a worker just as it closed its socket); the pid of the worker that took it."""
    for attempt in range(3):
        try:
            return await _post_once(port, update, pids)
        except (ConnectionError, asyncio.IncompleteReadError):
            if attempt == 2:
                raise
            await asyncio.sleep(0.5)
    return None


async def _post_once(port: int, update: dict, pids: list[int]) -> int | None:
    import json

    body = json.dumps(update).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        client_port = writer.get_extra_info("sockname")[1]
        writer.write(b"POST /tg/hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"X-Telegram-Bot-Api-Secret-Token: s3cret\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        try:
            status = await asyncio.wait_for(reader.readline(), 60)  # answered once the update is handled
        except TimeoutError:  # what the workers were waiting for goes to the log (SIGUSR1), then fail
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGUSR1)
            await asyncio.sleep(3)
            raise AssertionError(f"update {update['update_id']} got no answer within 60 s") from None
        if not status:
            raise ConnectionResetError("closed without an answer")
        assert b" 200 " in status, status
        return _owner_pid(client_port, port, pids)  # the connection is still open (keep-alive)
    finally:
        writer.close()


async def _scratch_pg(pg_url: str) -> None:
    from storage.db import create_engine
    from storage.models import Base

    engine = create_engine(pg_url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


async def _due_poll(pg_url: str) -> int:
    """A poll whose closing time passed while no bot ran."""
    from datetime import UTC, datetime, timedelta

    from bot.services import polls as polls_service
    from storage.db import create_engine, create_sessionmaker

    engine = create_engine(pg_url)
    now = datetime.now(UTC)
    async with create_sessionmaker(engine)() as session:
        draft = polls_service.PollDraft(questions=[polls_service.QuestionDraft(
            kind="single", text={"en": "Where to meet?"}, options=[{"en": "School"}, {"en": "Library"}])])
        poll = await polls_service.create_poll(session, draft, default_locale="en", created_by=None,
                                               now=now - timedelta(days=2))
        poll.closes_at = now - timedelta(minutes=5)
        await session.commit()
        poll_id = poll.id
    await engine.dispose()
    return poll_id


async def test_two_workers_share_the_port_survive_a_kill_and_stop_on_sigterm(tmp_path: Path, pg_url: str) -> None:
    await _scratch_pg(pg_url)
    poll_id = await _due_poll(pg_url)
    base = 7_000_000 + uuid.uuid4().int % 1_000_000  # Redis is shared: fresh people for each run
    async with FakeTelegram(token=TOKEN) as fake:
        fake.group(ORGANIZERS_CHAT, "Organizers")
        port = _free_port()
        env = _env(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=fake.base_url, DATABASE_URL=pg_url, REDIS_URL=REDIS_URL,
                   WEBHOOK_URL=f"http://127.0.0.1:{port}/tg/hook", WEBHOOK_SECRET="s3cret",
                   WEBHOOK_PORT=str(port), ORGANIZERS_CHAT_ID=str(ORGANIZERS_CHAT), LOG_LEVEL="INFO",
                   LEADER_RETRY_SECONDS="1")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--workers", "2", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        run = Run(proc)
        try:
            await run.until(r"Webhook server on ", 2, timeout=180)  # a busy CI machine is slow
            assert len(fake.calls_to("setWebhook")) == 1  # only worker 0 tells Telegram
            pids = run.workers()
            assert sorted(pids) == [0, 1]
            leaders = await run.until(r"Worker (\d+) \(pid \d+\) is now the leader")
            # the due poll closed at start, in the leader only: its results reach the organizers once
            await fake.wait_for(lambda: [m for m in fake.bot_messages(ORGANIZERS_CHAT)
                                         if m.text.startswith("📊 Results")], timeout=30)
            await asyncio.sleep(2)
            assert len(run.matching(r"is now the leader")) == 1
            results = [m for m in fake.bot_messages(ORGANIZERS_CHAT) if m.text.startswith("📊 Results")]
            assert len(results) == 1 and f"#{poll_id}" in results[0].text

            # both workers serve the updates that reach the shared port
            served: set[int | None] = set()
            for n in range(16):
                fake.user(base + n, first_name="Resident", language_code="en")
                served.add(await _post(port, _update(1000 + n, base + n), list(pids.values())))
            assert served == set(pids.values())
            for n in range(16):
                assert any("Hello" in m.text for m in fake.bot_messages(base + n)), n
            # their registration step is kept in Redis, where every worker finds it
            from redis.asyncio import Redis

            redis = Redis.from_url(REDIS_URL)
            try:
                assert [k async for k in redis.scan_iter(f"fsm:*:{base}:{base}:*")]
            finally:
                await redis.aclose()

            # SIGKILL the leader: the other keeps answering, takes the scheduled work over, and
            # the supervisor starts the dead one again
            leader_index = int(leaders[0][1])
            other_index = 1 - leader_index
            killed_at = time.monotonic()
            os.kill(pids[leader_index], signal.SIGKILL)
            for n in range(16, 22):
                fake.user(base + n, first_name="Resident", language_code="en")
                assert await _post(port, _update(1000 + n, base + n), list(run.workers().values())) is not None
                assert any("Hello" in m.text for m in fake.bot_messages(base + n)), n
            await run.until(rf"Worker {leader_index} \(pid \d+\) was killed by signal 9; starting it again")
            await run.until(rf"Worker {other_index} \(pid \d+\) is now the leader", timeout=60)
            print(f"leader taken over {time.monotonic() - killed_at:.1f} s after the SIGKILL "
                  "(LEADER_RETRY_SECONDS=1)")
            await run.until(r"Webhook server on ", 3, timeout=180)
            restarted = run.workers()
            assert restarted[leader_index] != pids[leader_index] and restarted[other_index] == pids[other_index]
            for n in range(22, 30):
                fake.user(base + n, first_name="Resident", language_code="en")
                await _post(port, _update(1000 + n, base + n), list(restarted.values()))
                assert any("Hello" in m.text for m in fake.bot_messages(base + n)), n
            # SIGTERM to one worker: it finishes and exits, the other keeps serving, it comes back
            os.kill(restarted[other_index], signal.SIGTERM)
            for n in range(30, 34):
                fake.user(base + n, first_name="Resident", language_code="en")
                await _post(port, _update(1000 + n, base + n), list(restarted.values()))
                assert any("Hello" in m.text for m in fake.bot_messages(base + n)), n
            await run.until(rf"Worker {other_index} \(pid \d+\) exited with code 0; starting it again")
            # through Telegram's own webhook delivery too
            olena = fake.user(base + 99, first_name="Olena", language_code="en")
            await olena.send("/start", wait=False)
            await fake.wait_for(lambda: fake.bot_messages(base + 99), timeout=20)
            # the results went out once in all
            assert len([m for m in fake.bot_messages(ORGANIZERS_CHAT) if m.text.startswith("📊 Results")]) == 1

            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 60)
        except BaseException:
            print("\n".join(run.lines[-400:]))  # what the workers said, for the failure
            raise
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await asyncio.wait_for(run._reader, 10)  # noqa: SLF001
        log = "\n".join(run.lines)
        assert code == 0, log
        assert "Traceback" not in log, log
        for pid in run.workers().values():  # no worker outlives the supervisor
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.parametrize("case", ["sqlite", "no-redis", "polling", "setting"])
async def test_several_workers_need_webhook_postgresql_and_redis(tmp_path: Path, pg_url: str, case: str) -> None:
    env = _env(BOT_TOKEN=TOKEN, TELEGRAM_API_URL="http://127.0.0.1:9", DATABASE_URL=pg_url, REDIS_URL=REDIS_URL,
               WEBHOOK_URL="http://127.0.0.1:9/hook")
    args = ["--workers", "2"]
    if case in ("sqlite", "setting"):  # "setting": WORKERS=2 in the environment, no option
        env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/h.db"
        if case == "setting":
            env["WORKERS"], args = "2", []
    elif case == "no-redis":
        del env["REDIS_URL"]
    else:
        del env["WEBHOOK_URL"]
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", *args, cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2
    assert len(lines) == 1 and lines[0].startswith("hromada: Setting WORKERS: 2 workers need "), lines
    expected = {"sqlite": "PostgreSQL", "setting": "PostgreSQL", "no-redis": "REDIS_URL", "polling": "WEBHOOK_URL"}[case]
    assert expected in lines[0]
    assert time.monotonic() - started < 20


async def test_the_supervisor_restarts_a_dead_child_and_stops_them_all() -> None:
    """bot.workers.Supervisor with stand-in children (no bot): a killed one is started again, a
    SIGTERM reaches all of them and the supervisor returns 0 once they are done."""
    from bot.workers import Supervisor

    script = "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); time.sleep(600)"
    supervisor = Supervisor(2, command=lambda index: [sys.executable, "-c", script])
    task = asyncio.create_task(supervisor.run())
    try:
        while len(supervisor.procs) < 2:
            await asyncio.sleep(0.05)
        first = supervisor.procs[0]
        await asyncio.sleep(0.5)
        first.kill()
        for _ in range(100):
            if supervisor.procs[0] is not first:
                break
            await asyncio.sleep(0.1)
        assert supervisor.procs[0] is not first and supervisor.procs[0].returncode is None
        assert first.returncode == -signal.SIGKILL
        await asyncio.sleep(0.5)
        supervisor.stop()
        assert await asyncio.wait_for(task, 30) == 0
        assert all(p.returncode == 0 for p in supervisor.procs.values())
    finally:
        if not task.done():
            task.cancel()
        for proc in supervisor.procs.values():
            if proc.returncode is None:
                proc.kill()
