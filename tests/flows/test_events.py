"""Events through the real Dispatcher, the delivery engine and the fake Bot API, with a clock
the test controls: answers, waitlist, calendar file, reminders across restarts, check-in,
feedback, changes and cancellation."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import select

from bot.fakeapi import FakeUser
from storage.models import Campaign, Event, EventRsvp, User
from tests.delivery_helpers import Clock, finished, organizer, resident, tune, until
from tests.harness import ORGANIZERS_CHAT, Harness

KYIV = ZoneInfo("Europe/Kyiv")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
START = datetime(2026, 12, 10, 18, 30, tzinfo=KYIV)  # 16:30 UTC


async def campaigns(h: Harness, kind: str) -> list[Campaign]:
    async with h.db() as s:
        return list(await s.scalars(select(Campaign).where(Campaign.kind == kind).order_by(Campaign.id)))


async def all_sent(h: Harness, kind: str) -> None:
    for campaign in await campaigns(h, kind):
        if campaign.status != "cancelled":
            await finished(h, campaign.id)


async def create_event(h: Harness, org: FakeUser, capacity: str | None = "2") -> int:
    await org.send("/newevent")
    await org.press("Workshop")
    await org.send("Budget workshop\nHow the city budget is made, and how to take part.")
    await org.send("10.12 18:30")
    assert "Thursday, December 10, 2026" in org.last.text
    await org.send("20:00")
    await org.send("City library, Ushakova 5")
    if capacity is None:
        await org.press("No limit")
    else:
        await org.send(capacity)
    await org.press("Skip")
    assert "Ready to publish?" in org.last.text and "6:30" in org.last.text
    await org.press("➕ Українська")
    await org.send("Бюджетний воркшоп\nЯк складається бюджет міста.")
    await org.press("✅ Publish to")
    (campaign,) = (await campaigns(h, "event"))[-1:]
    await finished(h, campaign.id)
    return int(campaign.payload["event"]["id"])


def uk(h: Harness, msgid: str) -> str:
    assert h.app is not None
    text = h.app.i18n.gettext(msgid, locale="uk")
    assert text != msgid  # translated
    return text


def card_of(who: FakeUser):  # type: ignore[no-untyped-def]
    return next(m for m in reversed(who.messages) if m.text.startswith("📅"))


async def test_answers_waitlist_calendar_reminders_checkin_and_feedback(harness: Harness) -> None:
    clock = Clock(NOW)
    tune(harness, time_scale=20, progress_interval=0.05, now=clock)
    group = harness.fake.group(ORGANIZERS_CHAT, "Organizers")
    org = await organizer(harness, 6000)
    group.add_member(org)
    for tg_id, lang in ((6001, "en"), (6002, "uk"), (6003, "en")):
        await resident(harness, tg_id, lang)
    a, b, c = (harness.fake.user(i) for i in (6001, 6002, 6003))
    event_id = await create_event(harness, org)

    assert "Budget workshop" in card_of(a).text and "Бюджетний воркшоп" in card_of(b).text
    assert "18:30" in card_of(b).text and "Europe/Kyiv" not in card_of(a).text
    assert (await a.press("✅ Going"))["text"] == "✅ You're going."  # type: ignore[index]
    assert "1 place left of 2" in card_of(a).text and "✅ You're going." in card_of(a).text
    await b.press(b.buttons(card_of(b))[0])
    answer = await c.press("✅ Going")
    assert answer is not None and "waitlist" in answer["text"]
    assert "⏳ You are on the waitlist" in card_of(c).text

    await a.press("❌ Can't go")                                   # a place frees up: C gets it
    await until(lambda: _last_startswith(c, "🎉"))
    async with harness.db() as s:
        statuses = dict((await s.execute(select(EventRsvp.user_id, EventRsvp.status))).all())
    assert sorted(statuses.values()) == ["going", "going", "no"]

    await a.press("❓ Ask the speakers")
    await a.send("Will there be <b>slides</b> & handouts?")
    assert "sent to the organizers" in a.last.text

    await a.press("📅 Add to calendar")
    ics = a.last
    assert ics.kind == "document" and ics.filename == f"event-{event_id}.ics"
    calendar = icalendar.Calendar.from_ical(harness.fake.file(ics.file_id).content)
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Budget workshop"
    assert vevent.decoded("DTSTART") == START.astimezone(UTC)

    async def due() -> None:
        assert harness.app is not None
        await harness.app.due_checks()
        await all_sent(harness, "event-reminder")

    clock.set(START - timedelta(hours=23))                          # the 24-hour reminder
    await due()
    assert b.last.text.startswith("⏰") and c.last.text.startswith("⏰") and not a.last.text.startswith("⏰")
    await harness.stop()                                            # down while the 2-hour one falls due
    clock.set(START - timedelta(minutes=90))
    await harness.start()
    await all_sent(harness, "event-reminder")
    await harness.restart()                                         # and once more: nothing twice
    await due()
    reminders = [m for m in harness.fake.bot_messages(6003) if m.text.startswith("⏰")]
    assert len(reminders) == 2 and len(await campaigns(harness, "event-reminder")) == 2
    await c.press("❌ No, free my place", message=reminders[-1])
    async with harness.db() as s:
        status_c = await s.scalar(select(EventRsvp.status).join(User, User.id == EventRsvp.user_id)
                                  .where(User.telegram_id == 6003))
    assert status_c == "no"

    clock.set(START - timedelta(minutes=30))                        # the speakers' questions, grouped
    await harness.app.due_checks()  # type: ignore[union-attr]
    await all_sent(harness, "event-questions")
    questions = harness.fake.bot_messages(ORGANIZERS_CHAT)[-1]
    assert questions.text.startswith("❓ Questions for the speakers") and "1. Will there be <b>slides</b> & handouts?" in questions.text

    async with harness.db() as s:
        token = (await s.get(Event, event_id)).checkin_token  # type: ignore[union-attr]
    clock.set(START - timedelta(hours=3))                           # B reads Ukrainian
    await b.send(f"/start checkin_{token}")
    assert b.last.text == uk(harness, "Check-in opens two hours before the start.")
    clock.set(START + timedelta(minutes=5))
    await b.send(f"/start checkin_{token}")
    assert b.last.html == uk(harness, "✅ Welcome to <b>{title}</b>! You are checked in.").format(
        title="Бюджетний воркшоп")
    await b.send(f"/start checkin_{token}")                          # twice: once is enough
    assert b.last.html == uk(harness, "You are already checked in to <b>{title}</b>.").format(
        title="Бюджетний воркшоп")
    await b.send("/start checkin_forged")
    assert b.last.text == uk(harness, "This event no longer exists.")

    clock.set(START + timedelta(hours=4))                           # check-in closed: those who came are asked
    assert harness.app is not None
    await harness.app.due_checks()
    await all_sent(harness, "event-feedback")
    assert "1" in b.buttons(b.last) and len(b.buttons(b.last)) == 5
    await b.press(b.buttons(b.last)[3])
    await b.send("More time for questions, please")
    async with harness.db() as s:
        row = await s.scalar(select(EventRsvp).where(EventRsvp.attended_at.is_not(None)))
        assert row is not None and row.feedback_score == 4 and row.feedback_comment == "More time for questions, please"
    assert [m for m in harness.fake.bot_messages(6001) if "How was it" in m.text] == []  # did not come

    await org.send("/events")
    await org.press(f"📋 #{event_id}")
    assert "came 1" in org.last.text and "Feedback: 4 of 5 from 1" in org.last.text
    await org.press("📷 Check-in code")
    assert org.last.kind == "photo" and f"start=checkin_{token}" in org.last.text
    await org.press("✅ Who came")
    assert org.last.buttons == ["☑️ R6002"]                           # going or came, by name
    await org.press("☑️ R6002")                                       # undo by hand
    assert org.last.buttons == ["⬜ R6002"]


async def test_voice_feedback_reaches_the_organizer_as_voice(harness: Harness) -> None:
    clock = Clock(NOW)
    tune(harness, time_scale=20, progress_interval=0.05, now=clock)
    org = await organizer(harness, 6400)
    for tg_id in (6401, 6402):
        await resident(harness, tg_id)
    a, b = harness.fake.user(6401), harness.fake.user(6402)
    event_id = await create_event(harness, org, capacity=None)
    for who in (a, b):
        await who.press("✅ Going", message=card_of(who))
    async with harness.db() as s:
        token = (await s.get(Event, event_id)).checkin_token  # type: ignore[union-attr]
    clock.set(START + timedelta(minutes=5))
    for who in (a, b):
        await who.send(f"/start checkin_{token}")
    clock.set(START + timedelta(hours=4))
    assert harness.app is not None
    await harness.app.due_checks()
    await all_sent(harness, "event-feedback")

    await a.press(a.buttons(a.last)[3])                              # 4 of 5, then a voice note
    assert "voice note" in a.last.text
    await a.send_sticker()                                           # neither: a clear answer, still waiting
    assert "as text or record a voice note" in a.last.text
    voice = await a.send_voice(duration=7)
    assert a.last.text == "✅ Thank you for your feedback!"
    await b.press(b.buttons(b.last)[4])
    await b.send("Great, <thanks> & more of it")
    async with harness.db() as s:
        rows = {r.user_id: r for r in await s.scalars(select(EventRsvp).where(EventRsvp.event_id == event_id))}
        mine = next(r for r in rows.values() if r.feedback_voice_file_id)
        assert mine.feedback_voice_file_id == voice.file_id and mine.feedback_comment is None
        assert mine.feedback_score == 4

    await org.send("/events")
    await org.press(f"📋 #{event_id}")
    assert "Comments (written or voice notes): 2" in org.last.text
    await org.press("💬 Comments (2)")
    listing, sent = org.messages[-2], org.last
    assert "«Great, &lt;thanks&gt; &amp; more of it»" in listing.html and "R6401" not in listing.text
    assert "🎤 a voice note (below)" in listing.text
    assert sent.kind == "voice" and sent.file_id == voice.file_id     # the note itself, by file_id
    assert "rated 4 of 5" in sent.text and "Budget workshop" in sent.text

    await a.send("/mydata")
    data = json.loads(harness.fake.files[a.last.file_id])  # type: ignore[index]
    assert data["events"][0]["feedback_voice_note"] is True
    await a.send("/deleteme")
    await a.press("🗑 Yes, delete my data")
    async with harness.db() as s:
        assert await s.scalar(select(EventRsvp.feedback_voice_file_id).where(
            EventRsvp.feedback_voice_file_id.is_not(None))) is None
        assert await s.scalar(select(EventRsvp.feedback_score).where(EventRsvp.id == mine.id)) == 4  # the count stays
    await org.press(f"📋 #{event_id}", message=org.messages[-4])
    assert "Comments (written or voice notes): 1" in org.last.text


def _last_startswith(who: FakeUser, prefix: str):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return any(m.text.startswith(prefix) for m in who.messages)
    return check()


async def test_change_and_cancel_tell_everyone_who_answered(harness: Harness) -> None:
    clock = Clock(NOW)
    tune(harness, time_scale=20, progress_interval=0.05, now=clock)
    org = await organizer(harness, 6100)
    await resident(harness, 6101)
    await resident(harness, 6102, district="korabelnyi")
    a, quiet = harness.fake.user(6101), harness.fake.user(6102)
    event_id = await create_event(harness, org, capacity=None)
    old_card = card_of(a)
    await a.press("🤔 Maybe")

    await org.send("/events")
    await org.press(f"📋 #{event_id}")
    await org.press("🕒 Change time")
    await org.send("01.01.2020 10:00")
    assert "already passed" in org.last.text
    await org.send("11.12 18:30")
    assert "being told" in org.last.text
    await all_sent(harness, "event-notice")
    notice = a.last
    assert notice.text.startswith("✏️") and "December 11" in notice.text and notice.buttons
    assert not any(m.text.startswith("✏️") for m in quiet.messages)      # did not answer: not told
    answer = await a.press("✅ Going", message=old_card)                  # the old announcement's button
    assert answer is not None and "changed" in answer["text"]
    assert card_of(a).message_id != old_card.message_id and "December 11" in card_of(a).text

    await org.press("✏️ Change title")
    await org.send("Budget workshop, part 1\nThe city budget, step by step.")
    await all_sent(harness, "event-notice")
    assert a.last.text.startswith("✏️") and "title and description" in a.last.text and "part 1" in a.last.text
    await org.press("🪑 Change places")
    await org.send("0")
    assert "whole number" in org.last.text
    await org.press("No limit")
    assert org.last.text == "Saved."

    await org.press("✖ Cancel the event")
    await org.press("✖ Yes, cancel it")
    await all_sent(harness, "event-notice")
    assert a.last.text.startswith("❌")
    answer = await a.press("✅ Going", message=notice)
    assert answer is not None and "cancelled" in answer["text"]
    await a.send("📅 Events")                                         # the menu button
    assert "no upcoming events" in a.last.text


async def test_wizard_refuses_bad_dates_places_and_capacity(harness: Harness) -> None:
    clock = Clock(NOW)
    tune(harness, now=clock)
    org = await organizer(harness, 6200)
    await org.send("/newevent")
    await org.press("Open lecture")
    await org.send("x" * 200)
    assert "too long" in org.last.text
    await org.send("Lecture on heritage")
    await org.send("32.13 25:00")
    assert "could not read" in org.last.text
    await org.send("01.01.2020 18:00")
    assert "already passed" in org.last.text
    await org.send("10.12 18:30")
    await org.send("17:00")
    assert "after the start" in org.last.text
    await org.send("20:00")
    await org.send_location(46.63, 32.61)
    for bad in ("0", "-5", "many", "1000001"):
        await org.send(bad)
        assert "whole number" in org.last.text
    await org.press("No limit")
    await org.send("Dr. Olha Koval")
    assert "Places: no limit" in org.last.text and "🎤 Dr. Olha Koval" in org.last.text
    resident_one = await resident(harness, 6201)
    assert resident_one
    await org.press("✅ Publish to")
    stranger = harness.fake.user(6201)
    await until(lambda: _last_startswith(stranger, "📅"))
    assert "the place is shown on the map" in card_of(stranger).text
