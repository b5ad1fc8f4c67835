"""Working groups through the real Dispatcher and the fake Bot API: an organizer opens one with a
coordinator, residents join and leave, an announcement targets the group, the coordinator writes
to its members, and nobody else can."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from storage.models import Campaign, Event, User, utcnow
from tests.delivery_helpers import finished, organizer, resident, tune
from tests.harness import Harness


async def _last(h: Harness, kind: str) -> Campaign:
    async with h.db() as s:
        found = await s.scalar(select(Campaign).where(Campaign.kind == kind).order_by(Campaign.id.desc()))
        assert found is not None
        return found


async def test_group_joined_targeted_and_written_to_by_its_coordinator(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 8000)
    await resident(harness, 8001, "uk")
    async with harness.db() as s:
        await s.execute(update(User).where(User.telegram_id == 8001).values(username="olha"))
        await s.commit()
    for tg, lang in ((8002, "en"), (8003, "uk"), (8004, "en"), (8005, "en")):
        await resident(harness, tg, lang)
    coordinator, anna, bohdan, chris, dora = (harness.fake.user(i) for i in (8001, 8002, 8003, 8004, 8005))

    await org.send("/newgroup")
    assert "🌐 Language: English" in org.last.text                         # the organizer's own
    await org.send_photo()                                                 # not text: asked again
    assert "Please answer with text" in org.last.text
    await org.send("Accessible streets\nuk: Доступні вулиці")                # never glued into the name
    assert "without the “uk:” line" in org.last.text and "«➕ Українська»" in org.last.text
    await org.send("Accessible streets")
    await org.send("Ramps, kerbs and crossings for everyone.")
    await org.press("➕ Українська")                                       # translations as in every wizard
    await org.send("Доступні вулиці\nПандуси, бордюри й переходи для всіх.")
    assert "Added: Українська" in org.last.text
    await org.press("Continue ➡️")
    await org.send("@nobody_here")
    assert "I do not know this person" in org.last.text
    await org.send("@olha")
    assert "Working group «Accessible streets» is open" in org.last.text
    assert "«Доступні вулиці»" in coordinator.last.text and "координ" in coordinator.last.text  # told, in Ukrainian

    for person in (anna, bohdan, chris):
        await person.send("/groups")
        await person.press(next(b for b in person.buttons() if b.startswith("➕")))
    assert "Accessible streets</b> ✅" in anna.last.html and "3 members" in chris.last.text
    await chris.press(next(b for b in chris.buttons() if b.startswith("🚪")))  # changes his mind
    assert "2 members" in chris.last.text

    await org.send("/announce")
    await org.send("Walk audit on Saturday <10:00> & coffee")
    await org.press("Continue ➡️")
    await org.press("🤝 Working groups")
    await org.press("⬜ Accessible streets")
    assert "Matching now: 2 residents" in org.last.text
    await org.press("⬅️ Back")
    await org.press("Continue ➡️")
    assert "working groups: Accessible streets" in org.last.text
    await org.press("✅ Send to 2 residents")
    assert await finished(harness, (await _last(harness, "announcement")).id) == {"sent": 2}
    assert "Walk audit on Saturday <10:00> & coffee" in anna.last.text
    assert "Walk audit" in bohdan.last.text
    assert not any("Walk audit" in m.text for m in chris.messages + dora.messages)

    await dora.send("/groups")                                              # no ✉️ button for her
    assert not any(b.startswith("✉️") for b in dora.buttons())
    answer = await dora.press_data("wg:join:99999999999:0")                   # forged, out of range: no crash
    assert answer is not None and "not for you" in answer["text"]
    answer = await dora.press_data("wg:msg:1:0")                              # a forged one
    assert answer is not None and "Only the group's coordinator" in answer["text"]

    await coordinator.send("/groups")
    await coordinator.press(next(b for b in coordinator.buttons() if b.startswith("✉️")))
    await coordinator.send("Meeting <moved> to the library & renamed")
    await coordinator.press(next(b for b in coordinator.buttons() if b.startswith("✅")))
    assert await finished(harness, (await _last(harness, "group-message")).id) == {"sent": 2}
    assert anna.last.text.endswith("Meeting <moved> to the library & renamed")
    assert "Accessible streets" in anna.last.text and "Доступні вулиці" in bohdan.last.text
    assert not any("Meeting <moved>" in m.text for m in chris.messages + dora.messages)


async def test_next_meeting_shown_and_registration_needed_to_join(harness: Harness) -> None:
    org = await organizer(harness, 8000)
    await org.send("/newgroup")
    await org.send("Youth & <council>")                                     # typed as is
    await org.send("Young people of the district meet monthly.")
    await org.press("Continue ➡️")
    await org.press("Skip")
    assert "«Youth & <council>» is open" in org.last.text
    async with harness.db() as s:
        now = utcnow()
        s.add(Event(kind="meeting", title={"en": "Youth council meeting"}, description={},
                    starts_at=now + timedelta(days=3), ends_at=now + timedelta(days=3, hours=1), default_locale="en",
                    status="scheduled", checkin_token="yc1", audience={"groups": [1]}))
        await s.commit()
    stranger = harness.user(8100, language_code="en")
    await stranger.send("/groups")
    assert "next meeting:" in stranger.last.text and "Youth council meeting" in stranger.last.text
    answer = await stranger.press("➕ Join «Youth & <council>»")
    assert answer is not None and "register first" in answer["text"]

    await resident(harness, 8101)
    await org.send("/announce")                                              # the group as an audience
    await org.send("Agenda for Friday")
    await org.press("Continue ➡️")
    await org.press("🤝 Working groups")
    await org.press("⬜ Youth & <council>")
    assert "working groups: Youth & <council>" in org.last.text and "Matching now: 0 residents" in org.last.text
    answer = await org.press("⬅️ Back") and await org.press("Continue ➡️")
    assert answer is not None and "Nobody matches" in answer["text"]
