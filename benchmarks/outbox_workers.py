"""The outbox with several workers and through a Telegram outage.

    .venv/bin/python benchmarks/outbox_workers.py [--quick] [--pg URL] [--redis URL]

The fake Bot API runs in this process, with Telegram's limits on (time-scaled); the delivery
engines run as real subprocesses (`--child`: the app of `hromada run`, its delivery engine only).

1. workers: two engines on one PostgreSQL database sharing one rate limit in Redis drain a
   2,000-recipient campaign; one is SIGKILLed midway and started again. Prints lost, duplicates
   (at most the killed engine's concurrency can be), completion messages (1) and 429s; then the same
   without Redis (each engine applies the limit on its own) for comparison.
2. outage: one engine (SQLite) sending a campaign while Telegram is down for 10 minutes,
   time-scaled x10 (60 s: 30 s of 502 answers to every call, then 30 s of refused connections;
   the engine's probe intervals scale with it, up to 3 s): prints failed and lost (0).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import delivery as base  # noqa: E402 - benchmarks/delivery.py: set-up shared with it

TOKEN = base.TOKEN
BASE_TG_ID = base.BASE_TG_ID
ORGANIZER = BASE_TG_ID - 1  # the progress chat: its progress message becomes the outcome


def completions(fake: Any) -> list[Any]:
    """The organizer's completion messages: the progress message edited into the outcome, and any
    other message saying it (there must be one in all)."""
    return [m for m in fake.bot_messages(ORGANIZER) if "sending finished" in m.text or "sending cancelled" in m.text]
PG_DEFAULT = base.PG_DEFAULT


# ---------------------------------------------------------------------------------- the engine (child)

def child_main(args: argparse.Namespace) -> None:
    import logging

    from bot.app import build_app
    from bot.config import Settings

    logging.basicConfig(level=logging.WARNING, format="child %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiogram").setLevel(logging.ERROR)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN, telegram_api_url=args.api, database_url=args.db, redis_url=args.redis or None,
        default_locale="en", timezone="Europe/Kyiv", quiet_hours="", send_rate_per_sec=args.rate,
        community_file=ROOT / "communities" / "kherson.toml",
    )

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        app = await build_app(settings)
        assert app.delivery is not None
        app.delivery.configure(time_scale=args.time_scale, concurrency=args.concurrency, lease=args.lease,
                               redis_prefix=args.redis_prefix)
        await app.delivery.start()
        await stop.wait()
        await app.close()

    asyncio.run(run())


class Child(base.Child):
    def __init__(self, db: str, api: str, *, rate: float, time_scale: float, concurrency: int, log: Path,
                 redis: str = "", prefix: str = "", lease: float = 5.0) -> None:
        super().__init__(db, api, rate=rate, time_scale=time_scale, concurrency=concurrency, log=log)
        self.cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--db", db, "--api", api,
                    "--rate", str(rate), "--time-scale", str(time_scale), "--concurrency", str(concurrency),
                    "--redis", redis, "--redis-prefix", prefix or "hromada:delivery", "--lease", str(lease)]


async def with_progress(url: str, residents: int, progress_message_id: int) -> int:
    """The benchmark's database and campaign, with an organizer's progress message (for the outcome)."""
    from sqlalchemy import update

    from storage.db import create_engine
    from storage.models import Campaign

    campaign_id = await base.prepare_database(url, residents)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(update(Campaign).where(Campaign.id == campaign_id)
                           .values(progress_chat_id=ORGANIZER, progress_message_id=progress_message_id))
    await engine.dispose()
    return campaign_id


def progress_message(fake: Any) -> int:
    """The organizer's progress message, as the bot would have sent it."""
    fake.user(ORGANIZER, first_name="Organizer")
    return int(fake._methods["sendmessage"]({"chat_id": ORGANIZER, "text": "Sending…"})["message_id"])


async def delivery_counts(url: str, campaign_id: int) -> dict[str, int]:
    from bot.services.campaigns import delivery_counts as counts
    from storage.db import create_engine, create_sessionmaker

    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        result = await counts(session, campaign_id)
    await engine.dispose()
    return result


async def workers(args: argparse.Namespace, workdir: Path, *, shared: bool, residents: int) -> dict[str, Any]:
    from bot.fakeapi import FakeTelegram, Limits

    scale, concurrency, lease = 5.0, 32, 5.0
    url, name = await base.pg_database(args.pg)
    prefix = f"hromada-bench:{uuid.uuid4().hex[:8]}"
    try:
        limits = Limits(enabled=True, time_scale=scale)
        async with FakeTelegram(token=TOKEN, bot_username="bench_bot", limits=limits) as fake:
            progress = progress_message(fake)
            campaign_id = await with_progress(url, residents, progress)
            base.fake_users(fake, residents)
            rec = base.Recorder()
            fake.on_bot_message = rec
            log = workdir / "workers.log"

            def child() -> Child:
                return Child(url, fake.base_url, rate=30.0, time_scale=scale, concurrency=concurrency, log=log,
                             redis=args.redis if shared else "", prefix=prefix, lease=lease)

            a, b = child(), child()
            await a.start()
            await b.start()
            await base.wait_until(lambda: rec.count >= residents // 3, timeout=300, child=b)
            rec.run = 1
            await a.stop(signal.SIGKILL)
            killed_at = len(rec.per_chat)
            a = child()
            await a.start()  # the restarted worker: a new worker id; the old leases expire
            started = time.monotonic()
            await base.wait_until(lambda: len(rec.per_chat) >= residents, timeout=300, child=b)
            await asyncio.sleep(lease + 2.0)  # the outcome; anything more would be a duplicate
            await a.stop()
            await b.stop()
            counts = await delivery_counts(url, campaign_id)
            summaries = completions(fake)
            return {
                "lost": sum(1 for i in range(residents) if rec.per_chat[BASE_TG_ID + i] == 0),
                "duplicates": sum(n - 1 for n in rec.per_chat.values() if n > 1),
                "summaries": len(summaries), "429": fake.stats["429"], "killed_at": killed_at,
                "counts": counts, "after_restart_s": time.monotonic() - started, "concurrency": concurrency,
            }
    finally:
        if shared:
            await clear_redis(args.redis, prefix)
        await base.drop_pg(args.pg, name)


async def clear_redis(url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def outage(workdir: Path, *, residents: int, outage_s: float, scale: float) -> dict[str, Any]:
    """502 to every call for half of ``outage_s``, then the server is gone (connections refused)."""
    from bot.fakeapi import FakeTelegram
    from bot.fakeapi.models import ApiError

    db = f"sqlite+aiosqlite:///{workdir / 'outage.db'}"
    fake = FakeTelegram(token=TOKEN, bot_username="bench_bot", port=free_port())
    await fake.start()
    try:
        progress = progress_message(fake)
        campaign_id = await with_progress(db, residents, progress)
        base.fake_users(fake, residents)
        rec = base.Recorder()
        fake.on_bot_message = rec
        # Telegram's clock runs ``scale`` times faster: 30 msg/s becomes 30 x scale, the probe
        # intervals (1 s growing to 30 s) become 1/scale of that
        child = Child(db, fake.base_url, rate=30.0, time_scale=scale, concurrency=32,
                      log=workdir / "outage.log")
        await child.start()
        await base.wait_until(lambda: rec.count >= residents // 10, timeout=120, child=child)
        real_call = fake._call

        async def bad_gateway(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            fake._record(method, params, ApiError(502, "Bad Gateway"))
            return 502, ApiError(502, "Bad Gateway").payload()

        sent_before = rec.count
        fake._call = bad_gateway  # type: ignore[method-assign]
        await asyncio.sleep(outage_s / 2)
        refused_from = len(fake.calls)
        await fake.stop()  # connections refused
        await asyncio.sleep(outage_s / 2)
        fake._call = real_call  # type: ignore[method-assign]
        await fake.start()
        back = time.monotonic()
        during = await delivery_counts(db, campaign_id)
        await base.wait_until(lambda: len(rec.per_chat) >= residents, timeout=600, child=child)
        drained = time.monotonic() - back
        await asyncio.sleep(2.0)
        await child.stop()
        counts = await delivery_counts(db, campaign_id)
        return {
            "lost": sum(1 for i in range(residents) if rec.per_chat[BASE_TG_ID + i] == 0),
            "failed": counts.get("failed", 0), "failed_during": during.get("failed", 0),
            "duplicates": sum(n - 1 for n in rec.per_chat.values() if n > 1),
            "502s": sum(1 for c in fake.calls[:refused_from] if c.error_code == 502),
            "summaries": len(completions(fake)),
            "sent_before": sent_before, "drained_s": drained, "counts": counts,
        }
    finally:
        await fake.stop()


async def main(args: argparse.Namespace) -> None:
    residents = 2_000
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="hromada-bench-") as tmp:
        workdir = Path(tmp)
        if not args.no_workers:
            print(f"1. two engines, PostgreSQL + Redis, {residents:,} recipients, one SIGKILLed and restarted ...",
                  flush=True)
            res = await workers(args, workdir, shared=True, residents=residents)
            rows += [
                ("workers (Redis): lost", str(res["lost"])),
                ("workers (Redis): duplicates", f"{res['duplicates']} (<= the killed engine's concurrency, "
                                                f"{res['concurrency']})"),
                ("workers (Redis): summaries", str(res["summaries"])),
                ("workers (Redis): 429 responses", str(res["429"])),
                ("workers (Redis): killed after residents reached", str(res["killed_at"])),
                ("workers (Redis): outbox at the end", str(res["counts"])),
            ]
            print("   the same without Redis (each engine limits itself) ...", flush=True)
            res = await workers(args, workdir, shared=False, residents=residents)
            rows += [
                ("workers (no Redis): 429 responses", str(res["429"])),
                ("workers (no Redis): lost / duplicates / summaries",
                 f"{res['lost']} / {res['duplicates']} / {res['summaries']}"),
            ]
        outage_s = 20.0 if args.quick else 60.0
        scale = 600.0 / outage_s
        print(f"2. a 10-minute outage time-scaled x{scale:g} ({outage_s:g} s), SQLite, 1,000 recipients ...",
              flush=True)
        res = await outage(workdir, residents=1_000, outage_s=outage_s, scale=scale)
        rows += [
            ("outage: lost", str(res["lost"])),
            ("outage: failed (during / at the end)", f"{res['failed_during']} / {res['failed']}"),
            ("outage: duplicates", str(res["duplicates"])),
            ("outage: summaries", str(res["summaries"])),
            ("outage: 502 answers during the outage", str(res["502s"])),
            ("outage: drained after Telegram came back", f"{res['drained_s']:.1f} s"),
            ("outage: outbox at the end", str(res["counts"])),
        ]
    width = max(len(k) for k, _ in rows)
    print()
    print(f"{'measure'.ljust(width)}  result")
    print(f"{'-' * width}  {'-' * 40}")
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a 20 s outage instead of 60 s")
    parser.add_argument("--pg", default=os.environ.get("HROMADA_TEST_PG", PG_DEFAULT))
    parser.add_argument("--redis", default=os.environ.get("HROMADA_TEST_REDIS", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--no-workers", action="store_true", help="only the outage run")
    # the engine subprocess
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=30.0, help=argparse.SUPPRESS)
    parser.add_argument("--time-scale", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=32, help=argparse.SUPPRESS)
    parser.add_argument("--lease", type=float, default=5.0, help=argparse.SUPPRESS)
    parser.add_argument("--redis-prefix", default="hromada:delivery", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.child:
        child_main(arguments)
    else:
        asyncio.run(main(arguments))
