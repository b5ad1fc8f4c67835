"""Fault benchmark: residents keep going while Telegram or the database fails under the real bot.

    .venv/bin/python benchmarks/faults.py [--quick] [--no-pg | --pg DSN] [--residents N]
                                          [--outage-minutes M]

The bot is the real `hromada run` subprocess against the fake Bot API in this process; half the
residents register (with topic toggles), half tick two options of a poll the delivery engine
sends them (tests/e2e/crash_driver.py). Each run injects one fault while they do:

1. 8 s of 502 on every call the bot makes but getUpdates (its replies and the outbox's sends);
2. 8 s of dropped connections (the fake closes each connection without answering);
3. a Telegram outage of ``--outage-minutes`` (default 10; ``--quick`` 1): every call fails, getUpdates too;
4. PostgreSQL only: the bot's database connections terminated twice, then connections refused
   for 5 s (ALLOW_CONNECTIONS false) and terminated again.

Printed per run: residents whose state is wrong (an update lost or applied twice; "saved" shown
for something not stored), residents stuck (a reply or the poll never came), replies twice,
updates left unconfirmed. Target: 0 lost, 0 wrong, 0 stuck.
"""
from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from delivery import both_parser, drop_pg, pg_database  # noqa: E402

from tests.e2e import crash_driver  # noqa: E402


def telegram_fault(seconds: float, code: int, updates_too: bool = False) -> Any:
    async def chaos(fake: Any, bot: Any, out: Any, done: Any) -> None:
        while fake._poll_seq == 0:  # the bot is up and polling (it does not start without Telegram)
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)
        fake.outage(None, code, "Bad Gateway" if code else "dropped", updates_too=updates_too)
        await asyncio.sleep(seconds)
        fake.heal()

    return chaos


def database_fault(admin_dsn: str, name: str) -> Any:
    import asyncpg

    async def terminate(conn: Any) -> int:
        return len(await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name))

    async def chaos(fake: Any, bot: Any, out: Any, done: Any) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            for _ in range(2):
                await asyncio.sleep(2.0)
                killed = await terminate(conn)
                print(f"    terminated {killed} connections", flush=True)
            await asyncio.sleep(1.5)
            await conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            await terminate(conn)
            await asyncio.sleep(5)
            await conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        finally:
            await conn.close()

    return chaos


async def main() -> None:
    parser = both_parser(__doc__ or "")
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--outage-minutes", type=float, default=None)
    parser.add_argument("--only-db", action="store_true", help="only the database fault (PostgreSQL)")
    parser.add_argument("--logs", type=Path, default=None, help="keep the bot's logs in this folder")
    args = parser.parse_args()
    residents = 30 if args.quick else args.residents
    minutes = args.outage_minutes if args.outage_minutes is not None else (1.0 if args.quick else 10.0)
    half = residents // 2
    faults = [("8 s of 502 on sends", telegram_fault(8, 502)),
              ("8 s of dropped connections", telegram_fault(8, 0)),
              (f"{minutes:g}-minute Telegram outage (getUpdates too)", telegram_fault(minutes * 60, 502, True))]
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        tmp = str(args.logs) if args.logs else scratch
        for n, (label, chaos) in enumerate([] if args.only_db else faults):
            for backend in ("SQLite", "PostgreSQL"):
                if backend == "PostgreSQL" and args.no_pg:
                    continue
                if backend == "SQLite":
                    url, name = f"sqlite+aiosqlite:///{tmp}/faults{n}.db", None
                else:
                    url, name = await pg_database(args.pg)
                try:
                    out = await crash_driver.run_residents(url, registrants=half, voters=residents - half, chaos=chaos,
                                                           timeout=minutes * 60 + 180, log_dir=Path(tmp),
                                                           label=f"-{n}-{backend}")
                finally:
                    if name:
                        await drop_pg(args.pg, name)
                rows.append(f"{label}, {backend}: {out.line()}")
                print(rows[-1], flush=True)
                for line in (out.wrong + out.stuck)[:5]:
                    print("    " + line)
        if not args.no_pg:
            url, name = await pg_database(args.pg)
            try:
                out = await crash_driver.run_residents(url, registrants=half, voters=residents - half,
                                                       chaos=database_fault(args.pg, name), log_dir=Path(tmp),
                                                       label="-db")
            finally:
                await drop_pg(args.pg, name)
            rows.append(f"database connections terminated and refused, PostgreSQL: {out.line()}")
            print(rows[-1], flush=True)
            for line in (out.wrong + out.stuck)[:5]:
                print("    " + line)
    print("\n".join(["", "Summary (target: wrong 0, stuck 0, unconfirmed 0):", *rows]))


if __name__ == "__main__":
    asyncio.run(main())
