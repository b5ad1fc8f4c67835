"""What residents and staff read on a few everyday screens (issue 19, items 9-11): an event's
places and waitlist before anyone taps, the last place and a freed place; dates and times in one
format per use, never seconds nor "12/9/26"; /help grouped by purpose; the consent and /privacy
saying what registration keeps."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.fakeapi import FakeUser
from storage.models import EventRsvp, User
from tests.delivery_helpers import Clock, finished, organizer, resident, tune, until
from tests.flows.helpers import register
from tests.flows.reports_helpers import file_report, moderators_group
from tests.flows.test_events import NOW, START, all_sent, card_of, create_event
from tests.flows.test_mediators import link, mediator, register_offline
from tests.flows.test_polls import create_single_poll, poll_campaign, poll_message
from tests.harness import ORGANIZERS_CHAT, Harness

EVENT_BUTTONS = ["✅ Going", "🤔 Maybe", "❌ Can't go", "📅 Add to calendar", "❓ Ask the speakers"]


def tr(h: Harness, msgid: str, locale: str) -> str:
    assert h.app is not None
    text = h.app.i18n.gettext(msgid, locale=locale)
    assert locale == "en" or text != msgid  # translated
    return text


async def status_of(h: Harness, tg_id: int) -> str | None:
    async with h.db() as s:
        return await s.scalar(select(EventRsvp.status).join(User, User.id == EventRsvp.user_id)
                              .where(User.telegram_id == tg_id))


# ------------------------------------------------------------------ 9. events

async def test_places_and_waitlist_before_tapping_the_last_place_and_a_freed_one(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05, now=Clock(NOW))
    org = await organizer(harness, 6600)
    for tg_id, lang in ((6601, "en"), (6602, "uk"), (6603, "en")):
        await resident(harness, tg_id, lang)
    a, b, c = (harness.fake.user(i) for i in (6601, 6602, 6603))
    event_id = await create_event(harness, org, capacity="1")
    preview = next(m for m in org.messages if m.text.startswith("Ready to publish?"))
    assert "(Europe/Kyiv)" in preview.text                                 # organizers see the zone

    announcement = card_of(a)                                               # before anyone taps
    assert "Europe/Kyiv" not in announcement.text and "Europe/Kyiv" not in card_of(b).text
    assert "🪑 1 place. When they are all taken, “✅ Going” puts you on the waitlist." in announcement.text
    assert announcement.buttons == EVENT_BUTTONS                           # said on the message with "Going"
    assert tr(harness, "When they are all taken, “{button}” puts you on the waitlist.", "uk").format(
        button="✅ Піду") in card_of(b).text

    answer = await a.press("✅ Going")                                      # the last place
    assert answer is not None and answer["text"] == "✅ You're going."
    mine = card_of(a)
    assert mine.message_id == announcement.message_id                       # the card, edited in place
    assert "✅ You're going." in mine.text and "🪑 All places are taken." in mine.text
    assert "waitlist" not in mine.text and "Your answer" not in mine.text

    answer = await c.press("✅ Going")                                      # full: the waitlist
    assert answer is not None and "waitlist" in answer["text"]
    assert "⏳ You are on the waitlist: we will tell you as soon as a place frees up." in card_of(c).text

    await b.send("/events")                                                 # B has not answered: the list,
    assert tr(harness, "🪑 All places are taken.", "uk") in b.last.text
    await b.press("1. 📅")                                                  # and the live card
    assert tr(harness, "🪑 All places are taken: “{button}” puts you on the waitlist, and we will tell you if a "
              "place frees up.", "uk").format(button="✅ Піду") in card_of(b).text

    await a.press("❌ Can't go")                                            # the place goes to C
    await until(lambda: _has(c, "🎉"))
    freed = next(m for m in c.messages if m.text.startswith("🎉"))
    assert "Europe/Kyiv" not in freed.text and freed.buttons == EVENT_BUTTONS  # the event's own buttons
    assert "Tap “❌ Can't go” and the place goes to the next one waiting." in freed.text
    assert await status_of(harness, 6603) == "going"
    answer = await c.press("❌ Can't go", message=freed)
    assert answer is not None and answer["text"] == "Saved: ❌ Can't go"
    assert await status_of(harness, 6603) == "no"

    await org.send("/events")
    await org.press(f"📋 #{event_id}")
    assert "(Europe/Kyiv)" in org.last.text                                 # the organizer's details


async def _has(who: FakeUser, prefix: str) -> bool:
    return any(m.text.startswith(prefix) for m in who.messages)


# ------------------------------------------------------------------ 10. dates and times

SECONDS = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b")
NUMERIC_DATE = re.compile(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\b")
CODE = re.compile(r"<code>.*?</code>", re.S)  # an example of what to type ("25.12.2026 18:30") is input


def dates_seen(h: Harness, chat_ids: list[int]) -> list[str]:
    """Every text the bot sent to these chats, without the typing examples."""
    return [CODE.sub("", m.html or m.text) for chat in chat_ids for m in h.fake.bot_messages(chat)]


async def test_no_screen_shows_seconds_or_a_numeric_short_date(harness: Harness) -> None:
    clock = Clock(NOW)
    tune(harness, time_scale=20, progress_interval=0.05, now=clock)
    moderators_group(harness)
    org_group = harness.fake.group(ORGANIZERS_CHAT, "Organizers")
    org = await organizer(harness, 6700)
    org_group.add_member(org)
    people = {6701: "en", 6702: "uk", 6703: "ru", 6704: "bg"}
    for tg_id, lang in people.items():
        await resident(harness, tg_id, lang)
    residents = [harness.fake.user(i) for i in people]

    await create_event(harness, org)                                        # event: announcement, wizard
    for who in residents[:3]:
        await who.press(who.buttons(card_of(who))[0])                       # going, going, waitlist
    await residents[0].press("❌ Can't go")                                 # a place freed
    clock.set(START - timedelta(hours=23))
    assert harness.app is not None
    await harness.app.due_checks()
    await all_sent(harness, "event-reminder")                               # the reminder
    assert any(m.text.startswith("⏰") for m in residents[1].messages)
    clock.set(NOW)

    await create_single_poll(harness, org)                                  # a poll open until a moment
    await finished(harness, (await poll_campaign(harness)).id)
    assert "Open until" in poll_message(residents[0]).text

    await org.send("/announce")                                             # a scheduled announcement
    await org.send("The market moves to Saturday")
    await org.press("Continue ➡️")
    await org.press("Continue ➡️")
    await org.press("🕒 Schedule for later")
    await org.send("09.12.2026 18:15")
    assert "When:" in org.last.text
    await org.press("✅ Schedule for")
    await org.send("/campaigns")
    assert "scheduled for" in org.last.text

    await file_report(residents[0], text="The street lamp at Ushakova 12 is broken")  # a report
    await residents[0].send("/myreports")
    await residents[0].press(residents[0].buttons()[0])
    assert "Last update" in residents[0].last.text
    for who in residents:                                                   # the profile
        await who.send("/profile")
    assert re.search(r"Registered: [A-Z][a-z]+ \d{1,2}, \d{4}$", residents[0].last.text)  # a day, in words

    seen = dates_seen(harness, [6700, *people, ORGANIZERS_CHAT])
    assert len(seen) > 60
    assert [t for t in seen if SECONDS.search(t)] == []
    assert [t for t in seen if NUMERIC_DATE.search(t)] == []
    joined = "\n".join(seen)
    for day in ("December 10, 2026", "10 грудня 2026", "10 декабря 2026", "10 декември 2026"):
        assert day in joined, day                                           # the same day, the long way
    assert "December 9, 2026, 6:15\u202fPM" in joined                      # a moment: day, time


# ------------------------------------------------------------------ 11. /help and privacy

def sections(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("🙋", "👤", "✏️", "📈", "🛠"))]


def section(text: str, heading: str) -> str:
    """The lines under ``heading`` up to the next blank line."""
    part = text.split(heading, 1)[1]
    return part.split("\n\n", 1)[0]


async def test_help_is_grouped_by_purpose_and_start_only_before_registration(harness: Harness) -> None:
    stranger = harness.user(6801, first_name="Olha", language_code="en")
    await stranger.send("/help")
    assert "/start" in stranger.last.text and "You are not registered yet" in stranger.last.text

    anna = await register(harness, 6802, "Anna")
    await anna.send("/help")
    text = anna.last.text
    assert sections(text) == ["🙋 Take part", "👤 You and your data"]
    assert "/start" not in text and "/help —" not in text
    take_part, mine = section(text, "🙋 Take part"), section(text, "👤 You and your data")
    for command in ("/report", "/polls", "/events", "/propose", "/proposals", "/discussions", "/groups"):
        assert command in take_part, command
    for command in ("/profile", "/language", "/myreports", "/myproposals", "/privacy", "/mydata", "/deleteme"):
        assert command in mine, command
    assert "/cancel stops the step you are in." in text

    org = await organizer(harness, 6803)
    org_user = harness.fake.user(6803)
    assert org
    await org_user.send("/help")
    text = org_user.last.text
    assert sections(text) == ["🙋 Take part", "👤 You and your data", "✏️ Create", "📈 Follow"]
    assert "/newevent" in section(text, "✏️ Create") and "/newpoll" in section(text, "✏️ Create")
    assert "/stats" in section(text, "📈 Follow") and "/campaigns" in section(text, "📈 Follow")

    admin = await register(harness, 9000, "Admin")
    await admin.send("/help")
    assert sections(admin.last.text)[-1] == "🛠 Manage" and "/grant" in section(admin.last.text, "🛠 Manage")

    olena = await register(harness, 6804, "Olena", lang="uk")
    await olena.send("/help")
    assert sections(olena.last.text) == [tr(harness, "🙋 <b>Take part</b>", "uk").replace("<b>", "").replace("</b>", ""),
                                         tr(harness, "👤 <b>You and your data</b>", "uk").replace("<b>", "")
                                         .replace("</b>", "")]


async def test_consent_and_privacy_say_what_registration_keeps(harness: Harness) -> None:
    who = harness.user(6901, first_name="Anna", language_code="en", username="anna_k")
    await who.send("/start")
    await who.press("English")
    await who.press(who.buttons()[0])
    await who.press(who.buttons()[0])
    await who.press(who.buttons()[-1])
    consent = who.last.text
    assert consent.startswith("Before we save anything")
    assert "username" in consent and "phone" not in consent                 # as it is: no phone asked
    await who.press(who.buttons()[0])
    async with harness.db() as s:
        user = await s.scalar(select(User).where(User.telegram_id == 6901))
        assert user is not None and user.username == "anna_k" and user.phone is None  # what it keeps
    await who.send("/privacy")
    assert "username" in who.last.text and "phone" not in who.last.text
    await who.send("/deleteme")                                             # and what deleting erases
    assert "Telegram id and username will be erased" in who.last.text

    harness.expect_rejected = lambda c: "chat not found" in (c.description or "")
    maria = await mediator(harness, 6902, "Maria")                          # registered by a mediator
    code = await register_offline(maria, "Baba Rada", language="English", phone="+380 50 123 45 67")
    phone = harness.user(6903, first_name="Rada", language_code="en")
    await link(maria, code, phone)
    await phone.send("/privacy")
    assert "Registered by a community mediator" in phone.last.text and "phone number" in phone.last.text
    uk = tr(harness, "<b>Registered by a community mediator:</b> we also keep the phone number you gave them, "
            "if you did; only your mediator and the admins see it.", "uk")
    assert "медіатор" in uk
