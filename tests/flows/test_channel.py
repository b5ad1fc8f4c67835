"""Publishing to the public channel with one button, through the real Dispatcher and the fake Bot
API: poll results in the channel's two languages, once; a channel the bot cannot post to; a
realised proposal from the moderators' card; an event summary with a photo; the links back."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.services import events as events_service
from bot.services import polls as polls_service
from bot.services import proposals as proposals_service
from bot.services import users as users_service
from storage.models import ChannelPost, utcnow
from tests.delivery_helpers import Clock, organizer, resident, tune
from tests.flows.reports_helpers import moderator, moderators_group
from tests.harness import Harness

CHANNEL = -1003000


async def _with_channel(h: Harness, reachable: bool = True) -> None:
    h.settings = h.settings.model_copy(update={"public_channel_id": str(CHANNEL),
                                               "public_channel_locales": ["uk", "en"]})
    await h.restart()
    if reachable:
        h.fake.group(CHANNEL, "Kherson together")


async def _closed_poll(h: Harness) -> int:
    anna_id = await resident(h, 6001)
    async with h.db() as s:
        anna = await users_service.by_id(s, anna_id)
        now = utcnow()
        poll = await polls_service.create_poll(s, polls_service.PollDraft(
            title={"en": "Benches", "uk": "Лавки"}, questions=[polls_service.QuestionDraft(
                kind="single", text={"en": "Where <first>?", "uk": "Де спершу?"},
                options=[{"en": "School", "uk": "Школа"}, {"en": "Park & pond", "uk": "Парк"}])],
            closes_at=now + timedelta(days=7)), default_locale="en", created_by=None, now=now)
        await polls_service.vote(s, poll, 0, 1, anna, "key-anna", now)
        await polls_service.close_poll(s, poll.id, now)
        await s.commit()
        return poll.id


async def test_poll_results_published_once_in_the_channels_languages(harness: Harness) -> None:
    harness.expect_rejected = lambda c: "chat not found" in (c.description or "")  # the channel refuses first
    await _with_channel(harness, reachable=False)
    poll_id = await _closed_poll(harness)
    org = await organizer(harness, 6100)
    await org.send("/polls")
    await org.press(f"📊 #{poll_id}")
    answer = await org.press("📢 To the public channel")
    assert answer is not None and "could not post to the public channel" in answer["text"]  # nothing lost

    harness.fake.group(CHANNEL, "Kherson together")                          # now the bot is an admin there
    answer = await org.press("📢 To the public channel")
    assert answer is not None and "Published" in answer["text"]
    (post,) = harness.fake.bot_messages(CHANNEL)
    assert "Лавки" in post.text and "Benches" in post.text                  # Ukrainian, then English
    assert post.text.index("Лавки") < post.text.index("Benches")
    assert "Where <first>?" in post.text and "Park & pond" in post.text     # as typed, not as HTML
    assert "t.me/hromada_test_bot" in post.text
    assert any("start=polls" in (e.get("url") or "") for e in post.entities)
    answer = await org.press("📢 To the public channel")                    # a second tap
    assert answer is not None and "already in the public channel" in answer["text"]
    assert len(harness.fake.bot_messages(CHANNEL)) == 1

    anna = harness.fake.user(6001)
    await anna.send("/start polls")                                          # where the link leads
    assert "Benches" in anna.last.text or "poll" in anna.last.text.lower()
    answer = await anna.press_data(f"ch:poll:{poll_id}")                     # a forged button
    assert answer is not None and "only organizers" in answer["text"]


async def test_realised_proposal_and_event_summary_with_a_photo(harness: Harness) -> None:
    clock = Clock(utcnow())
    tune(harness, now=clock)
    await _with_channel(harness)
    group = moderators_group(harness)
    mod = await moderator(harness, group, 6200, "Mira")
    anna_id = await resident(harness, 6001)
    async with harness.db() as s:
        anna = await users_service.by_id(s, anna_id)
        proposal = await proposals_service.submit(s, anna, proposals_service.ProposalDraft(
            title="Ramp at the library", problem="Wheelchairs cannot get in.", solution="Build a ramp & a rail.",
            district="ostriv", category="infrastructure"), None)
        event = await events_service.create_event(s, events_service.EventDraft(
            kind="workshop", title={"en": "Budget workshop", "uk": "Бюджетний воркшоп"},
            starts_at=clock() + timedelta(hours=1), ends_at=clock() + timedelta(hours=3), venue="Library"),
            default_locale="en", created_by=None, now=clock())
        await events_service.check_in(s, event.checkin_token, anna, clock() + timedelta(hours=1))
        await s.commit()
        proposal_id, event_id = proposal.id, event.id

    from handlers.proposals.moderation import post_missing_cards  # the card of a proposal made outside the bot
    assert harness.app is not None
    await post_missing_cards(harness.app.sessionmaker, harness.app.bot, harness.settings, harness.app.community,
                             harness.app.i18n, now=utcnow() + timedelta(minutes=5))
    card = next(m for m in reversed(harness.fake.bot_messages(group.chat_id)) if f"#{proposal_id}" in m.text)
    for step in ("📣 Publish", "✅ Accepted", "🎉 Realised"):
        await mod.press(step, message=card)
    assert "📢 To the public channel" in mod.buttons(card)
    answer = await mod.press("📢 To the public channel", message=card)
    assert answer is not None and "Published" in answer["text"]
    post = harness.fake.bot_messages(CHANNEL)[-1]
    assert "Ramp at the library" in post.text and "Build a ramp & a rail." in post.text
    assert any(f"start=proposal_{proposal_id}" in (e.get("url") or "") for e in post.entities)

    org = await organizer(harness, 6100)
    await org.send("/events")
    await org.press(f"📋 #{event_id}")
    assert "📢 To the public channel" not in org.buttons()                   # not before it starts
    clock.set(clock() + timedelta(hours=2))
    await org.send("/events")
    await org.press(f"📋 #{event_id}")
    await org.press("📢 To the public channel")
    assert "Send a photo" in org.last.text
    await org.send("a photo, please?")
    assert "Please send a photo" in org.last.text
    await org.send_photo(caption="us")
    assert "Published" in org.last.text
    post = harness.fake.bot_messages(CHANNEL)[-1]
    assert post.kind == "photo" and "Бюджетний воркшоп" in post.text and "1 person came" in post.text

    anna_user = harness.fake.user(6001)
    await anna_user.send(f"/start proposal_{proposal_id}")
    assert "Ramp at the library" in anna_user.last.text
    await anna_user.send("/start proposal_99999999999")                      # a forged link: said plainly
    assert "This link is not valid any more" in anna_user.last.text
    await anna_user.send("/proposals")
    assert any("Ramp at the library" in b for b in anna_user.buttons())
    async with harness.db() as s:
        kinds = sorted(k for k in await s.scalars(select(ChannelPost.kind)))
    assert kinds == ["event", "proposal"]
