"""Votes through the webhook: the real `hromada run --workers 1` and `--workers 2` side by side.

    .venv/bin/python benchmarks/votes_workers.py [--quick] [--residents N] [--rounds R] [--pg DSN] [--redis URL]
                                                 [--no-bare]

The project's fake Bot API runs in this process and delivers updates through the webhook, as
Telegram does: up to setWebhook's ``max_connections`` POSTs at once (the bot asks for
``UPDATE_CONCURRENCY`` per worker), one per chat at a time, each confirmed by its 2xx answer.
The bots are subprocesses on a scratch PostgreSQL database and Redis (a free Redis database
number, emptied afterwards):

* "1 worker": ``hromada run --workers 1`` in webhook mode (one process; FSM and event isolation in
  Redis, as in the production deployment);
* "2 workers": ``hromada run --workers 2``: the supervisor (bot.workers) and two webhook workers
  sharing one port with SO_REUSEPORT, the kernel spreading the fake's connections over them;
* "bare aiogram" (unless ``--no-bare``): votes.py's bare bot (answers the tap and edits the
  message, no database) behind aiogram's webhook handler, ``max_connections`` as one worker.

Set-up (not timed) is votes.py's: N residents (3,000; ``--quick`` 600) and a single-choice poll
sent to all of them by the real campaign. Then the three alternate R times (default 3): each round
starts the bot, waits until every worker listens, lets the N residents tap an option at once (a
different option each round, so every tap edits the message) and times from the first tap to the
last answerCallbackQuery; SIGTERM ends it. Votes are deleted before each hromada round. Printed:
votes/s per round, medians, 2 workers / 1 worker against the target (>= 1.6x), each against the
bare bot, Bot API calls per vote, CPU ms per vote of the bot processes, of this process (the
fake Bot API), of PostgreSQL + Redis, and the machine's busy share of its cores while the taps ran.
With two cores, the sum of those CPU figures bounds what two workers can reach (see the note printed).

HROMADA_BENCH_PROFILE=FILE writes a cProfile of the one-worker process (start-up included);
HROMADA_BENCH_PROFILE_FAKE=PREFIX one of this process (the fake) during each round's taps.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
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
    PG_DEFAULT,
    TOKEN,
    Child,
    drop_pg,
    pg_database,
    wait_until,
)
from benchmarks.votes import OPTIONS, BotProcess, Taps, bare_bot, poll_everyone, reset_votes, stored_votes  # noqa: E402

TARGET_SPEEDUP = 1.6
SECRET = "b3nch"
KINDS = ("1 worker", "2 workers", "bare")


# ---------------------------------------------------------------------------------- the bare bot (child)

def child_bare_webhook(args: argparse.Namespace) -> None:
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler
    from aiohttp import web

    from bot.app import UPDATE_CONCURRENCY

    bot, dp = bare_bot(args)

    async def run() -> None:
        app = web.Application()
        # answered once the update is handled, like hromada's webhook (not in the background)
        SimpleRequestHandler(dispatcher=dp, bot=bot, handle_in_background=False,
                             secret_token=SECRET).register(app, path="/tg/hook")
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", args.port).start()
        await bot.set_webhook(f"http://127.0.0.1:{args.port}/tg/hook", secret_token=SECRET,
                              max_connections=UPDATE_CONCURRENCY, allowed_updates=dp.resolve_used_update_types())
        print("Webhook server on (bare)", file=sys.stderr, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()
        await bot.session.close()

    asyncio.run(run())


# ---------------------------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of ``pid`` and each of its descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            out[p] = (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, IndexError, ValueError):
            continue
    return out


def services_cpu() -> float:
    """CPU seconds of every PostgreSQL and Redis process on this machine (their backends included)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, rest = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if head.split("(", 1)[1].startswith(("postgres", "redis-server")):
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class WebhookBot(Child):
    """A bot in webhook mode as a subprocess (delivery.py's Child: SIGTERM/SIGKILL, its log)."""

    def __init__(self, kind: str, url: str, api: str, redis: str, port: int, workdir: Path) -> None:
        self.kind = kind
        self.log = workdir / f"{kind.replace(' ', '-')}.log"
        self.proc = None
        self.cwd = workdir  # no .env of the checkout
        if kind == "bare":
            self.cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "bare", "--api", api,
                        "--port", str(port)]
            self.env = dict(os.environ)
            self.listeners = 1
        else:
            workers = 2 if kind == "2 workers" else 1
            self.cmd = [sys.executable, "-m", "bot.cli", "run", "--workers", str(workers)]
            profile = os.environ.get("HROMADA_BENCH_PROFILE")  # a cProfile of the one-worker process
            if profile and workers == 1:
                self.cmd[1:3] = ["-m", "cProfile", "-o", profile, "-m", "bot.cli"]
            self.env = {k: v for k, v in os.environ.items()
                        if not k.startswith(("BOT_", "DATABASE_", "WEBHOOK_", "REDIS_", "WORKERS", "LEADER_"))}
            self.env.update(
                PYTHONPATH=str(ROOT), COMMUNITY_FILE=str(ROOT / "communities" / "kherson.toml"),
                DEFAULT_LOCALE="en", BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api, DATABASE_URL=url, REDIS_URL=redis,
                WEBHOOK_URL=f"http://127.0.0.1:{port}/tg/hook", WEBHOOK_SECRET=SECRET, WEBHOOK_PORT=str(port),
                SEND_RATE_PER_SEC="1000000", QUIET_HOURS="", LOG_LEVEL="INFO")
            self.listeners = workers
        self.log.write_bytes(b"")

    async def start(self) -> None:
        out = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(*self.cmd, stdout=out, stderr=out, cwd=str(self.cwd),
                                                         env=self.env)
        out.close()

    def listening(self) -> bool:
        return self.log.read_text(errors="replace").count("Webhook server on") >= self.listeners


async def free_redis_db(base: str) -> tuple[str, Any]:
    """A Redis database number nobody uses (empty), from the top down; (its URL, a client)."""
    from redis.asyncio import Redis

    base = base.rstrip("/")
    if base.rsplit("/", 1)[-1].isdigit():
        base = base.rsplit("/", 1)[0]
    for number in range(15, 0, -1):
        client = Redis.from_url(f"{base}/{number}")
        if await client.dbsize() == 0:
            return f"{base}/{number}", client
        await client.aclose()
    raise RuntimeError(f"no empty Redis database at {base}")


# ---------------------------------------------------------------------------------- the runs (parent)

async def one_round(kind: str, url: str, redis: str, fake: Any, taps: Taps, messages: dict[int, Any], turn: int,
                    workdir: Path) -> dict[str, Any]:
    if kind != "bare":
        await reset_votes(url)
    bot = WebhookBot(kind, url, fake.base_url, redis, free_port(), workdir)
    await bot.start()
    await wait_until(lambda: fake.webhook_url is not None and bot.listening(), timeout=180, child=bot)
    await asyncio.sleep(0.5)  # the start-up work (the delivery engine's first look, the leader) is done
    assert bot.proc is not None
    answered, calls = taps.answered, len(fake.calls)
    cpu0, busy0, fake0, db0 = tree_cpu(bot.proc.pid), machine_busy(), time.process_time(), services_cpu()
    profile = os.environ.get("HROMADA_BENCH_PROFILE_FAKE")  # a cProfile of this process (the fake) in the taps
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0 = time.perf_counter()
    for n, (uid, message) in enumerate(messages.items()):
        data = message.inline_keyboard[(n + turn) % OPTIONS][0]["callback_data"]
        await fake.user(uid).press_data(data, message=message, wait=False)
    pressing = time.perf_counter() - t0
    want = answered + len(messages)
    await wait_until(lambda: taps.answered >= want, timeout=900, child=bot)
    seconds = taps.last_answer - t0
    if profile:
        profiler.disable()
        profiler.dump_stats(f"{profile}.{kind.replace(' ', '-')}")
    cpu1, busy1, fake1, db1 = tree_cpu(bot.proc.pid), machine_busy(), time.process_time(), services_cpu()
    methods = Counter(c.method.lower() for c in fake.calls[calls:])
    await bot.stop(timeout=90)
    fake._m_deletewebhook({})  # noqa: SLF001 - the next bot starts from a fresh webhook (no stale connections)
    per_process = sorted((cpu1[p] - cpu0.get(p, 0.0) for p in cpu1), reverse=True)
    n = len(messages)
    out: dict[str, Any] = {
        "rate": n / seconds, "seconds": seconds, "pressing": pressing,
        "api": sum(c for m, c in methods.items() if m not in ("getupdates", "setwebhook")) / n,
        "cpu_ms": sum(per_process) * 1000 / n, "split": [round(c, 2) for c in per_process if c > 0.05],
        "fake_ms": (fake1 - fake0) * 1000 / n, "db_ms": (db1 - db0) * 1000 / n,
        "busy": (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
    }
    if kind != "bare":
        out["stored"] = await stored_votes(url)
    return out


async def run_all(url: str, redis: str, residents: int, rounds: int, kinds: tuple[str, ...],
                  workdir: Path) -> dict[str, Any]:
    from benchmarks.polls import prepare_poll
    from bot.fakeapi import FakeTelegram

    await prepare_poll(url, residents)
    results: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    async with FakeTelegram(token=TOKEN, bot_username="bench_bot") as fake:
        sent, taps, messages = await poll_everyone(fake, url, residents, workdir, "setup.log")
        turn = 0
        for r in range(rounds):
            for kind in kinds:
                turn += 1
                res = await one_round(kind, url, redis, fake, taps, messages, turn, workdir)
                results[kind].append(res)
                print(f"  round {r + 1}: {kind:9} {res['rate']:7,.0f} votes/s ({res['seconds']:.2f} s; "
                      f"bot CPU {res['cpu_ms']:.2f} ms/vote, per process {res['split']} s; "
                      f"fake {res['fake_ms']:.2f} ms/vote; PostgreSQL + Redis {res['db_ms']:.2f} ms/vote; machine {res['busy']:.0%} busy)", flush=True)
        problems = []
        if taps.alerts:
            problems.append(f"{taps.alerts} answers were not 'Saved ✅' or alerts: {dict(taps.texts.most_common(3))}")
        for kind in kinds:
            for res in results[kind]:
                if kind != "bare" and res.get("stored") != residents:
                    problems.append(f"{kind}: {res.get('stored')} votes stored of {residents}")
    return {"results": results, "residents": residents, "problems": problems}


def report(run: dict[str, Any]) -> None:
    from benchmarks.polls import machine
    from bot.app import UPDATE_CONCURRENCY

    results = run["results"]
    med = {k: statistics.median(x["rate"] for x in v) for k, v in results.items()}
    print()
    header = ("bot", "votes/s (median; rounds)", "vs bare", "API calls/vote", "bot CPU ms/vote",
              "fake CPU ms/vote", "PostgreSQL+Redis CPU ms/vote", "machine busy")
    rows = []
    for kind, res in results.items():
        each = ", ".join(f"{x['rate']:,.0f}" for x in res)
        rows.append((kind, f"{med[kind]:,.0f} ({each})",
                     f"{med[kind] / med['bare']:.3f}" if "bare" in med else "-",
                     f"{statistics.median(x['api'] for x in res):.2f}",
                     f"{statistics.median(x['cpu_ms'] for x in res):.2f}",
                     f"{statistics.median(x['fake_ms'] for x in res):.2f}",
                     f"{statistics.median(x['db_ms'] for x in res):.2f}",
                     f"{statistics.median(x['busy'] for x in res):.0%}"))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    speedup = med["2 workers"] / med["1 worker"]
    print(f"2 workers / 1 worker: {speedup:.2f}x (target >= {TARGET_SPEEDUP}x: "
          f"{'yes' if speedup >= TARGET_SPEEDUP else 'NO'})")
    one = results["1 worker"]
    bot, rest = (statistics.median(x["cpu_ms"] for x in one),
                 statistics.median(x["fake_ms"] + x["db_ms"] for x in one))
    cores = os.cpu_count() or 1
    if bot and cores < 4:  # one worker takes a core; the others share what is left with the rest
        print(f"the ceiling on {cores} cores: one worker is bound by its core at {1000 / bot:,.0f} votes/s "
              f"({bot:.2f} ms of CPU a vote); N workers by all cores at {cores * 1000 / (bot + rest):,.0f} votes/s "
              f"(+ {rest:.2f} ms a vote of the fake, PostgreSQL and Redis on the same cores): at most "
              f"{cores * bot / (bot + rest):.2f}x, if nothing else runs")
    for problem in run["problems"]:
        print(f"PROBLEM: {problem}")
    print(f"medians of the rounds; {run['residents']:,} residents tapping at once; PostgreSQL + Redis; webhook "
          f"max_connections {UPDATE_CONCURRENCY} per worker (bare: {UPDATE_CONCURRENCY}); this machine has "
          f"{cores} cores, which the workers share with the fake Bot API (this process), PostgreSQL and Redis")
    print(machine())


async def main(args: argparse.Namespace) -> int:
    residents = args.residents or (600 if args.quick else 3_000)
    rounds = args.rounds or 3
    kinds = KINDS[:2] if args.no_bare else KINDS
    redis_url, redis = await free_redis_db(args.redis)
    try:
        url, name = await pg_database(args.pg)
        try:
            with tempfile.TemporaryDirectory(prefix="hromada-bench-votes-workers-") as tmp:
                print(f"PostgreSQL + Redis ({redis_url}): {residents:,} residents, {rounds} rounds of "
                      f"{' / '.join(kinds)} through the webhook ...", flush=True)
                try:
                    run = await run_all(url, redis_url, residents, rounds, kinds, Path(tmp))
                finally:
                    if args.keep_logs:
                        Path(args.keep_logs).mkdir(parents=True, exist_ok=True)
                        for log in Path(tmp).glob("*.log"):
                            (Path(args.keep_logs) / log.name).write_bytes(log.read_bytes())
        finally:
            await drop_pg(args.pg, name)
    finally:
        await redis.flushdb()
        await redis.aclose()
    report(run)
    return 1 if run["problems"] else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="600 residents instead of 3,000")
    parser.add_argument("--residents", type=int, help="residents tapping at once (overrides --quick)")
    parser.add_argument("--rounds", type=int, help="alternations (default 3)")
    parser.add_argument("--no-bare", action="store_true", help="leave the bare aiogram bot out")
    parser.add_argument("--pg", default=os.environ.get("HROMADA_TEST_PG", PG_DEFAULT), metavar="DSN",
                        help="PostgreSQL admin DSN (a scratch database is made next to it and dropped)")
    parser.add_argument("--redis", default=os.environ.get("HROMADA_TEST_REDIS", "redis://127.0.0.1:6379"),
                        metavar="URL", help="Redis server (an empty database number is used and emptied)")
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the bots' logs here")
    parser.add_argument("--child", choices=("bare",), help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.child == "bare":
        child_bare_webhook(arguments)
    else:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.exit(asyncio.run(main(arguments)))
