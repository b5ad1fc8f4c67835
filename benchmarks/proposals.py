"""Proposals at the scale of a city: how fast /proposals pages, filters and the figures come.

    .venv/bin/python benchmarks/proposals.py [--quick] [--no-pg | --pg DSN] [--proposals N]

For each database (a SQLite file in a temporary directory; a scratch PostgreSQL database next to
``--pg`` unless ``--no-pg``), not timed: N proposals (default 20,000; ``--quick`` 2,000) from
N/4 residents over the districts of communities/kherson.toml and 40 organisations, 80 % of them
published, with 0-50 supporters each (about 25 x N/2 support rows), inserted in bulk.

Timed (the service functions the handlers call, each run 20 times; median and p95 printed):

1. ``public()`` page 1, all districts (what /proposals shows first);
2. ``public()`` page 50 (deep paging);
3. ``public()`` one district and one status;
4. ``counts()`` (the figures of /proposalstats: in all, per district, per organisation);
5. ``support()`` + commit, one resident after another (the write a tap makes).

Targets (for a bot answering a tap within a second, leaving room for Telegram's round trip):
1-3 under 50 ms median, 4 under 500 ms, 5 under 30 ms median. Missed targets are reported, not
failed: a measurement, not a test.
"""
from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402

from benchmarks.delivery import both_parser, on_both  # noqa: E402
from bot.community import load_community  # noqa: E402
from bot.services import proposals as ps  # noqa: E402
from storage.db import create_engine, create_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Organisation, Proposal, ProposalSupport, User  # noqa: E402

NOW = datetime(2026, 12, 1, tzinfo=UTC)
TARGETS_MS = {"page 1": 50, "page 50": 50, "district+status": 50, "counts": 500, "support": 30}


async def seed(url: str, n: int) -> None:
    community = load_community("communities/kherson.toml")
    districts = [d.code for d in community.districts] + [None]
    rng = random.Random(7)
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as s:
        people = max(n // 4, 60)
        await s.execute(insert(User), [
            {"telegram_id": 10_000 + i, "language": "uk", "topics": [], "district": rng.choice(districts[:-1]),
             "registered_at": NOW, "created_at": NOW, "updated_at": NOW} for i in range(people)])
        await s.execute(insert(Organisation), [
            {"name": {"uk": f"Організація {i}"}, "description": {}, "districts": [], "created_at": NOW}
            for i in range(40)])
        user_ids = list(await s.scalars(text("SELECT id FROM users ORDER BY id")))
        rows, supports = [], []
        for i in range(n):
            published = rng.random() < 0.8
            status = rng.choice(("published", "review", "accepted", "in_progress", "realised", "rejected")) \
                if published else rng.choice(("submitted", "changes", "withdrawn"))
            count = rng.randint(0, 50) if published else 0
            rows.append({
                "user_id": user_ids[i % len(user_ids)], "org_id": rng.randint(1, 40) if rng.random() < 0.3 else None,
                "title": f"Проєкт {i}", "problem": "Проблема " * 20, "solution": "Рішення " * 20,
                "district": rng.choice(districts), "category": rng.choice(ps.CATEGORIES), "language": "uk",
                "status": status, "progress": 0, "supporters": count, "created_at": NOW, "updated_at": NOW,
                "published_at": NOW if published else None,
                "accepted_at": NOW if status in ("accepted", "in_progress", "realised") else None,
                "realised_at": NOW if status == "realised" else None,
            })
        for chunk in range(0, len(rows), 2000):
            await s.execute(insert(Proposal), rows[chunk:chunk + 2000])
        proposal_ids = list(await s.scalars(text("SELECT id FROM proposals ORDER BY id")))
        for pid, row in zip(proposal_ids, rows, strict=True):
            for backer in rng.sample(user_ids, row["supporters"]):
                supports.append({"proposal_id": pid, "user_id": backer, "created_at": NOW})
        for chunk in range(0, len(supports), 5000):
            await s.execute(insert(ProposalSupport), supports[chunk:chunk + 5000])
        await s.commit()
        print(f"  seeded {n:,} proposals, {len(supports):,} supports, {people:,} residents")
    await engine.dispose()


async def timed(label: str, runs: int, work, targets: dict[str, float] = TARGETS_MS) -> dict[str, float]:  # type: ignore[no-untyped-def]
    times = []
    for i in range(runs):
        start = time.perf_counter()
        await work(i)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    median, p95 = statistics.median(times), times[int(len(times) * 0.95) - 1]
    target = targets[label]
    verdict = "met" if median <= target else "NOT met"
    print(f"  {label:<16} median {median:7.1f} ms   p95 {p95:7.1f} ms   target {target} ms: {verdict}")
    return {"median": median, "p95": p95}


async def measure(url: str, n: int) -> None:
    await upgrade(url)
    await seed(url, n)
    engine = create_engine(url)
    maker = create_sessionmaker(engine)

    async def page(number: int, **filters: object):  # type: ignore[no-untyped-def]
        async with maker() as s:
            items, total = await ps.public(s, page=number, **filters)  # type: ignore[arg-type]
            assert total > 0 and items

    await timed("page 1", 20, lambda _i: page(0))
    await timed("page 50", 20, lambda _i: page(49))
    await timed("district+status", 20, lambda _i: page(0, district="ostriv", status="published"))

    async def figures(_i: int) -> None:
        async with maker() as s:
            total, _d, by_org = await ps.counts(s)
            assert total.proposed and by_org

    await timed("counts", 20, figures)

    async with maker() as s:
        target = (await ps.public(s, status="published"))[0][0].id
        fresh = [User(telegram_id=900_000 + i, language="uk", topics=[], registered_at=NOW) for i in range(20)]
        s.add_all(fresh)
        await s.commit()
        ids = [u.id for u in fresh]

    async def support(i: int) -> None:
        async with maker() as s:
            user = await s.get(User, ids[i])
            await ps.support(s, target, user, NOW + timedelta(seconds=i))  # type: ignore[arg-type]
            await s.commit()

    await timed("support", 20, support)
    await engine.dispose()


async def main() -> None:
    parser = both_parser(__doc__ or "")
    parser.add_argument("--proposals", type=int)
    args = parser.parse_args()
    n = args.proposals or (2_000 if args.quick else 20_000)
    await on_both(args, f" ({n:,} proposals)", lambda url: measure(url, n))

if __name__ == "__main__":
    asyncio.run(main())
