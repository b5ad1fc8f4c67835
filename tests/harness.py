"""The bot under test: the real Dispatcher polling the project's fake Bot API over HTTP."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App, build_app
from bot.config import Settings
from bot.fakeapi import FakeTelegram, FakeUser

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-TOKEN"
ADMIN_ID = 9000
MODERATORS_CHAT = -1001000
ORGANIZERS_CHAT = -1002000


def make_settings(database_url: str, api_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        bot_token=TOKEN,
        telegram_api_url=api_url,
        database_url=database_url,
        redis_url=None,
        default_locale="en",
        timezone="Europe/Kyiv",
        admin_ids=[ADMIN_ID],
        moderators_chat_id=MODERATORS_CHAT,
        organizers_chat_id=ORGANIZERS_CHAT,
        webhook_url=None,
        community_file=ROOT / "communities" / "kherson.toml",
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class _FailedUpdates(logging.Handler):
    """Collects the updates the bot failed on (the apology middleware logs them): a test that
    passes while a resident got "something went wrong" is not passing."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.failed: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Update "):
            error = record.exc_info[1] if record.exc_info else None
            self.failed.append(f"{record.getMessage()}: {error!r}")


class Harness:
    """Starts and restarts the bot against one fake Telegram and one database."""

    def __init__(self, fake: FakeTelegram, settings: Settings) -> None:
        self.fake = fake
        self.settings = settings
        self.app: App | None = None
        self._polling: asyncio.Task[None] | None = None
        # called with each new App before it starts (tests tune e.g. app.delivery here)
        self.on_build: list[Callable[[App], None]] = []
        self.failed_updates = _FailedUpdates()
        self.expect_failed_updates = False  # a test of the apology itself sets it

    async def start(self) -> None:
        self.app = await build_app(self.settings)
        for hook in self.on_build:
            hook(self.app)
        self._polling = asyncio.create_task(
            self.app.dp.start_polling(
                self.app.bot,
                handle_signals=False,
                handle_as_tasks=False,
                close_bot_session=False,
                polling_timeout=30,
                allowed_updates=self.app.dp.resolve_used_update_types(),
            )
        )
        await self.fake.settle()

    async def stop(self) -> None:
        if self.app is None:
            return
        if self._polling is not None:
            await self.app.dp.stop_polling()
            await asyncio.wait_for(self._polling, 10)
        await self.app.close()
        self.app = None

    async def restart(self) -> None:
        """Stop the bot and start a new one on the same database, like a process restart."""
        await self.stop()
        await self.start()

    def user(self, user_id: int = 1001, **kwargs: Any) -> FakeUser:
        kwargs.setdefault("first_name", "Olena")
        kwargs.setdefault("language_code", "uk")
        return self.fake.user(user_id, **kwargs)

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        assert self.app is not None
        async with self.app.sessionmaker() as session:
            yield session


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with FakeTelegram(token=TOKEN, bot_username="hromada_test_bot") as fake:
        h = Harness(fake, make_settings(database_url, fake.base_url))
        logging.getLogger("bot.middlewares").addHandler(h.failed_updates)
        await h.start()
        try:
            yield h
        finally:
            await h.stop()
            logging.getLogger("bot.middlewares").removeHandler(h.failed_updates)
        if not h.expect_failed_updates:
            assert not h.failed_updates.failed, f"the bot failed on updates: {h.failed_updates.failed}"
