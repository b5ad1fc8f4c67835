"""The offline sandbox (`hromada sandbox`) driven through a pipe, as a newcomer would use it:
a real subprocess, one typed line at a time, each answered before the next (the prompt comes
back once the bot is done). One full journey per persona, and the small promises of the tour."""
from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
PROMPT = re.compile(r"\n(\S+ \((resident|moderator|organizer|organizers)\)> |… )$")  # … : a :paste goes on
HEADER = re.compile(r"── bot \(#(\d+)(?: edited)?\) ──")


class Sandbox:
    """`hromada sandbox` in a subprocess; ``await sb.type(line)`` returns what it printed for it."""

    def __init__(self, cwd: Path, **env: str) -> None:
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("BOT_", "DATABASE_", "ADMIN_", "TIMEZONE", "DEFAULT_LOCALE", "WEBHOOK_",
                                         "QUIET_HOURS", "NO_COLOR"))}
        self.env.update(COMMUNITY_FILE=str(ROOT / "communities" / "kherson.toml"), DEFAULT_LOCALE="en", **env)
        self.proc: asyncio.subprocess.Process | None = None
        self.transcript = ""

    async def __aenter__(self) -> Sandbox:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "sandbox", cwd=self.cwd, env=self.env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        self.intro = await self._until_prompt()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        if self.proc.returncode is None:
            self.proc.stdin.write(b":quit\n")
            await self.proc.stdin.drain()
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        stderr = (await self.proc.stderr.read()).decode()  # type: ignore[union-attr]
        if exc[0] is None:
            assert self.proc.returncode == 0, stderr
            assert "Traceback" not in self.transcript + stderr, stderr

    async def _until_prompt(self, timeout: float = 60) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        chunk = ""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not PROMPT.search(chunk):
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no prompt within {timeout}s; the sandbox printed:\n{chunk[-3000:]}")
            try:
                data = await asyncio.wait_for(self.proc.stdout.read(65536), left)
            except TimeoutError:
                continue
            if not data:
                raise AssertionError(f"the sandbox ended; it printed:\n{chunk[-3000:]}")
            chunk += data.decode("utf-8", "replace")
        self.transcript += chunk
        return chunk

    async def type(self, *lines: str) -> str:
        """Type each line, waiting for the prompt after each; returns what all of them printed."""
        assert self.proc is not None and self.proc.stdin is not None
        printed = ""
        for line in lines:
            self.proc.stdin.write(line.encode() + b"\n")
            await self.proc.stdin.drain()
            printed += await self._until_prompt()
        return printed

    async def register(self) -> str:
        """Olena registers: English, keeps her name, the first district, every topic, consents."""
        return await self.type("/start", "4", "1", "1", "5", "1")


def number_of(printed: str, snippet: str) -> int:
    """The #number of the bot message that shows ``snippet`` (the last one that does)."""
    at = printed.rindex(snippet)
    headers = list(HEADER.finditer(printed, 0, at))
    assert headers, f"no bot message before {snippet!r}"
    return int(headers[-1].group(1))


async def test_resident_report_resolved_by_the_moderator_from_an_older_card(tmp_path: Path) -> None:
    async with Sandbox(tmp_path) as sb:
        assert "You are a resident (Olena)" in sb.intro
        out = await sb.register()
        assert "You are registered" in out
        # two reports: the first card is not the newest one when the moderator acts on it
        out = await sb.type("/report", "1", "The street light is out", ":photo", "1", "Ushakova 12", "1", "1", "1")
        assert "2 new messages for the moderator (:as moderator)" in out  # the card and its photo wait for the moderator
        await sb.type("/report", "2", "Rubbish by the school", "1", "School 3", "1", "1", "1")
        out = await sb.type(":as moderator")
        first, second = number_of(out, "The street light is out"), number_of(out, "Rubbish by the school")
        assert first < second
        # only the newest card's buttons take bare numbers; the older card's are printed as N.k
        assert f"[{first}.1] ✅ Accept" in out and "[1] ✅ Accept" in out.split("Rubbish by the school")[1]
        # the photo under the first card is saved, and its path printed
        saved = re.search(r"photo saved to (data/sandbox-files/\S+\.png)", out)
        assert saved, out
        assert (tmp_path / saved.group(1)).read_bytes().startswith(b"\x89PNG")
        buttons = await sb.type(":buttons")
        assert f"[{first}.1] ✅ Accept" in buttons and f"#{second} " in buttons
        assert "bare numbers press these" in buttons.split(f"#{second} ")[1]
        # the moderator accepts, then resolves, the OLDER card by its N.k numbers
        out = await sb.type(f"{first}.1")
        assert f"── bot (#{first} edited) ──" in out and "Status: Accepted" in out
        assert "ⓘ Accepted" in out  # the toast, inline
        assert f"#{second} edited" not in out
        resolve = re.search(rf"\[{first}\.(\d+)\] 🎉 Resolved", out)
        assert resolve, out  # the edited card kept its number
        out = await sb.type(f"{first}.{resolve.group(1)}")
        assert f"#{first} edited" in out and "Status: Resolved" in out and "ⓘ Resolved" in out
        assert "2 new messages for the resident" in out
        # the resident sees the status of her report
        out = await sb.type(":as resident")
        named = "Your report #1 (Street lighting: “The street light is out”)"  # which report, in words
        assert f"{named} was accepted" in out and f"{named} is marked as resolved" in out
        # three days later (the sandbox's clock) the bot asks whether it is really fixed
        out = await sb.type(":clock +3d")
        assert "3 d ahead of real time" in out
        assert "Is the problem really fixed?" in out and "[1] 👍 Yes, it is fixed" in out
        out = await sb.type("1")
        assert "Traceback" not in out


async def test_organizer_closes_a_poll_and_the_organizers_chat_gets_the_results(tmp_path: Path) -> None:
    viewer = tmp_path / "bin" / "xdg-open"  # :open uses the system viewer; this one notes what it was given
    viewer.parent.mkdir()
    viewer.write_text(f"#!/bin/sh\necho \"$1\" >> {tmp_path / 'opened.txt'}\n")
    viewer.chmod(0o755)
    async with Sandbox(tmp_path, PATH=f"{viewer.parent}{os.pathsep}{os.environ.get('PATH', '')}") as sb:
        await sb.register()
        out = await sb.type(":as organizer", "/newpoll", "1", "Where should the new bench go?\\nSchool\\nLibrary")
        assert "Where should the new bench go?" in out
        out = await sb.type("4")  # no translations: continue
        assert "Ready to send?" in out
        out = await sb.type("1")  # send
        assert "Poll #1 created" in out
        out = await sb.type(":as resident")
        poll = number_of(out, "Where should the new bench go?")
        out = await sb.type("1")  # School
        assert f"#{poll} edited" in out and "Your answer: School" in out
        assert "ⓘ Saved ✅" in out
        out = await sb.type(":as organizer", "/polls", "1")
        assert "Results · #1 · open" in out and "School — 1 (100%)" in out
        results = number_of(out, "Results · #1 · open")
        out = await sb.type("2")  # 📊 Charts and breakdowns: below the results, and the button goes
        assert "Breakdowns · #1" in out and "POLL_MIN_GROUP" in out and f"#{results} edited" in out
        chart = re.search(r"photo saved to (data/sandbox-files/\S+\.png)\s+\(:open (\d+)\)", out)
        assert chart, out
        out = await sb.type("/polls")  # a newer message with buttons: the results are no longer the newest
        close = re.search(rf"\[{results}\.(\d+)\] ⏹ Close now", await sb.type(":buttons"))
        assert close
        out = await sb.type(f"{results}.{close.group(1)}")
        assert "Close poll #1 now?" in out and "[1] ⏹ Yes, close" in out  # a destructive button asks first
        out = await sb.type("1")
        assert "Results · #1 · closed" in out and "ⓘ Poll #1 is closed" in out
        assert "1 new message for the organizers (:as organizers)" in out
        out = await sb.type(":as organizers")
        assert "typing in the organizers' group" in out
        assert "Results · #1 · closed" in out and "School — 1 (100%)" in out
        out = await sb.type(f":open {chart.group(2)}")
        assert "Opening data/sandbox-files/" in out
        await asyncio.sleep(0.5)
        assert (tmp_path / "opened.txt").read_text().strip() == chart.group(1)
        out = await sb.type(":as resident")
        assert "🔒 Poll closed" in out


async def test_text_sends_a_number_that_would_press_a_button(tmp_path: Path) -> None:
    async with Sandbox(tmp_path) as sb:
        out = await sb.type("/start", "4")
        assert "[1] Keep" in out
        out = await sb.type(":text 1")  # the name "1", not the button "Keep Olena"
        await sb.type("1", "5")
        out = await sb.type("1")
        assert "Thank you, 1!" in out


async def test_a_restarted_sandbox_answers_what_is_typed_now_not_what_was_typed_before(tmp_path: Path) -> None:
    """The database keeps the handled updates; the fake Telegram's ids go on from where they
    were, so the next run's first update is not taken for one the bot has already handled."""
    async with Sandbox(tmp_path) as sb:
        assert "A new recommendation" in await sb.type(":as organizer", "/newrec")
    async with Sandbox(tmp_path) as sb:
        out = await sb.type(":as organizer", "/cancel")
        assert "Cancelled" in out and "A new recommendation" not in out, out
        out = await sb.type("/recommendations")
        assert "No recommendations yet" in out, out


async def test_a_5000_character_line_arrives_whole_and_paste_keeps_lines(tmp_path: Path) -> None:
    async with Sandbox(tmp_path) as sb:
        await sb.type(":as organizer", "/announce")
        out = await sb.type("ж" * 5000)  # 10,000 bytes of UTF-8 in one line
        assert "and it has 5000" in out
        out = await sb.type(":paste", "Water is off tomorrow.", "", "From 9 to 12.", ".", "4", "6")  # no translations, everyone
        assert "Water is off tomorrow.\n\nFrom 9 to 12." in out, out
        out = await sb.type(":empty")
        assert "Traceback" not in out


async def test_toasts_alerts_and_reactions_are_printed_inline() -> None:
    """The console over an in-memory stream: what the fake's hooks report is printed in order."""
    import io

    from bot.fakeapi import FakeTelegram, SentMessage
    from bot.sandbox import MODERATORS_CHAT, ORGANIZERS_CHAT, Console, personas

    out = io.StringIO()
    fake = FakeTelegram(token="100000:SANDBOX")
    people = personas()
    for p in people.values():
        fake.user(p.user_id, first_name=p.first_name)
    fake.group(MODERATORS_CHAT)
    fake.group(ORGANIZERS_CHAT)
    console = Console(fake, people, out)
    console.hook()
    resident = people["resident"].user_id
    console.on_callback_answer({"chat_id": resident, "text": "Saved ✅", "show_alert": False})
    console.on_callback_answer({"chat_id": resident, "text": "Only organizers can do this", "show_alert": True})
    console.on_callback_answer({"chat_id": people["moderator"].chat_id, "text": "not here", "show_alert": False})
    console.on_reaction(SentMessage(chat_id=resident, message_id=5, text="Which entrance?", from_bot=False),
                        [{"type": "emoji", "emoji": "👍"}])
    console.flush()
    assert out.getvalue().splitlines() == [
        "   ⓘ Saved ✅", "   ⚠ Only organizers can do this", "   👍  the bot reacted to your message “Which entrance?”"]
    assert "\033[" not in out.getvalue()  # not a terminal: no colours
