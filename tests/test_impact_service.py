"""Impact figures, periods and digest keys: a known data set gives exactly the expected figures."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services import impact
from bot.services.errors import DomainError
from tests.delivery_helpers import organizer
from tests.harness import Harness
from tests.impact_data import NOW, PERIOD, at, known_data, mediated_data

KYIV = ZoneInfo("Europe/Kyiv")


def test_periods_presets_typed_days_and_bad_input() -> None:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv
    month = impact.parse_period("2026-10", now, KYIV)
    assert month.start == datetime(2026, 9, 30, 21, 0, tzinfo=UTC)  # 1 October 00:00 in Kyiv (summer time)
    assert month.end == datetime(2026, 10, 31, 22, 0, tzinfo=UTC)  # 1 November 00:00 (winter time)
    assert month.code == "20261001-20261031"
    assert impact.parse_period("01.10.2026 - 31.10.2026", now, KYIV) == month
    assert impact.parse_period(month.code, now, KYIV) == month  # what a button carries
    assert impact.parse_period("prev", now, KYIV).code == month.code  # a button carries the days, not "prev"
    assert impact.parse_period("2026-01-01 9999-12-31", now, KYIV).end == now  # no overflow: up to now
    assert impact.parse_period("0001", now, KYIV).days == 0  # long before anything: an empty period
    assert impact.parse_period("7d", now, KYIV).start == datetime(2026, 11, 16, 22, 0, tzinfo=UTC)
    assert impact.parse_period("month", now, KYIV).end == now  # never past now
    prev = impact.parse_period("prev", now, KYIV)
    assert (prev.start, prev.end) == (month.start, month.end)
    first = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)
    huge = impact.parse_period("1990-01-01 2100-12-31", now, KYIV, first)
    assert huge.clamped and huge.start == datetime(2025, 3, 4, 22, 0, tzinfo=UTC) and huge.end == now
    assert impact.parse_period("all", now, KYIV, first).start == huge.start
    for text, code in (("someday", "period_format"), ("2026-13", "period_format"), ("31.02.2026 01.03.2026",
                       "period_format"), ("2026-11-10 2026-11-01", "period_order"), ("2027", "period_future")):
        with pytest.raises(DomainError) as err:
            impact.parse_period(text, now, KYIV)
        assert err.value.code == code, text


def test_digest_keys_daily_and_weekly() -> None:
    monday_8 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 08:00 in Kyiv, before the 09:00 digests
    assert impact.digest_key("daily", monday_8, KYIV, 9, 0) == (
        "digest:daily:2026-11-22", datetime(2026, 11, 22, 7, 0, tzinfo=UTC), datetime(2026, 11, 21, 7, 0, tzinfo=UTC))
    # the clocks went back on 25 October: that day's digest covers 25 hours, from 09:00 to 09:00
    assert impact.digest_key("daily", datetime(2026, 10, 25, 8, 0, tzinfo=UTC), KYIV, 9, 0)[1:] == (
        datetime(2026, 10, 25, 7, 0, tzinfo=UTC), datetime(2026, 10, 24, 6, 0, tzinfo=UTC))
    assert impact.digest_key("weekly", monday_8, KYIV, 9, 0)[0] == "digest:weekly:2026-W47"
    monday_9 = monday_8 + timedelta(hours=1)
    assert impact.digest_key("daily", monday_9, KYIV, 9, 0)[0] == "digest:daily:2026-11-23"
    assert impact.digest_key("weekly", monday_9, KYIV, 9, 0)[0] == "digest:weekly:2026-W48"
    assert impact.digest_key("weekly", monday_9 + timedelta(days=6), KYIV, 9, 0)[0] == "digest:weekly:2026-W48"


async def test_known_data_set_gives_exactly_the_expected_figures(harness: Harness) -> None:
    await organizer(harness, 7000)
    await known_data(harness, organizer_tg=7000)
    async with harness.db() as s:
        period = impact.parse_period(PERIOD, NOW, KYIV, await impact.first_data(s))
        f = await impact.figures(s, period, NOW)
    assert (f.orgs_total, f.orgs_active) == (1, 1)
    assert (f.residents_total, f.residents_new) == (5, 3)
    assert f.by_district == [("ostriv", 2), (None, 1), ("suburbs", 1), ("tsentralnyi", 1)]
    assert f.by_language == [("en", 2), ("uk", 2), ("bg", 1)]
    assert (f.events_held, f.participants, f.attendances) == (2, 2, 3)
    p = f.proposals
    assert (p.proposed, p.accepted, p.realised) == (2, 3, 1)
    assert (f.reports_received, f.reports_resolved) == (3, 3)
    assert f.reports_by_category == [("roads", 2), ("lighting", 1)]
    assert f.median_first_response == timedelta(hours=5) and f.median_resolution == timedelta(days=2)
    assert (f.polls, f.poll_invited, f.poll_answered, f.participation) == (1, 4, 2, 0.5)
    assert not f.quiet

    async with harness.db() as s:
        october = await impact.figures(s, impact.parse_period("2026-10", NOW, KYIV), NOW)
        quiet = await impact.figures(s, impact.parse_period("2026-07", NOW, KYIV), NOW)
        council = await impact.council(s, period, NOW, min_group=1)
    assert october.residents_total == 2 and october.reports_received == 1 and october.proposals.proposed == 2
    assert quiet.quiet and quiet.residents_total == 0
    assert council.hotspots == [("roads", "ostriv", 2), ("lighting", "tsentralnyi", 1)] and council.open_reports == 1
    assert [p.title for p in council.proposals] == ["A ramp at the library", "Benches in the park",
                                                    "Trees & <shade> for the yard", "Bike lane"]
    assert [e.title["en"] for e, _t in council.events] == ["Budget workshop", "Park cleanup"]
    assert council.polls[0].questions[0].counts == [0, 2]


async def test_digest_sections_and_empty_ones_left_out(harness: Harness) -> None:
    await known_data(harness)
    async with harness.db() as s:
        week = await impact.digest(s, at(11, 1), at(11, 8, 12), at(11, 8, 12), min_group=1)
        quiet = await impact.digest(s, at(7, 1), at(7, 8), at(7, 8), min_group=1)
    assert week["reports"]["new"] == 2 and week["reports"]["resolved"] == 3
    assert [tuple(row) for row in week["reports"]["new_by_category"]] == [("roads", 2)]
    assert week["polls"][0]["headline"]["option"] == {"en": "In the park"} and week["polls"][0]["headline"]["share"] == 100
    assert week["proposals"]["new"] == 2 and week["proposals"]["top"][0][1] == "Benches in the park"
    assert "held" not in week  # no event in that week
    assert "polls" not in quiet and "held" not in quiet


async def test_offline_residents_count_everywhere_and_what_mediators_did_shows_apart(harness: Harness) -> None:
    await organizer(harness, 7000)
    await mediated_data(harness, await known_data(harness, organizer_tg=7000))
    async with harness.db() as s:
        period = impact.parse_period(PERIOD, NOW, KYIV, await impact.first_data(s))
        f = await impact.figures(s, period, NOW)
        october = await impact.figures(s, impact.parse_period("2026-10", NOW, KYIV), NOW)
        week = await impact.digest(s, at(11, 10), at(11, 17), at(11, 17), min_group=1)
        quiet = await impact.digest(s, at(7, 1), at(7, 8), at(7, 8), min_group=1)
    # offline residents are residents and participants like anyone else (the erased one is not)
    assert (f.residents_total, f.residents_new) == (10, 5)
    assert ("tsentralnyi", 2) in f.by_district and ("ru", 1) in f.by_language
    assert (f.events_held, f.participants, f.attendances) == (2, 3, 4)
    assert (f.reports_received, f.proposals.proposed) == (4, 3)
    assert (f.polls, f.poll_invited, f.poll_answered, f.participation) == (1, 5, 3, 0.6)  # reached by a mediator
    a = f.assisted
    assert (a.offline_total, a.offline_new) == (3, 2)
    assert (a.reports, a.poll_answers, a.rsvps, a.proposals, a.supports, a.actions, a.mediators) == (1, 1, 1, 1, 1, 5, 2)
    o = october.assisted
    assert (o.offline_total, o.offline_new, o.reports, o.actions, o.mediators) == (1, 1, 1, 1, 1)
    assert week["assisted"] == {"offline_new": 2, "reports": 1, "poll_answers": 0, "rsvps": 1, "proposals": 1,
                                "supports": 1, "mediators": 2}
    assert "assisted" not in quiet
