"""bot.ics: hand-written iCalendar files, checked with the icalendar parser."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bot.ics import event_ics

KYIV = ZoneInfo("Europe/Kyiv")
SOFIA = ZoneInfo("Europe/Sofia")

START = datetime(2025, 6, 14, 15, 30, tzinfo=UTC)
END = START + timedelta(hours=2)
STAMP = datetime(2025, 6, 1, 9, 0, 5, tzinfo=UTC)

TRICKY = 'Толока в парку, вул. Шевченка; 10\nПриносьте рукавички \\ граблі <b>&</b> "чай"'


def _ics(**overrides: object) -> bytes:
    kwargs: dict[str, object] = {
        "uid": "event-42@hromada",
        "title": "Толока",
        "starts_at": START,
        "ends_at": END,
        "stamp": STAMP,
    }
    kwargs.update(overrides)
    return event_ics(**kwargs)  # type: ignore[arg-type]


def _parse(data: bytes) -> tuple[Calendar, object]:
    calendar = Calendar.from_ical(data)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def _physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


def test_basic_event_fields() -> None:
    data = _ics(
        description="Збираємося біля входу.",
        location="Парк Шевченка, Київ",
        url="https://example.org/events/42?lang=uk&x=1,2",
        geo=(50.4418, 30.5135),
        sequence=3,
        organizer_name="Громада Оболоні",
    )
    calendar, event = _parse(data)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//Hromada//Community events//EN"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(event["UID"]) == "event-42@hromada"
    assert int(event["SEQUENCE"]) == 3
    assert str(event["SUMMARY"]) == "Толока"
    assert str(event["DESCRIPTION"]) == "Збираємося біля входу."
    assert str(event["LOCATION"]) == "Парк Шевченка, Київ"
    assert str(event["URL"]) == "https://example.org/events/42?lang=uk&x=1,2"
    assert event["GEO"].latitude == pytest.approx(50.4418)
    assert event["GEO"].longitude == pytest.approx(30.5135)
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event["ORGANIZER"].params["CN"] == "Громада Оболоні"
    assert event["DTSTART"].dt == START
    assert event["DTEND"].dt == END
    assert event["DTSTAMP"].dt == STAMP
    assert "VALARM" not in data.decode("utf-8")
    assert b"DTSTART:20250614T153000Z\r\n" in data
    assert b"DTEND:20250614T173000Z\r\n" in data
    assert b"DTSTAMP:20250601T090005Z\r\n" in data


def test_optional_fields_left_out() -> None:
    data = _ics()
    _, event = _parse(data)
    for name in ("DESCRIPTION", "LOCATION", "URL", "GEO", "ORGANIZER"):
        assert name not in event
    assert str(event["SUMMARY"]) == "Толока"


def test_text_escaping_round_trips_exactly() -> None:
    data = _ics(title=TRICKY, description=TRICKY + "\r\nдругий рядок\rтретій", location=TRICKY)
    _, event = _parse(data)
    assert str(event["SUMMARY"]) == TRICKY
    assert str(event["DESCRIPTION"]) == TRICKY + "\nдругий рядок\nтретій"
    assert str(event["LOCATION"]) == TRICKY
    # Escaped on the wire, not merely tolerated by the parser.
    unfolded = data.replace(b"\r\n ", b"").decode("utf-8")
    assert "SUMMARY:Толока в парку\\, вул. Шевченка\\; 10\\nПриносьте рукавички \\\\ граблі" in unfolded


def test_organizer_name_with_quotes_round_trips() -> None:
    name = 'Клуб "Сусіди"; Київ, ^ 2'
    _, event = _parse(_ics(organizer_name=name))
    assert event["ORGANIZER"].params["CN"] == name


@pytest.mark.parametrize("zone", [KYIV, SOFIA], ids=["Kyiv", "Sofia"])
@pytest.mark.parametrize(
    "local",
    [datetime(2025, 1, 20, 18, 0), datetime(2025, 7, 20, 18, 0), datetime(2025, 10, 26, 3, 30)],
    ids=["winter", "summer", "dst-end"],
)
def test_times_in_local_zones_are_written_in_utc(zone: ZoneInfo, local: datetime) -> None:
    starts = local.replace(tzinfo=zone)
    ends = starts + timedelta(minutes=90)
    data = _ics(starts_at=starts, ends_at=ends, stamp=starts - timedelta(days=3))
    _, event = _parse(data)
    # Compared in UTC: per PEP 495 a datetime in a repeated (DST-end) hour never
    # equals one in another zone, even for the same instant.
    assert event["DTSTART"].dt == starts.astimezone(UTC)
    assert event["DTEND"].dt == ends.astimezone(UTC)
    assert event["DTSTART"].dt.utcoffset() == timedelta(0)
    expected = starts.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ").encode()
    assert b"DTSTART:" + expected + b"\r\n" in data


def test_repeated_hour_respects_fold() -> None:
    first = datetime(2025, 10, 26, 3, 30, tzinfo=KYIV)  # still summer time, UTC+3
    second = first.replace(fold=1)  # the hour again, winter time, UTC+2
    assert b"DTSTART:20251026T003000Z\r\n" in _ics(starts_at=first, ends_at=first + timedelta(hours=2))
    assert b"DTSTART:20251026T013000Z\r\n" in _ics(starts_at=second, ends_at=second + timedelta(hours=2))


def test_kyiv_summer_offset() -> None:
    starts = datetime(2025, 7, 20, 18, 0, tzinfo=KYIV)  # UTC+3
    data = _ics(starts_at=starts, ends_at=starts + timedelta(hours=1))
    assert b"DTSTART:20250720T150000Z\r\n" in data
    assert b"DTEND:20250720T160000Z\r\n" in data


def test_lines_are_crlf_and_folded_at_75_octets() -> None:
    long_text = "Дуже довгий опис події з кирилицею, комами; крапками з комою. " * 12 + "🎉" * 30
    data = _ics(title="Т" * 100, description=long_text, location="ї" * 80 + "x" * 5)
    assert b"\r\n" in data
    assert data.count(b"\n") == data.count(b"\r\n")
    assert data.count(b"\r") == data.count(b"\r\n")
    lines = _physical_lines(data)
    assert any(line.startswith(b" ") for line in lines), "long values must be folded"
    for line in lines:
        assert len(line) <= 75, line
        line.decode("utf-8")  # never split inside a multi-byte character
    _, event = _parse(data)
    assert str(event["SUMMARY"]) == "Т" * 100
    assert str(event["DESCRIPTION"]) == long_text
    assert str(event["LOCATION"]) == "ї" * 80 + "x" * 5


def test_output_is_utf8_with_cyrillic() -> None:
    data = _ics(title="Збори мешканців — Пловдив / Пловдив")
    assert "Збори мешканців".encode() in data.replace(b"\r\n ", b"")


def test_cancelled_variant() -> None:
    data = _ics(cancelled=True, sequence=4, organizer_name="Херсон", organizer_address="https://t.me/hromada_bot")
    calendar, event = _parse(data)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 4
    assert b"CONFIRMED" not in data
    assert b"PUBLISH" not in data


@pytest.mark.parametrize("field", ["starts_at", "ends_at", "stamp"])
def test_naive_datetime_raises(field: str) -> None:
    naive = {"starts_at": START, "ends_at": END, "stamp": STAMP}[field].replace(tzinfo=None)
    with pytest.raises(ValueError, match=field):
        _ics(**{field: naive})


def test_end_before_start_raises() -> None:
    with pytest.raises(ValueError):
        _ics(ends_at=START - timedelta(minutes=1))


def test_equal_start_and_end_leaves_out_dtend() -> None:
    _, event = _parse(_ics(ends_at=START))
    assert event["DTSTART"].dt == START
    assert "DTEND" not in event


@pytest.mark.parametrize(
    "overrides",
    [
        {"geo": (91.0, 0.0)},
        {"geo": (0.0, float("nan"))},
        {"url": "https://example.org/a\r\nX-EVIL:1"},
        {"url": ""},
        {"sequence": -1},
        {"uid": " "},
    ],
)
def test_invalid_values_raise(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        _ics(**overrides)


def test_deterministic() -> None:
    assert _ics(description=TRICKY) == _ics(description=TRICKY)


def test_method_only_with_an_organizer_and_the_organizer_address_given() -> None:
    calendar, event = _parse(_ics())
    assert "METHOD" not in calendar and "ORGANIZER" not in event  # RFC 5546: no PUBLISH without ORGANIZER
    calendar, event = _parse(_ics(organizer_name="Херсон", organizer_address="https://t.me/hromada_bot"))
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(event["ORGANIZER"]) == "https://t.me/hromada_bot" and event["ORGANIZER"].params["CN"] == "Херсон"
    calendar, _event = _parse(_ics(organizer_name="Херсон", organizer_address="mailto:team@example.org",
                                   cancelled=True))
    assert str(calendar["METHOD"]) == "CANCEL"
    with pytest.raises(ValueError):
        _ics(organizer_name="X", organizer_address="not a uri")
