"""Impact figures, the council report and the digest at the scale of a city's year.

    .venv/bin/python benchmarks/impact.py [--quick] [--no-pg | --pg DSN]

For each database (a SQLite file in a temporary directory; a scratch PostgreSQL database next to
``--pg`` unless ``--no-pg``), not timed: 20,000 residents, 50,000 reports over the past year
(each with its "created" entry, 80 % answered, 60 % resolved), 300 events with 30 answers each,
100 polls each sent to 1,000 residents and answered by 300, 5,000 proposals, 40 organisations
(``--quick``: a tenth of each), inserted in bulk.

Timed (the service functions the handlers call, each run 5 times; median printed):

1. ``figures()`` for the last 30 days (what /stats answers first);
2. ``figures()`` for all time;
3. ``council()`` for a quarter (the data of /report_for_council, before the HTML);
4. ``digest()`` for a week (what the weekly digest job computes once).

Targets (an organizer waits for an answer to a command, rarely): 1 under 500 ms, 2 under 2 s,
3 under 3 s, 4 under 1 s. Missed targets are reported, not failed: a measurement, not a test.
"""
from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402

from benchmarks.delivery import both_parser, on_both  # noqa: E402
from bot.community import load_community  # noqa: E402
from bot.services import impact  # noqa: E402
from storage.db import create_engine, create_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    Campaign,
    Delivery,
    Event,
    EventRsvp,
    Organisation,
    Poll,
    PollResponse,
    Proposal,
    Report,
    ReportEvent,
    User,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)
TZ = ZoneInfo("Europe/Kyiv")
TARGETS_MS = {"figures 30 days": 500, "figures all time": 2000, "council quarter": 3000, "digest week": 1000}


def ago(rng: random.Random, days: int = 365) -> datetime:
    return NOW - timedelta(seconds=rng.randint(3600, days * 86400))


async def chunks(s, model, rows: list[dict], size: int = 5000) -> None:  # type: ignore[no-untyped-def]
    for start in range(0, len(rows), size):
        await s.execute(insert(model), rows[start:start + size])


async def seed(url: str, scale: float) -> None:
    community = load_community("communities/kherson.toml")
    districts = [d.code for d in community.districts]
    categories = [c.code for c in community.categories]
    rng = random.Random(8)
    n = lambda v: max(int(v * scale), 10)  # noqa: E731
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as s:
        await chunks(s, Organisation, [{"name": {"uk": f"Організація {i}"}, "description": {}, "districts": [],
                                        "created_at": NOW - timedelta(days=400)} for i in range(40)])
        people = []
        for i in range(n(20_000)):
            when = ago(rng)
            people.append({"telegram_id": 10_000 + i, "language": rng.choice(("uk", "uk", "ru", "bg")), "topics": [],
                           "district": rng.choice(districts), "registered_at": when, "created_at": when,
                           "updated_at": when})
        await chunks(s, User, people)
        user_ids = list(await s.scalars(text("SELECT id FROM users ORDER BY id")))
        reports = []
        for _ in range(n(50_000)):
            when = ago(rng)
            reports.append({"user_id": rng.choice(user_ids), "category": rng.choice(categories),
                            "district": rng.choice(districts), "description": "Проблема", "status": "new",
                            "created_at": when, "updated_at": when})
        await chunks(s, Report, reports)
        report_rows = list(await s.execute(text("SELECT id, created_at FROM reports ORDER BY id")))
        events = []
        for (report_id, _c), row in zip(report_rows, reports, strict=True):
            created = row["created_at"]
            events.append({"report_id": report_id, "action": "created", "new_status": "new", "created_at": created})
            if rng.random() < 0.8:
                events.append({"report_id": report_id, "action": "accept", "created_at": created + timedelta(hours=rng.randint(1, 48))})
            if rng.random() < 0.6:
                events.append({"report_id": report_id, "action": "resolve", "created_at": created + timedelta(days=rng.randint(1, 20))})
        await chunks(s, ReportEvent, events)
        await chunks(s, Event, [{"kind": "workshop", "title": {"uk": f"Подія {i}"}, "description": {},
                                 "starts_at": (start := ago(rng)), "ends_at": start + timedelta(hours=2),
                                 "default_locale": "uk", "status": "scheduled", "version": 1,
                                 "checkin_token": f"t{i}", "created_at": start, "updated_at": start}
                                for i in range(n(300))])
        event_ids = list(await s.scalars(text("SELECT id FROM events")))
        await chunks(s, EventRsvp, [{"event_id": e, "user_id": u, "status": "going", "created_at": NOW,
                                     "updated_at": NOW, "attended_at": NOW if rng.random() < 0.6 else None,
                                     "feedback_score": rng.choice((None, 3, 4, 5))}
                                    for e in event_ids for u in rng.sample(user_ids, 30)])
        for i in range(n(100)):
            when = ago(rng)
            campaign = (await s.execute(insert(Campaign).returning(Campaign.id), [{
                "kind": "poll", "payload": {}, "audience": {}, "status": "done", "urgent": False, "send_at": when,
                "created_at": when, "total": 1000}])).scalar_one()
            poll = (await s.execute(insert(Poll).returning(Poll.id), [{
                "title": {"uk": f"Опитування {i}"}, "anonymous": True, "status": "closed", "audience": {},
                "default_locale": "uk", "created_at": when, "closed_at": when + timedelta(days=7),
                "campaign_id": campaign}])).scalar_one()
            chosen = rng.sample(user_ids, min(1000, len(user_ids)))
            await chunks(s, Delivery, [{"campaign_id": campaign, "user_id": u, "status": "sent", "attempts": 1,
                                        "next_attempt_at": when} for u in chosen])
            await chunks(s, PollResponse, [{"poll_id": poll, "participant": f"{poll}-{u}", "district": "ostriv",
                                            "language": "uk", "step": 1, "created_at": when, "completed_at": when}
                                           for u in chosen[:300]])
        await chunks(s, Proposal, [{"user_id": rng.choice(user_ids), "title": f"Проєкт {i}", "problem": "П",
                                    "solution": "Р", "district": rng.choice(districts), "category": "other",
                                    "language": "uk", "status": "published", "progress": 0,
                                    "supporters": rng.randint(0, 50), "created_at": (when := ago(rng)),
                                    "updated_at": when, "published_at": when} for i in range(n(5_000))])
        await s.commit()
        print(f"  seeded {len(people):,} residents, {len(reports):,} reports ({len(events):,} entries), "
              f"{len(event_ids):,} events, {n(100)} polls, {n(5_000):,} proposals")
    await engine.dispose()


async def timed(label: str, work) -> None:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(5):
        start = time.perf_counter()
        await work()
        times.append((time.perf_counter() - start) * 1000)
    median, target = statistics.median(times), TARGETS_MS[label]
    print(f"  {label:<18} median {median:8.1f} ms   target {target} ms: {'met' if median <= target else 'NOT met'}")


async def measure(url: str, scale: float) -> None:
    await upgrade(url)
    await seed(url, scale)
    engine = create_engine(url)
    maker = create_sessionmaker(engine)

    async def figures(asked: str) -> None:
        async with maker() as s:
            period = impact.parse_period(asked, NOW, TZ, await impact.first_data(s))
            assert (await impact.figures(s, period, NOW)).reports_received

    async def council() -> None:
        async with maker() as s:
            data = await impact.council(s, impact.parse_period("2026-09-01 2026-11-30", NOW, TZ), NOW, 5)
            assert data.hotspots

    async def digest() -> None:
        async with maker() as s:
            assert "reports" in await impact.digest(s, NOW - timedelta(days=7), NOW, NOW, 5)

    await timed("figures 30 days", lambda: figures("30d"))
    await timed("figures all time", lambda: figures("all"))
    await timed("council quarter", council)
    await timed("digest week", digest)
    await engine.dispose()


async def main() -> None:
    parser = both_parser(__doc__ or "")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    await on_both(args, "", lambda url: measure(url, scale))

if __name__ == "__main__":
    asyncio.run(main())
