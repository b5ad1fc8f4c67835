"""Tests of the fake Telegram Bot API itself (bot/fakeapi)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiohttp import ClientSession, web

from bot.fakeapi import FakeTelegram, HtmlError, Limits, parse_html
from bot.fakeapi.server import NOT_MODIFIED

TOKEN = "123456:TEST"


# ---------------------------------------------------------------- helpers & fixtures


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, bot_username="hromada_bot") as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


async def call(http: ClientSession, fake: FakeTelegram, method: str, *, token: str = TOKEN,
               form: bool = False, **params: Any) -> tuple[int, dict]:
    url = f"{fake.base_url}/bot{token}/{method}"
    kwargs = {"data": {k: str(v) for k, v in params.items()}} if form else {"json": params}
    async with http.post(url, **kwargs) as response:
        return response.status, await response.json()


def make_bot(fake: FakeTelegram) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    return Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    instance = make_bot(fake)
    yield instance
    await close_bot(instance)


async def close_bot(bot: Bot) -> None:
    """AiohttpSession.close() sleeps 0.25 s for TLS shutdown; plain loopback HTTP needs no wait."""
    session = getattr(bot.session, "_session", None)
    if session is not None:
        await session.close()


def demo_router() -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="Так", callback_data="vote:yes"),
                 InlineKeyboardButton(text="Ні", callback_data="vote:no")],
                [InlineKeyboardButton(text="Сайт", url="https://example.org")],
            ]
        )
        await message.answer(f"<b>Вітаю</b>, {message.from_user.first_name}!", reply_markup=keyboard)

    @router.callback_query(F.data.startswith("vote:"))
    async def vote(query: CallbackQuery) -> None:
        await query.message.edit_text(f"Ваш голос: <i>{query.data[5:]}</i>")
        await query.answer("Зараховано", show_alert=query.data == "vote:no")

    @router.message(Command("photo"))
    async def photo(message: Message) -> None:
        sent = await message.answer_photo(BufferedInputFile(b"\x89PNG-bytes", "map.png"), caption="Мапа")
        await message.answer_photo(sent.photo[-1].file_id, caption="Ще раз")

    @router.message(Command("menu"))
    async def menu(message: Message) -> None:
        keyboard = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Звіт"), KeyboardButton(text="Опитування")]])
        await message.answer("Меню", reply_markup=keyboard)

    @router.message(Command("hide"))
    async def hide(message: Message) -> None:
        await message.answer("Сховано", reply_markup=ReplyKeyboardRemove())

    @router.message(F.photo)
    async def got_photo(message: Message, bot: Bot) -> None:
        file = await bot.get_file(message.photo[-1].file_id)
        data = await bot.download_file(file.file_path)
        await message.answer(f"Отримано {len(data.read())} байт")

    @router.message(F.reply_to_message)
    async def reply(message: Message) -> None:
        await message.reply(f"Відповідь на #{message.reply_to_message.message_id}")

    return router


@pytest.fixture
async def polling(fake: FakeTelegram, bot: Bot) -> AsyncIterator[Dispatcher]:
    dp = Dispatcher()
    dp.include_router(demo_router())
    task = asyncio.create_task(
        dp.start_polling(bot, handle_as_tasks=False, polling_timeout=30, handle_signals=False,
                         close_bot_session=False, allowed_updates=dp.resolve_used_update_types())
    )
    await fake.settle()
    yield dp
    with contextlib.suppress(RuntimeError):  # a test may have stopped it already
        await dp.stop_polling()
    await asyncio.wait_for(task, 5)


# ---------------------------------------------------------------- HTML parser


def test_html_entities_and_utf16_offsets() -> None:
    text, entities = parse_html("😀 <b>жирний</b> &lt;tag&gt; &amp; <a href='example.com'>link</a>")
    assert text == "😀 жирний <tag> & link"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 6},  # the emoji counts as two UTF-16 units
        {"type": "text_link", "offset": 18, "length": 4, "url": "http://example.com/"},
    ]


def test_html_pre_code_blockquote_spoiler() -> None:
    text, entities = parse_html(
        '<pre><code class="language-python">x = 1</code></pre><blockquote expandable>q</blockquote>'
        '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler><code>c</code>&#x41;&#66;'
    )
    assert text == "x = 1qstcAB"
    assert [e["type"] for e in entities] == ["pre", "expandable_blockquote", "spoiler", "spoiler", "code"]
    assert entities[0]["language"] == "python"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("<x>y</x>", 'Unsupported start tag "x" at byte offset 0'),
        ("a<br>b", 'Unsupported start tag "br" at byte offset 1'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("end <", "Unclosed start tag at byte offset 4"),
    ],
)
def test_html_errors(source: str, message: str) -> None:
    with pytest.raises(HtmlError) as caught:
        parse_html(source)
    assert caught.value.description == message


def test_html_ampersands_like_telegram_and_strict_mode() -> None:
    # Telegram keeps unknown entities and bare ampersands literally ...
    assert parse_html("Tom & Jerry &nbsp; &copy AT&T")[0] == "Tom & Jerry &nbsp; &copy AT&T"
    # ... strict mode flags them to catch a forgotten html.escape()
    with pytest.raises(HtmlError, match="strict"):
        parse_html("AT&T", strict=True)
    assert parse_html("a & b", strict=True)[0] == "a & b"


# ---------------------------------------------------------------- raw HTTP behaviour


async def test_auth_unknown_method_and_getme(fake: FakeTelegram, http: ClientSession) -> None:
    assert await call(http, fake, "getMe", token="1:WRONG") == (
        401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert await call(http, fake, "noSuchMethod") == (
        404, {"ok": False, "error_code": 404, "description": "Not Found"})
    status, body = await call(http, fake, "GETME")  # method names are case-insensitive
    assert status == 200
    assert body["result"]["id"] == 123456 and body["result"]["is_bot"] is True
    assert body["result"]["username"] == "hromada_bot"


async def test_send_validation(fake: FakeTelegram, http: ClientSession) -> None:
    fake.user(1001, first_name="Alice")

    async def send(**params: Any) -> tuple[int, str]:
        status, body = await call(http, fake, "sendMessage", **params)
        return status, body.get("description", "ok")

    assert await send(chat_id=999, text="x") == (400, "Bad Request: chat not found")
    assert await send(chat_id=1001, text="  ") == (400, "Bad Request: message text is empty")
    assert await send(chat_id=1001, text="<b>x", parse_mode="HTML") == (
        400, 'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"')
    # 4096 UTF-16 units after parsing: 2048 emoji fit, one more does not; tags do not count
    assert (await send(chat_id=1001, text="<b>" + "😀" * 2048 + "</b>", parse_mode="HTML"))[0] == 200
    assert await send(chat_id=1001, text="😀" * 2049) == (400, "Bad Request: message is too long")

    def keyboard(**button: Any) -> dict:
        return {"inline_keyboard": [[{"text": "B", **button}]]}

    assert (await send(chat_id=1001, text="k", reply_markup=keyboard(callback_data="x" * 64)))[0] == 200
    assert await send(chat_id=1001, text="k", reply_markup=keyboard(callback_data="я" * 33)) == (
        400, "Bad Request: BUTTON_DATA_INVALID")  # 66 bytes in UTF-8
    status, description = await send(chat_id=1001, text="k", reply_markup=keyboard())
    assert status == 400 and "Text buttons are unallowed" in description

    status, body = await call(http, fake, "sendPhoto", chat_id=1001, photo="no-such-id")
    assert (status, body["description"]) == (400, "Bad Request: wrong file identifier/HTTP URL specified")


async def test_form_encoded_params_and_trimming(fake: FakeTelegram, http: ClientSession) -> None:
    alice = fake.user(1001, first_name="Alice")
    markup = '{"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}'
    status, body = await call(http, fake, "sendMessage", form=True, chat_id="1001", text="\n 123 \n",
                              reply_markup=markup)
    assert status == 200
    assert body["result"]["text"] == "123" and body["result"]["chat"]["id"] == 1001
    assert alice.last.text == "123" and alice.buttons() == ["Go"]
    assert fake.calls[-1].params["chat_id"] == 1001  # typed like Telegram reads it


async def test_edit_delete_and_not_modified(fake: FakeTelegram, http: ClientSession) -> None:
    alice = fake.user(1001, first_name="Alice")
    kb = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    _, sent = await call(http, fake, "sendMessage", chat_id=1001, text="<b>Hi</b>", parse_mode="HTML",
                         reply_markup=kb)
    mid = sent["result"]["message_id"]

    status, body = await call(http, fake, "editMessageText", chat_id=1001, message_id=mid, text="<b>Hi</b>",
                              parse_mode="HTML", reply_markup=kb)
    assert (status, body["description"]) == (400, f"Bad Request: {NOT_MODIFIED}")
    # editing the text without reply_markup drops the keyboard, like Telegram
    status, body = await call(http, fake, "editMessageText", chat_id=1001, message_id=mid, text="Hi!")
    assert status == 200 and "reply_markup" not in body["result"] and body["result"]["text"] == "Hi!"
    assert alice.last.edits == 1 and alice.buttons() == []

    status, body = await call(http, fake, "editMessageText", chat_id=1001, message_id=77, text="x")
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")
    assert (await call(http, fake, "deleteMessage", chat_id=1001, message_id=mid))[0] == 200
    status, body = await call(http, fake, "deleteMessage", chat_id=1001, message_id=mid)
    assert (status, body["description"]) == (400, "Bad Request: message to delete not found")
    assert fake.bot_messages(1001) == [] and fake.history(1001)[0].deleted


async def test_blocked_user_gets_403_and_my_chat_member(fake: FakeTelegram, http: ClientSession) -> None:
    alice = fake.user(1001, first_name="Alice")
    alice.block()
    status, body = await call(http, fake, "sendMessage", chat_id=1001, text="hi")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    _, updates = await call(http, fake, "getUpdates", allowed_updates=["my_chat_member"])
    assert updates["result"][0]["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    alice.unblock()
    assert (await call(http, fake, "sendMessage", chat_id=1001, text="hi"))[0] == 200


async def test_get_updates_long_poll_offset_and_conflict(fake: FakeTelegram, http: ClientSession) -> None:
    alice = fake.user(1001, first_name="Alice", language_code="uk")
    started = time.monotonic()
    poll = asyncio.create_task(call(http, fake, "getUpdates", timeout=10))
    await asyncio.sleep(0.05)
    await alice.send("/start ref_42", wait=False)
    status, body = await poll
    assert status == 200 and time.monotonic() - started < 1  # woke up promptly
    update = body["result"][0]
    assert update["message"]["text"] == "/start ref_42"
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert update["message"]["from"]["language_code"] == "uk"

    # not confirmed yet -> delivered again; confirmed by offset -> gone
    _, again = await call(http, fake, "getUpdates")
    assert [u["update_id"] for u in again["result"]] == [update["update_id"]]
    _, after = await call(http, fake, "getUpdates", offset=update["update_id"] + 1)
    assert after["result"] == []

    # a second concurrent long poll terminates the first one, like two bot instances would
    first = asyncio.create_task(call(http, fake, "getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(call(http, fake, "getUpdates", timeout=5))
    status, body = await first
    assert status == 409 and "terminated by other getUpdates request" in body["description"]
    await alice.send("next", wait=False)
    assert (await second)[1]["result"][0]["message"]["text"] == "next"


async def test_long_poll_sleeps_and_is_released_on_disconnect(fake: FakeTelegram, bot: Bot) -> None:
    checks = 0
    original = fake._deliverable

    def counting(limit: int) -> list[dict]:
        nonlocal checks
        checks += 1
        return original(limit)

    fake._deliverable = counting  # type: ignore[method-assign]
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await fake.settle()  # the "bot" is waiting in getUpdates
    await asyncio.sleep(0.2)
    assert checks <= 3  # it waits on an event instead of spinning
    poll.cancel()  # the client goes away (e.g. stop_polling): the poll no longer counts as waiting
    await fake.wait_for(lambda: fake._idle_polls == 0, timeout=1)
    with pytest.raises(TimeoutError):
        await fake.settle(timeout=0.1)


async def test_allowed_updates_drop_other_types(fake: FakeTelegram, http: ClientSession, bot: Bot) -> None:
    alice = fake.user(1001, first_name="Alice")
    await bot.send_message(1001, "card", reply_markup=InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Ok", callback_data="ok")]]))
    await alice.press("Ok", wait=False)
    await alice.send("text", wait=False)
    _, body = await call(http, fake, "getUpdates", allowed_updates=["message"])
    assert [list(u)[1] for u in body["result"]] == ["message"]
    assert fake.unanswered_callbacks  # the bot never saw the query


async def test_rate_limits(fake: FakeTelegram, bot: Bot) -> None:
    fake.user(1001, first_name="Alice")
    fake.group(-100500, title="Mods")
    fake.limits = Limits(enabled=True, time_scale=10)  # 1 msg/s (+1 burst) becomes 10 msg per real second
    await bot.send_message(1001, "1")
    await bot.send_message(1001, "2")  # the burst
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(1001, "3")
    assert caught.value.retry_after == 1
    assert fake.stats["429"] == 1
    sent = fake.bot_messages(1001)[-1]
    await bot.edit_message_text("edited", chat_id=1001, message_id=sent.message_id)  # edits do not count
    await asyncio.sleep(0.11)
    await bot.send_message(1001, "3")

    fake.limits.per_group_per_min = 2  # 2/min scaled by 10 -> 6 s window, retry_after in Telegram seconds
    await bot.send_message(-100500, "a")
    await bot.send_message(-100500, "b")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(-100500, "c")
    assert 50 <= caught.value.retry_after <= 60
    assert fake.calls[-1].error_code == 429 and fake.stats["429"] == 2


async def test_files_upload_once_then_by_id(fake: FakeTelegram, bot: Bot, http: ClientSession) -> None:
    fake.user(1001, first_name="Alice")
    doc = await bot.send_document(1001, BufferedInputFile(b"%PDF report", "report.pdf"), caption="<b>Звіт</b>")
    file_id = doc.document.file_id
    assert fake.files[file_id] == b"%PDF report" and fake.file(file_id).filename == "report.pdf"
    assert doc.caption == "Звіт" and doc.caption_entities[0].type == "bold"
    again = await bot.send_document(1001, file_id)
    assert again.document.file_id == file_id and fake.upload_count == 1
    with pytest.raises(TelegramBadRequest, match="can't use file of type Document as Photo"):
        await bot.send_photo(1001, file_id)
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(1001, file_id, caption="x" * 1025)
    # getFile + the download route
    info = await bot.get_file(file_id)
    async with http.get(f"{fake.base_url}/file/bot{TOKEN}/{info.file_path}") as response:
        assert await response.read() == b"%PDF report"
    album = await bot.send_media_group(1001, media=[
        {"type": "photo", "media": BufferedInputFile(b"p1", "1.jpg")},
        {"type": "photo", "media": BufferedInputFile(b"p2", "2.jpg"), "caption": "two"},
    ])
    assert len({m.media_group_id for m in album}) == 1 and fake.upload_count == 3


async def test_webhook_delivery(fake: FakeTelegram, http: ClientSession) -> None:
    received: list[tuple[dict, str | None]] = []

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        received.append((update, request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        # answer with a method in the response body, as aiogram can do
        chat_id = update["message"]["chat"]["id"]
        return web.json_response({"method": "sendMessage", "chat_id": chat_id, "text": "pong"})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        alice = fake.user(1001, first_name="Alice")
        url = f"http://127.0.0.1:{port}/hook"
        assert (await call(http, fake, "setWebhook", url=url, secret_token="s3cret"))[0] == 200
        status, body = await call(http, fake, "getUpdates")
        assert status == 409 and "webhook is active" in body["description"]
        await alice.send("ping")
        assert received[0][0]["message"]["text"] == "ping" and received[0][1] == "s3cret"
        assert alice.last.text == "pong"
        _, info = await call(http, fake, "getWebhookInfo")
        assert info["result"]["url"].endswith("/hook") and info["result"]["pending_update_count"] == 0
        await call(http, fake, "deleteWebhook")
        assert (await call(http, fake, "getUpdates"))[0] == 200
    finally:
        await runner.cleanup()


async def test_webhook_delivers_concurrently_one_per_chat_in_order(fake: FakeTelegram, http: ClientSession) -> None:
    """Like Telegram, up to max_connections POSTs at once, but never two of one chat at a time, so
    each person's updates arrive in order; a failed POST is retried and confirmed once it got a 2xx."""
    received: dict[int, list[str]] = {}
    inflight: dict[int, int] = {}
    peaks = {"all": 0, "chat": 0}
    failed: set[str] = set()

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        chat, text = update["message"]["chat"]["id"], update["message"]["text"]
        inflight[chat] = inflight.get(chat, 0) + 1
        peaks["all"] = max(peaks["all"], sum(inflight.values()))
        peaks["chat"] = max(peaks["chat"], inflight[chat])
        try:
            await asyncio.sleep(0.03)
            if text == "b1" and text not in failed:  # the first try of one update fails
                failed.add(text)
                return web.Response(status=500)
            received.setdefault(chat, []).append(text)
            return web.Response()
        finally:
            inflight[chat] -= 1

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        url = f"http://127.0.0.1:{port}/hook"
        assert (await call(http, fake, "setWebhook", url=url, max_connections=3))[0] == 200
        people = {name: fake.user(2000 + n, first_name=name) for n, name in enumerate("abcde")}
        for i in range(4):
            for name, person in people.items():
                await person.send(f"{name}{i}", wait=False)
        await fake.settle(timeout=10)
        assert received == {2000 + n: [f"{name}{i}" for i in range(4)] for n, name in enumerate("abcde")}
        assert failed == {"b1"}
        assert peaks == {"all": 3, "chat": 1}
        _, info = await call(http, fake, "getWebhookInfo")
        assert info["result"]["pending_update_count"] == 0
        assert "500" in info["result"]["last_error_message"]
    finally:
        await call(http, fake, "deleteWebhook")
        await runner.cleanup()


async def test_commands_menu_and_group_admins(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Почати")])
    await bot.set_my_commands([BotCommand(command="report", description="Report")], language_code="en")
    await bot.set_my_commands([BotCommand(command="ban", description="Ban")], scope=BotCommandScopeAllGroupChats())
    assert fake.commands() == [{"command": "start", "description": "Почати"}]
    assert fake.commands(language_code="en")[0]["command"] == "report"
    assert fake.commands(scope="all_group_chats")[0]["command"] == "ban"
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeAllGroupChats())] == ["ban"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])

    alice = fake.user(1001, first_name="Alice")
    fake.group(-100500, title="Moderators")
    fake.set_admin(-100500, alice.id)
    assert (await bot.get_chat_member(-100500, alice.id)).status == "administrator"
    assert {m.user.id for m in await bot.get_chat_administrators(-100500)} == {alice.id, fake.bot_id}
    chat = await bot.get_chat(-100500)
    assert chat.title == "Moderators" and chat.type == "supergroup"
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_chat(-42)


async def test_forum_topics_and_group_replies(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user(1001, first_name="Alice")
    group = fake.group(-100700, title="Organizers", is_forum=True)
    topic = await bot.create_forum_topic(-100700, "Заявка #1")
    assert group.topics == [
        {"message_thread_id": topic.message_thread_id, "name": "Заявка #1", "icon_color": 7322096}
    ]
    card = await bot.send_message(-100700, "Картка", message_thread_id=topic.message_thread_id)
    assert card.message_thread_id == topic.message_thread_id and card.is_topic_message
    # Telegram quirk: a topic message "replies" to the topic's service message
    assert card.reply_to_message.forum_topic_created.name == "Заявка #1"
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(-100700, "x", message_thread_id=9999)
    reply = await group.send(alice, "коментар", reply_to=group.last, wait=False)
    update = fake.pending_updates[-1]["message"]
    assert update["reply_to_message"]["text"] == "Картка" and update["message_thread_id"] == topic.message_thread_id
    assert reply.reply_to_message_id == card.message_id

    plain = fake.group(-100800, title="Plain")
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(plain.id, "x")


async def test_settle_without_bot_times_out_helpfully(fake: FakeTelegram) -> None:
    alice = fake.user(1001, first_name="Alice")
    await alice.send("hello", wait=False)
    with pytest.raises(TimeoutError, match="never called getUpdates"):
        await fake.settle(timeout=0.2)


# ---------------------------------------------------------------- the real dispatcher


async def test_dispatcher_round_trips(fake: FakeTelegram, polling: Dispatcher) -> None:
    events: list[tuple[str, str]] = []
    fake.on_bot_message = lambda message, event: events.append((event, message.text))
    alice = fake.user(1001, first_name="Alice", username="alice", language_code="uk")

    await alice.send("/start")
    assert alice.last.text == "Вітаю, Alice!" and alice.last.html == "<b>Вітаю</b>, Alice!"
    assert alice.last.entities == [{"type": "bold", "offset": 0, "length": 5}]
    assert alice.buttons() == ["Так", "Ні", "Сайт"]
    card = alice.last

    answer = await alice.press("Так")
    assert answer is not None and answer["text"] == "Зараховано" and answer["show_alert"] is False
    assert card.text == "Ваш голос: yes" and card.edits == 1 and card.buttons == []
    assert events == [("sent", "Вітаю, Alice!"), ("edited", "Ваш голос: yes")]

    with pytest.raises(AssertionError, match="Available buttons"):
        await alice.press("Може")
    await alice.send("/start")
    with pytest.raises(AssertionError, match="url button"):
        await alice.press("Сайт")
    assert (await alice.press("Н"))["show_alert"] is True  # substring match when no exact one
    assert fake.unanswered_callbacks == []

    await alice.send("/photo")
    first, second = alice.messages[-2:]
    assert (first.kind, first.text, second.text) == ("photo", "Мапа", "Ще раз")
    assert first.file_id == second.file_id and fake.upload_count == 1
    assert fake.files[first.file_id] == b"\x89PNG-bytes"

    await alice.send_photo(b"12345")
    assert alice.last.text == "Отримано 5 байт"

    await alice.send("/menu")
    assert alice.reply_keyboard == ["Звіт", "Опитування"]
    await alice.send("/hide")
    assert alice.reply_keyboard is None

    original = alice.messages[0]
    await alice.send("ось", reply_to=original)
    assert alice.last.text == f"Відповідь на #{original.message_id}"
    assert alice.last.reply_to_message_id == alice.history[-2].message_id


async def test_wait_for_background_message_and_restart(fake: FakeTelegram, bot: Bot, polling: Dispatcher) -> None:
    alice = fake.user(1001, first_name="Alice")

    async def job() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(alice.id, "Нагадування")

    task = asyncio.create_task(job())
    message = await fake.wait_for(lambda: next((m for m in alice.messages if m.text == "Нагадування"), None))
    assert message.from_bot
    await task

    # restart the bot: the next update is handled by the new dispatcher
    await polling.stop_polling()
    await asyncio.sleep(0)
    dp = Dispatcher()
    dp.include_router(demo_router())
    restarted = asyncio.create_task(dp.start_polling(bot, handle_as_tasks=False, polling_timeout=30,
                                                     handle_signals=False, close_bot_session=False))
    await fake.settle()
    await alice.send("/start")
    assert alice.last.text == "Вітаю, Alice!"
    await dp.stop_polling()
    await asyncio.wait_for(restarted, 5)


async def test_stop_is_quick_while_bot_long_polls(bot: Bot) -> None:
    fake = FakeTelegram(token=TOKEN)
    bot.session.api = TelegramAPIServer.from_base(await fake.start())
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await fake.stop()
    assert time.monotonic() - started < 1.5
    assert await asyncio.wait_for(poll, 2) == []


async def test_group_privacy_mode_and_blocked_errors(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user(1001, first_name="Alice")
    group = fake.group(-100900, title="Chat", bot_admin=False)
    chatter = await group.send(alice, "just chatting", wait=False)
    command = await group.send(alice, "/report@hromada_bot", wait=False)
    assert (chatter.delivered, command.delivered) == (False, True)
    with pytest.raises(TelegramBadRequest, match="not enough rights"):
        await bot.pin_chat_message(-100900, command.message_id)
    alice.block()
    with pytest.raises(TelegramForbiddenError, match="blocked by the user"):
        await bot.send_message(alice.id, "hi")


async def test_aiogram_parses_every_object(fake: FakeTelegram, bot: Bot) -> None:
    """Results and updates must validate against aiogram's models (a wrong field breaks bots)."""
    alice = fake.user(1001, first_name="Alice", username="alice")
    group = fake.group(-100500, title="Mods", is_forum=True)
    upload = BufferedInputFile(b"data", "f.bin")
    assert (await bot.send_voice(1001, upload, duration=2)).voice.duration == 2
    assert (await bot.send_video(1001, upload)).video.width
    assert (await bot.send_audio(1001, upload)).audio
    assert (await bot.send_animation(1001, upload)).animation
    assert (await bot.send_sticker(1001, upload)).sticker.type == "regular"
    assert (await bot.send_location(1001, 46.63, 32.61)).location.latitude == 46.63
    venue = await bot.send_venue(1001, 46.6, 32.6, title="Площа", address="Херсон")
    assert venue.venue.title == "Площа" and alice.last.kind == "venue"
    copied = await bot.copy_message(-100500, 1001, venue.message_id)
    assert group.history[-1].kind == "venue" and copied.message_id == group.history[-1].message_id
    forwarded = await bot.forward_message(-100500, 1001, venue.message_id)
    assert forwarded.forward_origin.type == "user"
    assert await bot.send_chat_action(1001, "typing") and fake.chat_actions == [(1001, "typing")]
    assert await bot.set_message_reaction(1001, venue.message_id, [{"type": "emoji", "emoji": "👍"}])
    assert await bot.pin_chat_message(1001, venue.message_id) and alice.last.pinned
    assert (await bot.get_chat(1001)).pinned_message.message_id == venue.message_id
    assert (await bot.get_chat_member(1001, 1001)).status == "member"
    assert (await bot.get_chat_member(-100500, fake.bot_id)).status == "administrator"
    assert await bot.get_chat_member_count(-100500) >= 1
    assert (await bot.get_chat_menu_button()).type == "commands"
    topic = await bot.create_forum_topic(-100500, "T")
    assert await bot.close_forum_topic(-100500, topic.message_thread_id)
    assert await bot.delete_messages(1001, [venue.message_id, 999])
    info = await bot.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 0
    me = await bot.get_me()
    assert me.username == "hromada_bot" and me.can_join_groups

    # every kind of update the driver produces
    await alice.send("hi @someone #tag https://example.org /help", wait=False)
    await alice.send_photo(caption="фото", wait=False)
    await alice.send_document(wait=False)
    await alice.send_voice(wait=False)
    await alice.send_sticker(wait=False)
    await alice.send_location(46.6, 32.6, wait=False)
    await alice.send_contact("+380501234567", wait=False)
    await alice.send_album(3, caption="альбом", wait=False)
    await group.send(alice, "in topic", thread_id=topic.message_thread_id, wait=False)
    await alice.press_data("forged:1", message=fake.bot_messages(1001)[0], wait=False)
    alice.block()
    updates = await bot.get_updates(allowed_updates=["message", "callback_query", "my_chat_member"])
    assert len(updates) == 13
    first = updates[0].message
    assert [e.type for e in first.entities] == ["mention", "hashtag", "url", "bot_command"]
    assert updates[1].message.photo[-1].file_id in fake.files and updates[1].message.caption == "фото"
    assert updates[4].message.sticker.emoji == "👍"
    assert updates[6].message.contact.user_id == 1001
    assert len({u.message.media_group_id for u in updates[7:10]}) == 1
    assert updates[10].message.is_topic_message and updates[10].message.message_thread_id == topic.message_thread_id
    assert updates[11].callback_query.data == "forged:1"
    assert updates[12].my_chat_member.new_chat_member.status == "kicked"


async def test_native_poll_votes_change_and_stop(fake: FakeTelegram, bot: Bot) -> None:
    """A user answers a native poll: the bot sees poll and poll_answer updates; a stopped poll
    takes no more votes; Telegram's option limits hold."""
    seen: list[tuple[str, Any]] = []
    router = Router()

    @router.message(Command("poll"))
    async def ask(message: Message) -> None:
        await message.answer_poll("Що полагодити першим?", ["Світло", "Дороги", "Воду"],
                                  is_anonymous=False, allows_multiple_answers=True)

    @router.poll_answer()
    async def answer(poll_answer: Any) -> None:
        seen.append(("answer", (poll_answer.user.id, poll_answer.option_ids)))

    @router.poll()
    async def counts(poll: Any) -> None:
        seen.append(("poll", [o.voter_count for o in poll.options]))

    dp = Dispatcher()
    dp.include_router(router)
    task = asyncio.create_task(dp.start_polling(bot, handle_as_tasks=False, polling_timeout=30, handle_signals=False,
                                                close_bot_session=False, allowed_updates=dp.resolve_used_update_types()))
    try:
        await fake.settle()
        olena = fake.user(501, first_name="Olena")
        await olena.send("/poll")
        poll_message = olena.last
        assert poll_message.kind == "poll" and poll_message.text == "Що полагодити першим?"
        await olena.answer_poll([0, 2])
        await olena.answer_poll([1])          # changed her mind
        assert seen == [("poll", [1, 0, 1]), ("answer", (501, [0, 2])), ("poll", [0, 1, 0]), ("answer", (501, [1]))]
        await bot.stop_poll(501, poll_message.message_id)
        with pytest.raises(AssertionError, match="closed"):
            await olena.answer_poll([0])
        with pytest.raises(TelegramBadRequest):
            await bot.send_poll(501, "?", ["only one"])
        with pytest.raises(TelegramBadRequest):
            await bot.send_poll(501, "?", ["x" * 101, "y"])
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(task, 5)
