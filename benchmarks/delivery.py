"""Delivery engine benchmark: rate-limit adherence, the sender's ceiling, crash safety.

    .venv/bin/python benchmarks/delivery.py [--quick] [--pg URL | --no-pg]

The fake Bot API runs in this process; the bot runs as a real subprocess (`--child`, the same
code as `hromada run`: long polling, the delivery engine, SIGTERM/SIGKILL) against it.

1. limits on: Telegram's limits time-scaled (x5: 150 msg/s); achieved rate / configured limit, 429s.
2. limits off: the sender's own ceiling (msg/s) on SQLite and PostgreSQL.
3. crash: SIGKILL at random points of a 2,000-recipient campaign five times; lost and duplicates.

Several engines on PostgreSQL + Redis and a Telegram outage: benchmarks/outbox_workers.py.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "123456:BENCH-TOKEN"
BASE_TG_ID = 5_000_000
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
LANGS = ("uk", "ru", "bg", "en")


# ---------------------------------------------------------------------------------- the bot (child)

def child_main(args: argparse.Namespace) -> None:
    import logging

    from bot.app import build_app, run_polling
    from bot.config import Settings

    logging.basicConfig(level=logging.WARNING, format="child %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiogram").setLevel(logging.ERROR)
    logging.getLogger("bot.delivery").setLevel(logging.INFO)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,
        telegram_api_url=args.api,
        database_url=args.db,
        default_locale="en",
        timezone="Europe/Kyiv",
        quiet_hours="",
        send_rate_per_sec=args.rate,
        community_file=ROOT / "communities" / "kherson.toml",
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, dump_tasks)  # the parent asks when we hang
        app = await build_app(settings)
        assert app.delivery is not None
        # a short lease: after a SIGKILL the restarted bot takes the killed one's rows back sooner
        app.delivery.configure(time_scale=args.time_scale, concurrency=args.concurrency, lease=5.0)
        await run_polling(app)

    profile = os.environ.get("HROMADA_BENCH_PROFILE")  # write a cProfile of the bot here
    if profile:
        import cProfile

        cProfile.runctx("asyncio.run(run())", globals(), {"run": run, "asyncio": asyncio}, profile)
    else:
        asyncio.run(run())


def dump_tasks() -> None:
    for task in asyncio.all_tasks():
        frames, coro = [], task.get_coro()
        while coro is not None:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
            if frame is not None:
                frames.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
            coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
        print(f"task {task.get_name()}:\n  " + "\n  ".join(frames), file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------- set-up (parent)

async def prepare_database(url: str, residents: int) -> int:
    """Migrate, add `residents` registered residents and one campaign to all of them."""
    from sqlalchemy import insert

    import handlers.announce  # noqa: F401 - registers the "announcement" kind
    from bot.services.campaigns import Audience, create_campaign
    from storage.db import create_engine, create_sessionmaker
    from storage.migrate import upgrade
    from storage.models import User, utcnow

    await upgrade(url)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    now = utcnow()
    rows = [
        dict(telegram_id=BASE_TG_ID + i, language=LANGS[i % 4], display_name=f"Resident {i}", district="ostriv",
             topics=["polls"], consent_at=now, registered_at=now, created_at=now, updated_at=now)
        for i in range(residents)
    ]
    async with sessionmaker() as session:
        for start in range(0, len(rows), 1000):
            await session.execute(insert(User), rows[start : start + 1000])
        campaign = await create_campaign(
            session, kind="announcement", audience=Audience(),
            payload={"texts": {"en": "Water will be off on Monday 9-12.", "uk": "У понеділок 9-12 не буде води."},
                     "default_locale": "en"},
        )
        await session.commit()
        campaign_id = campaign.id
    await engine.dispose()
    return campaign_id


@dataclass
class Recorder:
    """Counts the bot's messages per resident chat as the fake Bot API accepts them."""

    per_chat: Counter[int] = field(default_factory=Counter)
    times: list[float] = field(default_factory=list)
    run_of_extra: Counter[int] = field(default_factory=Counter)  # run index -> duplicates it produced
    run: int = 0

    def __call__(self, message, event: str) -> None:  # type: ignore[no-untyped-def]
        if event != "sent" or message.chat_id < BASE_TG_ID:
            return
        self.per_chat[message.chat_id] += 1
        if self.per_chat[message.chat_id] > 1:
            self.run_of_extra[self.run] += 1
        self.times.append(time.monotonic())

    @property
    def count(self) -> int:
        return len(self.times)


class Child:
    def __init__(self, db: str, api: str, *, rate: float, time_scale: float, concurrency: int, log: Path) -> None:
        self.cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--db", db, "--api", api,
                    "--rate", str(rate), "--time-scale", str(time_scale), "--concurrency", str(concurrency)]
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        out = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(*self.cmd, stdout=out, stderr=out, cwd=str(ROOT))
        out.close()

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.send_signal(signal.SIGUSR1)
            await asyncio.sleep(1.0)
            self.proc.kill()
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the bot did not stop within {timeout} s after {sig!r}; its log ends:\n{tail}") from None


async def wait_until(predicate, timeout: float, child: Child | None = None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if child is not None and child.proc is not None and child.proc.returncode is not None:
            raise RuntimeError(f"the bot exited with {child.proc.returncode}; see {child.log}")
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step timed out")
        await asyncio.sleep(0.02)


def fake_users(fake, residents: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(residents):
        fake.user(BASE_TG_ID + i, first_name=f"R{i}")
    # The fake Bot API is the measuring instrument: keep garbage-collection pauses (which would
    # look like network jitter to the bot) out of it.
    gc.collect()
    gc.freeze()


async def run_campaign(db: str, residents: int, *, rate: float, time_scale: float, limits_on: bool,
                       concurrency: int, workdir: Path) -> dict[str, float]:
    from bot.fakeapi import FakeTelegram, Limits

    await prepare_database(db, residents)
    limits = Limits(enabled=limits_on, time_scale=time_scale)
    async with FakeTelegram(token=TOKEN, bot_username="bench_bot", limits=limits) as fake:
        fake_users(fake, residents)
        rec = Recorder()
        fake.on_bot_message = rec
        child = Child(db, fake.base_url, rate=rate, time_scale=time_scale, concurrency=concurrency,
                      log=workdir / "child.log")
        await child.start()
        await wait_until(lambda: rec.count >= residents, timeout=600, child=child)
        await child.stop()
        span = rec.times[-1] - rec.times[0]
        achieved = (rec.count - 1) / span if span > 0 else float("inf")
        return {"sent": rec.count, "seconds": span, "rate": achieved, "429": fake.stats["429"],
                "duplicates": sum(n - 1 for n in rec.per_chat.values() if n > 1)}


async def crash_test(workdir: Path, residents: int, kills: int, concurrency: int, rate: float) -> dict[str, object]:
    from bot.fakeapi import FakeTelegram

    db = f"sqlite+aiosqlite:///{workdir / 'crash.db'}"
    await prepare_database(db, residents)
    rng = random.Random(20261123)
    async with FakeTelegram(token=TOKEN, bot_username="bench_bot") as fake:
        fake_users(fake, residents)
        rec = Recorder()
        fake.on_bot_message = rec
        log = workdir / "crash-child.log"
        points = []
        for run in range(kills):
            rec.run = run
            child = Child(db, fake.base_url, rate=rate, time_scale=1.0, concurrency=concurrency, log=log)
            await child.start()
            # kill after a random number of further messages: early, middle or late in the campaign
            remaining = residents - len(rec.per_chat)
            target = rec.count + rng.randint(1, max(1, remaining * 2 // (kills - run + 1)))
            await wait_until(lambda: rec.count >= target, timeout=120, child=child)
            await asyncio.sleep(rng.random() * 0.05)
            await child.stop(signal.SIGKILL)
            points.append(len(rec.per_chat))
        rec.run = kills
        child = Child(db, fake.base_url, rate=rate, time_scale=1.0, concurrency=concurrency, log=log)
        await child.start()
        await wait_until(lambda: len(rec.per_chat) >= residents, timeout=300, child=child)
        await asyncio.sleep(0.5)  # anything more would be a duplicate: give it a chance to show
        await child.stop()
    lost = sum(1 for i in range(residents) if rec.per_chat[BASE_TG_ID + i] == 0)
    duplicates = sum(n - 1 for n in rec.per_chat.values() if n > 1)
    per_crash = [rec.run_of_extra[r + 1] for r in range(kills)]
    return {"lost": lost, "duplicates": duplicates, "per_crash": per_crash, "killed_at": points}


async def pg_database(admin_dsn: str) -> tuple[str, str]:
    import asyncpg

    name = f"hromada_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_dsn, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}", name


async def drop_pg(admin_dsn: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def both_parser(doc: str) -> argparse.ArgumentParser:
    """The options every database benchmark takes: --quick, --no-pg, --pg DSN."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--pg", default=os.environ.get("HROMADA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    return parser


async def on_both(args: argparse.Namespace, label: str, measure) -> None:  # type: ignore[no-untyped-def]
    """``await measure(url)`` on a SQLite file in a temporary directory, then (unless ``--no-pg``)
    on a scratch PostgreSQL database next to ``args.pg``, dropped after."""
    with tempfile.TemporaryDirectory() as tmp:
        print(f"SQLite{label}")
        await measure(f"sqlite+aiosqlite:///{tmp}/bench.db")
    if args.no_pg:
        return
    url, name = await pg_database(args.pg)
    try:
        print(f"PostgreSQL{label}")
        await measure(url)
    finally:
        await drop_pg(args.pg, name)


async def main(args: argparse.Namespace) -> None:
    quick = args.quick
    n_limited = 2_000 if quick else 10_000
    n_ceiling = 3_000 if quick else 10_000
    runs = 1 if quick else 3  # the machine may be shared: report the median
    scale = 5.0
    concurrency = 32
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="hromada-bench-") as tmp:
        workdir = Path(tmp)

        print(f"1. limits on, x{scale:g} time scale, {n_limited:,} residents ...", flush=True)
        res = await run_campaign(f"sqlite+aiosqlite:///{workdir / 'limited.db'}", n_limited, rate=30.0,
                                 time_scale=scale, limits_on=True, concurrency=concurrency, workdir=workdir)
        limit = 30.0 * scale
        rows.append(("limits on: achieved / limit (SQLite)",
                     f"{res['rate'] / limit:.3f}  ({res['rate']:.0f} of {limit:.0f} msg/s, {res['sent']:,.0f} sent)"))
        rows.append(("limits on: 429 responses", f"{res['429']:.0f}"))

        print(f"2. limits off, {n_ceiling:,} residents, {runs} run(s) per database ...", flush=True)

        def ceiling(label: str, results: list[dict[str, float]]) -> tuple[str, str]:
            rates = sorted(r["rate"] for r in results)
            median = rates[len(rates) // 2]
            spread = f", {rates[0]:,.0f}-{rates[-1]:,.0f} over {len(rates)} runs" if len(rates) > 1 else ""
            return (f"ceiling, {label}", f"{median:,.0f} msg/s (median{spread}; {n_ceiling:,} per run)")

        results = []
        for run in range(runs):
            db_path = workdir / f"ceiling-{run}.db"
            results.append(await run_campaign(f"sqlite+aiosqlite:///{db_path}", n_ceiling, rate=1e6, time_scale=1.0,
                                              limits_on=False, concurrency=concurrency, workdir=workdir))
        rows.append(ceiling("SQLite", results))

        if not args.no_pg:
            results = []
            for _run in range(runs):
                try:
                    url, name = await pg_database(args.pg)
                except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: say so and go on
                    rows.append(("ceiling, PostgreSQL", f"skipped: {exc}"))
                    break
                try:
                    results.append(await run_campaign(url, n_ceiling, rate=1e6, time_scale=1.0, limits_on=False,
                                                      concurrency=concurrency, workdir=workdir))
                finally:
                    await drop_pg(args.pg, name)
            if results:
                rows.append(ceiling("PostgreSQL", results))

        print("3. crash test: 2,000 residents, SIGKILL x5, file SQLite ...", flush=True)
        crash = await crash_test(workdir, 2_000, 5, concurrency, rate=400.0)
        rows.append(("crash: lost", str(crash["lost"])))
        rows.append(("crash: duplicates (total; per crash)",
                     f"{crash['duplicates']}; {crash['per_crash']} (concurrency {concurrency})"))
        rows.append(("crash: killed after residents reached", str(crash["killed_at"])))

    width = max(len(k) for k, _ in rows)
    print()
    print(f"{'measure'.ljust(width)}  result")
    print(f"{'-' * width}  {'-' * 40}")
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller runs (about a minute)")
    parser.add_argument("--pg", default=os.environ.get("HROMADA_TEST_PG", PG_DEFAULT),
                        help="PostgreSQL admin DSN; a temporary database is created next to it")
    parser.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL run")
    # the bot subprocess
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=30.0, help=argparse.SUPPRESS)
    parser.add_argument("--time-scale", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=32, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.child:
        child_main(arguments)
    else:
        asyncio.run(main(arguments))
