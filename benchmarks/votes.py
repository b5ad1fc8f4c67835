"""Votes against the framework: the real bot beside a bare aiogram bot, in the same run.

    .venv/bin/python benchmarks/votes.py [--quick] [--no-pg | --pg DSN] [--residents N] [--rounds R]

The project's fake Bot API runs in this process; the bots run as subprocesses polling it over HTTP:

* A, "hromada": the code of `hromada run` (``bot.app.build_app`` + ``bot.app.run_polling``: long
  polling, at most ``UPDATE_CONCURRENCY`` updates at once, every middleware, the delivery
  engine, the scheduler) on a SQLite file or a scratch PostgreSQL database;
* B, "bare aiogram": a Dispatcher with one callback handler that answers the callback and edits
  the message the same way (the tapped option marked), no database, the same polling settings.

Set-up (not timed): N registered residents (3,000; ``--quick`` 600) and a single-choice poll with
three options sent to all of them by the real "poll" campaign (benchmarks/polls.py's set-up).
Then A and B alternate R times (default 3): each round starts the bot, waits for its first
getUpdates, lets the N residents all tap an option at once (a different option each round, so
every tap edits the message) and times from the first tap to the last answerCallbackQuery; the
bot is then stopped with SIGTERM. Before each A round the votes are deleted, so each is a first
vote. Printed: votes/s per round, the medians, A/B, and per vote (A): SQL statements and commits
(tests/sqlcount.py inside the bot: only what updates ask, not the delivery engine) and Bot API
calls. Targets: A/B >= 0.35 on SQLite and on PostgreSQL (one process).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.delivery import (  # noqa: E402 - after the path set-up
    BASE_TG_ID,
    PG_DEFAULT,
    TOKEN,
    Child,
    Recorder,
    drop_pg,
    fake_users,
    pg_database,
    wait_until,
)

TARGET_RATIO = 0.35
OPTIONS = 3


# ---------------------------------------------------------------------------------- the bots (children)

def child_hromada(args: argparse.Namespace) -> None:
    import logging

    from bot.app import build_app, run_polling
    from tests.harness import make_settings
    from tests.sqlcount import SqlCounter

    logging.basicConfig(level=logging.WARNING, format="child %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiogram").setLevel(logging.ERROR)
    settings = make_settings(args.db, args.api, bot_token=TOKEN, send_rate_per_sec=1e6, quiet_hours="",
                             admin_ids=[], moderators_chat_id=None, organizers_chat_id=None)

    async def run() -> None:
        app = await build_app(settings)
        assert app.delivery is not None
        app.delivery.configure(concurrency=32, quiet_hours=None)
        counter = SqlCounter.attach(app.engine, app.dp, keep_log=False)
        cpu = _cpu_clock(app.dp, profile=os.environ.get("HROMADA_BENCH_PROFILE"))
        await run_polling(app)
        stats = {**counter.snapshot(), "updates": len(counter.per_update), "cpu_s": cpu()}
        Path(args.stats).write_text(json.dumps(stats))

    asyncio.run(run())


def child_bare(args: argparse.Namespace) -> None:
    from bot.app import UPDATE_CONCURRENCY

    bot, dp = bare_bot(args)

    async def run() -> None:
        cpu = _cpu_clock(dp)
        try:
            await dp.start_polling(bot, handle_as_tasks=True, tasks_concurrency_limit=UPDATE_CONCURRENCY,
                                   allowed_updates=dp.resolve_used_update_types(), close_bot_session=True)
        finally:
            Path(args.stats).write_text(json.dumps({"cpu_s": cpu()}))

    asyncio.run(run())


def bare_bot(args: argparse.Namespace) -> tuple[Any, Any]:
    """B: a Bot against the fake and a Dispatcher with one callback handler that answers the
    tap and edits the message (the chosen option marked); no database. Also used by votes_workers.py."""
    import logging

    from aiogram import Bot, Dispatcher, F
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.enums import ParseMode
    from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

    logging.basicConfig(level=logging.WARNING, format="child %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiogram").setLevel(logging.ERROR)
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(args.api)),
              default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True))
    dp = Dispatcher()

    @dp.callback_query(F.data.startswith("pv:"))
    async def vote(callback: CallbackQuery) -> None:
        chosen = int((callback.data or "").rsplit(":", 1)[1])
        message = callback.message
        await callback.answer("Saved ✅")
        if not isinstance(message, Message) or message.reply_markup is None:
            return
        rows = []
        for n, row in enumerate(message.reply_markup.inline_keyboard):
            button = row[0]
            label = button.text.removeprefix("✅ ")
            rows.append([InlineKeyboardButton(text=f"✅ {label}" if n == chosen else label,
                                              callback_data=button.callback_data)])
        await message.edit_text(message.html_text, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    return bot, dp


def _cpu_clock(dp: Any, profile: str | None = None) -> Any:
    """CPU seconds of this process from its first update on (start-up left out). With
    ``profile`` (a path prefix, from HROMADA_BENCH_PROFILE) the same span is profiled with
    cProfile and written to ``<profile>-<pid>.prof`` (for ``python -m pstats``)."""
    feed, first = dp.feed_update, []
    profiler = sampler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    if os.environ.get("HROMADA_BENCH_SAMPLE"):
        from benchmarks.sampler import Sampler

        sampler = Sampler()

    async def feed_update(*a: Any, **kw: Any) -> Any:
        if not first:
            first.append(time.process_time())
            if profiler is not None:
                profiler.enable()
            if sampler is not None:
                sampler.start()
        return await feed(*a, **kw)

    def stop() -> float:
        if profiler is not None and first:
            profiler.disable()
            profiler.dump_stats(f"{profile}-{os.getpid()}.prof")
        if sampler is not None and first:
            sampler.stop(f"{os.environ['HROMADA_BENCH_SAMPLE']}-{os.getpid()}.json")
        return time.process_time() - first[0] if first else 0.0

    dp.feed_update = feed_update
    return stop


class BotProcess(Child):
    """delivery.py's child process (start, SIGTERM/SIGKILL, its log), running this script's bots."""

    def __init__(self, which: str, db: str, api: str, stats: Path, log: Path) -> None:
        self.cmd = [sys.executable, str(Path(__file__).resolve()), "--child", which, "--db", db, "--api", api,
                    "--stats", str(stats)]
        self.log = log
        self.proc = None


# ---------------------------------------------------------------------------------- the runs (parent)

class Taps:
    """Watches the fake Bot API: getUpdates (a bot is polling), callback answers (a tap handled)."""

    def __init__(self, fake: Any) -> None:
        self.polls = 0
        self.fetched = 0  # updates handed out by getUpdates (again, too, until confirmed)
        self.answered = 0
        self.last_answer = 0.0
        self.alerts = 0
        self.texts: Counter[str] = Counter()
        original = fake._methods["getupdates"]

        async def get_updates(params: dict[str, Any]) -> list[dict[str, Any]]:
            self.polls += 1
            got = await original(params)
            self.fetched += len(got)
            return got

        fake._methods["getupdates"] = get_updates
        fake.on_callback_answer = self.on_answer

    def on_answer(self, answer: dict[str, Any]) -> None:
        self.answered += 1
        self.last_answer = time.perf_counter()
        if answer.get("show_alert") or "✅" not in str(answer.get("text")):  # "Saved ✅" in their language
            self.alerts += 1
            self.texts[str(answer.get("text"))] += 1


async def reset_votes(url: str) -> None:
    from sqlalchemy import delete

    from storage.db import create_engine, create_sessionmaker
    from storage.models import PollAnswer, PollResponse

    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            await session.execute(delete(PollAnswer))
            await session.execute(delete(PollResponse))
            await session.commit()
    finally:
        await engine.dispose()


async def stored_votes(url: str) -> int:
    from sqlalchemy import func, select

    from storage.db import create_engine, create_sessionmaker
    from storage.models import PollAnswer

    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(PollAnswer)) or 0)
    finally:
        await engine.dispose()


async def one_round(which: str, url: str, fake: Any, taps: Taps, messages: dict[int, Any], turn: int,
                    workdir: Path) -> dict[str, Any]:
    stats = workdir / f"stats-{which}-{turn}.json"
    child = BotProcess(which, url, fake.base_url, stats, workdir / f"{which}.log")
    if which == "hromada":
        await reset_votes(url)
    polls = taps.polls
    await child.start()
    await wait_until(lambda: taps.polls > polls, timeout=120, child=child)
    await asyncio.sleep(0.3)  # its start-up work (the delivery engine's first look) is done
    answered, calls, polls, fetched = taps.answered, len(fake.calls), taps.polls, taps.fetched
    t0 = time.perf_counter()
    for n, (uid, message) in enumerate(messages.items()):
        data = message.inline_keyboard[(n + turn) % OPTIONS][0]["callback_data"]
        await fake.user(uid).press_data(data, message=message, wait=False)
    pressing = time.perf_counter() - t0
    want = answered + len(messages)
    await wait_until(lambda: taps.answered >= want, timeout=900, child=child)
    seconds = taps.last_answer - t0
    methods = Counter(c.method.lower() for c in fake.calls[calls:])
    await child.stop()
    out: dict[str, Any] = {"rate": len(messages) / seconds, "seconds": seconds, "pressing": pressing,
                           "api": sum(n for m, n in methods.items() if m != "getupdates") / len(messages),
                           "polls": taps.polls - polls, "fetched": (taps.fetched - fetched) / len(messages)}
    if stats.exists():
        out.update(json.loads(stats.read_text()))
    if which == "hromada":
        out["stored"] = await stored_votes(url)
    return out



async def poll_everyone(fake: Any, url: str, residents: int, workdir: Path, log_name: str) -> tuple[Any, Any, dict[int, Any]]:
    """Set-up shared by the vote benchmarks: the residents, and the real campaign (the polling
    child) sending the poll to every one of them; returns the recorder, the taps and each
    resident's poll message."""
    fake_users(fake, residents)
    sent = Recorder()
    fake.on_bot_message = sent
    taps = Taps(fake)
    child = BotProcess("hromada", url, fake.base_url, workdir / "setup.json", workdir / log_name)
    await child.start()
    await wait_until(lambda: sent.count >= residents, timeout=900, child=child)
    await asyncio.sleep(0.5)
    await child.stop()
    messages = {}
    for i in range(residents):
        uid = BASE_TG_ID + i
        message = next((m for m in reversed(fake.bot_messages(uid)) if m.buttons), None)
        if message is None or len(message.buttons) != OPTIONS:
            raise RuntimeError(f"resident {uid} did not get the poll message")
        messages[uid] = message
    return sent, taps, messages

async def run_database(label: str, url: str, residents: int, rounds: int, workdir: Path) -> dict[str, Any]:
    from benchmarks.polls import prepare_poll
    from bot.fakeapi import FakeTelegram

    await prepare_poll(url, residents)
    results: dict[str, list[dict[str, Any]]] = {"hromada": [], "bare": []}
    async with FakeTelegram(token=TOKEN, bot_username="bench_bot") as fake:
        sent, taps, messages = await poll_everyone(fake, url, residents, workdir, "hromada.log")
        turn = 0
        for r in range(rounds):
            for which in ("hromada", "bare"):
                turn += 1
                res = await one_round(which, url, fake, taps, messages, turn, workdir)
                results[which].append(res)
                print(f"  {label} round {r + 1}: {which:8} {res['rate']:7,.0f} votes/s ({res['seconds']:.2f} s; "
                      f"the taps took {res['pressing'] * 1000:.0f} ms to make; {res['polls']} getUpdates, each "
                      f"update fetched {res['fetched']:.1f} times)",
                      flush=True)
        problems = []
        if taps.alerts:
            problems.append(f"{taps.alerts} answers were not 'Saved ✅' or alerts: {dict(taps.texts.most_common(3))}")
        for res in results["hromada"]:
            if res.get("stored") != residents:
                problems.append(f"{res.get('stored')} votes stored of {residents}")
    return {"label": label, "results": results, "residents": residents, "problems": problems}


def _each(results: list[dict[str, Any]]) -> str:
    return ", ".join(f"{x['rate']:,.0f}" for x in results)


def report(runs: list[dict[str, Any]], skipped: list[str]) -> None:
    from bot.app import UPDATE_CONCURRENCY

    print()
    header = ("database", "hromada votes/s", "bare aiogram votes/s", "ratio", "target", "met?",
              "SQL/vote", "commits/vote", "API calls/vote", "CPU ms/vote (A; B)")
    rows = []
    for run in runs:
        a, b = run["results"]["hromada"], run["results"]["bare"]
        ra, rb = statistics.median(x["rate"] for x in a), statistics.median(x["rate"] for x in b)
        n = run["residents"]
        sql = statistics.median(x.get("statements", 0) / n for x in a)
        commits = statistics.median(x.get("commits", 0) / n for x in a)
        api_a = statistics.median(x["api"] for x in a)
        api_b = statistics.median(x["api"] for x in b)
        cpu_a = statistics.median(x.get("cpu_s", 0) * 1000 / n for x in a)
        cpu_b = statistics.median(x.get("cpu_s", 0) * 1000 / n for x in b)
        ratio = ra / rb
        rows.append((run["label"], f"{ra:,.0f} ({_each(a)})",
                     f"{rb:,.0f} ({_each(b)})", f"{ratio:.3f}",
                     f">= {TARGET_RATIO}", "yes" if ratio >= TARGET_RATIO else "NO", f"{sql:.2f}",
                     f"{commits:.2f}", f"{api_a:.2f} (bare {api_b:.2f})", f"{cpu_a:.2f}; {cpu_b:.2f}"))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    for line in skipped:
        print(line)
    for run in runs:
        for problem in run["problems"]:
            print(f"{run['label']}: PROBLEM: {problem}")
    print(f"medians of the rounds (each round's figure in brackets); {runs[0]['residents'] if runs else 0:,} "
          f"residents tapping at once; both bots poll with at most {UPDATE_CONCURRENCY} updates at once; "
          "SQL statements and commits are those of the updates (the handled-update record included)")
    from benchmarks.polls import machine

    print(machine())


async def main(args: argparse.Namespace) -> int:
    residents = args.residents or (600 if args.quick else 3_000)
    rounds = args.rounds or 3
    runs, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="hromada-bench-votes-") as tmp:
        workdir = Path(tmp)
        print(f"SQLite: {residents:,} residents, {rounds} rounds of A/B ...", flush=True)
        runs.append(await run_database("SQLite", f"sqlite+aiosqlite:///{workdir / 'votes.db'}", residents, rounds,
                                       workdir))
        if not args.no_pg:
            try:
                url, name = await pg_database(args.pg)
            except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: say so, SQLite stands
                skipped.append(f"PostgreSQL: skipped ({exc})")
            else:
                print(f"PostgreSQL: {residents:,} residents, {rounds} rounds of A/B ...", flush=True)
                try:
                    runs.append(await run_database("PostgreSQL", url, residents, rounds, workdir))
                finally:
                    await drop_pg(args.pg, name)
        if args.keep_logs:
            for log in workdir.glob("*.log"):
                Path(args.keep_logs).mkdir(parents=True, exist_ok=True)
                (Path(args.keep_logs) / log.name).write_bytes(log.read_bytes())
    report(runs, skipped)
    return 1 if any(r["problems"] for r in runs) else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="600 residents instead of 3,000")
    parser.add_argument("--residents", type=int, help="residents tapping at once (overrides --quick)")
    parser.add_argument("--rounds", type=int, help="A/B alternations (default 3)")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--pg", default=os.environ.get("HROMADA_TEST_PG", PG_DEFAULT), metavar="DSN",
                        help="PostgreSQL admin DSN (a scratch database is made next to it and dropped)")
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the bots' logs here")
    parser.add_argument("--child", choices=("hromada", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--db", default="", help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--stats", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.child == "hromada":
        child_hromada(arguments)
    elif arguments.child == "bare":
        child_bare(arguments)
    else:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.exit(asyncio.run(main(arguments)))
