"""The bot under test: the real Dispatcher polling the project's fake Bot API over HTTP."""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App, build_app, run_polling
from bot.config import Settings
from bot.fakeapi import FakeTelegram, FakeUser
from tests.buttons import ROW_MAX, too_wide

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-TOKEN"
SETTLE_CAP = 30.0  # seconds (see the harness fixture)
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
        # Bot API calls Telegram refused (4xx but 429) fail the test, unless it expects them
        self.expect_rejected: Callable[[Any], bool] | bool = False
        self._startup_calls: set[int] = set()

    def rejected_calls(self) -> list[Any]:
        expected = self.expect_rejected
        # (at start the bot sets the menus of the staff chats, which a test makes only later)
        return [c for i, c in enumerate(self.fake.calls) if i not in self._startup_calls
                and not c.ok and c.error_code is not None and 400 <= c.error_code < 500 and c.error_code != 429
                and not (expected is True or (callable(expected) and expected(c)))]

    async def start(self) -> None:
        self.app = await build_app(self.settings)
        for hook in self.on_build:
            hook(self.app)
        first, polls = len(self.fake.calls), self.fake._poll_seq
        self._polling = asyncio.create_task(run_polling(self.app, handle_signals=False))
        # polling starts once start-up is done (menus set, the delivery engine running)
        await self.fake.wait_for(lambda: self.fake._poll_seq > polls or self._polling.done(), timeout=30)
        if self._polling.done():
            self._polling.result()  # start-up failed: say why
        await self.fake.settle()
        self._startup_calls.update(i for i in range(first, len(self.fake.calls))
                                   if self.fake.calls[i].method in ("setMyCommands", "deleteMyCommands", "setChatMenuButton"))

    async def stop(self) -> None:
        if self.app is None:
            return
        if self._polling is not None:
            while self.app.poller is None:  # (stopped before it started)
                await asyncio.sleep(0.01)
            self.app.poller.stop()
            await asyncio.wait_for(self._polling, 30)  # run_polling closes the app
        else:
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
    # settle() waits for a condition (every update confirmed), never for a time; its cap is only
    # how long a hung handler takes to be reported. 5 s was too short on a loaded 2-core machine:
    # a step that draws charts and groups opinions took longer when other suites ran beside it.
    async with FakeTelegram(token=TOKEN, bot_username="hromada_test_bot", settle_timeout=SETTLE_CAP) as fake:
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
        rejected = [f"{c.method} {c.error_code} {c.description} ({str(c.params)[:300]})" for c in h.rejected_calls()]
        assert not rejected, f"the bot made calls Telegram would reject: {rejected}"
        wide = too_wide(h.fake.calls)
        report = os.environ.get("HROMADA_BUTTONS_REPORT")
        if report:
            with open(report, "a", encoding="utf-8") as fh:
                fh.writelines(line + "\n" for line in wide)
        else:
            assert not wide, f"buttons sharing a row are longer than {ROW_MAX} characters: {wide}"
