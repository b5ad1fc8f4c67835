"""Storage on SQLite and PostgreSQL: FSM records, UTC times, and the Redis FSM option."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from aiogram.fsm.storage.base import StorageKey

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


async def test_registration_resumes_after_restart_with_redis_fsm(redis_url: str, database_url: str) -> None:
    import redis.asyncio as redis

    token = f"{uuid.uuid4().int % 10**9}:REDIS"  # a bot id of its own: keys never clash
    async with FakeTelegram(token=token) as fake:
        h = Harness(fake, make_settings(database_url, fake.base_url, redis_url=redis_url, bot_token=token))
        await h.start()
        try:
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
        finally:
            await h.stop()
    client = redis.Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()


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

