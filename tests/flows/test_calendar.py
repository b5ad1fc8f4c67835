"""📅 Add to calendar through the real Dispatcher and the fake Bot API, read back with icalendar:
the community as ORGANIZER with a contact (so METHOD:PUBLISH is allowed, RFC 5546), DTSTAMP the
time the file was made, the speakers in the description, in the reader's language."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from bot.services import events as events_service
from storage.models import Event
from tests.delivery_helpers import Clock, resident, tune
from tests.harness import Harness

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("lang", ["uk", "bg"])
async def test_calendar_file_names_the_organizer_the_speakers_and_when_it_was_made(harness: Harness,
                                                                                    lang: str) -> None:
    clock = Clock(NOW)
    tune(harness, now=clock)
    await resident(harness, 6201, lang)
    anna = harness.fake.user(6201)
    async with harness.db() as s:
        event = await events_service.create_event(s, events_service.EventDraft(
            kind="lecture", title={"en": "Budget lecture", lang: "Лекція про бюджет"},
            starts_at=NOW + timedelta(days=5), ends_at=NOW + timedelta(days=5, hours=2), venue="Library",
            speakers="Iryna Melnyk, Petro Koval"), default_locale="en", created_by=None, now=NOW - timedelta(days=3))
        await s.commit()
        event_id = event.id
    clock.set(NOW + timedelta(hours=5))  # the file is made now, not when the event was last changed
    await anna.send(f"/start event_{event_id}")
    assert harness.app is not None
    await anna.press(harness.app.i18n.gettext("📅 Add to calendar", locale=lang))
    doc = anna.last
    assert doc.kind == "document" and doc.filename == f"event-{event_id}.ics"
    calendar = icalendar.Calendar.from_ical(harness.fake.file(doc.file_id).content)  # type: ignore[arg-type]
    (vevent,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "PUBLISH"
    me = await harness.app.bot.me()
    assert str(vevent["ORGANIZER"]) == f"https://t.me/{me.username}"
    assert vevent["ORGANIZER"].params["CN"] == "Херсон"  # the community, in the reader's language
    assert vevent.decoded("DTSTAMP") == NOW + timedelta(hours=5)
    assert str(vevent["SUMMARY"]) == "Лекція про бюджет"
    speakers = harness.app.i18n.gettext("Speakers: {names}", locale=lang).format(names="Iryna Melnyk, Petro Koval")
    assert speakers in str(vevent["DESCRIPTION"])
    async with harness.db() as s:
        stored = await s.get(Event, event_id)
        assert stored is not None and stored.updated_at.replace(tzinfo=UTC) != NOW + timedelta(hours=5)
