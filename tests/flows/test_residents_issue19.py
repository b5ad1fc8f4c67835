"""Issue 19, items 7, 12 and 14: what residents and organizers see (flow tests)."""
from __future__ import annotations

from sqlalchemy import select

from bot.fakeapi import FakeUser
from bot.services import polls as ps
from storage.models import Event, Poll
from tests.delivery_helpers import finished, organizer, resident, tune
from tests.flows.test_polls import poll_campaign
from tests.harness import ORGANIZERS_CHAT, Harness


async def _text_poll(h: Harness, org: FakeUser, question: str) -> int:
    await org.send("/newpoll")
    await org.press("Free-text answer")
    await org.send(question)
    await org.press("Continue ➡️")
    await org.press("✅ Send to", wait=True)
    campaign = await poll_campaign(h)
    await finished(h, campaign.id)
    return int(campaign.payload["poll"]["id"])


async def _texts(h: Harness, poll_id: int) -> list[str]:
    async with h.db() as s:
        poll = await s.get(Poll, poll_id)
        assert poll is not None
        res = await ps.results(s, poll, min_group=1)
    return [t[1] for t in res.questions[-1].texts]


# ------------------------------------------------------------------ 7. a typed free-text answer

async def test_a_typed_message_answers_the_free_text_question_in_front_of_the_resident(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 7000)
    await resident(harness, 7001, "uk")
    who = harness.fake.user(7001)

    poll_id = await _text_poll(harness, org, "What should the council fix first?")
    question = who.last
    assert "What should the council fix first?" in question.text
    assert question.buttons == ["✍️ Написати відповідь"]          # the button stays, as a hint
    await who.send("📊 Опитування")                               # a menu tap is not an answer
    assert "What should the council fix first?" in who.last.text and await _texts(harness, poll_id) == []
    await who.send("Освітлення на <b>Перекопській</b>")           # typed, without pressing the button
    assert who.last.text.startswith("Збережено ✅")
    assert "Освітлення на &lt;b&gt;Перекопській&lt;/b&gt;" in who.last.html
    assert who.last.buttons == ["✍️ Змінити відповідь"]
    assert await _texts(harness, poll_id) == ["Освітлення на <b>Перекопській</b>"]
    await who.send("ще щось")                                     # answered: the next message is not taken
    assert "Збережено" not in who.last.text and await _texts(harness, poll_id) == ["Освітлення на <b>Перекопській</b>"]


async def test_a_survey_takes_the_typed_answer_of_its_next_question(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 7100)
    await resident(harness, 7101, "en")
    who = harness.fake.user(7101)

    await org.send("/newpoll")
    await org.press("Free-text answer")
    await org.send("What do you like about the district?")
    await org.press("Continue ➡️")
    await org.press("➕ Add a question")
    await org.send("Our district")                                # the survey's title
    await org.press("Continue ➡️")
    await org.press("Scale 1–5")
    await org.send("How safe is your street?")
    await org.press("Continue ➡️")
    await org.press("➕ Add a question")
    await org.press("Free-text answer")
    await org.send("What should change?")
    await org.press("Continue ➡️")
    await org.press("✅ Send to", wait=True)
    campaign = await poll_campaign(harness)
    await finished(harness, campaign.id)

    await who.send("hello")                                       # only the invitation was shown
    assert who.last.text.startswith("I did not understand")
    await who.press("▶️ Answer")
    assert "Question 1 of 3" in who.last.text and "Write your answer in a message." in who.last.text
    await who.send("The river")
    assert who.messages[-2].text.startswith("Saved ✅") and "Your answer: The river" in who.messages[-2].text
    assert "Question 2 of 3" in who.last.text
    await who.press("4")
    assert "Question 3 of 3" in who.last.text
    await harness.restart()                                       # the bot restarts while they type
    await who.send("More benches")
    assert who.last.text.startswith("🙏 Thank you!")
    async with harness.db() as s:
        poll = await s.scalar(select(Poll).order_by(Poll.id.desc()))
        assert poll is not None
        res = await ps.results(s, poll, min_group=1)
    assert [t[1] for t in res.questions[0].texts] == ["The river"]
    assert [t[1] for t in res.questions[2].texts] == ["More benches"]
    assert res.completed == 1


# ------------------------------------------------------------------ 12. destructive buttons ask first

async def _single_poll(h: Harness, org: FakeUser, question: str) -> int:
    await org.send("/newpoll")
    await org.press("One choice")
    await org.send(f"{question}\nYes\nNo")
    await org.press("Continue ➡️")
    await org.press("✅ Send to", wait=True)
    campaign = await poll_campaign(h)
    await finished(h, campaign.id)
    return int(campaign.payload["poll"]["id"])


async def _poll_status(h: Harness, poll_id: int) -> str:
    async with h.db() as s:
        return (await s.get(Poll, poll_id)).status  # type: ignore[union-attr]


async def test_closing_a_poll_asks_first_and_the_list_keeps_its_order(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    harness.fake.group(ORGANIZERS_CHAT, "Organizers")
    org = await organizer(harness, 7200)
    first = await _single_poll(harness, org, "A bench by the school?")
    second = await _single_poll(harness, org, "A crossing on Lesi Ukrainky?")
    third = await _single_poll(harness, org, "Trees in the park?")
    await org.send("/polls")
    before = org.last
    assert before.buttons == [f"📊 #{first}", f"📊 #{second}", f"📊 #{third}"]

    await org.press(f"📊 #{first}", message=before)
    results = next(m for m in reversed(org.messages) if m.text.startswith("📊 Results"))
    await org.press("⏹ Close now", message=results)
    ask = org.last
    assert ask.text.startswith(f"Close poll #{first} now?") and "A bench by the school?" in ask.text
    assert ask.buttons == ["⏹ Yes, close", "No"]
    await org.press("No", message=ask)
    assert ask.text == f"Poll #{first} stays open." and ask.buttons == []
    assert await _poll_status(harness, first) == "open"

    await org.press("⏹ Close now", message=results)
    ask = org.last
    await org.press("⏹ Yes, close", message=ask)
    assert ask.text.startswith(f"Poll #{first} is closed") and ask.buttons == []
    assert await _poll_status(harness, first) == "closed"
    # the same confirmation again (a double tap, an old copy): checked on the server, it says so
    answer = await org.press_data(f"pl:cy:{first}", message=ask)
    assert answer is not None and answer["text"] == f"Poll #{first} was already closed."
    answer = await org.press("⏹ Close now", message=results)  # the old results message's button
    assert answer is not None and answer["text"] == f"Poll #{first} was already closed."
    assert "⏹ Close now" not in results.buttons

    await org.send("/polls")                                        # closing #1 moved nothing
    assert org.last.buttons == before.buttons
    assert [line.split(" ·")[0] for line in org.last.text.splitlines() if line.startswith("#")] == [
        f"#{first}", f"#{second}", f"#{third}"]
    assert await _poll_status(harness, second) == "open"


async def test_cancelling_an_event_asks_first(harness: Harness) -> None:
    from tests.flows.test_events import NOW, create_event

    from tests.delivery_helpers import Clock

    tune(harness, time_scale=20, progress_interval=0.05, now=Clock(NOW))
    org = await organizer(harness, 7300)
    event_id = await create_event(harness, org)
    await org.send("/events")
    await org.press(f"📋 #{event_id}")
    details = org.last
    await org.press("✖ Cancel the event", message=details)
    ask = org.last
    assert ask.text.startswith(f"Cancel event #{event_id} now?") and "Budget workshop" in ask.text
    assert ask.buttons == ["✖ Yes, cancel it", "No, keep it"]
    await org.press("No, keep it", message=ask)
    assert ask.text == f"Event #{event_id} is not cancelled; nothing changed." and ask.buttons == []
    async with harness.db() as s:
        assert (await s.get(Event, event_id)).status != "cancelled"  # type: ignore[union-attr]

    await org.press("✖ Cancel the event", message=details)
    ask = org.last
    await org.press("✖ Yes, cancel it", message=ask)
    assert ask.text.startswith("The event is cancelled") and ask.buttons == []
    answer = await org.press_data(f"eo:cy:{event_id}:0", message=ask)   # stale: says so
    assert answer is not None and answer["text"] == "This event is cancelled."
    answer = await org.press("✖ Cancel the event", message=details)
    assert answer is not None and answer["text"] == "This event is cancelled."
    async with harness.db() as s:
        assert (await s.get(Event, event_id)).status == "cancelled"  # type: ignore[union-attr]


async def test_removing_an_organisation_asks_first(harness: Harness) -> None:
    from bot.services import orgs as orgs_service
    from tests.harness import ADMIN_ID

    tune(harness)
    admin = await organizer(harness, ADMIN_ID)
    async with harness.db() as s:
        org = await orgs_service.create(s, orgs_service.OrgDraft(name={"en": "River Friends"}), None)
        await s.commit()
        org_id = org.id
    await admin.send("/orgs")
    await admin.press("River Friends")
    card = admin.last
    await admin.press("🗑 Remove from the network", message=card)
    assert card.text.startswith("Remove «River Friends» from the network?")
    assert card.buttons == ["🗑 Yes, remove", "No"]
    await admin.press("No", message=card)                          # the card comes back
    assert "River Friends" in card.text and "🗑 Remove from the network" in card.buttons
    await admin.press("🗑 Remove from the network", message=card)
    await admin.press("🗑 Yes, remove", message=card)
    assert "River Friends" not in card.text                         # the list, without it
    answer = await admin.press_data(f"org:rmok:{org_id}:0:0:", message=card)   # stale
    assert answer is not None and answer["text"] == "This organisation is no longer in the network."
    assert card.text == "This organisation is no longer in the network." and card.buttons == []


async def test_revoking_a_role_asks_first(harness: Harness) -> None:
    from storage.models import UserRole
    from tests.flows.helpers import register
    from tests.harness import ADMIN_ID

    admin = await register(harness, ADMIN_ID, "Admin")
    anna = await register(harness, 7401, "Anna")
    await admin.send("/grant organizer @anna7401")
    await admin.send("/revoke organizer @anna7401")
    ask = admin.last
    assert ask.text.startswith("Revoke the role organizer from Anna") and ask.buttons == ["Yes, revoke", "No"]
    await admin.press("No", message=ask)
    assert ask.text == "Nothing was changed." and ask.buttons == []
    await admin.send("/revoke organizer 7401")
    ask = admin.last
    data = ask.raw["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    answer = await anna.press_data(data)                            # not an admin: refused, nothing changes
    assert answer is not None and "only admins" in answer["text"]
    async with harness.db() as s:
        assert len((await s.scalars(select(UserRole))).all()) == 1
    await admin.press("Yes, revoke", message=ask)
    assert ask.text.startswith("Anna") and "is no longer organizer" in ask.text and ask.buttons == []
    answer = await admin.press_data(data)                           # stale: it says so
    assert answer is not None and "was not organizer" in answer["text"]
    async with harness.db() as s:
        assert (await s.scalars(select(UserRole))).all() == []
    await admin.send("/revoke organizer 7401")                      # nothing to revoke: no question
    assert "was not organizer" in admin.last.text and admin.last.buttons == []


# ------------------------------------------------------------------ 14. campaigns: the outcome, once

async def _announce_to_ostriv(org: FakeUser, text: str, *, later: str | None = None) -> None:
    await org.send("/announce")
    await org.send(text)
    await org.press("Continue ➡️")
    await org.press("🏘 Districts")
    await org.press("Ostriv (the Island)")
    await org.press("⬅️ Back")
    await org.press("Continue ➡️")
    if later:
        await org.press("🕒 Schedule for later")
        await org.send(later)
    await org.press(next(b for b in org.buttons() if b.startswith("✅ ")))


async def test_campaigns_show_their_outcome_once_named_by_what_was_sent(harness: Harness) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from sqlalchemy import update

    from storage.models import Campaign, User

    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 7500)                            # lives elsewhere: not a recipient
    for tg_id in (7501, 7502, 7503):
        await resident(harness, tg_id, district="ostriv")
    harness.expect_rejected = lambda c: c.error_code == 403           # the resident who blocked the bot
    harness.fake.user(7503).block()
    await harness.fake.settle()
    async with harness.db() as s:  # the my_chat_member update marked them; the bot finds out by sending
        await s.execute(update(User).values(unreachable_at=None))
        await s.commit()

    await _announce_to_ostriv(org, "Water is off on Monday")
    async with harness.db() as s:
        first = await s.scalar(select(Campaign).order_by(Campaign.id.desc()))
    assert first is not None
    await finished(harness, first.id)
    progress = next(m for m in org.messages if m.message_id == first.progress_message_id)
    assert progress.text.splitlines() == [f"✅ Announcement #{first.id}: sending finished.", "✅ Delivered: 2",
                                          "🚫 Unreachable: 1", "⚠️ Failed: 0"]
    assert progress.buttons == [] and org.last.message_id == progress.message_id  # no second message

    poll_id = await _single_poll(harness, org, "A bench by the school?")   # its campaign is #2, the poll #1
    poll_campaign_ = await poll_campaign(harness)
    assert poll_campaign_.id != poll_id
    outcome = next(m for m in org.messages if m.message_id == poll_campaign_.progress_message_id)
    assert outcome.text.startswith(f"✅ Poll #{poll_id}: sending finished.") and "Campaign" not in outcome.text
    after = [m.text for m in org.messages if m.message_id > outcome.message_id]
    assert [t for t in after if not t.startswith("📊 Poll")] == []   # (the organizer got the poll too)

    later = datetime.now(ZoneInfo("Europe/Kyiv")) + timedelta(days=1)
    await _announce_to_ostriv(org, "Choir on Friday", later=f"{later:%d.%m.%Y} 12:00")
    await org.send("/campaigns")
    listing = org.last
    lines = [line for line in listing.text.splitlines() if line.startswith("Announcement #")]
    assert lines[0] == f"Announcement #{first.id} · finished · delivered: 2 · unreachable: 1 · failed: 0"
    assert lines[1].startswith(f"Announcement #{first.id + 2} · scheduled for")
    assert listing.buttons == [f"✖ Cancel #{first.id + 2}"]         # only what can still be cancelled
    await org.press(f"✖ Cancel #{first.id + 2}", message=listing)
    lines = [line for line in listing.text.splitlines() if line.startswith("Announcement #")]
    assert lines[0].startswith(f"Announcement #{first.id} · finished")   # the order stays
    assert lines[1] == (f"Announcement #{first.id + 2} · cancelled · delivered: 0 · unreachable: 0 · failed: 0 · "
                        "not sent: 0")
