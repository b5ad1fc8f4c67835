"""Offline sandbox: the project's fake Telegram, the real bot polling it over HTTP, and a
terminal chat. Type as a resident; press buttons by their number; switch persona with :as.

    :as resident | moderator | organizer    who you are (the moderator types in the moderators' group)
    a number presses that button; a larger number (or any other line) is sent as a message
    :photo [caption]  :location LAT LON  :voice  :sticker
    :document NAME    send a document; a file at that path is sent as it is (e.g. a survey .yaml)
    :reply N TEXT     reply to bot message #N (moderators answer residents this way)
    \n               in a message starts a new line (a poll's options: Where?\nSchool\nLibrary)
    :help             this text
    :quit             leave (Ctrl-D works too)
"""
from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.app import build_app
from bot.config import Settings
from bot.fakeapi import FakeTelegram, SentMessage
from bot.services import users as users_service
from storage.migrate import upgrade

SANDBOX_TOKEN = "100000:SANDBOX"
SANDBOX_DB = "sqlite+aiosqlite:///data/sandbox.db"
RESIDENT_ID, MODERATOR_ID, ORGANIZER_ID = 1001, 2001, 3001
MODERATORS_CHAT, ORGANIZERS_CHAT = -100100, -100200
FILES_DIR = Path("data/sandbox-files")


@dataclass
class Persona:
    key: str
    user_id: int
    first_name: str
    chat_id: int  # where this persona types


class Console:
    """Prints what the bot sends and turns typed lines into updates."""

    def __init__(self, fake: FakeTelegram, personas: dict[str, Persona], out: TextIO) -> None:
        self.fake = fake
        self.personas = personas
        self.current = personas["resident"]
        self.out = out
        self.numbered: list[tuple[SentMessage, str]] = []  # button number -> (message, text)
        self.shown: dict[tuple[int, int], int] = {}  # (chat_id, message_id) -> display number for :reply
        self.texts: dict[tuple[int, int], str] = {}  # (chat_id, message_id) -> last text shown

    def print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def on_bot_message(self, msg: SentMessage, event: str) -> None:
        if msg.chat_id != self.current.chat_id or event == "deleted":
            return
        key = (msg.chat_id, msg.message_id)
        self.shown.setdefault(key, len(self.shown) + 1)
        number = self.shown[key]
        tag = f"#{number} edited" if event == "edited" else f"#{number}"
        body = msg.text or ""
        before = self.texts.get(key)
        self.texts[key] = body
        if event == "edited" and before and body.startswith(before):
            body = "… " + body[len(before):].strip() if body != before else "(buttons changed)"
        if msg.kind == "document":
            FILES_DIR.mkdir(parents=True, exist_ok=True)
            target = FILES_DIR / (msg.filename or "file.bin")
            content = self.fake.files.get(msg.file_id or "")
            if content is not None:
                target.write_bytes(content if isinstance(content, bytes) else content[0])
            body = f"📎 {msg.filename} (saved to {target})\n{body}"
        elif msg.kind != "text":
            body = f"[{msg.kind}] {body}"
        self.print(f"\n── bot ({tag}) ──\n{body}")
        markup = msg.reply_markup or {}
        if markup.get("inline_keyboard"):
            self.numbered = []
            for row in markup["inline_keyboard"]:
                cells = []
                for button in row:
                    self.numbered.append((msg, button["text"]))
                    cells.append(f"[{len(self.numbered)}] {button['text']}")
                self.print("   " + "   ".join(cells))
        elif markup.get("keyboard"):
            labels = [b["text"] if isinstance(b, dict) else str(b) for row in markup["keyboard"] for b in row]
            self.print("   menu: " + " | ".join(labels))

    async def handle(self, line: str) -> bool:
        """One typed line. Returns False to quit."""
        line = line.rstrip("\n")
        user = self.fake.user(self.current.user_id, first_name=self.current.first_name)
        group = None if self.current.chat_id > 0 else self.fake.group(self.current.chat_id)
        if line.strip() in (":quit", ":q", ":exit"):
            return False
        if line.strip() in (":help", ":h"):
            self.print(__doc__ or "")
            return True
        if line.startswith(":as "):
            key = line[4:].strip()
            if key not in self.personas:
                self.print("Personas: " + ", ".join(self.personas))
                return True
            self.current = self.personas[key]
            self.numbered = []
            where = "the moderators' group" if self.current.chat_id < 0 else "a private chat"
            self.print(f"You are now the {key} ({self.current.first_name}), typing in {where}.")
            for msg in self.fake.bot_messages(self.current.chat_id):  # what came while you were away
                if (msg.chat_id, msg.message_id) not in self.shown:
                    self.on_bot_message(msg, "sent")
            return True
        if line.strip().isdigit() and self.numbered and 0 < int(line.strip()) <= len(self.numbered):
            index = int(line.strip()) - 1
            message, text = self.numbered[index]
            try:
                if group is not None:
                    await group.press(user, text, message=message)
                else:
                    await user.press(text, message=message)
            except AssertionError:  # the bot took that button away meanwhile
                self.print("That button is no longer there.")
            return True
        if line.startswith(":photo"):
            caption = line[6:].strip() or None
            await (group.send_photo(user, caption=caption) if group else user.send_photo(None, caption=caption))
        elif line.startswith(":location"):
            try:
                lat, lon = (float(x) for x in line.split()[1:3])
            except ValueError:
                self.print("Usage: :location 46.63 32.61")
                return True
            await user.send_location(lat, lon)
        elif line.startswith(":voice"):
            await user.send_voice(duration=3)
        elif line.startswith(":sticker"):
            await user.send_sticker()
        elif line.startswith(":document"):
            name = line[9:].strip() or "document.pdf"
            path = Path(name).expanduser()
            content = path.read_bytes() if path.is_file() else b"%PDF-1.4 sandbox"
            await user.send_document(filename=path.name, content=content)
        elif line.startswith(":reply "):
            _cmd, number, *rest = line.split(maxsplit=2)
            target = next((mid for (chat, mid), n in self.shown.items()
                           if str(n) == number and chat == self.current.chat_id), None)
            if target is None or group is None:
                self.print("Usage (in a group): :reply N text — N is the #number of a bot message.")
                return True
            original = next(m for m in self.fake.history(self.current.chat_id) if m.message_id == target)
            await group.send(user, rest[0] if rest else "", reply_to=original)
        elif line.startswith(":"):
            self.print("Unknown sandbox command; type :help.")
        elif group is not None:
            await group.send(user, line.replace("\\n", "\n"))
        else:
            await user.send(line.replace("\\n", "\n"))
        return True


async def _seed(app, personas: dict[str, Persona]) -> None:  # type: ignore[no-untyped-def]
    """The moderator and the organizer are registered; the moderator has the role."""
    async with app.sessionmaker() as session:
        for key in ("moderator", "organizer"):
            p = personas[key]
            user = await users_service.ensure_user(session, p.user_id, app.settings.default_locale)
            if not user.is_registered:
                await users_service.complete_registration(
                    session, user, name=p.first_name, district=app.community.districts[0].code,
                    topics=list(users_service.TOPICS),
                )
        moderator = await users_service.by_telegram_id(session, personas["moderator"].user_id)
        assert moderator is not None
        await users_service.grant_role(session, moderator, "moderator", by=None)
        await session.commit()


async def run_sandbox(
    settings: Settings, database_url: str | None = None, stdin: TextIO | None = None, out: TextIO | None = None
) -> None:
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    url = database_url or SANDBOX_DB
    async with FakeTelegram(token=SANDBOX_TOKEN, bot_username="hromada_sandbox_bot") as fake:
        settings = settings.model_copy(update={
            "bot_token": SANDBOX_TOKEN,
            "telegram_api_url": fake.base_url,
            "database_url": url,
            "webhook_url": None,
            "redis_url": None,
            "admin_ids": [ORGANIZER_ID],
            "moderators_chat_id": MODERATORS_CHAT,
            "organizers_chat_id": ORGANIZERS_CHAT,
        })
        lang = settings.default_locale
        personas = {
            "resident": Persona("resident", RESIDENT_ID, "Olena", RESIDENT_ID),
            "moderator": Persona("moderator", MODERATOR_ID, "Mykola", MODERATORS_CHAT),
            "organizer": Persona("organizer", ORGANIZER_ID, "Iryna", ORGANIZER_ID),
        }
        for p in personas.values():
            fake.user(p.user_id, first_name=p.first_name, language_code=lang)
        fake.group(MODERATORS_CHAT, title="Moderators", is_forum=False)
        fake.group(ORGANIZERS_CHAT, title="Organizers", is_forum=False)
        fake.set_admin(MODERATORS_CHAT, MODERATOR_ID)
        await upgrade(url)
        app = await build_app(settings)
        await _seed(app, personas)
        console = Console(fake, personas, out)
        fake.on_bot_message = console.on_bot_message
        polling = asyncio.create_task(app.dp.start_polling(
            app.bot, handle_signals=False, handle_as_tasks=False, close_bot_session=False,
            allowed_updates=app.dp.resolve_used_update_types(),
        ))
        console.print(
            "Hromada sandbox: a local fake Telegram, no token and no network needed.\n"
            f"Database: {url}. You are a resident (Olena). Type /start to begin; "
            "press buttons by their number; :help lists sandbox commands."
        )
        try:
            await fake.settle(timeout=15)
            while True:
                if stdin.isatty():
                    console.print(f"\n{console.current.first_name}> ")
                line = await asyncio.to_thread(stdin.readline)
                if not line:
                    break
                if not line.strip():
                    continue
                if not await console.handle(line):
                    break
                await fake.settle(timeout=15)
        finally:
            await app.dp.stop_polling()
            await asyncio.wait_for(polling, 10)
            await app.close()
