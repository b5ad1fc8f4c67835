"""Every update is handled exactly once, and its replies survive Telegram's faults (issue 24).

These drive the real Dispatcher and the project's own polling loop / webhook server against the
fake Bot API; the crash tests with real processes are in tests/e2e/test_crash.py."""
from __future__ import annotations

import asyncio
import json
import socket

import aiohttp
from sqlalchemy import func, select

from bot.app import build_app, run_webhook, webhook_secret
from bot.fakeapi import FakeTelegram
from storage.models import HandledUpdate, User
from tests.harness import TOKEN, Harness, make_settings

GREETING = "Hello"


async def _register_to_topics(h: Harness, user_id: int = 1001):  # type: ignore[no-untyped-def]
    olena = h.user(user_id, first_name="Olena", language_code="en")
    await olena.send("/start")
    await olena.press("English")
    await olena.press("Olena")
    await olena.press(olena.buttons()[0])  # a district
    return olena


async def _topics(h: Harness, telegram_id: int) -> set[str]:
    async with h.db() as s:
        user = await s.scalar(select(User).where(User.telegram_id == telegram_id))
        assert user is not None
        return set(user.topics)


async def test_a_redelivered_tap_is_not_applied_twice(harness: Harness) -> None:
    olena = await _register_to_topics(harness)
    await olena.press(olena.buttons()[1])  # switch one topic off
    tap = harness.fake.sent_updates[-1]
    screen = olena.last.text
    # the process stops before Telegram heard that the tap was done: it comes again
    await harness.stop()
    harness.fake.redeliver(tap)
    harness.expect_rejected = lambda c: "not modified" in (c.description or "")  # the edit, said again
    await harness.start()
    assert harness.fake.pending_updates == []  # confirmed this time
    assert olena.last.text == screen
    await olena.press("✅")  # topics done
    await olena.press("✅")  # consent
    assert len(await _topics(harness, 1001)) == 3  # the one switched off stayed off
    async with harness.db() as s:
        assert await s.get(HandledUpdate, tap["update_id"]) is not None


async def test_shutdown_confirms_what_finished(harness: Harness) -> None:
    olena = harness.user(1001, language_code="en")
    await olena.send("/start")
    await olena.send("/help", wait=False)
    await harness.fake.wait_for(lambda: len(harness.fake.bot_messages(1001)) >= 2)
    await harness.stop()
    assert harness.fake.pending_updates == []
    await harness.start()
    assert len(harness.fake.bot_messages(1001)) == 2  # nothing handled again after the restart
    async with harness.db() as s:
        assert await s.scalar(select(func.count()).select_from(HandledUpdate)) == 2


async def test_a_greeting_that_hit_5xx_arrives_once_telegram_answers(harness: Harness) -> None:
    harness.fake.outage({"sendMessage"})
    olena = harness.user(1001, language_code="en")
    await olena.send("/start")  # the update is done (committed; its reply waits in the outbox)
    assert harness.fake.pending_updates == []
    assert harness.fake.bot_messages(1001) == []
    async with harness.db() as s:
        row = (await s.scalars(select(HandledUpdate))).one()
        assert row.outbox and row.replies
    await asyncio.sleep(1.5)  # Telegram still failing: the outbox keeps trying, nothing is dropped
    assert harness.fake.bot_messages(1001) == []
    harness.fake.heal()
    await harness.fake.wait_for(lambda: harness.fake.bot_messages(1001), timeout=60)
    await asyncio.sleep(0.3)
    greetings = [m for m in harness.fake.bot_messages(1001) if GREETING in m.text]
    assert len(greetings) == 1
    await olena.press("English")  # and the conversation goes on
    assert "name" in olena.last.text.lower()
    async with harness.db() as s:
        row = await s.get(HandledUpdate, harness.fake.sent_updates[0]["update_id"])
        assert row is not None and not row.outbox and row.replies is None


async def test_a_button_is_answered_once(harness: Harness) -> None:
    """A handler that answers its button itself, and aiogram's CallbackAnswerMiddleware after it:
    one answer goes to Telegram (a second would be refused: "query is too old")."""
    olena = await _register_to_topics(harness)
    for _ in range(3):
        await olena.press(olena.buttons()[1])
    answers = [c for c in harness.fake.calls_to("answerCallbackQuery")]
    assert answers and all(c.ok for c in answers)
    assert not harness.fake.unanswered_callbacks


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhook_redelivery_is_skipped_and_bad_requests_refused(database_url: str) -> None:
    async with FakeTelegram(token=TOKEN) as fake:
        port = _free_port()
        settings = make_settings(database_url, fake.base_url, webhook_url=f"http://127.0.0.1:{port}/tg/hook",
                                 webhook_secret=None, webhook_port=port)
        app = await build_app(settings)
        stop = asyncio.Event()
        task = asyncio.create_task(run_webhook(app, stop=stop))
        try:
            await fake.wait_for(lambda: fake.calls_to("setWebhook"), timeout=20)
            secret = fake.calls_to("setWebhook")[-1].params["secret_token"]
            assert secret == webhook_secret(settings) and len(secret) >= 32  # made up, never empty
            anna = fake.user(7002, first_name="Anna", language_code="en")
            await anna.send("/start")
            assert GREETING in anna.last.text
            first = fake.sent_updates[-1]
            fake.redeliver(first)  # Telegram did not get our answer: it posts the update again
            await fake.settle()
            assert len(fake.bot_messages(7002)) in (1, 2)  # the greeting said again at most
            async with app.sessionmaker() as s:
                assert await s.scalar(select(func.count()).select_from(User)) == 1
            url = f"http://127.0.0.1:{port}/tg/hook"
            forged = {"update_id": 99, "message": {"message_id": 1, "date": 0, "chat": {"id": 9000, "type": "private"},
                                                   "from": {"id": 9000, "is_bot": False, "first_name": "A"},
                                                   "text": "/roles"}}
            async with aiohttp.ClientSession() as http:
                async with http.post(url, json=forged) as resp:  # no secret: an admin's id proves nothing
                    assert resp.status == 401
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
                for body in (b"not json", b"[1, 2]", json.dumps({"update_id": "x"}).encode()):
                    async with http.post(url, data=body, headers=headers) as resp:
                        assert resp.status == 400
                # the organizers' dashboard is on the same server, at /app/
                async with http.get(f"http://127.0.0.1:{port}/app/api/me") as resp:
                    assert resp.status == 401 and "frame-ancestors" in resp.headers["Content-Security-Policy"]
            assert not [c for c in fake.calls if c.params.get("chat_id") == 9000]
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)


async def test_replies_go_out_after_the_commit(harness: Harness) -> None:
    """When Telegram receives the greeting, the update's work and its record are committed
    already: no Bot API call waits while the transaction (SQLite's write lock) is open."""
    seen: list[int] = []
    olena = harness.user(1001, language_code="en")
    original = harness.fake._methods["sendmessage"]

    async def send(p):  # type: ignore[no-untyped-def]
        async with harness.db() as s:  # another connection
            seen.append(await s.scalar(select(func.count()).select_from(HandledUpdate)) or 0)
        return original(p)

    harness.fake._methods["sendmessage"] = send
    try:
        await olena.send("/start")
    finally:
        harness.fake._methods["sendmessage"] = original
    assert seen == [1]
    assert GREETING in olena.last.text
