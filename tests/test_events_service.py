"""The event service on SQLite and PostgreSQL: the waitlist's order, which reminder is due,
times in Kyiv and Sofia, and input checks."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services import events as es
from bot.services.errors import DomainError
from handlers.events.texts import when
from storage.db import create_engine, create_sessionmaker
from storage.models import User

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
KYIV, SOFIA = ZoneInfo("Europe/Kyiv"), ZoneInfo("Europe/Sofia")


async def test_waitlist_fills_places_in_order(database_url: str) -> None:
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as s:
        people = [User(telegram_id=700 + i, language="en", district="center", topics=[], registered_at=NOW)
                  for i in range(5)]
        s.add_all(people)
        await s.flush()
        draft = es.EventDraft(title={"en": "Training"}, starts_at=NOW + timedelta(days=2),
                              ends_at=NOW + timedelta(days=2, hours=2), venue="Hall", capacity=2)
        event = await es.create_event(s, draft, default_locale="en", created_by=None, now=NOW)
        statuses = [(await es.answer(s, event, p, "going", NOW + timedelta(minutes=i))).status
                    for i, p in enumerate(people)]
        assert statuses == ["going", "going", "waitlist", "waitlist", "waitlist"]
        again = await es.answer(s, event, people[2], "going", NOW)          # a double tap keeps the place in line
        assert again.status == "waitlist" and not again.changed
        freed = await es.answer(s, event, people[0], "no", NOW)
        assert freed.promoted == [people[2].id]                             # the first one waiting
        freed = await es.answer(s, event, people[1], "maybe", NOW)
        assert freed.promoted == [people[3].id]
        tally = (await es.tallies(s, [event.id]))[event.id]
        assert (tally.going, tally.maybe, tally.no, tally.waitlist) == (2, 1, 1, 1)
        assert await es.set_capacity(s, event, 1, NOW) == []                 # fewer places: nobody loses theirs
        assert await es.set_capacity(s, event, 3, NOW) == [people[4].id]      # more: the one waiting gets in
        with pytest.raises(DomainError) as err:
            await es.answer(s, event, people[4], "no", event.starts_at)
        assert err.value.code == "started"
        await es.cancel(s, event, NOW)
        with pytest.raises(DomainError) as err:
            await es.answer(s, event, people[4], "maybe", NOW)
        assert err.value.code == "cancelled"
    await engine.dispose()


def test_the_latest_due_reminder_only_and_none_once_started() -> None:
    event = es.Event(starts_at=NOW + timedelta(hours=30), status="scheduled")
    offsets = (timedelta(hours=24), timedelta(hours=2))
    assert es.current_reminder(event, NOW, offsets) is None
    assert es.current_reminder(event, NOW + timedelta(hours=7), offsets) == timedelta(hours=24)
    assert es.current_reminder(event, NOW + timedelta(hours=29), offsets) == timedelta(hours=2)  # 24h skipped
    assert es.current_reminder(event, NOW + timedelta(hours=30), offsets) is None               # started


def test_times_in_kyiv_and_sofia() -> None:
    starts = datetime(2026, 12, 10, 18, 30, tzinfo=SOFIA)
    event = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat()}
    assert when(event, "bg", SOFIA) == "четвъртък, 10 декември 2026\u202fг., 18:30–20:30"
    assert when(event, "uk", KYIV) == "четвер, 10 грудня 2026\u202fр., 18:30–20:30"  # both are UTC+2 in winter
    assert when(event, "en", ZoneInfo("UTC")) == "Thursday, December 10, 2026, 4:30\u202fPM–6:30\u202fPM"
    assert es.parse_end("20:30", starts, SOFIA) == starts + timedelta(hours=2)
    assert es.parse_end("11.12 01:00", starts, SOFIA) == starts + timedelta(hours=6, minutes=30)
    for bad, code in (("18:00", "end_before_start"), ("25:99", "time_format"), ("soon", "time_format")):
        with pytest.raises(DomainError) as err:
            es.parse_end(bad, starts, SOFIA)
        assert err.value.code == code
    with pytest.raises(DomainError):
        es.parse_end("25.12 10:00", starts, SOFIA)                               # longer than two weeks


def test_input_checks() -> None:
    assert es.parse_place("https://meet.example/abc") == (None, "https://meet.example/abc")
    assert es.parse_place("  Library,   Ushakova 5 ") == ("Library, Ushakova 5", None)
    assert es.parse_capacity(" 1 200 ") == 1200
    for bad in ("0", "-3", "ten", "", "100001", "٣"):
        with pytest.raises(DomainError):
            es.parse_capacity(bad)
    assert es.parse_title("Title\n\nA longer description") == ("Title", "A longer description")


async def test_walk_ins_take_no_place_and_an_erased_resident_frees_theirs(database_url: str) -> None:
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as s:
        a, b, c, d = (User(telegram_id=800 + i, language="en", district="center", topics=[], registered_at=NOW)
                      for i in range(4))
        s.add_all([a, b, c, d])
        await s.flush()
        draft = es.EventDraft(title={"en": "Meeting"}, starts_at=NOW + timedelta(days=1),
                              ends_at=NOW + timedelta(days=1, hours=2), venue="Hall", capacity=1)
        event = await es.create_event(s, draft, default_locale="en", created_by=None, now=NOW)
        assert (await es.answer(s, event, a, "going", NOW)).status == "going"
        assert (await es.answer(s, event, b, "going", NOW)).status == "waitlist"
        with pytest.raises(DomainError) as err:                     # questions close an hour before
            await es.ask(s, event, c, "Slides?", event.starts_at - timedelta(minutes=30))
        assert err.value.code == "questions_closed"
        _event, first = await es.check_in(s, event.checkin_token, d, event.starts_at)  # a walk-in
        assert first and (await es.tallies(s, [event.id]))[event.id].going == 1
        await es.forget(s, a.id, NOW)                                # /deleteme before the event
        tally = (await es.tallies(s, [event.id]))[event.id]
        assert (tally.going, tally.no, tally.waitlist, tally.walkin) == (1, 1, 0, 1)
        assert (await es.rsvp_of(s, event.id, b.id)).status == "going"  # type: ignore[union-attr]
    await engine.dispose()
