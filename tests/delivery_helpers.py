"""Shared helpers for the delivery engine and announcement tests."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bot.delivery import DeliveryEngine
from bot.services import campaigns as cs
from bot.services import users as us
from storage.models import Campaign
from tests.harness import Harness

GREETING = {"en": "Hello", "uk": "Привіт", "ru": "Привет", "bg": "Здравей"}


class Clock:
    def __init__(self, start: datetime) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def set(self, value: datetime) -> None:
        self.value = value


def tune(h: Harness, **changes: Any) -> DeliveryEngine:
    """Configure the running engine and every engine after a restart. Quiet hours are off unless
    given: the tests run at any time of day."""
    now = changes.pop("now", None)
    changes.setdefault("quiet_hours", None)

    def apply(app: Any) -> None:
        app.delivery.configure(**changes)
        if now is not None:
            app.delivery.now = now

    h.on_build.append(apply)
    assert h.app is not None
    apply(h.app)
    return h.app.delivery


def engine(h: Harness) -> DeliveryEngine:
    assert h.app is not None and h.app.delivery is not None
    return h.app.delivery


async def until(predicate: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    """Poll an async condition (the database) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


async def resident(h: Harness, tg_id: int, lang: str = "en", district: str = "ostriv",
                   topics: tuple[str, ...] = ("polls", "events"), fake: bool = True) -> int:
    """A registered resident (through the services, not five taps); returns users.id."""
    if fake:
        h.user(tg_id, first_name=f"R{tg_id}", language_code=lang)
    async with h.db() as s:
        user = await us.ensure_user(s, tg_id, lang)
        await us.complete_registration(s, user, name=f"R{tg_id}", district=district, topics=list(topics))
        await s.commit()
        return user.id


async def counts(h: Harness, campaign_id: int) -> dict[str, int]:
    async with h.db() as s:
        return await cs.delivery_counts(s, campaign_id)


async def status(h: Harness, campaign_id: int) -> str:
    async with h.db() as s:
        return (await s.get(Campaign, campaign_id)).status  # type: ignore[union-attr]


async def finished(h: Harness, campaign_id: int, timeout: float = 30.0) -> dict[str, int]:
    async def done() -> bool:
        async with h.db() as s:
            c = await s.get(Campaign, campaign_id)
            return c is not None and c.finished_at is not None

    await until(done, timeout)
    return await counts(h, campaign_id)


def bot_texts(h: Harness, chat_id: int) -> list[str]:
    return [m.text for m in h.fake.bot_messages(chat_id)]


async def organizer(h: Harness, tg_id: int, lang: str = "en", district: str = "suburbs") -> Any:
    """A registered resident holding the organizer role; returns the fake user."""
    who = h.user(tg_id, first_name=f"Org{tg_id}", language_code=lang)
    async with h.db() as s:
        user = await us.ensure_user(s, tg_id, lang)
        await us.complete_registration(s, user, name=f"Org{tg_id}", district=district, topics=[])
        await s.refresh(user, ["roles"])
        await us.grant_role(s, user, "organizer", None)
        await s.commit()
    return who


async def many_residents(h: Harness, first_tg_id: int, n: int, lang: str = "en") -> list[int]:
    """``n`` registered residents at once (one commit); returns their Telegram ids."""
    from storage.models import User, utcnow

    ids = list(range(first_tg_id, first_tg_id + n))
    now = utcnow()
    for tg_id in ids:
        h.user(tg_id, first_name=f"R{tg_id}", language_code=lang)
    async with h.db() as s:
        s.add_all([
            User(telegram_id=tg_id, language=lang, display_name=f"R{tg_id}", district="ostriv",
                 topics=["polls"], consent_at=now, registered_at=now)
            for tg_id in ids
        ])
        await s.commit()
    return ids


def second_engine(h: Harness, redis: Any = None, **changes: Any) -> DeliveryEngine:
    """Another delivery engine on the same database, as in a second worker process (its own bot
    session and worker id); ``changes`` tune its config like :func:`tune`."""
    from dataclasses import replace

    from bot.app import create_bot

    assert h.app is not None
    changes.setdefault("quiet_hours", None)
    config = replace(engine(h).config, **changes)
    return DeliveryEngine(h.app.sessionmaker, create_bot(h.settings), h.app.i18n, config,
                          settings=h.settings, community=h.app.community, redis=redis)


async def close_engine(eng: DeliveryEngine) -> None:
    await eng.stop()
    await eng.bot.session.close()
