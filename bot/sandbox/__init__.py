"""Offline sandbox: the project's fake Telegram, the real bot polling it over HTTP, and a
terminal chat. Type as a resident; press buttons by their number; switch persona with :as;
:help lists the sandbox's commands (bot.sandbox.console).

The pieces: :mod:`bot.sandbox.console` (printing and typed lines), :mod:`bot.sandbox.terminal`
(colours, reading lines whole), :mod:`bot.sandbox.clock` (``:clock +2h``).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from bot import jobs
from bot.app import build_app, run_polling
from bot.config import Settings
from bot.fakeapi import FakeTelegram
from bot.sandbox.clock import SandboxClock
from bot.sandbox.console import FILES_DIR, HELP, Console, Persona
from bot.sandbox.terminal import LineReader
from bot.services import users as users_service
from storage.migrate import upgrade

__all__ = ["FILES_DIR", "HELP", "Console", "Persona", "SandboxClock", "personas", "run_sandbox"]

SANDBOX_TOKEN = "100000:SANDBOX"
SANDBOX_DB = "sqlite+aiosqlite:///data/sandbox.db"
# The fake Telegram's counters (next update id, each chat's next message id), kept between runs
# like a real Telegram keeps them: a restarted sandbox never reuses an update id the bot recorded
# as handled (it would be taken for a redelivery) nor a message id the bot stored (a card, a
# progress message).
COUNTERS_FILE = Path("data/sandbox-telegram.json")
RESIDENT_ID, MODERATOR_ID, ORGANIZER_ID = 1001, 2001, 3001
MODERATORS_CHAT, ORGANIZERS_CHAT = -100100, -100200
SETTLE_SECONDS = 15.0  # how long a typed line may keep the bot busy before the prompt comes back
PRINT_INTERVAL = 0.2  # messages that come later (the delivery engine) are printed this often


def personas() -> dict[str, Persona]:
    return {
        "resident": Persona("resident", RESIDENT_ID, "Olena", RESIDENT_ID, "a private chat"),
        "moderator": Persona("moderator", MODERATOR_ID, "Mykola", MODERATORS_CHAT, "the moderators' group"),
        "organizer": Persona("organizer", ORGANIZER_ID, "Iryna", ORGANIZER_ID, "a private chat (an admin)"),
        "organizers": Persona("organizers", ORGANIZER_ID, "Iryna", ORGANIZERS_CHAT, "the organizers' group"),
    }


async def _seed(app: Any, people: dict[str, Persona]) -> None:
    """The moderator and the organizer are registered; the moderator has the role."""
    async with app.sessionmaker() as session:
        for key in ("moderator", "organizer"):
            p = people[key]
            user = await users_service.ensure_user(session, p.user_id, app.settings.default_locale)
            if not user.is_registered:
                await users_service.complete_registration(
                    session, user, name=p.first_name, district=app.community.districts[0].code,
                    topics=list(users_service.TOPICS),
                )
        moderator = await users_service.by_telegram_id(session, people["moderator"].user_id)
        assert moderator is not None
        await users_service.grant_role(session, moderator, "moderator", by=None)
        await session.commit()


def sandbox_settings(settings: Settings, fake: FakeTelegram, url: str) -> Settings:
    changes: dict[str, Any] = {
        "bot_token": SANDBOX_TOKEN,
        "telegram_api_url": fake.base_url,
        "database_url": url,
        "webhook_url": None,
        "redis_url": None,
        "workers": 1,
        "admin_ids": [ORGANIZER_ID],
        "moderators_chat_id": MODERATORS_CHAT,
        "organizers_chat_id": ORGANIZERS_CHAT,
    }
    if "quiet_hours" not in settings.model_fields_set:
        changes["quiet_hours"] = ""  # a tour at night or after :clock still sees what goes out
    return settings.model_copy(update=changes)


async def run_sandbox(
    settings: Settings, database_url: str | None = None, stdin: Any = None, out: Any = None
) -> None:
    """Run the sandbox until :quit or the end of ``stdin`` (default: the process's own; a
    binary stream, or a text one for in-memory use)."""
    stdin = stdin if stdin is not None else sys.stdin
    out = out if out is not None else sys.stdout
    url = database_url or SANDBOX_DB
    clock = SandboxClock()
    clock.install()
    try:
        async with FakeTelegram(token=SANDBOX_TOKEN, bot_username="hromada_sandbox_bot") as fake:
            await _run(fake, sandbox_settings(settings, fake, url), url, clock, stdin, out)
    finally:
        clock.uninstall()


async def _resume(fake: FakeTelegram, app: Any) -> None:
    from sqlalchemy import func, select

    from storage.models import HandledUpdate

    async with app.sessionmaker() as session:
        last = await session.scalar(select(func.max(HandledUpdate.update_id))) or 0
    try:
        saved = json.loads(COUNTERS_FILE.read_text())
    except (OSError, ValueError):
        saved = {}
    fake.resume(saved if isinstance(saved, dict) else {}, after_update=last)


def _save_counters(fake: FakeTelegram) -> None:
    with contextlib.suppress(OSError):
        COUNTERS_FILE.parent.mkdir(parents=True, exist_ok=True)
        COUNTERS_FILE.write_text(json.dumps(fake.counters()))


async def _run(fake: FakeTelegram, settings: Settings, url: str, clock: SandboxClock, stdin: Any, out: Any) -> None:
    people = personas()
    for p in people.values():
        fake.user(p.user_id, first_name=p.first_name, language_code=settings.default_locale)
    fake.group(MODERATORS_CHAT, title="Moderators", is_forum=False)
    fake.group(ORGANIZERS_CHAT, title="Organizers", is_forum=False)
    fake.set_admin(MODERATORS_CHAT, MODERATOR_ID)
    fake.set_admin(ORGANIZERS_CHAT, ORGANIZER_ID)
    await upgrade(url)
    app = await build_app(settings)
    assert app.delivery is not None
    app.delivery.now = clock.now
    await _seed(app, people)
    await _resume(fake, app)
    context = jobs.JobContext(app.sessionmaker, app.bot, app.settings, app.i18n, app.delivery, app.community)

    async def quiesce() -> None:
        """Until the bot handled everything typed and the delivery engine sent what is due."""
        delivery = app.delivery
        assert delivery is not None
        try:
            for _ in range(5):
                await fake.settle(timeout=SETTLE_SECONDS)
                await fake.wait_for(lambda: delivery.is_idle, timeout=SETTLE_SECONDS)
                if not fake.pending_updates and delivery.is_idle:
                    return
        except TimeoutError:
            console.note("(the bot is still busy; what it sends later is printed when it comes)")
        finally:
            _save_counters(fake)

    async def run_checks() -> None:
        """Every scheduled check once, now (the database says what is due)."""
        for job in jobs.registered():
            await jobs.run(job, context)
        assert app.delivery is not None
        app.delivery.wake()

    console = Console(fake, people, out, clock=clock, run_checks=run_checks, quiesce=quiesce, tz=settings.tz)
    console.hook()
    polls = fake._poll_seq
    polling = asyncio.create_task(run_polling(app, handle_signals=False))
    reader = LineReader(stdin, out, console.lock)
    printer: asyncio.Task[None] | None = None
    try:
        await fake.wait_for(lambda: fake._poll_seq > polls or polling.done(), timeout=30)
        if polling.done():
            polling.result()  # start-up failed: say why
        await quiesce()
        console.print(
            "Hromada sandbox: a local fake Telegram, no token and no network needed.\n"
            f"Database: {url}. You are a resident (Olena). Type /start to begin; "
            "press buttons by their number; :as lists the personas; :help lists sandbox commands."
        )
        console.flush()
        console.reader = reader
        reader.start()

        async def print_later() -> None:  # what the bot sends while you type
            while True:
                await asyncio.sleep(PRINT_INTERVAL)
                if console.pending and not console.busy:
                    console.flush(redraw=True)

        printer = asyncio.create_task(print_later())
        while True:
            console.show_prompt()
            line = await reader.next_line()
            if line is None:
                break
            if not reader.raw:  # a pipe: the line is echoed, so the transcript reads like a chat
                console.print(line)
            console.busy = True
            try:
                if not await console.handle(line):
                    break
                await quiesce()
                console.flush()
            finally:
                console.busy = False
    finally:
        reader.close()
        if printer is not None:
            printer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await printer
        while app.poller is None and not polling.done():
            await asyncio.sleep(0.01)
        if app.poller is not None:
            app.poller.stop()
        await asyncio.wait_for(polling, 30)  # run_polling closes the app
