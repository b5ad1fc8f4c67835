"""The dashboard's pages at the scale of a city's year: how long the server takes and how much a
phone downloads.

    .venv/bin/python benchmarks/dashboard.py [--quick] [--no-pg | --pg DSN]

The data of benchmarks/impact.py (20,000 residents, 50,000 reports over a year, 300 events,
100 polls, 5,000 proposals, 40 organisations; ``--quick``: a tenth), on SQLite and PostgreSQL.
An admin signed in as a Mini App (``Authorization: tma …``) asks each main page 5 times through
the real aiohttp application (the one the webhook server mounts); printed: the median time to
the last byte, and the page's size, gzipped as a reverse proxy sends it, beside the size of the
static files it loads (cached by the browser after the first visit).

Targets (a phone on a slow mobile network): every page under 60 KB gzipped and under 500 ms on
the server, but Impact for a whole year, which computes the figures /stats does for a long
period (benchmarks/impact.py's target for those: 2 s); the dashboard's own scripts and styles
under 15 KB gzipped, Leaflet's (the reports page only) under 60 KB. Missed targets are reported,
not failed: a measurement, not a test.
"""
from __future__ import annotations

import asyncio
import gzip
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from sqlalchemy import select  # noqa: E402

from benchmarks.delivery import both_parser, on_both  # noqa: E402
from benchmarks.impact import seed  # noqa: E402
from bot.app import build_app  # noqa: E402
from bot.dashboard import mount  # noqa: E402
from bot.services import dashboard as dashboard_service  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Event, Poll, PollAnswer, PollQuestion, PollResponse  # noqa: E402
from tests.harness import ADMIN_ID, TOKEN, make_settings  # noqa: E402

PAGE_MS, PAGE_KB, OWN_STATIC_KB, LEAFLET_KB = 500, 60, 15, 60
LONG_PERIOD_MS = {"impact?period=year": 2000}  # the /stats figures for a long period
STATIC = re.compile(r'(?:src|href)="(/app/static/[^"?]+)')


def header() -> dict[str, str]:
    import json

    fields = {"user": json.dumps({"id": ADMIN_ID, "first_name": "Admin", "language_code": "uk"}),
              "auth_date": str(int(time.time()))}
    return {"Authorization": f"tma {dashboard_service.sign_init_data(fields, TOKEN)}"}


async def questions(app) -> None:  # type: ignore[no-untyped-def]
    """impact.py's polls have answers counted, not questions: each gets one single-choice
    question of four options, and every response an answer (the poll's page draws it)."""
    from sqlalchemy import insert

    async with app.sessionmaker() as s:
        for poll_id in list(await s.scalars(select(Poll.id))):
            question = PollQuestion(poll_id=poll_id, position=0, kind="single", text={"uk": f"Питання {poll_id}?"},
                                    options=[{"uk": f"Варіант {n}"} for n in range(4)])
            s.add(question)
            await s.flush()
            responses = list(await s.scalars(select(PollResponse.id).where(PollResponse.poll_id == poll_id)))
            if responses:
                await s.execute(insert(PollAnswer), [{"response_id": r, "question_id": question.id, "slot": -1,
                                                      "choice": r % 4} for r in responses])
        await s.commit()


async def measure(url: str, scale: float) -> None:
    await upgrade(url)
    await seed(url, scale)
    settings = make_settings(url, "http://127.0.0.1:9", dashboard_url="http://127.0.0.1/app/",
                             dashboard_auth_max_age=86400)
    app = await build_app(settings)
    await questions(app)
    async with app.sessionmaker() as s:
        poll_id = await s.scalar(select(Poll.id).order_by(Poll.id.desc()).limit(1))
        event_id = await s.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    pages = ["reports", "reports?age=7&district=ostriv", "polls", f"polls/{poll_id}", "events", f"events/{event_id}",
             "proposals", "recommendations", "impact", "impact?period=year"]
    root = web.Application()
    mount(root, app)
    missed = []
    async with TestClient(TestServer(root)) as client:
        static: dict[str, int] = {}
        print(f"  {'page':<28} {'median ms':>10} {'KB gzip':>8} {'KB raw':>8}")
        for page in pages:
            times, body = [], b""
            for _ in range(5):
                started = time.perf_counter()
                answer = await client.get(f"/app/{page}", headers=header())
                body = await answer.read()
                times.append((time.perf_counter() - started) * 1000)
                assert answer.status == 200, (page, answer.status, body[:300])
            ms, zipped = statistics.median(times), len(gzip.compress(body)) / 1024
            flag = "" if ms <= LONG_PERIOD_MS.get(page, PAGE_MS) and zipped <= PAGE_KB else "  (target missed)"
            if flag:
                missed.append(page)
            print(f"  {page:<28} {ms:>10.0f} {zipped:>8.1f} {len(body) / 1024:>8.1f}{flag}")
            for path in STATIC.findall(body.decode()):
                if path not in static:
                    static[path] = len(gzip.compress(await (await client.get(path)).read()))
        own = sum(v for k, v in static.items() if "/vendor/" not in k) / 1024
        leaflet = sum(v for k, v in static.items() if "/vendor/" in k) / 1024
        print(f"  static files, gzipped: the dashboard's own {own:.1f} KB (target {OWN_STATIC_KB}), "
              f"Leaflet {leaflet:.1f} KB (target {LEAFLET_KB})")
        if own > OWN_STATIC_KB or leaflet > LEAFLET_KB:
            missed.append("static files")
    print(f"  targets: {'all met' if not missed else 'missed for ' + ', '.join(missed)}")
    await app.close()


async def main() -> None:
    parser = both_parser(__doc__ or "")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    await on_both(args, "", lambda url: measure(url, scale))


if __name__ == "__main__":
    asyncio.run(main())
