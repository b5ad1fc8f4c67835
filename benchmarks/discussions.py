"""Online discussions at the scale of a city: how fast the next statement, a vote and the results come.

    .venv/bin/python benchmarks/discussions.py [--quick] [--no-pg | --pg DSN] [--people N]

For each database (a SQLite file in a temporary directory; a scratch PostgreSQL database next to
``--pg`` unless ``--no-pg``), not timed: one discussion with 100 statements and N participants
(default 5,000; ``--quick`` 1,000) in five districts, each voting on 25 statements drawn at
random, with three hidden opinion groups shaping the votes (N x 25 vote rows, inserted in bulk).

Timed (the service functions the handlers call; median and p95 printed):

1. ``next_statement()`` for a participant with 25 votes (what every vote tap computes), 20 runs;
2. ``vote()`` + commit, one resident after another (the write a tap makes), 20 runs;
3. ``results()``: loading every vote and the analysis (PCA, k-means for k = 2..5, silhouettes),
   what 📊 and the closing compute, 5 runs (after one untimed run that imports scikit-learn).

Targets: 1 under 50 ms median, 2 under 30 ms, 3 under 3 s (an organizer's button press with a
chart to follow). Missed targets are reported, not failed. Also printed: the opinion groups
found (the three planted ones should come back) and the process's peak memory.
"""
from __future__ import annotations

import asyncio
import random
import resource
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text  # noqa: E402

from benchmarks.delivery import both_parser, on_both  # noqa: E402
from benchmarks.proposals import timed  # noqa: E402
from bot.services import discussions as ds  # noqa: E402
from storage.db import create_engine, create_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Discussion, DiscussionParticipant, DiscussionStatement, DiscussionVote, User  # noqa: E402

NOW = datetime(2026, 12, 1, tzinfo=UTC)
STATEMENTS, PER_PERSON = 100, 25
DISTRICTS = ("dniprovskyi", "korabelnyi", "tsentralnyi", "ostriv", "suburbs")
TARGETS_MS = {"next statement": 50, "vote": 30, "results": 3000}
SECRET = b"benchmark"


async def seed(url: str, n: int) -> None:
    rng = random.Random(9)
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as s:
        discussion = Discussion(question={"uk": "Як має змінитися місто?"}, default_locale="uk", status="open",
                                audience={}, closes_at=NOW + timedelta(days=30), created_at=NOW)
        s.add(discussion)
        await s.flush()
        await s.execute(insert(DiscussionStatement), [
            {"discussion_id": discussion.id, "text": f"Твердження {i}", "norm": f"твердження {i}",
             "status": "approved", "seed": True, "created_at": NOW} for i in range(STATEMENTS)])
        await s.execute(insert(DiscussionParticipant), [
            {"discussion_id": discussion.id, "participant": f"p{i}", "district": DISTRICTS[i % 5], "created_at": NOW}
            for i in range(n)])
        sids = list(await s.scalars(select(DiscussionStatement.id).order_by(DiscussionStatement.id)))
        pids = list(await s.scalars(select(DiscussionParticipant.id).order_by(DiscussionParticipant.id)))
        leaning = [[rng.choice((1, -1)) for _ in sids] for _g in range(3)]  # each hidden group's view
        votes = []
        for n_person, pid in enumerate(pids):
            view = leaning[n_person % 3]
            for col in rng.sample(range(STATEMENTS), PER_PERSON):
                vote = view[col] if rng.random() < 0.85 else rng.choice((1, -1, 0))
                votes.append({"participant_id": pid, "statement_id": sids[col], "vote": vote, "created_at": NOW})
        for chunk in range(0, len(votes), 5000):
            await s.execute(insert(DiscussionVote), votes[chunk:chunk + 5000])
        await s.execute(text("UPDATE discussion_statements SET votes = (SELECT count(*) FROM discussion_votes v "
                             "WHERE v.statement_id = discussion_statements.id)"))
        await s.execute(insert(User), [{"telegram_id": 900_000 + i, "language": "uk", "topics": [],
                                        "district": "ostriv", "registered_at": NOW, "created_at": NOW,
                                        "updated_at": NOW} for i in range(21)])
        await s.commit()
        print(f"  seeded {n:,} participants, {STATEMENTS} statements, {len(votes):,} votes")
    await engine.dispose()


async def measure(url: str, n: int) -> None:
    await upgrade(url)
    await seed(url, n)
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    async with maker() as s:
        discussion = await s.scalar(select(Discussion))
        users = list(await s.scalars(select(User).order_by(User.id)))
        assert discussion is not None
        # the first user takes the key of a seeded participant with 25 votes
        key = ds.participant_key(SECRET, discussion.id, users[0].id)
        await s.execute(text("UPDATE discussion_participants SET participant = :k WHERE participant = 'p0'"), {"k": key})
        await s.commit()

    async def next_one(_i: int) -> None:
        async with maker() as s:
            found, seen, total = await ds.next_statement(s, discussion, users[0], key)
            assert found is not None and seen == PER_PERSON and total == STATEMENTS

    await timed("next statement", 20, next_one, TARGETS_MS)

    async def vote(i: int) -> None:
        async with maker() as s:
            user = users[1 + i]
            await ds.vote(s, discussion, 1 + i, "a", user, ds.participant_key(SECRET, discussion.id, user.id),
                          NOW)
            await s.commit()

    await timed("vote", 20, vote, TARGETS_MS)

    found: list[object] = []

    async def results(_i: int) -> None:
        async with maker() as s:
            found.append(await ds.results(s, discussion, 5))

    await results(0)  # imports scikit-learn (about a second, once per process)
    await timed("results", 5, results, TARGETS_MS)
    analysis = found[-1]
    print(f"  opinion groups found: {[g.size for g in analysis.groups]} ({analysis.groups_note});"  # type: ignore[attr-defined]
          f" common ground: {len(analysis.consensus)}, divisive: {len(analysis.divisive)}")  # type: ignore[attr-defined]
    await engine.dispose()


async def main() -> None:
    parser = both_parser(__doc__ or "")
    parser.add_argument("--people", type=int)
    args = parser.parse_args()
    n = args.people or (1_000 if args.quick else 5_000)
    await on_both(args, f" ({n:,} participants)", lambda url: measure(url, n))
    print(f"peak memory of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")

if __name__ == "__main__":
    asyncio.run(main())
