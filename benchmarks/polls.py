"""Poll voting benchmark: a burst of votes through the real Dispatcher and the fake Bot API.

    .venv/bin/python benchmarks/polls.py [--quick] [--no-pg | --pg DSN] [--residents N] [--probes P]
                                         [--sequential | --tasks-limit K]

One process, like the tests' harness: the project's fake Bot API (``bot.fakeapi.FakeTelegram``)
and the real app (``bot.app.build_app``) polling it through aiogram's Dispatcher, with the
middlewares, handlers and delivery engine of ``hromada run`` (updates handled as tasks, at most
``bot.app.UPDATE_CONCURRENCY`` at once, as ``bot.app.run_polling`` does; ``--sequential`` handles
them one by one like the tests do, and ``--tasks-limit K`` tries another bound, 0 for none).

For each database (a SQLite file in a temporary directory; a scratch PostgreSQL database next to
``--pg`` unless ``--no-pg``), not timed:

* N registered residents (default 5,000; ``--quick`` 500) plus P probe residents (default 200),
  one single-choice poll with three options (``bot.services.polls.create_poll``), sent to every
  resident by the real "poll" campaign through the delivery engine with its limits off (as the
  delivery benchmark's ceiling run does).

Timed:

1. probes: the P probe residents vote one at a time (press, wait for the answer, next), which is
   the latency of one vote on an otherwise idle bot;
2. burst: the N residents all press an option at once (``press_data(..., wait=False)``, spread
   evenly over the three options). The burst ends when every callback query is answered and
   every vote row (``PollAnswer``) exists. votes/s = the burst's votes stored / burst seconds (N /
   seconds when none failed), from the first press to the last answer. Latency per vote is from
   the press to the bot's answerCallbackQuery reaching the fake (its ``on_callback_answer`` hook);
   also shown from the moment getUpdates handed the update to the bot (a wrapper on the fake's
   getUpdates, installed by this script only). In a burst of N simultaneous presses these
   include the wait behind the other votes, so p95 is close to 0.95 x the burst's duration.

The fake Bot API has no artificial per-request delay (there is no such setting): nothing is
excluded, and its own CPU work, in the same process and event loop, is included in every figure.

A vote whose update fails (e.g. waiting longer than the connection pool's timeout) is never
answered; the burst then ends when the bot has nothing left to do, and the failures are reported.
Only the first few error tracebacks are printed; the count is in the summary.

Then correctness: every vote row exists and the counts per option equal what was pressed, every
callback query was answered once with no alert, and every resident's poll message was edited to
show their choice (exactly one button starting with "✅", the pressed one). The exit code is 1
only if a correctness check fails; missed targets are reported, not failed (a measurement).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.delivery import (  # after the path set-up above
    BASE_TG_ID,
    PG_DEFAULT,
    TOKEN,
    Recorder,
    drop_pg,
    fake_users,
    pg_database,
    prepare_database,
    wait_until,
)
from bot.app import UPDATE_CONCURRENCY  # noqa: E402 - after the path set-up

OPTIONS = 3
TARGET_RATE = {"SQLite": 500.0, "PostgreSQL": 800.0}
TARGET_P95_MS = 50.0
QUESTION = {"en": "Where should the next public discussion be?",
            "uk": "Де провести наступне громадське обговорення?"}
CHOICES = [{"en": "School No. 12", "uk": "Школа № 12"}, {"en": "City library", "uk": "Міська бібліотека"},
           {"en": "Online", "uk": "Онлайн"}]


# ---------------------------------------------------------------------------------- measuring

@dataclass
class VoteClock:
    """When each resident pressed, when the bot got the update, when the bot answered."""

    pressed: dict[int, float] = field(default_factory=dict)
    delivered: dict[int, float] = field(default_factory=dict)
    answered: dict[int, float] = field(default_factory=dict)
    answers: Counter[int] = field(default_factory=Counter)  # user -> answerCallbackQuery count
    alerts: list[dict[str, Any]] = field(default_factory=list)
    expect: set[int] = field(default_factory=set)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    waiter: tuple[int, asyncio.Future[None]] | None = None

    def on_answer(self, answer: dict[str, Any]) -> None:  # the fake's on_callback_answer hook
        user_id = answer["user_id"]
        self.answered.setdefault(user_id, time.perf_counter())
        self.answers[user_id] += 1
        if answer.get("show_alert"):
            self.alerts.append(answer)
        self.expect.discard(user_id)
        if not self.expect:
            self.done.set()
        if self.waiter is not None and self.waiter[0] == user_id and not self.waiter[1].done():
            self.waiter[1].set_result(None)

    def watch_updates(self, fake: Any) -> None:
        """Wrap the fake's getUpdates (this instance only): note when a vote was handed to the bot."""
        original = fake._methods["getupdates"]

        async def get_updates(params: dict[str, Any]) -> list[dict[str, Any]]:
            batch = await original(params)
            now = time.perf_counter()
            for update in batch:
                query = update.get("callback_query")
                if query is not None:
                    self.delivered.setdefault(query["from"]["id"], now)
            return batch

        fake._methods["getupdates"] = get_updates

    def expecting(self, user_ids: list[int]) -> None:
        self.expect = set(user_ids)
        self.done = asyncio.Event()

    def latencies(self, user_ids: list[int], since: dict[int, float]) -> list[float]:
        return sorted((self.answered[u] - since[u]) * 1000 for u in user_ids if u in self.answered and u in since)


def percentile(sorted_ms: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_ms:
        return float("nan")
    rank = max(1, -(-len(sorted_ms) * pct // 100))
    return sorted_ms[int(rank) - 1]


class FirstErrors(logging.Filter):
    """On the console: warnings, and only the first few errors (a failing burst logs thousands)."""

    def __init__(self, keep: int = 2) -> None:
        super().__init__()
        self.keep = keep

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return True
        if self.keep > 0:
            self.keep -= 1
            return True
        return False


class ErrorCount(logging.Handler):
    """Counts the app's ERROR records (a failed update is logged by aiogram or ApologyMiddleware)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first is None:
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            self.first = text[:300]


# ---------------------------------------------------------------------------------- set-up

async def prepare_poll(url: str, total: int) -> int:
    """Residents (via the delivery benchmark's bulk insert), one single-choice poll with three
    options and its "poll" campaign to everyone; returns the poll id."""
    from sqlalchemy import delete

    from bot.services.campaigns import Audience, create_campaign
    from bot.services.polls import PollDraft, QuestionDraft, create_poll, poll_json
    from storage.db import create_engine, create_sessionmaker
    from storage.models import Campaign, utcnow

    announcement = await prepare_database(url, total)  # it also queues an announcement: not wanted here
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            await session.execute(delete(Campaign).where(Campaign.id == announcement))
            now = utcnow()
            draft = PollDraft(questions=[QuestionDraft("single", dict(QUESTION), [dict(c) for c in CHOICES])],
                              closes_at=now + timedelta(days=7))
            poll = await create_poll(session, draft, default_locale="en", created_by=None, now=now)
            campaign = await create_campaign(session, kind="poll", payload={"poll": poll_json(poll)},
                                             audience=Audience(), now=now)
            poll.campaign_id = campaign.id
            await session.commit()
            return poll.id
    finally:
        await engine.dispose()


async def campaign_finished(app: Any) -> bool:
    from sqlalchemy import func, select

    from storage.models import Campaign

    async with app.sessionmaker() as session:
        unfinished = await session.scalar(
            select(func.count()).select_from(Campaign).where(Campaign.finished_at.is_(None)))
    return unfinished == 0


async def vote_counts(app: Any, poll_id: int) -> tuple[int, Counter[int]]:
    """(responses, answers per option) of the poll, from the database."""
    from sqlalchemy import func, select

    from storage.models import PollAnswer, PollResponse

    async with app.sessionmaker() as session:
        responses = await session.scalar(
            select(func.count()).select_from(PollResponse).where(PollResponse.poll_id == poll_id))
        rows = await session.execute(
            select(PollAnswer.choice, func.count()).join(PollResponse, PollResponse.id == PollAnswer.response_id)
            .where(PollResponse.poll_id == poll_id).group_by(PollAnswer.choice))
        return int(responses or 0), Counter({choice: n for choice, n in rows})


# ---------------------------------------------------------------------------------- one backend

async def serve(app: Any, mode: str, tasks_limit: int | None) -> None:
    """Long polling until stop_polling: ``bot.app.run_polling`` unless a tasks limit is asked for."""
    from bot.app import run_polling

    if mode == "sequential" or tasks_limit == UPDATE_CONCURRENCY:
        await run_polling(app, handle_signals=False, handle_as_tasks=mode != "sequential")
        return
    try:
        await app.dp.start_polling(app.bot, handle_signals=False, handle_as_tasks=True, close_bot_session=False,
                                   tasks_concurrency_limit=tasks_limit or None,
                                   allowed_updates=app.dp.resolve_used_update_types())
        await app.inflight.drain()
    finally:
        await app.close()


async def until_answered_or_idle(fake: Any, app: Any, clock: VoteClock, quiet: float = 2.0) -> None:
    """Until every expected vote is answered, or the bot has had nothing to do for ``quiet`` s
    (updates that failed are never answered: waiting for them would wait forever)."""
    seen, changed = -1, time.perf_counter()
    while not clock.done.is_set():
        if len(clock.answered) != seen:
            seen, changed = len(clock.answered), time.perf_counter()
        busy = fake._pending or getattr(app.dp, "_handle_update_tasks", None) or app.inflight.count
        if not busy and time.perf_counter() - changed > quiet:
            return
        try:
            await asyncio.wait_for(clock.done.wait(), 0.05)
        except TimeoutError:
            pass


async def run_backend(label: str, url: str, residents: int, probes: int, *, mode: str,
                      tasks_limit: int | None) -> dict[str, Any]:
    from bot.app import build_app
    from bot.fakeapi import FakeTelegram
    from tests.harness import make_settings

    total = residents + probes
    burst_ids = [BASE_TG_ID + i for i in range(residents)]
    probe_ids = [BASE_TG_ID + residents + i for i in range(probes)]
    poll_id = await prepare_poll(url, total)
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    result: dict[str, Any] = {"label": label, "residents": residents, "probes": probes, "problems": []}
    problems: list[str] = result["problems"]

    async with FakeTelegram(token=TOKEN, bot_username="bench_bot") as fake:
        fake_users(fake, total)
        sent = Recorder()
        fake.on_bot_message = sent
        clock = VoteClock()
        fake.on_callback_answer = clock.on_answer
        clock.watch_updates(fake)

        settings = make_settings(url, fake.base_url, bot_token=TOKEN, send_rate_per_sec=1e6, quiet_hours="",
                                 admin_ids=[], moderators_chat_id=None, organizers_chat_id=None)
        app = await build_app(settings)
        assert app.delivery is not None
        app.delivery.configure(concurrency=32, quiet_hours=None)
        polling = asyncio.create_task(serve(app, mode, tasks_limit))
        try:
            # ---- set-up (not timed): the poll reaches every resident through the delivery engine
            started = time.perf_counter()
            await wait_until(lambda: sent.count >= total or polling.done(), timeout=900)
            if polling.done():
                await polling  # raises what stopped the bot
            for _ in range(500):
                if await campaign_finished(app):
                    break
                await asyncio.sleep(0.05)
            result["setup_s"] = time.perf_counter() - started
            messages = {}
            for uid in burst_ids + probe_ids:
                msg = next((m for m in reversed(fake.bot_messages(uid)) if m.buttons), None)
                if msg is None or len(msg.buttons) != OPTIONS:
                    raise RuntimeError(f"resident {uid} did not get the poll message: {fake.bot_messages(uid)!r}")
                messages[uid] = msg
            choice = {uid: n % OPTIONS for n, uid in enumerate(burst_ids + probe_ids)}

            def data(uid: int) -> str:
                return messages[uid].inline_keyboard[choice[uid]][0]["callback_data"]

            await asyncio.sleep(0.5)  # let the engine's after-campaign work (statistics) finish

            # ---- probes: one vote at a time on an idle bot
            loop = asyncio.get_running_loop()
            for uid in probe_ids:
                clock.expecting([uid])
                clock.waiter = (uid, loop.create_future())
                clock.pressed[uid] = time.perf_counter()
                await fake.user(uid).press_data(data(uid), message=messages[uid], wait=False)
                try:
                    await asyncio.wait_for(clock.waiter[1], 30)
                except TimeoutError:
                    problems.append(f"probe vote of {uid} not answered within 30 s")
            clock.waiter = None
            probe_ms = clock.latencies(probe_ids, clock.pressed)

            # ---- the burst: everyone presses at once
            clock.expecting(burst_ids)
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            for uid in burst_ids:
                clock.pressed[uid] = time.perf_counter()
                await fake.user(uid).press_data(data(uid), message=messages[uid], wait=False)
            pressing = time.perf_counter() - t0
            await until_answered_or_idle(fake, app, clock)
            if clock.expect:
                problems.append(f"{len(clock.expect):,} of {residents:,} votes were never answered")
            end = max((clock.answered[u] for u in burst_ids if u in clock.answered), default=time.perf_counter())
            want = Counter(choice.values())
            attempts = 1 if clock.expect or clock.alerts else 500  # votes failed: no point in waiting
            for attempt in range(attempts):  # every vote row must exist (the handler commits before answering)
                responses, counts = await vote_counts(app, poll_id)
                if counts == want:
                    if attempt:  # rows appeared after the last answer: the burst lasted until now
                        end = max(end, time.perf_counter())
                    break
                await asyncio.sleep(0.01)
            else:
                problems.append(f"vote rows per option {dict(counts)} != pressed {dict(want)}")
            seconds = end - t0
            cpu = time.process_time() - cpu0
        finally:
            await app.dp.stop_polling()
            await asyncio.wait_for(polling, 60)

        # ---- correctness
        if responses != total:
            problems.append(f"{responses:,} poll responses in the database, expected {total:,}")
        extra = {u: n for u, n in clock.answers.items() if n != 1}
        if extra:
            problems.append(f"{len(extra)} residents got a callback answered more than once")
        if clock.alerts:
            problems.append(f"{len(clock.alerts)} answers were alerts, e.g. {clock.alerts[0].get('text')!r}")
        if fake.unanswered_callbacks:
            problems.append(f"{len(fake.unanswered_callbacks)} callback queries left unanswered")
        wrong = []
        for uid, msg in messages.items():
            marked = [i for i, label in enumerate(msg.buttons) if label.startswith("✅")]
            if marked != [choice[uid]] or msg.edits != 1:
                wrong.append((uid, msg.buttons, msg.edits))
        if wrong:
            problems.append(f"{len(wrong)} poll messages do not show the resident's choice, e.g. {wrong[0]}")
        if errors.count:
            problems.append(f"{errors.count:,} errors logged, the first: {errors.first}")
    logging.getLogger().removeHandler(errors)

    burst_ms = clock.latencies(burst_ids, clock.pressed)
    inbot_ms = clock.latencies(burst_ids, clock.delivered)
    stored = sum(counts.values()) - probes  # the burst's votes in the database (all of them when it went well)
    result.update(seconds=seconds, rate=stored / seconds, stored=stored, cpu_ms=cpu * 1000 / residents,
                  pressing=pressing, burst_ms=burst_ms, inbot_ms=inbot_ms, probe_ms=probe_ms,
                  counts=dict(sorted(counts.items())))
    return result


# ---------------------------------------------------------------------------------- report

def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import aiogram
    import sqlalchemy

    return (f"machine: {os.cpu_count()} cores ({usable} usable by this process){', ' + model if model else ''}; "
            f"Python {platform.python_version()}, aiogram {aiogram.__version__}, SQLAlchemy {sqlalchemy.__version__}")


def report(results: list[dict[str, Any]], skipped: list[str], mode: str) -> None:
    header = ("backend", "residents", "votes/s", "p50 ms", "p95 ms", "max ms", "target", "met?")
    rows: list[tuple[str, ...]] = []
    for r in results:
        target_rate = TARGET_RATE[r["label"]]
        burst, inbot, probe = r["burst_ms"], r["inbot_ms"], r["probe_ms"]
        rate_ok = r["rate"] >= target_rate and r["stored"] == r["residents"]
        p95_ok = percentile(burst, 95) < TARGET_P95_MS and r["stored"] == r["residents"]
        residents = f"{r['residents']:,}" if r["stored"] == r["residents"] else f"{r['stored']:,} of {r['residents']:,}"
        rows.append((f"{r['label']}: burst, press -> answer", residents, f"{r['rate']:,.0f}",
                     f"{percentile(burst, 50):.0f}", f"{percentile(burst, 95):.0f}", f"{burst[-1] if burst else 0:.0f}",
                     f">= {target_rate:,.0f}/s, p95 < {TARGET_P95_MS:.0f}",
                     f"rate {'yes' if rate_ok else 'NO'}, p95 {'yes' if p95_ok else 'NO'}"))
        rows.append((f"{r['label']}: burst, handed to bot -> answer", f"{r['residents']:,}", "",
                     f"{percentile(inbot, 50):.0f}", f"{percentile(inbot, 95):.0f}", f"{inbot[-1] if inbot else 0:.0f}",
                     "", ""))
        probe_rate = 1000 * len(probe) / sum(probe) if probe else 0.0
        rows.append((f"{r['label']}: one vote at a time", f"{r['probes']:,}", f"{probe_rate:,.0f}",
                     f"{percentile(probe, 50):.1f}", f"{percentile(probe, 95):.1f}", f"{probe[-1] if probe else 0:.1f}",
                     f"p95 < {TARGET_P95_MS:.0f}", "yes" if percentile(probe, 95) < TARGET_P95_MS else "NO"))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join((c.ljust(w) if i in (0, 6, 7) else c.rjust(w)) for i, (c, w) in
                        enumerate(zip(row, widths, strict=True))))
    for line in skipped:
        print(line)
    print()
    for r in results:
        print(f"{r['label']}: burst {r['seconds']:.2f} s (pressing all {r['residents']:,} buttons took "
              f"{r['pressing'] * 1000:.0f} ms of it); process CPU {r['cpu_ms']:.1f} ms per pressed vote (bot, "
              f"fake API and driver together); votes per option {r['counts']}; set-up {r['setup_s']:.1f} s; "
              f"correctness: {'OK' if not r['problems'] else 'FAILED'}")
        for problem in r["problems"]:
            print(f"  - {problem}")
    print("burst latencies include the wait behind the other votes of the burst (all pressed at once), so their "
          "p95 is about 0.95 x the burst's duration; 'one vote at a time' is the latency of a vote on an idle bot")
    print(f"updates handled {mode}; the fake Bot API has no artificial delay (nothing excluded), it runs in "
          "this process and its CPU time is inside every figure")
    print(machine())


async def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(FirstErrors())
    if args.sequential:
        mode = "one by one (--sequential, like the tests' harness)"
    elif args.tasks_limit == UPDATE_CONCURRENCY:
        mode = f"as tasks, at most {args.tasks_limit} at once, like `hromada run`"
    elif args.tasks_limit:
        mode = f"as tasks, at most {args.tasks_limit} at once (--tasks-limit; `hromada run`: {UPDATE_CONCURRENCY})"
    else:
        mode = "as tasks with no limit (--tasks-limit 0)"
    options: dict[str, Any] = {"mode": "sequential" if args.sequential else "tasks", "tasks_limit": args.tasks_limit}
    residents = args.residents or (500 if args.quick else 5_000)
    probes = args.probes if args.probes is not None else (100 if args.quick else 200)
    results, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="hromada-bench-polls-") as tmp:
        print(f"SQLite: {residents:,} residents + {probes} probes ...", flush=True)
        results.append(await run_backend("SQLite", f"sqlite+aiosqlite:///{Path(tmp) / 'polls.db'}", residents,
                                         probes, **options))
    if not args.no_pg:
        try:
            url, name = await pg_database(args.pg)
        except Exception as exc:  # noqa: BLE001 - PostgreSQL unreachable: report it, SQLite stands
            skipped.append(f"PostgreSQL: skipped ({exc})")
        else:
            print(f"PostgreSQL: {residents:,} residents + {probes} probes ...", flush=True)
            try:
                results.append(await run_backend("PostgreSQL", url, residents, probes, **options))
            finally:
                await drop_pg(args.pg, name)
    report(results, skipped, mode)
    return 1 if any(r["problems"] for r in results) else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="500 residents instead of 5,000")
    parser.add_argument("--residents", type=int, help="residents in the burst (overrides --quick)")
    parser.add_argument("--probes", type=int, help="residents voting one at a time first (default 200, quick 100)")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--pg", default=os.environ.get("HROMADA_TEST_PG", PG_DEFAULT), metavar="DSN",
                        help="PostgreSQL admin DSN (a scratch database is made next to it and dropped)")
    parser.add_argument("--sequential", action="store_true",
                        help="handle updates one by one (the tests' harness) instead of as tasks")
    parser.add_argument("--tasks-limit", type=int, metavar="K", default=UPDATE_CONCURRENCY,
                        help="handle updates as tasks, at most K at once (aiogram's tasks_concurrency_limit; "
                             f"default {UPDATE_CONCURRENCY} as in `hromada run`, 0 for no limit)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
