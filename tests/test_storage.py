"""Storage on SQLite and PostgreSQL: FSM records, UTC times, and the Redis FSM option."""
from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import select

from bot.fakeapi import FakeTelegram
from storage.db import create_engine, create_sessionmaker
from storage.fsm import DatabaseStorage
from storage.models import User
from tests.harness import Harness, make_settings

REDIS_URL = os.environ.get("HROMADA_TEST_REDIS", "redis://127.0.0.1:6379/15")


async def test_fsm_storage_roundtrip(database_url: str) -> None:
    engine = create_engine(database_url)
    storage = DatabaseStorage(create_sessionmaker(engine))
    key = StorageKey(bot_id=1, chat_id=42, user_id=42)
    assert await storage.get_state(key) is None and await storage.get_data(key) == {}
    await storage.set_state(key, "Reg:name")
    await storage.set_data(key, {"name": "Олена <b>", "topics": ["polls"]})
    assert await storage.get_state(key) == "Reg:name"
    assert await storage.get_data(key) == {"name": "Олена <b>", "topics": ["polls"]}
    other = StorageKey(bot_id=1, chat_id=43, user_id=43)
    assert await storage.get_state(other) is None
    await storage.set_state(key, None)
    await storage.set_data(key, {})
    assert await storage.get_state(key) is None and await storage.get_data(key) == {}
    await engine.dispose()


async def test_times_are_stored_in_utc(database_url: str) -> None:
    engine = create_engine(database_url)
    sm = create_sessionmaker(engine)
    kyiv = timezone(timedelta(hours=2))
    async with sm() as s:
        s.add(User(telegram_id=1, language="uk", topics=[], registered_at=datetime(2026, 12, 25, 18, 30, tzinfo=kyiv)))
        await s.commit()
    async with sm() as s:
        user = await s.get(User, 1)
        assert user is not None and user.registered_at is not None
        assert user.registered_at.utcoffset() == timedelta(0)
        assert user.registered_at == datetime(2026, 12, 25, 16, 30, tzinfo=timezone.utc)
    await engine.dispose()


@pytest.fixture
async def redis_url() -> str:
    import redis.asyncio as redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI") or os.environ.get("HROMADA_REQUIRE_POSTGRES"):
            pytest.fail(f"Redis not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL


@asynccontextmanager
async def redis_harness(redis_url: str, database_url: str) -> AsyncIterator[Harness]:
    """The bot with its conversation state in Redis (a bot id of its own: keys never clash)."""
    import redis.asyncio as redis

    token = f"{uuid.uuid4().int % 10**9}:REDIS"
    try:
        async with FakeTelegram(token=token) as fake:
            h = Harness(fake, make_settings(database_url, fake.base_url, redis_url=redis_url, bot_token=token))
            await h.start()
            try:
                yield h
            finally:
                await h.stop()
    finally:
        client = redis.Redis.from_url(redis_url)
        await client.flushdb()
        await client.aclose()


async def test_registration_resumes_after_restart_with_redis_fsm(redis_url: str, database_url: str) -> None:
    async with redis_harness(redis_url, database_url) as h:
        olena = h.user(5001, first_name="Olena", language_code="en")
        await olena.send("/start")
        await olena.press("English")
        await olena.send("Olena R.")
        await h.restart()
        await olena.send("/start")
        await olena.press(olena.buttons()[0])
        await olena.press("Done ✅")
        await olena.press("✅ I agree")
        assert "You are registered" in olena.messages[-2].text or "You are registered" in olena.last.text


async def test_many_quick_messages_from_one_user_do_not_race(harness: Harness) -> None:
    """Two taps on the same toggle sent before the bot answered are both applied, in order."""
    anna = harness.user(5002, first_name="Anna", language_code="en")
    await anna.send("/start")
    await anna.press("English")
    await anna.press("Keep «Anna»")
    await anna.press(anna.buttons()[0])
    topics_msg = anna.last
    await anna.press("Polls and surveys", message=topics_msg, wait=False)
    await anna.press("Polls and surveys", message=topics_msg, wait=False)
    await harness.fake.settle()
    await anna.press("Done ✅")
    await anna.press("✅ I agree")
    from sqlalchemy import select

    async with harness.db() as s:
        user = await s.scalar(select(User).where(User.telegram_id == 5002))
        assert user is not None and "polls" in user.topics  # off, then on again



async def test_redis_state_changes_only_when_the_update_commits(redis_url: str, database_url: str) -> None:
    """A step whose commit hits a database fault is run again from the state it started from: the
    conversation state in Redis is written after the commit, not while the handler runs."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.exc import OperationalError

    faults: list[str] = []

    def fail_once(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if armed and not faults and statement.lstrip().upper().startswith("INSERT INTO HANDLED_UPDATES"):
            faults.append(statement)  # the record of the update, in the update's own transaction
            raise OperationalError(statement, None, Exception("connection lost (injected)"))

    armed = False
    event.listen(Engine, "before_cursor_execute", fail_once)
    try:
        async with redis_harness(redis_url, database_url) as h:
            olena = h.user(5003, first_name="Olena", language_code="en")
            await olena.send("/start")
            await olena.press("English")
            await olena.press("Olena")
            await olena.press(olena.buttons()[0])  # a district; then the topics, all on
            armed = True
            await olena.press(olena.buttons()[1])  # one topic off: the first attempt fails at the commit
            armed = False
            assert len(faults) == 1
            await olena.press("✅")  # topics done
            await olena.press("✅")  # consent
            async with h.db() as s:
                user = (await s.execute(select(User).where(User.telegram_id == 5003))).scalar_one()
                assert user.is_registered and len(user.topics) == 3  # switched off once, not back on
    finally:
        event.remove(Engine, "before_cursor_execute", fail_once)
