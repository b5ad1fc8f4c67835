"""Scheduled work: every feature's job is registered (bot.jobs) and triggered with its period; a
failing job is logged and runs again; only the leader runs leader jobs, and the leader lock on
PostgreSQL passes to another worker when the leader goes (bot.leader)."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot import jobs
from bot.app import build_app
from bot.fakeapi import FakeTelegram
from bot.leader import Leader
from tests.harness import TOKEN, Harness, make_settings

FEATURE_JOBS = {
    "poll-close": 30, "discussion-close": 30, "event-due": 30, "digests": 30,  # also at start
    "report-checks": 600, "proposal-cards": 600, "statement-cards": 600,
}
TEST_KEY = 0x7465_7374  # not the bot's own lock key: the harness's apps hold that one


async def test_every_feature_job_is_registered_and_triggered_with_its_period(database_url: str) -> None:
    async with FakeTelegram(token=TOKEN) as fake:
        app = await build_app(make_settings(database_url, fake.base_url))
        try:
            registered = {j.name: j for j in jobs.registered()}
            assert FEATURE_JOBS.keys() <= registered.keys()
            for name, seconds in FEATURE_JOBS.items():
                trigger = app.scheduler.get_job(name).trigger
                assert trigger.interval.total_seconds() == seconds, name
                assert registered[name].leader
            assert {n for n, j in registered.items() if j.at_start} >= {"poll-close", "discussion-close",
                                                                       "event-due", "digests"}
            # each one runs (on an empty database: nothing due) without an error
            ctx = jobs.JobContext(app.sessionmaker, app.bot, app.settings, app.i18n, app.delivery, app.community)
            for name in FEATURE_JOBS:
                assert await jobs.run(registered[name], ctx), name
        finally:
            await app.close()


async def test_a_failing_job_is_logged_and_runs_again(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []

    @jobs.job("test-failing", seconds=0.05)
    async def failing(ctx: jobs.JobContext) -> None:
        runs.append(1)
        raise RuntimeError("boom")

    try:
        async with FakeTelegram(token=TOKEN) as fake:
            harness = Harness(fake, make_settings(database_url, fake.base_url))
            await harness.start()
            try:
                with caplog.at_level(logging.ERROR, logger="bot.jobs"):
                    for _ in range(100):
                        if len(runs) >= 3:
                            break
                        await asyncio.sleep(0.05)
                assert len(runs) >= 3
                assert "Job test-failing failed" in caplog.text and "boom" in caplog.text
                assert harness.app is not None and harness.app.leader is not None
                assert harness.app.leader.is_leader  # one process: it leads (SQLite always)
            finally:
                await harness.stop()
    finally:
        jobs.JOBS.pop("test-failing", None)


async def test_a_worker_that_is_not_the_leader_skips_leader_jobs(database_url: str) -> None:
    """Two bots on one database: the scheduled jobs of the one that does not lead do nothing."""
    runs: list[str] = []

    @jobs.job("test-leader-only", seconds=0.05)
    async def leader_only(ctx: jobs.JobContext) -> None:
        runs.append("ran")

    try:
        async with FakeTelegram(token=TOKEN) as fake:
            app = await build_app(make_settings(database_url, fake.base_url))
            try:
                assert app.leader is not None and not app.leader.is_leader  # not started yet
                await app.scheduler.get_job("test-leader-only").func()
                assert runs == []
                await app.leader.start()
                await app.scheduler.get_job("test-leader-only").func()
                assert runs == ["ran"]
            finally:
                await app.close()
    finally:
        jobs.JOBS.pop("test-leader-only", None)


async def test_sqlite_is_always_the_leader(tmp_path: Path) -> None:
    leader = Leader(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    assert await leader.start() and leader.is_leader and leader.event.is_set()
    await leader.stop()
    assert not leader.is_leader


async def _wait_leader(leader: Leader, timeout: float) -> None:
    await asyncio.wait_for(leader.wait(), timeout)


async def test_one_leader_on_postgresql_and_the_other_takes_over(pg_url: str) -> None:
    first = Leader(pg_url, retry_seconds=0.2, key=TEST_KEY, name="first")
    second = Leader(pg_url, retry_seconds=0.2, key=TEST_KEY, name="second")
    changes: list[bool] = []
    second.on_change.append(changes.append)
    try:
        assert await first.start()
        assert not await second.start()
        await asyncio.sleep(0.6)  # three retries: still only one leader
        assert first.is_leader and not second.is_leader
        await first.stop()  # its connection closes: the lock is free
        await _wait_leader(second, 3)
        assert changes == [True]
        assert not first.is_leader
    finally:
        await first.stop()
        await second.stop()


async def test_a_leader_whose_connection_is_killed_stops_leading_and_another_takes_over(pg_url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    first = Leader(pg_url, retry_seconds=0.3, key=TEST_KEY, name="first")
    second = Leader(pg_url, retry_seconds=0.3, key=TEST_KEY, name="second")
    lost = asyncio.Event()
    first.on_change.append(lambda leading: None if leading else lost.set())
    dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        assert await first.start()
        assert not await second.start()
        pid = first._conn.get_server_pid()  # noqa: SLF001 - the test kills exactly that session
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        await asyncio.wait_for(lost.wait(), 3)  # no longer the leader, before any retry interval
        await _wait_leader(second, 3)
        await asyncio.sleep(1)  # the first one reconnects but the lock is the second's now
        assert second.is_leader and not first.is_leader
    finally:
        await admin.close()
        await first.stop()
        await second.stop()


async def test_with_redis_conversation_state_and_each_persons_update_order_are_shared(tmp_path: Path) -> None:
    """What several workers need: aiogram's RedisStorage and RedisEventIsolation (bot.app._fsm)."""
    from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/h.db", "http://127.0.0.1:9",
                             redis_url="redis://127.0.0.1:6379/0")
    app = await build_app(settings)
    try:
        from storage.fsm import CommittedStorage

        # Redis, written when each update commits
        assert isinstance(app.dp.storage, CommittedStorage) and isinstance(app.dp.storage.inner, RedisStorage)
        assert isinstance(app.dp.fsm.events_isolation, RedisEventIsolation)
    finally:
        await app.close()
