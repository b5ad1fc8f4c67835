"""Crash benchmark: residents tap while the real `hromada run` is SIGKILLed and SIGTERMed.

    .venv/bin/python benchmarks/crash.py [--quick] [--no-pg | --pg DSN] [--residents N] [--kills K]
                                         [--bot-root DIR] [--burst]

Half the residents register (switching two topics off: toggles), half tick two options of a
multiple-choice poll the delivery engine sent them (toggles too). Meanwhile the bot process is
SIGKILLed K times (default 5) and SIGTERMed once, at random moments, and started again each
time on the same database (tests/e2e/crash_driver.py). Printed: residents whose state is wrong
(a toggle applied twice, or lost), residents stuck (their next screen never came), replies that
came twice, updates Telegram still holds. ``--bot-root`` runs another checkout's bot (for a
side-by-side run against an older commit; the database is migrated with this checkout's
migrations).
"""
from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from delivery import both_parser, on_both  # noqa: E402

from tests.e2e import crash_driver  # noqa: E402


async def main() -> None:
    parser = both_parser(__doc__ or "")
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--bot-root", type=Path, default=None)
    parser.add_argument("--burst", action="store_true",
                        help="the first SIGKILL while every resident's two toggles are in flight at once")
    args = parser.parse_args()
    residents = 40 if args.quick else args.residents
    if args.bot_root is not None:
        crash_driver.ROOT = args.bot_root.resolve()
    print(f"{residents} residents, {args.kills} SIGKILL + 1 SIGTERM{' (the first in a burst)' if args.burst else ''}; "
          f"bot from {crash_driver.ROOT}")
    results: list[str] = []

    async def measure(url: str) -> None:
        with tempfile.TemporaryDirectory() as logs:
            out = await crash_driver.crash_run(url, registrants=residents // 2, voters=residents - residents // 2,
                                               kills=args.kills, sigterms=1, seed=args.seed, log_dir=Path(logs),
                                               timeout=180, burst=args.burst)
            print("  " + out.line())
            for line in (out.wrong + out.stuck)[:8]:
                print("    " + line)
            results.append(out.line())

    await on_both(args, "", measure)
    print("\ntarget: wrong 0, stuck 0, unconfirmed 0 (replies twice: at most what was in flight at a SIGKILL)")


if __name__ == "__main__":
    asyncio.run(main())
