"""Polls and surveys through the real Dispatcher, the delivery engine and the fake Bot API."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.fakeapi import FakeUser
from bot.services import polls as ps
from storage.models import Campaign, Poll, PollAnswer, PollResponse
from tests.delivery_helpers import Clock, finished, organizer, resident, tune, until
from tests.harness import ORGANIZERS_CHAT, Harness


async def poll_campaign(h: Harness, kind: str = "poll") -> Campaign:
    async with h.db() as s:
        campaign = await s.scalar(select(Campaign).where(Campaign.kind == kind).order_by(Campaign.id.desc()))
    assert campaign is not None
    return campaign


async def create_single_poll(h: Harness, org: FakeUser, *, anonymous: bool = True) -> int:
    await org.send("/newpoll")
    await org.press("One choice")
    await org.send("Where should the next public discussion be?\nSchool No. 12\nCity library\nOnline")
    await org.press("➕ Українська")
    await org.send("Де провести наступне громадське обговорення?\nШкола № 12\nМіська бібліотека\nОнлайн")
    assert "Done: Українська" in org.last.text
    await org.press("Continue ➡️")
    if not anonymous:
        await org.press("🕶 Anonymous: on")
        assert "Anonymous: no" in org.last.text
    await org.press("✅ Send to", wait=True)
    campaign = await poll_campaign(h)
    await finished(h, campaign.id)
    return int(campaign.payload["poll"]["id"])


def poll_message(who: FakeUser):  # type: ignore[no-untyped-def]
    return next(m for m in reversed(who.messages) if m.buttons and "📊" in m.text)


async def test_single_choice_poll_vote_change_close_and_publish(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org_group = harness.fake.group(ORGANIZERS_CHAT, "Organizers")
    org = await organizer(harness, 5000)
    org_group.add_member(org)
    await resident(harness, 5001, "en", district="ostriv")
    await resident(harness, 5002, "uk", district="ostriv")
    await resident(harness, 5003, "bg", district="korabelnyi")  # no Bulgarian version: English
    a, b, c = (harness.fake.user(i) for i in (5001, 5002, 5003))

    poll_id = await create_single_poll(harness, org)
    assert "Where should the next public discussion be?" in poll_message(a).text
    assert "Де провести наступне громадське обговорення?" in poll_message(b).text
    assert poll_message(b).buttons == ["Школа № 12", "Міська бібліотека", "Онлайн"]
    assert "Anonymous" in poll_message(a).text and "Open until" in poll_message(a).text

    answer = await a.press("City library")
    assert answer is not None and answer["text"] == "Saved ✅"
    assert poll_message(a).buttons == ["School No. 12", "✅ City library", "Online"]
    assert "Your answer: City library" in poll_message(a).text
    await a.press("Online")                                 # changed their mind
    assert poll_message(a).buttons == ["School No. 12", "City library", "✅ Online"]
    await b.press("Школа № 12")
    await b.press("✅ Школа № 12")                          # a double tap changes nothing
    await c.press("Online")

    async with harness.db() as s:
        poll = await s.get(Poll, poll_id)
        assert poll is not None
        res = await ps.results(s, poll, min_group=1)
        assert res.participants == 3 and res.questions[0].counts == [1, 0, 2]
        # anonymous: no answer row leads back to a resident
        assert all(r.user_id is None for r in await s.scalars(select(PollResponse)))

    await org.send("/polls")
    assert "#%d" % poll_id in org.last.text and "3 participants" in org.last.text
    await org.press(f"📊 #{poll_id}")
    results = next(m for m in reversed(org.messages) if m.text.startswith("📊 Results"))
    assert "Online — 2 (67%)" in results.text and "School No. 12 — 1 (33%)" in results.text
    charts = [m for m in org.messages if m.kind == "photo"]
    assert len(charts) == 1 and "question 1" in charts[0].text

    await org.press("⏹ Close now", message=results)
    in_group = await until(lambda: _group_results(harness))
    assert "Online — 2 (67%)" in in_group.text
    await until(lambda: _buttons_taken_off(harness, a))
    answer = await a.press("🔒 Poll closed")
    assert answer is not None and "closed" in answer["text"]
    # an old button pressed after closing (a forged or stale callback) is refused politely
    answer = await a.press_data(f"pv:{poll_id}:0:v:0")
    assert answer is not None and answer["text"] == "This poll is closed."

    await org_group.press(org, "📣 Send the results to participants", message=in_group)
    published = await poll_campaign(harness, "poll-results")
    assert await finished(harness, published.id) == {"sent": 3}
    assert a.last.text.startswith("📣 Poll results") and "Online" in a.last.text
    assert b.last.text.startswith("📣 Результати") or "Онлайн" in b.last.text
    assert "By district" not in a.last.text                   # participants get totals only
    answer = await org_group.press(org, "📊 Charts and breakdowns", message=in_group)
    async with harness.db() as s:
        assert (await s.get(Poll, poll_id)).results_published_at is not None  # type: ignore[union-attr]


async def _group_results(h: Harness):  # type: ignore[no-untyped-def]
    return next((m for m in h.fake.bot_messages(ORGANIZERS_CHAT) if m.text.startswith("📊 Results")), None)


async def _buttons_taken_off(h: Harness, who: FakeUser) -> bool:
    message = next(m for m in who.messages if "📊" in m.text)
    return message.buttons == ["🔒 Poll closed"]


async def test_residents_can_not_run_organizer_buttons(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 5100)
    await resident(harness, 5101)
    poll_id = await create_single_poll(harness, org)
    who = harness.fake.user(5101)
    answer = await who.press_data(f"pl:c:{poll_id}")
    assert answer is not None and answer["text"] == "Sorry, only organizers can do this."
    await who.send("/newpoll")
    assert "not available to you" in who.last.text
    async with harness.db() as s:
        assert (await s.get(Poll, poll_id)).status == "open"  # type: ignore[union-attr]
