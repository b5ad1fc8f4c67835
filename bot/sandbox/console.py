"""The sandbox's chat: what the bot sends, printed; typed lines, turned into updates.

Every bot message shown gets a number (#1, #2, ... across all chats, kept for its life: an edit
keeps it). The buttons of every message still on screen can be pressed: ``3.2`` presses
button 2 of message #3, and a bare ``2`` presses button 2 of the newest message with buttons
in this chat. Bot messages, edits, toasts, alerts and reactions are collected by the fake's
hooks and printed in order (``flush``), after each typed line or, when they come later (the
delivery engine), above the prompt.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bot.fakeapi import FakeTelegram, SentMessage, StoredFile
from bot.sandbox.clock import SandboxClock, describe, parse_offset
from bot.sandbox.terminal import LineReader, Style

HELP = r"""Sandbox commands:
  :as                list the personas;  :as resident | moderator | organizer | organizers
                     switches (the moderator types in the moderators' group, the organizer in
                     a private chat as an admin, "organizers" is the organizers' group)
  2                  presses button 2 of the newest message with buttons (a larger number,
                     or a number with no buttons on screen, is sent as text)
  3.2                presses button 2 of message #3 (any message still on screen here)
  :buttons           lists every button you can press now
  :text 1            sends "1" as text, even where 1 would press a button
  :paste             starts a multi-line message; a line with a single . sends it
  \n                 in a line starts a new line (a poll: Where?\nSchool\nLibrary)
  :empty             sends an empty message
  :reply N TEXT      replies to bot message #N (moderators answer residents this way)
  :photo [caption]   :album [N]   :location LAT LON   :voice   :sticker
  :document PATH     sends that file (e.g. a survey .yaml), or a small PDF if there is none
  :open [N]          opens the file saved from message #N (default: the last one)
  :clock [+2h]       shows the sandbox's time, or moves it forward (+30m, +2h, +1d, +1d2h,
                     +1w) and runs the scheduled checks at once: reminders, polls closing,
                     digests, "is it fixed?"
  :help              this text
  :quit              leave (Ctrl-D works too)"""

FILES_DIR = Path("data/sandbox-files")
_PRESS = re.compile(r"^(\d+)\.(\d+)$")
_EXT = {"photo": ".jpg", "voice": ".ogg", "audio": ".mp3", "video": ".mp4", "animation": ".mp4",
        "video_note": ".mp4", "sticker": ".webp", "document": ".bin"}
_MAGIC = ((b"\x89PNG", ".png"), (b"\xff\xd8", ".jpg"), (b"GIF8", ".gif"), (b"%PDF", ".pdf"), (b"OggS", ".ogg"),
          (b"RIFF", ".webp"))
_KIND_LABEL = {"photo": "🖼 photo", "voice": "🎤 voice note", "audio": "🎵 audio", "video": "🎬 video",
               "animation": "🎞 animation", "video_note": "⏺ video note", "sticker": "sticker",
               "document": "📎"}


@dataclass
class Persona:
    key: str
    user_id: int
    first_name: str
    chat_id: int  # where this persona types
    where: str  # said when switching


def _utf16_slice(text: str, offset: int, length: int) -> str:
    data = text.encode("utf-16-le")
    return data[offset * 2:(offset + length) * 2].decode("utf-16-le", "replace")


def _snapshot(msg: SentMessage) -> str:
    return json.dumps([msg.text, msg.reply_markup, msg.kind, msg.file_id], sort_keys=True, default=str)


class Console:
    """Prints what the bot sends and turns typed lines into updates."""

    def __init__(self, fake: FakeTelegram, personas: dict[str, Persona], out: IO[str], *,
                 clock: SandboxClock | None = None, run_checks: Callable[[], Awaitable[None]] | None = None,
                 quiesce: Callable[[], Awaitable[None]] | None = None, tz: Any = None) -> None:
        self.fake = fake
        self.personas = personas
        self.current = personas["resident"]
        self.out = out
        self.style = Style.for_stream(out)
        self.lock = threading.RLock()  # the reader echoes typed keys under it
        self.reader: LineReader | None = None
        self.clock = clock or SandboxClock()
        self.run_checks = run_checks
        self.quiesce = quiesce
        self.tz = tz
        self.numbers: dict[tuple[int, int], int] = {}  # (chat_id, message_id) -> display number
        self.by_number: dict[int, tuple[int, int]] = {}
        self.rendered: dict[tuple[int, int], str] = {}  # the version last printed
        self.texts: dict[tuple[int, int], str] = {}  # the text last printed
        self.gone: set[tuple[int, int]] = set()  # deletions already said
        self.saved: dict[tuple[int, int], Path] = {}  # files saved from bot messages
        self.pending: list[tuple[Any, ...]] = []  # hook events not printed yet
        self.told: dict[int, int] = {}  # chat -> unseen messages already hinted at
        self.pasting: list[str] | None = None
        self.busy = False  # a typed line is being handled (its output is flushed after it)

    # ------------------------------------------------------------------ the fake's hooks

    def hook(self) -> None:
        self.fake.on_bot_message = self.on_bot_message
        self.fake.on_callback_answer = self.on_callback_answer
        self.fake.on_reaction = self.on_reaction

    def on_bot_message(self, msg: SentMessage, event: str) -> None:
        self.pending.append(("message", msg, event))

    def on_callback_answer(self, answer: dict[str, Any]) -> None:
        self.pending.append(("answer", answer))

    def on_reaction(self, msg: SentMessage, reactions: list[dict]) -> None:
        self.pending.append(("reaction", msg, reactions))

    # ------------------------------------------------------------------ printing

    def print(self, text: str = "") -> None:
        with self.lock:
            print(text, file=self.out, flush=True)

    def note(self, text: str) -> None:
        self.print(self.style("note", text))

    @property
    def prompt(self) -> str:
        if self.pasting is not None:
            return "… "
        return f"{self.current.first_name} ({self.current.key})> "

    def show_prompt(self) -> None:
        with self.lock:
            self.out.write(("" if self.pasting is not None else "\n") + self.style("you", self.prompt))
            self.out.flush()
            if self.reader is not None:
                self.reader.prompt = self.style("you", self.prompt)

    def flush(self, *, redraw: bool = False) -> None:
        """Print what the hooks collected for the current chat (in order), then the chats not
        on screen get a one-line hint. ``redraw``: the prompt and the typed text are drawn
        again below (output that came while you were typing)."""
        events, self.pending = self.pending, []
        lines: list[str] = []
        chat = self.current.chat_id
        for event in events:  # numbered first: the buttons of all but the newest are printed as N.k
            if event[0] == "message" and event[1].chat_id == chat and not event[1].deleted:
                self._number(event[1])
        for event in events:
            if event[0] == "message":
                msg = event[1]
                if msg.chat_id == chat:
                    lines.extend(self._render(msg))
            elif event[0] == "answer":
                lines.extend(self._render_answer(event[1]))
            elif event[0] == "reaction":
                msg, reactions = event[1], event[2]
                if msg.chat_id == chat and not msg.from_bot:
                    shown = " ".join(r.get("emoji", "★") for r in reactions) or "none"
                    snippet = (msg.text or msg.kind)[:60]
                    lines.append(self.style("toast", f"   {shown}  the bot reacted to your message “{snippet}”"))
        lines.extend(self._hints())
        if not lines:
            return
        with self.lock:
            if redraw:
                self.out.write("\r\033[K" if self.style.enabled or (self.reader and self.reader.raw) else "\n")
            for line in lines:
                print(line, file=self.out)
            self.out.flush()
            if redraw:
                self.show_prompt()
                if self.reader is not None and self.reader.buffer:
                    self.out.write(self.reader.buffer)
                    self.out.flush()

    def _number(self, msg: SentMessage) -> int:
        key = (msg.chat_id, msg.message_id)
        if key not in self.numbers:
            self.numbers[key] = len(self.numbers) + 1
            self.by_number[self.numbers[key]] = key
        return self.numbers[key]

    def newest_with_buttons(self, chat_id: int) -> SentMessage | None:
        """The newest message on screen in this chat that has buttons (bare numbers press them).
        Newest by its number: an edit of an older message does not make it the newest."""
        best: tuple[int, SentMessage] | None = None
        for msg in self.fake.bot_messages(chat_id):
            number = self.numbers.get((chat_id, msg.message_id))
            if number is not None and msg.buttons and (best is None or number > best[0]):
                best = (number, msg)
        return best[1] if best else None

    def _render(self, msg: SentMessage) -> list[str]:
        """The message as it is now, if that differs from what was printed."""
        key = (msg.chat_id, msg.message_id)
        if msg.deleted:
            if key in self.numbers and key not in self.gone:
                self.gone.add(key)
                return [self.style("note", f"   (#{self.numbers[key]} was deleted)")]
            return []
        state = _snapshot(msg)
        if self.rendered.get(key) == state:
            return []
        edited = key in self.rendered
        self.rendered[key] = state
        number = self._number(msg)
        header = self.style("bot", f"── bot (#{number}{' edited' if edited else ''}) ──")
        body = msg.text or ""
        before = self.texts.get(key)
        self.texts[key] = body
        if edited and before is not None and body == before:
            body = "(buttons changed)" if msg.buttons else "(buttons removed)"
        elif edited and before and body.startswith(before):
            body = "… " + body[len(before):].strip()
        out = ["", header]
        media = self._media_line(msg, number)
        if media:
            out.append(media)
        if body:
            out.extend(body.split("\n"))  # blank lines kept
        for entity in msg.entities:
            if entity.get("type") == "text_link" and not edited:
                label = _utf16_slice(msg.text, entity["offset"], entity["length"])
                out.append(self.style("note", f"   🔗 {label} → {entity['url']}"))
        out.extend(self._buttons(msg, number))
        return out

    def _buttons(self, msg: SentMessage, number: int) -> list[str]:
        markup = msg.reply_markup or {}
        rows = markup.get("inline_keyboard")
        if rows:
            newest = self.newest_with_buttons(msg.chat_id)
            bare = newest is not None and newest.message_id == msg.message_id
            lines, index = [], 0
            for row in rows:
                cells = []
                for button in row:
                    index += 1
                    label = f"[{index}]" if bare else f"[{number}.{index}]"
                    text = button.get("text", "")
                    if "url" in button:
                        text += f" ↗ {button['url']}"
                    cells.append(f"{self.style('button', label)} {text}")
                lines.append("   " + "   ".join(cells))
            return lines
        if markup.get("keyboard"):
            labels = [b["text"] if isinstance(b, dict) else str(b) for row in markup["keyboard"] for b in row]
            return ["   menu: " + " | ".join(labels)]
        return []

    def _media_line(self, msg: SentMessage, number: int) -> str | None:
        if msg.kind == "text":
            return None
        if msg.kind == "location":
            loc = msg.raw.get("location") or {}
            return f"📍 location {loc.get('latitude')}, {loc.get('longitude')}"
        if msg.kind == "poll":
            poll = msg.raw.get("poll") or {}
            return "📊 poll: " + " | ".join(o.get("text", "") for o in poll.get("options", []))
        if msg.kind in ("contact", "venue", "forum_topic_created"):
            return f"[{msg.kind}]"
        label = _KIND_LABEL.get(msg.kind, msg.kind)
        if msg.media_group_id:
            label += " (album)"
        if msg.kind == "document" and msg.filename:
            label += f" {msg.filename}"
        path = self._save(msg, number)
        if path is None:
            stored = self._stored(msg)
            where = f" (from {stored.url})" if stored is not None and stored.url else ""
            return f"{label}{where}"
        return f"{label} saved to {path}  (:open {number})"

    def _save(self, msg: SentMessage, number: int) -> Path | None:
        key = (msg.chat_id, msg.message_id)
        if key in self.saved:
            return self.saved[key]
        stored = self._stored(msg)
        if stored is None or not stored.content:
            return None
        content = stored.content
        if msg.kind == "document" and msg.filename:
            name = Path(msg.filename).name
        else:
            ext = next((e for magic, e in _MAGIC if content.startswith(magic)), _EXT.get(msg.kind, ".bin"))
            name = f"{number}-{msg.kind}{ext}"
        FILES_DIR.mkdir(parents=True, exist_ok=True)
        target = FILES_DIR / name
        target.write_bytes(content)
        self.saved[key] = target
        return target

    def _stored(self, msg: SentMessage) -> StoredFile | None:
        try:
            return self.fake.file(msg.file_id) if msg.file_id else None
        except KeyError:
            return None

    def _render_answer(self, answer: dict[str, Any]) -> list[str]:
        if answer.get("chat_id") != self.current.chat_id:
            return []
        lines = []
        if answer.get("text"):
            if answer.get("show_alert"):
                lines.append(self.style("alert", f"   ⚠ {answer['text']}"))
            else:
                lines.append(self.style("toast", f"   ⓘ {answer['text']}"))
        if answer.get("url"):
            lines.append(self.style("toast", f"   ↗ opens {answer['url']}"))
        return lines

    def _unseen(self, persona: Persona) -> int:
        return sum(1 for m in self.fake.bot_messages(persona.chat_id)
                   if (m.chat_id, m.message_id) not in self.numbers)

    def _hints(self) -> list[str]:
        lines = []
        for persona in self.personas.values():
            if persona.chat_id == self.current.chat_id:
                continue
            unseen = self._unseen(persona)
            if unseen and unseen != self.told.get(persona.chat_id):
                word = "message" if unseen == 1 else "messages"
                lines.append(self.style("note", f"   · {unseen} new {word} for the {persona.key} (:as {persona.key})"))
            self.told[persona.chat_id] = unseen
        return lines

    def catch_up(self) -> None:
        """After a switch: what came to this chat meanwhile, and edits of what was on screen."""
        self.pending = [e for e in self.pending if e[0] != "message"] + [
            ("message", m, "sent") for m in self.fake.history(self.current.chat_id) if m.from_bot
        ]
        self.told.pop(self.current.chat_id, None)
        self.flush()

    # ------------------------------------------------------------------ typed lines

    def _drivers(self) -> tuple[Any, Any]:
        user = self.fake.user(self.current.user_id, first_name=self.current.first_name)
        group = None if self.current.chat_id > 0 else self.fake.group(self.current.chat_id)
        return user, group

    async def handle(self, line: str) -> bool:
        """One typed line. Returns False to quit."""
        line = line.rstrip("\r\n")
        if self.pasting is not None:
            if line.strip() == ".":
                text, self.pasting = "\n".join(self.pasting), None
                await self._send_text(text, allow_empty=True)
            else:
                self.pasting.append(line)
            return True
        command, _sep, rest = line.strip().partition(" ")
        if not line.strip():
            return True
        if command in (":quit", ":q", ":exit"):
            return False
        if command in (":help", ":h", ":?"):
            self.print(HELP)
        elif command == ":as":
            self._switch(rest.strip())
        elif command == ":buttons":
            self._list_buttons()
        elif command == ":text":
            text = line.lstrip().partition(" ")[2]
            await self._send_text(text.replace("\\n", "\n"))
        elif command == ":paste":
            self.pasting = []
            self.note("Paste or type the message; a line with a single . sends it.")
        elif command == ":empty":
            await self._send_text("", allow_empty=True)
        elif command == ":open":
            self._open(rest.strip())
        elif command == ":clock":
            await self._clock(rest.strip())
        elif command == ":reply":
            await self._reply(rest)
        elif command in (":photo", ":album", ":location", ":voice", ":sticker", ":document"):
            await self._media(command, rest.strip())
        elif command.startswith(":"):
            self.note("Unknown sandbox command; type :help.")
        elif await self._press_typed(line.strip()):
            pass
        else:
            await self._send_text(line.replace("\\n", "\n"))
        return True

    def _switch(self, key: str) -> None:
        if key not in self.personas:
            if key:
                self.note(f"No persona {key!r}.")
            self.print("Personas (:as NAME):")
            for p in self.personas.values():
                mark = "→" if p is self.current else " "
                unseen = self._unseen(p) if p is not self.current else 0
                extra = f"  · {unseen} new" if unseen else ""
                self.print(f" {mark} {p.key:<11} {p.first_name}, {p.where}{extra}")
            return
        self.flush()
        self.current = self.personas[key]
        self.print(f"You are now the {key} ({self.current.first_name}), typing in {self.current.where}.")
        self.catch_up()

    def _list_buttons(self) -> None:
        chat = self.current.chat_id
        newest = self.newest_with_buttons(chat)
        found = False
        for msg in self.fake.bot_messages(chat):
            number = self.numbers.get((chat, msg.message_id))
            if number is None or not msg.buttons:
                continue
            found = True
            bare = newest is not None and msg.message_id == newest.message_id
            first = (msg.text or msg.kind).split("\n", 1)[0][:60]
            self.print(f"#{number} {first}" + ("   (bare numbers press these)" if bare else ""))
            index = 0
            for row in msg.inline_keyboard:
                for button in row:
                    index += 1
                    self.print(f"   [{number}.{index}] {button.get('text', '')}")
        if not found:
            self.note("No buttons on screen here.")

    async def _press_typed(self, typed: str) -> bool:
        """``2`` or ``3.2`` pressed a button (True), or the text is to be sent (False)."""
        chat = self.current.chat_id
        match = _PRESS.match(typed)
        if match:
            number, index = int(match.group(1)), int(match.group(2))
            key = self.by_number.get(number)
            if key is None or key[0] != chat:
                if key is not None:
                    owner = next((p.key for p in self.personas.values() if p.chat_id == key[0]), None)
                    self.note(f"Message #{number} is in another chat" + (f" (:as {owner})." if owner else "."))
                    return True
                return False
            msg = self.fake.chat(chat).messages[key[1]]
            if msg.deleted:
                self.note(f"Message #{number} was deleted; its buttons are gone.")
                return True
            if not 1 <= index <= len(msg.buttons):
                self.note(f"Message #{number} has {len(msg.buttons)} button(s) now; "
                          f"to send “{typed}” as text: :text {typed}")
                return True
            await self._press(msg, index)
            return True
        if typed.isdigit():
            newest = self.newest_with_buttons(chat)
            if newest is not None and 1 <= int(typed) <= len(newest.buttons):
                await self._press(newest, int(typed))
                return True
        return False

    async def _press(self, msg: SentMessage, index: int) -> None:
        button = [b for row in msg.inline_keyboard for b in row][index - 1]
        if "callback_data" not in button:
            target = button.get("url") or next((v for k, v in button.items() if k != "text"), "")
            self.note(f"“{button.get('text')}” is not a bot button; in Telegram it opens {target}")
            return
        user, group = self._drivers()
        try:
            if group is not None:
                await group.press_data(user, button["callback_data"], message=msg, wait=False)
            else:
                await user.press_data(button["callback_data"], message=msg, wait=False)
        except AssertionError as exc:
            self.note(str(exc))

    async def _send_text(self, text: str, *, allow_empty: bool = False) -> None:
        user, group = self._drivers()
        if not text.strip():
            if not allow_empty:
                self.note("Nothing to send (:empty sends an empty message).")
                return
            # Telegram clients send no empty message; the fake takes one all the same
            self.fake._user_message(self.current.chat_id, user.id, {"text": text}, kind="text", text=text)
            return
        try:
            if group is not None:
                await group.send(user, text, wait=False)
            else:
                await user.send(text, wait=False)
        except AssertionError as exc:
            self.note(str(exc))

    async def _reply(self, rest: str) -> None:
        number, _sep, text = rest.strip().partition(" ")
        key = self.by_number.get(int(number)) if number.isdigit() else None
        if key is None or key[0] != self.current.chat_id:
            self.note("Usage: :reply N text — N is the #number of a bot message in this chat.")
            return
        original = self.fake.chat(key[0]).messages[key[1]]
        user, group = self._drivers()
        text = text.replace("\\n", "\n")
        if not text.strip():
            self.note("Usage: :reply N text")
            return
        if group is not None:
            await group.send(user, text, reply_to=original, wait=False)
        else:
            await user.send(text, reply_to=original, wait=False)

    async def _media(self, command: str, arg: str) -> None:
        user, group = self._drivers()
        if command == ":photo":
            caption = arg or None
            if group is not None:
                await group.send_photo(user, caption=caption, wait=False)
            else:
                await user.send_photo(None, caption=caption, wait=False)
            return
        if group is not None:
            self.note(f"{command} works in a private chat (:as resident or :as organizer).")
            return
        if command == ":album":
            count = int(arg) if arg.isdigit() and 2 <= int(arg) <= 10 else 2
            await user.send_album(count, wait=False)
        elif command == ":location":
            try:
                lat, lon = (float(x) for x in arg.split()[:2])
            except ValueError:
                self.note("Usage: :location 46.63 32.61")
                return
            await user.send_location(lat, lon, wait=False)
        elif command == ":voice":
            await user.send_voice(duration=int(arg) if arg.isdigit() else 3, wait=False)
        elif command == ":sticker":
            await user.send_sticker(wait=False)
        elif command == ":document":
            path = Path(arg or "document.pdf").expanduser()
            content = path.read_bytes() if path.is_file() else b"%PDF-1.4 sandbox"
            await user.send_document(filename=path.name, content=content, wait=False)

    def _open(self, arg: str) -> None:
        if arg:
            key = self.by_number.get(int(arg.lstrip("#"))) if arg.lstrip("#").isdigit() else None
            path = self.saved.get(key) if key else None
            if path is None:
                self.note(f"No file saved from message #{arg.lstrip('#')}.")
                return
        elif self.saved:
            path = list(self.saved.values())[-1]
        else:
            self.note("No file saved yet.")
            return
        viewer = _viewer()
        if viewer is None:
            self.note(f"No viewer here (xdg-open is not installed); the file is {path}")
            return
        try:
            if viewer == "startfile":
                os.startfile(str(path))  # type: ignore[attr-defined]
            else:
                subprocess.Popen([viewer, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            self.note(f"Could not open {path}: {exc}")
            return
        self.note(f"Opening {path} with {viewer}.")

    async def _clock(self, arg: str) -> None:
        if arg:
            delta = parse_offset(arg)
            if delta is None:
                self.note("Usage: :clock +2h (also +30m, +1d, +1d2h, +1w; the clock only moves forward)")
                return
            self.clock.advance(delta)
        now = self.clock.now()
        local = now.astimezone(self.tz) if self.tz else now
        ahead = f", {describe(self.clock.offset)} ahead of real time" if self.clock.offset else ""
        self.note(f"Sandbox time: {local:%a %d %b %Y %H:%M} ({self.tz or 'UTC'}){ahead}.")
        if arg and self.run_checks is not None:
            self.note("Running the scheduled checks (reminders, polls and discussions closing, digests, reports)…")
            await self.run_checks()
            if self.quiesce is not None:
                await self.quiesce()


def _viewer() -> str | None:
    if sys.platform == "win32":
        return "startfile"
    for name in ("xdg-open", "open") if sys.platform == "darwin" else ("xdg-open",):
        found = shutil.which(name)
        if found:
            return found
    return None
