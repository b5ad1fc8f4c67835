"""Residents keep tapping while the real `hromada run` process is killed and restarted.

Shared by tests/e2e/test_crash.py (small) and benchmarks/crash.py (200 residents, the issue's
figures). The fake Bot API runs in this process; the bot is `python -m bot.cli run`, a real
subprocess, SIGKILLed at random moments (and SIGTERMed once) and started again on the same
database. Two kinds of resident:

* registrants: /start, language, name, district, switch two topics OFF (each a toggle: applied
  twice it would be back on), Done, consent -> exactly {reports, proposals};
* voters (registered beforehand): a multiple-choice poll arrives through the delivery engine;
  they tick two options (toggles again) -> exactly {0, 1}.

What is counted: residents whose state is wrong (a toggle applied twice or lost), residents
stuck (their next screen never came), replies that came twice, updates Telegram still holds.
"""
from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:CRASH-TOKEN"
VOTER_BASE = 6_000_000
REGISTRANT_BASE = 7_000_000
EXPECTED_TOPICS = {"reports", "proposals"}


@dataclass
class Outcome:
    registrants: int = 0
    voters: int = 0
    kills: int = 0
    sigterms: int = 0
    wrong: list[str] = field(default_factory=list)  # applied twice, or lost
    stuck: list[str] = field(default_factory=list)
    duplicate_replies: int = 0
    unconfirmed: int = 0
    seconds: float = 0.0
    exit_codes: list[int | None] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.registrants} registrants + {self.voters} voters, {self.kills} SIGKILL + {self.sigterms} SIGTERM: "
                f"wrong (applied twice or lost) {len(self.wrong)}, stuck {len(self.stuck)}, "
                f"replies twice {self.duplicate_replies}, updates left unconfirmed {self.unconfirmed} "
                f"({self.seconds:.0f} s)")


async def prepare(url: str, voters: int) -> int:
    """Migrate; registered voters and a multiple-choice poll campaign to them; the poll's id.
    For another checkout's bot (benchmarks/crash.py --bot-root) this is done by that checkout's
    own code, in a subprocess (its migrations and models)."""
    if ROOT == Path(__file__).resolve().parents[2]:
        return await _prepare_here(url, voters)
    code = ("import asyncio, importlib.util, sys; "
            f"spec = importlib.util.spec_from_file_location('crash_driver', {__file__!r}); "
            "m = importlib.util.module_from_spec(spec); sys.modules['crash_driver'] = m; spec.loader.exec_module(m); "
            f"print(asyncio.run(m._prepare_here({url!r}, {voters})))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out
    return int(out.decode().split()[-1])


async def _prepare_here(url: str, voters: int) -> int:
    from sqlalchemy import insert

    from bot.services.campaigns import Audience, create_campaign
    from bot.services.polls import PollDraft, QuestionDraft, create_poll, poll_json
    from storage.db import create_engine, create_sessionmaker
    from storage.migrate import upgrade
    from storage.models import User, utcnow

    await upgrade(url)
    engine = create_engine(url)
    now = utcnow()
    try:
        async with create_sessionmaker(engine)() as session:
            if voters:
                await session.execute(insert(User), [
                    dict(telegram_id=VOTER_BASE + i, language="en", display_name=f"Voter {i}", district="ostriv",
                         topics=["polls"], consent_at=now, registered_at=now, created_at=now, updated_at=now)
                    for i in range(voters)])
            question = QuestionDraft("multi", {"en": "What should the park have?"},
                                     [{"en": "Shade trees"}, {"en": "Benches"}, {"en": "A fountain"}])
            poll = await create_poll(session, PollDraft(questions=[question], closes_at=now + timedelta(days=7), anonymous=False),
                                     default_locale="en", created_by=None, now=now)
            if voters:
                campaign = await create_campaign(session, kind="poll", payload={"poll": poll_json(poll)},
                                                 audience=Audience(), now=now)
                poll.campaign_id = campaign.id
            await session.commit()
            return poll.id
    finally:
        await engine.dispose()


class BotProcess:
    def __init__(self, api: str, db: str, log: Path) -> None:
        self.api, self.db, self.log = api, db, log
        self.proc: asyncio.subprocess.Process | None = None
        self.exit_codes: list[int | None] = []

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "WEBHOOK_", "REDIS_"))}
        env.update(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=self.api, DATABASE_URL=self.db, DEFAULT_LOCALE="en",
                   COMMUNITY_FILE=str(ROOT / "communities" / "kherson.toml"), TIMEZONE="Europe/Kyiv",
                   LOG_LEVEL="WARNING", QUIET_HOURS="", PYTHONPATH=str(ROOT))
        out = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", cwd=ROOT, env=env,
                                                         stdout=out, stderr=out)
        out.close()

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.exit_codes.append(await self.proc.wait())

    async def terminate(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        self.exit_codes.append(await asyncio.wait_for(self.proc.wait(), 60))

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            await self.terminate()


@dataclass
class Gate:
    """Burst mode: every resident gets to the toggles, then all tap at one moment, and the bot is
    killed while those taps are in flight (the moment a kill does most harm)."""

    expected: int
    ready: int = 0
    go: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait(self) -> None:
        self.ready += 1
        await self.go.wait()


def _button(user: Any, text: str) -> Any:
    for message in reversed(user.messages[-4:]):
        if message.find_button(text, exact=False) is not None:
            return message
    return None


async def _until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def _registrant(fake: Any, i: int, out: Outcome, timeout: float, gate: Gate | None = None) -> None:
    name = f"R{i}"
    user = fake.user(REGISTRANT_BASE + i, first_name=name, language_code="en")
    # the two topic taps come at once (a quick resident): the second does not wait for the first
    steps = [("/start", "English"), ("English", name), (name, "Dniprovskyi"), ("Dniprovskyi", "Done ✅"),
             ("Polls and surveys", ""), ("Events and meetings", "⬜ Events and meetings"),
             ("Done ✅", "I agree"), ("I agree", None)]
    for action, expect in steps:
        if gate is not None and action == "Polls and surveys":
            await gate.wait()
        else:
            await asyncio.sleep(random.uniform(0, 0.3))
        if action.startswith("/"):
            await user.send(action, wait=False)
        else:
            message = _button(user, action)
            if message is None:
                out.stuck.append(f"{name}: no button {action!r}")
                return
            await user.press(action, message=message, wait=False)
        if expect == "":
            continue
        if expect is None:
            ok = await _until(lambda: any("You are registered" in m.text for m in user.messages), timeout)
        else:
            ok = await _until(lambda e=expect: _button(user, e) is not None, timeout)
            if ok and expect == "⬜ Events and meetings":
                ok = await _until(lambda: _button(user, "⬜ Polls and surveys") is not None, timeout)
        if not ok:
            out.stuck.append(f"{name}: after {action!r} no {expect!r}")
            return
    out.duplicate_replies += max(0, sum("You are registered" in m.text for m in user.messages) - 1)


async def _voter(fake: Any, i: int, out: Outcome, timeout: float, gate: Gate | None = None) -> None:
    user = fake.user(VOTER_BASE + i, first_name=f"V{i}", language_code="en")
    if not await _until(lambda: _button(user, "Shade trees") is not None, timeout):
        out.stuck.append(f"V{i}: the poll never came")
        return
    poll_message = _button(user, "Shade trees")
    out.duplicate_replies += max(0, sum(m.find_button("Shade trees", exact=False) is not None
                                        for m in user.messages) - 1)
    if gate is not None:
        await gate.wait()
    else:
        await asyncio.sleep(random.uniform(0, 0.5))
    for option in ("Shade trees", "Benches"):  # two quick taps: the second does not wait for the first
        await user.press(option, message=poll_message, wait=False)
    if not await _until(lambda: poll_message.edits >= 2, timeout):
        out.stuck.append(f"V{i}: the taps were never answered")


async def _check(url: str, poll_id: int, out: Outcome, registrants: int, voters: int) -> None:
    from sqlalchemy import select

    from storage.db import create_engine, create_sessionmaker
    from storage.models import PollAnswer, PollResponse, User

    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            users = {u.telegram_id: u for u in (await session.scalars(
                select(User).where(User.telegram_id >= REGISTRANT_BASE, User.telegram_id < REGISTRANT_BASE + registrants)))}
            for i in range(registrants):
                u = users.get(REGISTRANT_BASE + i)
                if u is None or not u.is_registered or set(u.topics) != EXPECTED_TOPICS:
                    out.wrong.append(f"R{i}: {None if u is None else sorted(u.topics)}")
            rows = await session.execute(
                select(User.telegram_id, PollAnswer.choice).join(PollResponse, PollResponse.user_id == User.id)
                .join(PollAnswer, PollAnswer.response_id == PollResponse.id).where(PollResponse.poll_id == poll_id))
            chosen: dict[int, set[int]] = {}
            for tg, choice in rows:
                chosen.setdefault(tg, set()).add(choice)
            for i in range(voters):
                got = chosen.get(VOTER_BASE + i, set())
                if got != {0, 1}:
                    out.wrong.append(f"V{i}: {sorted(got)}")
    finally:
        await engine.dispose()


async def run_residents(url: str, *, registrants: int, voters: int, chaos: Any, seed: int = 1,
                        timeout: float = 120.0, log_dir: Path | None = None, label: str = "",
                        gate: Gate | None = None) -> Outcome:
    """The residents' journeys against the real bot process while ``await chaos(fake, bot, out,
    done)`` does its damage (``done()`` is true once every resident finished)."""
    from bot.fakeapi import FakeTelegram

    random.seed(seed)
    out = Outcome(registrants=registrants, voters=voters)
    poll_id = await prepare(url, voters)
    log_dir = log_dir or Path(os.environ.get("TMPDIR", "/tmp"))
    log = log_dir / f"crash-bot-{os.getpid()}-{seed}{label}.log"
    started = time.monotonic()
    async with FakeTelegram(token=TOKEN, settle_timeout=timeout) as fake:
        bot = BotProcess(fake.base_url, url, log)
        await bot.start()
        people = [asyncio.create_task(_registrant(fake, i, out, timeout, gate)) for i in range(registrants)]
        people += [asyncio.create_task(_voter(fake, i, out, timeout, gate)) for i in range(voters)]
        chaos_task = asyncio.create_task(chaos(fake, bot, out, lambda: all(p.done() for p in people)))
        try:
            await asyncio.gather(*people)
            await chaos_task
            await _until(lambda: not fake.pending_updates, 30)
            out.unconfirmed = len(fake.pending_updates)
            await bot.terminate()
        finally:
            chaos_task.cancel()
            for p in people:
                p.cancel()
            await bot.close()
        out.exit_codes = bot.exit_codes
    out.seconds = time.monotonic() - started
    await _check(url, poll_id, out, registrants, voters)
    if out.wrong or out.stuck:
        print(f"bot log: {log}", file=sys.stderr)
    return out


async def crash_run(url: str, *, registrants: int, voters: int, kills: int, sigterms: int = 1,
                    seed: int = 1, timeout: float = 120.0, log_dir: Path | None = None,
                    burst: bool = False) -> Outcome:
    """SIGKILL ``kills`` times and SIGTERM ``sigterms`` times at random moments, restarting each time.
    ``burst``: the first kill comes while every resident's two toggles are in flight at once."""
    gate = Gate(registrants + voters) if burst else None

    async def chaos(fake: Any, bot: BotProcess, out: Outcome, done: Any) -> None:
        moments = ["kill"] * kills + ["term"] * sigterms
        random.shuffle(moments)
        if gate is not None and "kill" in moments:
            moments.remove("kill")
            await _until(lambda: gate.ready >= gate.expected or done(), timeout)
            gate.go.set()
            await asyncio.sleep(random.uniform(0.05, 0.3))
            await bot.kill()
            out.kills += 1
            await bot.start()
        for what in moments:
            await asyncio.sleep(random.uniform(0.5, 2.5))
            if done():
                return
            if what == "kill":
                await bot.kill()
                out.kills += 1
            else:
                await bot.terminate()
                out.sigterms += 1
            await bot.start()

    return await run_residents(url, registrants=registrants, voters=voters, chaos=chaos, seed=seed,
                               timeout=timeout, log_dir=log_dir, gate=gate)
