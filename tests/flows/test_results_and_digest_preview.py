"""What organizers follow (issue 19, items 13 and 15), through the real Dispatcher and the fake
Bot API: "📊 Charts and breakdowns" shows the breakdowns or says why there are none, once per
results message; /digest previews the next digest without sending it to anyone."""
from __future__ import annotations

from sqlalchemy import func, select

from bot.fakeapi import FakeUser
from storage.models import Campaign
from tests.delivery_helpers import Clock, finished, organizer, resident, tune
from tests.flows.test_polls import create_single_poll, poll_campaign
from tests.harness import ORGANIZERS_CHAT, Harness
from tests.impact_data import NOW, known_data


def results_of(who: FakeUser, poll_id: int):  # type: ignore[no-untyped-def]
    return next(m for m in reversed(who.messages) if m.text.startswith(f"📊 Results · #{poll_id}"))


async def vote(h: Harness, voters: dict[int, str]) -> None:
    campaign = await poll_campaign(h)
    await finished(h, campaign.id)
    for tg_id, option in voters.items():
        await h.fake.user(tg_id).press(option)


async def test_charts_and_breakdowns_show_them_or_say_why_not_and_never_repeat(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 9400)
    for tg_id, district in ((9401, "ostriv"), (9402, "ostriv"), (9403, "korabelnyi")):
        await resident(harness, tg_id, "en", district=district)

    # anonymous, three people: no group of POLL_MIN_GROUP (5), and the bot says so
    small = await create_single_poll(harness, org)
    await vote(harness, {9401: "Online", 9402: "Online", 9403: "City library"})
    await org.send("/polls")
    await org.press(f"📊 #{small}")
    results = results_of(org, small)
    assert "Online — 2 (67%)" in results.text and "By district" not in results.text  # the totals first
    sent = len(org.messages)
    await org.press("📊 Charts and breakdowns", message=results)
    breakdowns = next(m for m in org.messages[sent:] if m.text.startswith(f"📊 Breakdowns · #{small}"))
    assert "POLL_MIN_GROUP = 5" in breakdowns.text and "at least 5 participants" in breakdowns.text
    assert [m.kind for m in org.messages[sent:]] == ["text", "photo"]  # the reason, then the chart
    assert "📊 Charts and breakdowns" not in results.buttons and "⏹ Close now" in results.buttons
    answer = await org.press_data(f"pl:b:{small}", message=results)  # pressed again (a stale copy)
    assert answer is not None and "below these results already" in answer["text"]
    assert len(org.messages) == sent + 2                                 # nothing was sent again

    # not anonymous: everyone counts, so two districts make a breakdown
    named = await create_single_poll(harness, org, anonymous=False)
    await vote(harness, {9401: "Online", 9402: "Online", 9403: "City library"})
    await org.send("/polls")
    await org.press(f"📊 #{named}")
    sent = len(org.messages)
    await org.press("📊 Charts and breakdowns", message=results_of(org, named))
    breakdowns = next(m for m in org.messages[sent:] if m.text.startswith(f"📊 Breakdowns · #{named}"))
    assert "By district:" in breakdowns.text and "· Ostriv (the Island) (2): " in breakdowns.text
    assert "POLL_MIN_GROUP" not in breakdowns.text

    # the organizers' chat gets the results at closing, with the same button
    group = harness.fake.group(ORGANIZERS_CHAT, "Organizers")
    group.add_member(org)
    await org.press("⏹ Close now", message=results_of(org, named))
    await org.press("⏹ Yes, close")
    in_group = await harness.fake.wait_for(lambda: next(
        (m for m in harness.fake.bot_messages(ORGANIZERS_CHAT) if m.text.startswith(f"📊 Results · #{named}")), None))
    assert "By district" not in in_group.text and "📊 Charts and breakdowns" in in_group.buttons
    await group.press(org, "📊 Charts and breakdowns", message=in_group)
    assert any(m.text.startswith(f"📊 Breakdowns · #{named}") for m in harness.fake.bot_messages(ORGANIZERS_CHAT))
    assert "📊 Charts and breakdowns" not in in_group.buttons and "📣 Send the results to participants" in in_group.buttons


async def test_digest_offers_a_preview_of_the_next_one(harness: Harness) -> None:
    tune(harness, now=Clock(NOW))                                          # Tuesday 1 December 2026, 12:00 in Kyiv
    harness.fake.group(ORGANIZERS_CHAT, "Organizers")
    org = await organizer(harness, 7000)
    await known_data(harness, organizer_tg=7000)
    await org.send("/digest")
    settings = org.last
    assert "👁 Preview" in settings.buttons
    await org.press("👁 Preview")                                           # not subscribed: the weekly one
    preview = org.last.text
    assert preview.startswith("👁 Preview: the next digest as it stands now; it goes December 7, 2026, 9:00\u202fAM")
    assert "🗞 Weekly digest · November 30, 2026, 9:00\u202fAM – December 1, 2026, 12:00\u202fPM" in preview
    assert "«Winter fair»: 1 going" in preview and "«Benches in the park» (#1) 👍 3" in preview

    await org.press(next(b for b in settings.buttons if "👤" in b and "Daily" in b), message=settings)
    await org.press("👁 Preview", message=settings)                                         # now the one this organizer gets
    assert org.last.text.startswith("👁 Preview: the next digest as it stands now; it goes December 2, 2026")
    assert "🗞 Daily digest · December 1, 2026, 9:00\u202fAM – December 1, 2026, 12:00\u202fPM" in org.last.text
    async with harness.db() as s:                                           # a preview is sent to nobody else
        assert await s.scalar(select(func.count()).select_from(Campaign).where(Campaign.kind == "digest")) == 0
    assert harness.fake.bot_messages(ORGANIZERS_CHAT) == []
