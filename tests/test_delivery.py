"""The delivery engine through the real app and the fake Bot API, on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from bot.delivery import Media, Outgoing, RenderContext, register_kind
from bot.delivery.limiter import RateLimiter
from bot.delivery.quiet import QuietHours
from bot.fakeapi import Limits
from bot.fakeapi.models import ApiError
from bot.i18n import esc
from bot.services import campaigns as cs
from bot.services import users as us
from bot.services.campaigns import Audience
from bot.services.errors import DomainError
from storage.db import create_engine, create_sessionmaker
from storage.models import Campaign, Delivery, MediaFile, User
from tests.delivery_helpers import (
    GREETING,
    Clock,
    bot_texts,
    close_engine,
    counts,
    engine,
    finished,
    many_residents,
    organizer,
    resident,
    second_engine,
    status,
    tune,
    until,
)
from tests.harness import ORGANIZERS_CHAT, Harness

KYIV = ZoneInfo("Europe/Kyiv")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def render_echo(ctx: RenderContext) -> Outgoing:
    """Test kind: the payload's text per language; the recipient's name proves per-user rendering."""
    texts = ctx.payload["texts"]
    body = texts.get(ctx.locale) or texts["en"]
    name = esc(ctx.user.display_name) if ctx.user else "group"
    media = Media("photo", data=PNG, filename="poster.png") if ctx.payload.get("photo") else None
    return Outgoing(text=f"{body}, {name} [{ctx.locale}]", media=media)


register_kind("test-echo", render_echo)


async def enqueue(h: Harness, audience: Audience | None = None, *, texts: dict[str, str] | None = None,
                  urgent: bool = False, send_at: datetime | None = None, now: datetime | None = None,
                  **payload: Any) -> int:
    async with h.db() as s:
        campaign = await cs.create_campaign(
            s, kind="test-echo", payload={"texts": texts or GREETING, **payload}, audience=audience or Audience(),
            urgent=urgent, send_at=send_at, now=now,
        )
        await s.commit()
    engine(h).wake()
    return campaign.id


# ------------------------------------------------------------------ pure parts

def test_quiet_hours_wrap_midnight_and_end() -> None:
    quiet = QuietHours((22 * 60, 8 * 60), KYIV)
    at = lambda h, m=0: datetime(2026, 7, 1, h, m, tzinfo=KYIV).astimezone(UTC)  # noqa: E731
    assert quiet.is_quiet(at(23)) and quiet.is_quiet(at(3)) and quiet.is_quiet(at(22))
    assert not quiet.is_quiet(at(8)) and not quiet.is_quiet(at(12)) and not quiet.is_quiet(at(21, 59))
    assert quiet.ends_at(at(23)) == datetime(2026, 7, 2, 8, 0, tzinfo=KYIV)
    assert quiet.ends_at(at(3)) == datetime(2026, 7, 1, 8, 0, tzinfo=KYIV)
    assert quiet.ends_at(at(12)) is None
    assert not QuietHours(None, KYIV).is_quiet(at(23))


def test_parse_when_local_time_to_utc() -> None:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv
    assert cs.parse_when("25.12 18:30", now, KYIV) == datetime(2026, 12, 25, 16, 30, tzinfo=UTC)
    assert cs.parse_when("25.12.2026 18:30", now, KYIV) == datetime(2026, 12, 25, 16, 30, tzinfo=UTC)
    assert cs.parse_when("18:30", now, KYIV) == datetime(2026, 11, 23, 16, 30, tzinfo=UTC)
    assert cs.parse_when("05.01 18:00", now, KYIV) == datetime(2027, 1, 5, 16, 0, tzinfo=UTC)  # next year's
    for bad, code in [("11:59", "time_past"), ("23.11 12:00", "time_past"), ("31.02 10:00", "time_format"),
                      ("tomorrow", "time_format"), ("01.01.2029 10:00", "time_too_far")]:
        with pytest.raises(DomainError) as err:
            cs.parse_when(bad, now, KYIV)
        assert err.value.code == code


async def test_limiter_spaces_sends_and_respects_429_pause() -> None:
    t = [0.0]

    async def sleep(seconds: float) -> None:  # a virtual clock: no real waiting
        t[0] += max(seconds, 0.0)

    limiter = RateLimiter(rate=10, time_scale=1.0, clock=lambda: t[0], guard=0.0, sleep=sleep)
    stamps = []
    for chat in range(1, 21):
        assert await limiter.acquire(chat) == 0
        stamps.append(t[0])
    # 10 per second overall, evenly spaced
    assert all(b - a >= 0.1 - 1e-9 for a, b in zip(stamps, stamps[1:], strict=False))
    # the same private chat again within a second: deferred rather than waited for
    assert await limiter.acquire(20, max_chat_wait=0.0) > 0
    # a group: 20 a minute
    assert await limiter.acquire(-100) == 0
    assert await limiter.acquire(-100, max_chat_wait=0.0) == pytest.approx(3.0, abs=0.01)
    limiter.pause(3)
    before = t[0]
    assert await limiter.acquire(99) == 0
    assert t[0] - before >= 3 - 1e-9


# ------------------------------------------------------------------ through the app

async def test_campaign_reaches_targeted_residents_in_their_language(harness: Harness) -> None:
    tune(harness, time_scale=20)
    targeted = {}
    for i, lang in enumerate(["en", "uk", "ru", "bg", "uk", "en"]):
        targeted[2000 + i] = lang
        await resident(harness, 2000 + i, lang, district="ostriv")
    await resident(harness, 2100, "uk", district="korabelnyi")           # other district
    await resident(harness, 2101, "uk", district="ostriv", topics=())    # not interested
    harness.user(2102, language_code="uk")                               # never registered
    async with harness.db() as s:
        await us.ensure_user(s, 2102, "uk")
        await s.commit()

    campaign_id = await enqueue(harness, Audience(districts=["ostriv"], topics=["polls"]),
                                texts={"en": "Hello", "uk": "Привіт"})  # no ru/bg translation
    result = await finished(harness, campaign_id)
    assert result == {"sent": len(targeted)}
    expected = {"en": "Hello", "uk": "Привіт", "ru": "Hello", "bg": "Hello"}
    for tg_id, lang in targeted.items():
        assert bot_texts(harness, tg_id) == [f"{expected[lang]}, R{tg_id} [{lang}]"]
    for outsider in (2100, 2101, 2102):
        assert bot_texts(harness, outsider) == []
    async with harness.db() as s:
        rows = (await s.scalars(select(Delivery).where(Delivery.campaign_id == campaign_id))).all()
        campaign = await s.get(Campaign, campaign_id)
    assert all(r.message_id and r.attempts == 1 and r.sent_at for r in rows)
    assert campaign is not None and campaign.status == "done" and campaign.total == len(targeted)


async def test_enqueue_twice_creates_no_second_row(harness: Harness) -> None:
    tune(harness)
    ids = [await resident(harness, 2200 + i) for i in range(3)]
    async with harness.db() as s:
        first = await cs.create_campaign(s, kind="test-echo", payload={"texts": GREETING}, audience=Audience(),
                                         key="digest:2026-W48", send_at=datetime.now(UTC) + timedelta(days=1))
        again = await cs.create_campaign(s, kind="test-echo", payload={"texts": GREETING}, audience=Audience(),
                                         key="digest:2026-W48")
        assert again.id == first.id
        assert await cs.add_recipients(s, first.id, user_ids=ids) == 3
        assert await cs.add_recipients(s, first.id, user_ids=ids + ids) == 0
        assert await cs.add_recipients(s, first.id, chat_ids=[ORGANIZERS_CHAT, ORGANIZERS_CHAT]) == 1
        assert await cs.add_recipients(s, first.id, chat_ids=[ORGANIZERS_CHAT]) == 0
        first.send_at = datetime.now(UTC)
        assert await cs.start_campaign(s, first.id)      # resolves the audience again: nobody twice
        assert not await cs.start_campaign(s, first.id)  # already running
        await s.commit()
        total = await s.scalar(select(func.count()).select_from(Delivery).where(Delivery.campaign_id == first.id))
    assert total == 4


async def test_group_chat_recipient_gets_default_language(harness: Harness) -> None:
    tune(harness)
    harness.fake.group(ORGANIZERS_CHAT, "Organizers")
    campaign_id = await enqueue(harness, Audience(residents=False, chat_ids=[ORGANIZERS_CHAT]))
    assert await finished(harness, campaign_id) == {"sent": 1}
    assert bot_texts(harness, ORGANIZERS_CHAT) == ["Hello, group [en]"]


async def test_429_storm_everyone_gets_exactly_one(harness: Harness) -> None:
    fake = harness.fake
    fake.limits = Limits(enabled=True, time_scale=10, global_per_sec=30)
    # the engine believes it may send 4x faster than the fake allows: a storm of 429s
    tune(harness, time_scale=10, rate_per_sec=120)
    chats = [2300 + i for i in range(120)]
    for tg_id in chats:
        await resident(harness, tg_id)
    campaign_id = await enqueue(harness)
    assert await finished(harness, campaign_id, timeout=20) == {"sent": len(chats)}
    assert fake.stats["429"] > 0 and engine(harness).counters["429"] > 0
    assert all(len(fake.bot_messages(c)) == 1 for c in chats)
    assert engine(harness).limiter.pauses > 0
    async with harness.db() as s:
        attempts = (await s.scalars(select(Delivery.attempts).where(Delivery.campaign_id == campaign_id))).all()
    assert set(attempts) == {1}  # a 429 is not a failed attempt


async def test_blocked_and_missing_chats_become_unreachable_without_retries(harness: Harness) -> None:
    harness.expect_rejected = lambda c: c.error_code == 403 or "chat not found" in (c.description or "")  # what it is about
    tune(harness, time_scale=20, backoff_base=0.01)
    fine = await resident(harness, 2400)
    await resident(harness, 2401)
    await resident(harness, 2402, fake=False)  # Telegram: "chat not found"
    harness.user(2401).block()
    await harness.fake.settle()
    async with harness.db() as s:  # the my_chat_member update already marked them; start clean
        await s.execute(update(User).values(unreachable_at=None))
        await s.commit()
    campaign_id = await enqueue(harness)
    assert await finished(harness, campaign_id) == {"sent": 1, "blocked": 2}
    tries = Counter(c.params.get("chat_id") for c in harness.fake.calls_to("sendMessage"))
    assert tries[2401] == 1 and tries[2402] == 1
    async with harness.db() as s:
        unreachable = set((await s.scalars(select(User.telegram_id).where(User.unreachable_at.is_not(None)))).all())
        errors = (await s.scalars(select(Delivery.error).where(Delivery.status == "blocked"))).all()
    assert unreachable == {2401, 2402}
    assert any("blocked" in (e or "") for e in errors) and any("chat not found" in (e or "") for e in errors)

    # the next campaign does not even try them
    second = await enqueue(harness)
    assert await finished(harness, second) == {"sent": 1}
    # ... until the resident writes again (UserMiddleware clears unreachable_at)
    blocked = harness.user(2401)
    blocked.unblock()
    await blocked.send("hi")
    third = await enqueue(harness)
    assert await finished(harness, third) == {"sent": 2}
    assert fine


async def test_server_errors_retry_with_backoff_then_fail(harness: Harness) -> None:
    tune(harness, time_scale=20, backoff_base=0.01, max_retries=5)
    fake = harness.fake
    flaky, broken, fine = 2500, 2501, 2502
    for tg_id in (flaky, broken, fine):
        await resident(harness, tg_id)
    failures: Counter[int] = Counter()
    original = fake._methods["sendmessage"]

    def send(p: dict[str, Any]) -> Any:  # the fake has no fault injection: wrap its method
        chat = p.get("chat_id")
        if (chat == flaky and failures[chat] < 2) or chat == broken:
            failures[chat] += 1
            raise ApiError(502, "Bad Gateway")
        return original(p)

    fake._methods["sendmessage"] = send
    campaign_id = await enqueue(harness)
    assert await finished(harness, campaign_id) == {"sent": 2, "failed": 1}
    async with harness.db() as s:
        rows = {r.user_id: r for r in (await s.scalars(select(Delivery).where(Delivery.campaign_id == campaign_id)))}
        by_tg = {u.id: u.telegram_id for u in (await s.scalars(select(User)))}
    rows = {by_tg[k]: v for k, v in rows.items()}
    assert rows[flaky].status == "sent" and rows[flaky].attempts == 3
    assert rows[broken].status == "failed" and rows[broken].attempts == 6 and "Bad Gateway" in rows[broken].error
    assert failures[broken] == 6  # one try and five retries, then it gives up
    assert len(fake.bot_messages(flaky)) == 1


async def test_quiet_hours_wait_unless_urgent(harness: Harness) -> None:
    night = datetime(2026, 7, 1, 23, 0, tzinfo=KYIV).astimezone(UTC)
    clock = Clock(night)
    eng = tune(harness, time_scale=20, now=clock, quiet_hours=(22 * 60, 8 * 60), tz=KYIV)
    for tg_id in (2600, 2601):
        await resident(harness, tg_id)
    calm = await enqueue(harness, now=night)
    await harness.fake.wait_for(lambda: eng.is_idle)
    assert await status(harness, calm) == "running" and await counts(harness, calm) == {"pending": 2}
    assert bot_texts(harness, 2600) == []

    urgent = await enqueue(harness, texts={"en": "Water pipe burst"}, urgent=True, now=night)
    await finished(harness, urgent)
    assert bot_texts(harness, 2600) == ["Water pipe burst, R2600 [en]"]
    assert await counts(harness, calm) == {"pending": 2}

    clock.set(datetime(2026, 7, 2, 8, 1, tzinfo=KYIV).astimezone(UTC))
    eng.wake()
    assert await finished(harness, calm) == {"sent": 2}
    assert bot_texts(harness, 2601)[-1] == "Hello, R2601 [en]"


async def test_scheduled_campaign_waits_for_its_time(harness: Harness) -> None:
    start = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    clock = Clock(start)
    eng = tune(harness, time_scale=20, now=clock, quiet_hours=None)
    armed: list[float] = []
    scheduler_arm = eng.on_next_due
    eng.on_next_due = lambda delay: (armed.append(delay), scheduler_arm and scheduler_arm(delay))  # type: ignore[func-returns-value]
    await resident(harness, 2700)
    campaign_id = await enqueue(harness, send_at=start + timedelta(hours=2), now=start)
    await harness.fake.wait_for(lambda: eng.is_idle and armed)
    assert await status(harness, campaign_id) == "scheduled" and bot_texts(harness, 2700) == []
    assert 7100 < armed[-1] <= 7200  # the scheduler is armed for the send time
    assert harness.app is not None and harness.app.scheduler.get_job("delivery-due") is not None

    clock.set(start + timedelta(hours=2, seconds=1))
    eng.wake()
    assert await finished(harness, campaign_id) == {"sent": 1}


async def test_photo_is_uploaded_once_then_sent_by_file_id(harness: Harness) -> None:
    tune(harness, time_scale=20)
    chats = [2800 + i for i in range(8)]
    for tg_id in chats:
        await resident(harness, tg_id)
    campaign_id = await enqueue(harness, photo=True)
    assert await finished(harness, campaign_id) == {"sent": len(chats)}
    fake = harness.fake
    assert fake.upload_count == 1
    file_ids = {fake.bot_messages(c)[0].file_id for c in chats}
    assert len(file_ids) == 1 and fake.files[file_ids.pop()] == PNG
    await harness.restart()  # the file_id is remembered in the database
    again = await enqueue(harness, photo=True)
    assert await finished(harness, again) == {"sent": len(chats)}
    assert fake.upload_count == 1
    async with harness.db() as s:
        assert await s.scalar(select(func.count()).select_from(MediaFile)) == 1


async def test_cancel_mid_way_stops_sending(harness: Harness) -> None:
    eng = tune(harness, rate_per_sec=40, time_scale=1)
    chats = [2900 + i for i in range(40)]
    for tg_id in chats:
        await resident(harness, tg_id)
    campaign_id = await enqueue(harness)
    fake = harness.fake
    await fake.wait_for(lambda: sum(bool(fake.bot_messages(c)) for c in chats) >= 5)
    async with harness.db() as s:
        assert await cs.cancel_campaign(s, campaign_id)
        await s.commit()
    eng.cancelled(campaign_id)
    result = await finished(harness, campaign_id)
    sent = sum(len(fake.bot_messages(c)) for c in chats)
    assert result["sent"] == sent and result["cancelled"] == len(chats) - sent and sent < len(chats)
    assert await status(harness, campaign_id) == "cancelled"
    async with harness.db() as s:
        assert not await cs.cancel_campaign(s, campaign_id)  # already cancelled


async def test_restart_mid_campaign_sends_each_exactly_once(harness: Harness) -> None:
    tune(harness, rate_per_sec=60, time_scale=1)
    chats = [3000 + i for i in range(60)]
    for tg_id in chats:
        await resident(harness, tg_id)
    campaign_id = await enqueue(harness)
    fake = harness.fake
    await fake.wait_for(lambda: sum(bool(fake.bot_messages(c)) for c in chats) >= 10)
    await harness.restart()  # a graceful stop: what was in flight finishes and is recorded
    assert await finished(harness, campaign_id) == {"sent": len(chats)}
    assert [len(fake.bot_messages(c)) for c in chats] == [1] * len(chats)


async def test_rows_in_flight_at_a_crash_are_sent_after_restart(harness: Harness) -> None:
    """What a SIGKILL leaves behind: rows marked sending. The next start sends them (the benchmark
    kills a real process; here the crash is simulated in the database)."""
    tune(harness)
    chats = [3100 + i for i in range(5)]
    for tg_id in chats:
        await resident(harness, tg_id)
    await harness.stop()
    db = create_engine(harness.settings.database_url)
    async with create_sessionmaker(db)() as s:
        campaign = await cs.create_campaign(s, kind="test-echo", payload={"texts": GREETING}, audience=Audience())
        await cs.start_campaign(s, campaign.id)
        await s.execute(update(Delivery).values(status="sending", attempts=1))
        await s.commit()
        campaign_id = campaign.id
    await db.dispose()
    await harness.start()
    assert await finished(harness, campaign_id) == {"sent": len(chats)}
    assert all(len(harness.fake.bot_messages(c)) == 1 for c in chats)


# ------------------------------------------------------------------ several engines, outages, leases

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis_client() -> Any:
    """A Redis connection and a key prefix of this test's own; its keys are deleted afterwards."""
    import os
    import uuid

    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001
        await client.aclose()
        if os.environ.get("CI") or os.environ.get("HROMADA_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"Redis not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    prefix = f"hromada-test:{uuid.uuid4().hex[:12]}"
    yield client, prefix
    keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def _sends(fake: Any) -> list[Any]:
    return [c for c in fake.calls if c.method.lower() == "sendmessage"]


async def test_start_leaves_rows_a_live_engine_holds_and_takes_back_expired_ones(harness: Harness) -> None:
    """A restart (or a second worker) never resets what another live engine is sending: only rows
    whose lease expired go back to pending."""
    tune(harness, lease=0.4)
    chats = [3200 + i for i in range(4)]
    for tg_id in chats:
        await resident(harness, tg_id)
    await harness.stop()
    db = create_engine(harness.settings.database_url)
    async with create_sessionmaker(db)() as s:
        campaign = await cs.create_campaign(s, kind="test-echo", payload={"texts": GREETING}, audience=Audience())
        await cs.start_campaign(s, campaign.id)
        held_until = datetime.now(UTC) + timedelta(hours=1)
        await s.execute(update(Delivery).values(status="sending", attempts=1, lease_holder="other:1:live",
                                                lease_until=held_until))
        await s.commit()
        campaign_id = campaign.id
    await harness.start()
    eng = engine(harness)
    await until(lambda: _renewed(eng, 3))  # several renew-and-recover rounds went by
    assert await counts(harness, campaign_id) == {"sending": len(chats)}  # not stolen
    assert all(not harness.fake.bot_messages(c) for c in chats)
    async with create_sessionmaker(db)() as s:  # the other engine died: its lease runs out
        await s.execute(update(Delivery).values(lease_until=datetime.now(UTC) - timedelta(seconds=1)))
        await s.commit()
    await db.dispose()
    assert await finished(harness, campaign_id) == {"sent": len(chats)}
    assert all(len(harness.fake.bot_messages(c)) == 1 for c in chats)
    assert eng.counters["recovered"] == len(chats)


async def _renewed(eng: Any, rounds: int) -> bool:
    return eng.counters["renewals"] >= rounds


@pytest.mark.postgres_only
async def test_claims_are_never_stolen_from_a_live_worker(harness: Harness) -> None:
    """Two engines on one database. The first holds rows (its sends hang) and keeps renewing: the
    second does not take them. When the first stops renewing (hung or killed), the second takes
    them over within the lease time; the first's late outcomes do not overwrite the second's."""
    lease = 0.6
    first = tune(harness, lease=lease)
    fake = harness.fake
    chats = [3300 + i for i in range(8)]
    for tg_id in chats:
        await resident(harness, tg_id)
    hung = asyncio.Event()
    held: Counter[int] = Counter()
    original = fake._methods["sendmessage"]
    phase = {"hang": True}

    async def send(p: dict[str, Any]) -> Any:
        if phase["hang"]:
            held[p["chat_id"]] += 1
            await hung.wait()
            raise ApiError(502, "Bad Gateway")  # the first worker's late requests never arrive
        return original(p)

    fake._methods["sendmessage"] = send
    campaign_id = await enqueue(harness)
    await fake.wait_for(lambda: sum(held.values()) == len(chats))
    second = second_engine(harness, lease=lease)
    await second.start()
    try:
        await until(lambda: _renewed(first, 6))  # 1.5 leases with the rows held
        assert await counts(harness, campaign_id) == {"sending": len(chats)}
        async with harness.db() as s:
            holders = set((await s.scalars(select(Delivery.lease_holder))).all())
        assert holders == {first.worker_id}
        assert second.counters["recovered"] == 0 and second.counters["sent"] == 0
        # the first worker hangs: it stops renewing its leases
        first._loops[3].cancel()
        phase["hang"] = False
        assert await finished(harness, campaign_id, timeout=4 * lease + 5) == {"sent": len(chats)}
        assert second.counters["recovered"] == len(chats) and second.counters["sent"] == len(chats)
        hung.set()  # the first worker's sends finally fail: its outcomes are not written over them
        await until(lambda: _true_after(first))
        assert await counts(harness, campaign_id) == {"sent": len(chats)}
        assert [len(fake.bot_messages(c)) for c in chats] == [1] * len(chats)
    finally:
        hung.set()
        await close_engine(second)


async def _true_after(eng: Any) -> bool:
    return eng.inflight == 0


@pytest.mark.postgres_only
async def test_two_engines_drain_one_campaign_once_and_report_its_outcome_once(harness: Harness) -> None:
    first = tune(harness, rate_per_sec=0, private_interval=0, concurrency=32)
    fake = harness.fake
    org = await organizer(harness, 3499)
    chats = await many_residents(harness, 40_000, 2000)
    progress = await harness.app.bot.send_message(org.id, "Sending…")  # type: ignore[union-attr]
    second = second_engine(harness, rate_per_sec=0, private_interval=0, concurrency=32)
    await second.start()
    try:
        async with harness.db() as s:
            campaign = await cs.create_campaign(
                s, kind="test-echo", payload={"texts": GREETING}, audience=Audience(topics=["polls"]),
                progress_chat_id=org.id, progress_message_id=progress.message_id,
            )
            await s.commit()
        first.wake()
        second.wake()
        assert await finished(harness, campaign.id, timeout=60) == {"sent": len(chats)}
        per_chat = Counter(c.params["chat_id"] for c in _sends(fake) if c.ok)
        assert all(per_chat[c] == 1 for c in chats), [c for c in chats if per_chat[c] != 1][:10]
        assert first.counters["sent"] > 0 and second.counters["sent"] > 0  # both worked on it
        assert first.counters["sent"] + second.counters["sent"] == len(chats)
        await asyncio.sleep(1.5)  # both monitors had several looks at the finished campaign
        # one completion message: the progress message became the outcome, and nothing else came
        assert [m.message_id for m in fake.bot_messages(org.id)] == [progress.message_id]
        assert "sending finished" in fake.bot_messages(org.id)[0].text
        assert "Delivered: 2,000" in fake.bot_messages(org.id)[0].text
        assert first.counters["summaries"] + second.counters["summaries"] == 1
    finally:
        await close_engine(second)


@pytest.mark.postgres_only
async def test_two_engines_edit_the_progress_message_once_for_one_change(harness: Harness) -> None:
    """Both engines watch a campaign that waits for the end of quiet hours: the organizer's
    progress message says so once (one engine's edit), not once an engine (the second, with the
    same text, would be refused by Telegram as "not modified")."""
    night = datetime(2026, 7, 1, 23, 0, tzinfo=KYIV).astimezone(UTC)
    quiet = dict(quiet_hours=(22 * 60, 8 * 60), tz=KYIV, progress_interval=0.0, monitor_interval=0.1)
    first = tune(harness, now=Clock(night), **quiet)
    org = await organizer(harness, 3599)
    for tg_id in (3600, 3601):
        await resident(harness, tg_id)
    progress = await harness.app.bot.send_message(org.id, "Sending…")  # type: ignore[union-attr]
    second = second_engine(harness, **quiet)
    second.now = Clock(night)
    await second.start()
    try:
        async with harness.db() as s:
            campaign = await cs.create_campaign(
                s, kind="test-echo", payload={"texts": GREETING}, audience=Audience(), now=night,
                progress_chat_id=org.id, progress_message_id=progress.message_id,
            )
            await s.commit()
        ticks = first.counters["monitor_ticks"], second.counters["monitor_ticks"]
        first.wake()
        second.wake()
        await until(lambda: _ticked((first, ticks[0] + 10), (second, ticks[1] + 10)))
        edits = harness.fake.calls_to("editMessageText")
        assert len(edits) == 1 and all(c.ok for c in edits), [(c.ok, c.params.get("text")) for c in edits]
        assert "Quiet hours: sending resumes at July 2, 2026, 8:00" in edits[0].params["text"]
        assert await counts(harness, campaign.id) == {"pending": 3}  # the residents and the organizer
    finally:
        await close_engine(second)


async def _ticked(*looks: tuple[Any, int]) -> bool:
    return all(eng.counters["monitor_ticks"] >= at_least for eng, at_least in looks)


@pytest.mark.postgres_only
async def test_two_engines_share_one_rate_limit_through_redis(harness: Harness, redis_client: Any) -> None:
    """Each engine would send at the configured 30 a second; together they stay at 30 (the fake
    Bot API counts the sends over its limit as 429s). Time-scaled x10."""
    client, prefix = redis_client
    fake = harness.fake
    fake.limits = Limits(enabled=True, time_scale=10, global_per_sec=30)
    settings = dict(rate_per_sec=30, time_scale=10, redis_prefix=prefix)
    await engine(harness).stop()  # the harness' engine runs without Redis; two that share it instead
    engines = [second_engine(harness, redis=client, **settings) for _ in range(2)]
    for eng in engines:
        await eng.start()
    try:
        chats = await many_residents(harness, 50_000, 400)
        async with harness.db() as s:
            campaign = await cs.create_campaign(s, kind="test-echo", payload={"texts": GREETING},
                                                audience=Audience(topics=["polls"]))
            await s.commit()
        for eng in engines:
            eng.wake()
        assert await finished(harness, campaign.id, timeout=40) == {"sent": len(chats)}
        assert all(eng.counters["sent"] > 50 for eng in engines)  # both sent a good share
        assert fake.stats["429"] <= 3, fake.stats  # together within the one limit
        assert all(len(fake.bot_messages(c)) == 1 for c in chats)
    finally:
        for eng in engines:
            await close_engine(eng)


def _refused_url() -> str:
    import socket

    with socket.socket() as sock:  # a port nobody listens on: connections are refused
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_outbox_pauses_through_an_outage_and_drains_after(harness: Harness) -> None:
    """Telegram answers 502 to everything, then refuses connections: a long outage compressed by
    short probe intervals (0.02 s growing to 0.25 s; in production 1 s growing to 30 s). Nothing
    fails, nothing is lost, nothing is sent twice; attempts during the outage do not count."""
    from aiogram.client.telegram import TelegramAPIServer

    eng = tune(harness, rate_per_sec=30, time_scale=1, max_retries=2, backoff_base=0.01,
               probe_base=0.02, probe_max=0.25)
    fake = harness.fake
    chats = [3600 + i for i in range(40)]
    for tg_id in chats:
        await resident(harness, tg_id)
    real_call = fake._call

    async def bad_gateway(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        fake._record(method, params, ApiError(502, "Bad Gateway"))
        return 502, ApiError(502, "Bad Gateway").payload()

    campaign_id = await enqueue(harness)
    await fake.wait_for(lambda: sum(bool(fake.bot_messages(c)) for c in chats) >= 5)
    fake._call = bad_gateway  # type: ignore[method-assign]
    await asyncio.sleep(3.0)
    assert eng.breaker.is_open and eng.breaker.opened >= 1
    api = eng._session.api  # type: ignore[union-attr]
    eng._session.api = TelegramAPIServer.from_base(_refused_url())  # type: ignore[union-attr]
    await asyncio.sleep(3.0)
    during = await counts(harness, campaign_id)
    assert "failed" not in during and during.get("sent", 0) < len(chats)
    assert eng.breaker.probes >= 10  # it kept probing, at growing intervals
    fake._call = real_call  # type: ignore[method-assign]
    eng._session.api = api  # type: ignore[union-attr]
    assert await finished(harness, campaign_id, timeout=20) == {"sent": len(chats)}
    assert [len(fake.bot_messages(c)) for c in chats] == [1] * len(chats)
    assert not eng.breaker.is_open and eng.counters["outage_deferred"] > 0
    async with harness.db() as s:
        attempts = (await s.scalars(select(Delivery.attempts).where(Delivery.campaign_id == campaign_id))).all()
    assert max(attempts) <= 2  # the outage's attempts were not counted (max_retries=2 would have failed them)


async def test_bot_token_never_stored_in_errors(harness: Harness) -> None:
    from bot.delivery.redact import redact

    token = harness.settings.bot_token
    assert token and redact(f"POST http://x/bot{token}/sendMessage failed", token) == \
        "POST http://x/bot<token>/sendMessage failed"
    assert "<token>" in redact("http://api.telegram.org/bot1234567:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe")
    tune(harness, max_retries=0)
    fake = harness.fake
    broken, fine = 3700, 3701
    for tg_id in (broken, fine):
        await resident(harness, tg_id)
    original = fake._methods["sendmessage"]

    def send(p: dict[str, Any]) -> Any:
        if p.get("chat_id") == broken:
            raise ApiError(500, f"Internal Server Error at {fake.base_url}/bot{token}/sendMessage")
        return original(p)

    fake._methods["sendmessage"] = send
    campaign_id = await enqueue(harness)
    assert await finished(harness, campaign_id) == {"sent": 1, "failed": 1}
    async with harness.db() as s:
        errors = [e for e in (await s.scalars(select(Delivery.error))).all() if e]
    assert errors and all(token not in e for e in errors) and any("<token>" in e for e in errors)


async def test_a_late_report_card_is_posted_once_by_two_checkers(harness: Harness) -> None:
    harness.expect_rejected = lambda c: "chat not found" in (c.description or "")  # the group is not there at first
    from handlers.moderation.cards import run_report_checks
    from storage.models import utcnow as now_utc
    from tests.flows.helpers import register
    from tests.flows.reports_helpers import card_of, file_report, moderator, moderators_group

    anna = await register(harness, 3801, "Anna")
    number = await file_report(anna)  # the moderators' group is not there yet: no card
    group = moderators_group(harness)
    await moderator(harness, group, 3802, "Olha")
    app = harness.app
    assert app is not None
    later = now_utc() + timedelta(minutes=2)

    async def check() -> Any:
        return await run_report_checks(app.sessionmaker, app.bot, app.settings, app.i18n, app.delivery,
                                       now=later, community=app.community)

    await asyncio.gather(check(), check(), check())
    assert card_of(group, number) is not None
    assert len([m for m in group.messages if m.buttons]) == 1  # posted once


def test_breaker_opens_on_an_outage_not_on_one_broken_chat_and_probes_at_growing_intervals() -> None:
    from bot.delivery.breaker import CircuitBreaker

    now = [0.0]
    breaker = CircuitBreaker(threshold=3, probe_base=1.0, probe_max=4.0, clock=lambda: now[0])
    assert not any(breaker.failure(7) for _ in range(10))  # one chat failing: that chat's problem
    assert not breaker.is_open
    breaker.success()  # the other chats' messages go out
    assert [breaker.failure(c) for c in (1, 2, 3)] == [False, False, True]  # several chats: Telegram is down
    assert breaker.is_open and breaker.failure(4)  # sends failing meanwhile are not counted
    intervals = []
    for _ in range(4):
        start = now[0]
        while not breaker.try_probe():
            now[0] += 0.25
        intervals.append(now[0] - start)
        assert not breaker.try_probe()  # one probe at a time
        breaker.failure(None)  # still down
    assert intervals == [1.0, 2.0, 4.0, 4.0]  # growing, capped
    now[0] += 4.0
    assert breaker.try_probe()
    breaker.success()
    assert not breaker.is_open


async def test_shared_limiter_spaces_two_engines_and_shares_a_429_pause(redis_client: Any) -> None:
    from bot.delivery.shared_limiter import RedisRateLimiter

    client, prefix = redis_client
    one, two = (RedisRateLimiter(client, prefix, rate=10, time_scale=1) for _ in range(2))
    assert await one.acquire(100) == 0
    assert await two.acquire(100, max_chat_wait=0.0) > 0.5  # the chat's one message a second is shared
    assert await two.acquire(-100) == 0  # another chat: after the shared global slot
    assert await one.acquire(-100, max_chat_wait=0.0) > 2.0  # a group: 20 a minute, shared too
    one.pause(2)  # a 429 seen by one engine
    await asyncio.sleep(0.05)
    assert await two.acquire(200, max_chat_wait=0.0) == 0  # waits out the pause, then goes
    assert two.calls >= 2  # it was told to wait at least once
