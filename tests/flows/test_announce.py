"""Organizer announcements through the real Dispatcher, the delivery engine and the fake Bot API."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.delivery import CampaignCb
from bot.services import campaigns as cs
from storage.models import Campaign
from tests.delivery_helpers import Clock, bot_texts, counts, finished, organizer, resident, status, tune
from tests.harness import Harness

KYIV = ZoneInfo("Europe/Kyiv")
HEADER = "📢 Announcement"  # the English header; other languages get it translated


async def last_campaign(h: Harness) -> Campaign:
    async with h.db() as s:
        campaign = await s.scalar(select(Campaign).order_by(Campaign.id.desc()))
    assert campaign is not None
    return campaign


async def test_announcement_reaches_the_chosen_audience_in_each_language(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 4000)
    await resident(harness, 4001, "en")
    await resident(harness, 4002, "uk")
    await resident(harness, 4003, "ru")                            # no ru translation: gets English
    await resident(harness, 4004, "uk", district="korabelnyi")     # another district

    await org.send("/announce")
    assert "New announcement" in org.last.text and "English" in org.last.text
    await org.send("Water is off on Monday <9-12> & the pump is <b>fixed</b>")
    assert "Translations" in org.last.text
    await org.press("➕ Українська")
    await org.send("У понеділок не буде води")
    assert "Added: Українська" in org.last.text
    await org.press("Continue ➡️")
    assert "Matching now: 5 residents" in org.last.text   # everyone, the organizer included
    await org.press("🏘 Districts")
    await org.press("Ostriv (the Island)")
    assert "Matching now: 3 residents" in org.last.text
    await org.press("⬅️ Back")
    await org.press("Continue ➡️")

    panel = org.last
    assert "Recipients: 3 residents" in panel.text and "When: now" in panel.text
    previews = [m.text for m in org.messages if m.text.startswith("📢")]  # one per language
    english = f"{HEADER}\n\nWater is off on Monday <9-12> & the pump is <b>fixed</b>"
    assert previews[0] == english  # organizer text is shown as typed, never as HTML
    await org.press("✅ Send to 3 residents")
    campaign = await last_campaign(harness)
    assert await finished(harness, campaign.id) == {"sent": 3}

    assert bot_texts(harness, 4001) == [english] == previews[:1]  # exactly the preview
    assert bot_texts(harness, 4002)[0].endswith("\n\nУ понеділок не буде води")
    assert bot_texts(harness, 4002) == [previews[1]]
    # no Russian version: the English text, under the header in the resident's own language
    (ru_text,) = bot_texts(harness, 4003)
    assert ru_text.endswith(english.removeprefix(HEADER)) and not ru_text.startswith(HEADER)
    assert bot_texts(harness, 4004) == []
    progress = next(m for m in org.messages if m.message_id == campaign.progress_message_id)
    assert progress.text.startswith(f"✅ Announcement #{campaign.id}: sending finished.")
    assert "Delivered: 3" in progress.text and progress.buttons == []
    assert org.last.message_id == progress.message_id       # the one completion message: nothing after it
    assert campaign.created_by is not None and not campaign.urgent


async def test_photo_announcement_scheduled_in_local_time(harness: Harness) -> None:
    clock = Clock(datetime.now(UTC))
    eng = tune(harness, time_scale=20, progress_interval=0.05, now=clock)
    org = await organizer(harness, 4100)
    for tg_id in (4101, 4102):
        await resident(harness, tg_id)

    await org.send("/announce")
    await org.send_photo(caption="Clean-up day on Saturday")
    await org.press("Continue ➡️")
    await org.press("Continue ➡️")
    await org.press("🕒 Schedule for later")
    await org.send("01.01.2020 10:00")
    assert "already passed" in org.last.text
    await org.send("next Friday")
    assert "could not read" in org.last.text
    local = (datetime.now(KYIV) + timedelta(days=2)).replace(hour=10, minute=30, second=0, microsecond=0)
    await org.send(f"{local:%d.%m.%Y} 10:30")
    assert "When:" in org.last.text and "Europe/Kyiv" in org.last.text
    await org.press("✅ Schedule for 3 residents")

    campaign = await last_campaign(harness)
    assert campaign.status == "scheduled" and campaign.send_at == local.astimezone(UTC)
    assert ": scheduled for" in next(m.text for m in org.messages if m.message_id == campaign.progress_message_id)
    await harness.fake.wait_for(lambda: eng.is_idle)
    assert bot_texts(harness, 4101) == []

    await org.send("/campaigns")
    assert f"#{campaign.id}" in org.last.text and "scheduled for" in org.last.text
    assert f"✖ Cancel #{campaign.id}" in org.last.buttons

    clock.set(local.astimezone(UTC) + timedelta(seconds=1))
    eng.wake()
    assert await finished(harness, campaign.id) == {"sent": 3}
    photo = harness.fake.bot_messages(4101)[0]
    assert photo.kind == "photo" and photo.text == f"{HEADER}\n\nClean-up day on Saturday"
    assert harness.fake.upload_count == 0  # the organizer's photo is re-sent by its file_id
    assert photo.file_id == harness.fake.bot_messages(4102)[0].file_id


async def test_cancel_from_the_progress_message_and_from_the_list(harness: Harness) -> None:
    tune(harness, rate_per_sec=40, time_scale=1, progress_interval=0.05)
    org = await organizer(harness, 4200)
    chats = [4201 + i for i in range(40)]
    for tg_id in chats:
        await resident(harness, tg_id)
    await org.send("/announce")
    await org.send("Meeting moved to Thursday")
    await org.press("Continue ➡️")
    await org.press("Continue ➡️")
    await org.press("✅ Send to 41 residents")
    campaign = await last_campaign(harness)
    fake = harness.fake
    await fake.wait_for(lambda: sum(bool(fake.bot_messages(c)) for c in chats) >= 3)
    progress = next(m for m in org.messages if m.message_id == campaign.progress_message_id)
    answer = await org.press("✖ Cancel sending", message=progress)
    assert answer is not None and "cancelled" in answer["text"]
    result = await finished(harness, campaign.id)
    received = sum(any(m.text.startswith(HEADER) for m in fake.bot_messages(c)) for c in [*chats, 4200])
    assert result["sent"] == received and result["cancelled"] == 41 - received and received < 41
    assert await status(harness, campaign.id) == "cancelled"
    assert "sending cancelled" in progress.text and "Not sent" in progress.text
    # no second completion message (the organizer is one of the residents: theirs may follow)
    assert all(m.text.startswith(HEADER) for m in org.messages if m.message_id > progress.message_id)
    # a scheduled one, cancelled from /campaigns
    await org.send("/announce")
    await org.send("Later")
    await org.press("Continue ➡️")
    await org.press("Continue ➡️")
    await org.press("🕒 Schedule for later")
    await org.send(f"{datetime.now(KYIV) + timedelta(days=1):%d.%m.%Y} 12:00")
    await org.press("✅ Schedule for 41 residents")
    scheduled = await last_campaign(harness)
    await org.send("/campaigns")
    listing = org.last
    answer = await org.press(f"✖ Cancel #{scheduled.id}", message=listing)
    assert answer is not None and f"Announcement #{scheduled.id}: sending cancelled" in answer["text"]
    assert f"Announcement #{scheduled.id}</b> · cancelled" in listing.html       # still listed, finished
    assert f"✖ Cancel #{scheduled.id}" not in listing.buttons
    assert await status(harness, scheduled.id) == "cancelled"
    answer = await org.press_data(CampaignCb(action="lcancel", id=scheduled.id).pack(), message=listing)
    assert answer is not None and "already finished or was cancelled" in answer["text"]


async def test_restart_mid_announcement_keeps_going(harness: Harness) -> None:
    tune(harness, rate_per_sec=50, time_scale=1, progress_interval=0.2)
    edits: list[str] = []
    harness.fake.on_bot_message = lambda m, event: edits.append(m.text) if event == "edited" and m.chat_id == 4300 else None
    org = await organizer(harness, 4300)
    chats = [4301 + i for i in range(80)]  # 1.6 s at 50/s: long enough to show a speed
    for tg_id in chats:
        await resident(harness, tg_id, "uk")
    await org.send("/announce")
    await org.send("Generator schedule for the week")
    await org.press("Continue ➡️")
    await org.press("🗣 Languages")
    await org.press("Українська")
    await org.press("⬅️ Back")
    await org.press("Continue ➡️")
    await org.press("✅ Send to 80 residents")
    campaign = await last_campaign(harness)
    fake = harness.fake
    await fake.wait_for(lambda: sum(bool(fake.bot_messages(c)) for c in chats) >= 10)
    await harness.restart()
    assert await finished(harness, campaign.id) == {"sent": 80}
    assert all(len(fake.bot_messages(c)) == 1 for c in chats)
    # the progress message became the outcome, and nothing came after it
    assert bot_texts(harness, 4300)[-1].startswith("✅ Announcement #") and "sending finished" in edits[-1]
    # one progress message, edited in place while running (throttled, not once per message)
    running = [t for t in edits if ": sending…" in t]
    assert running and any("Waiting:" in t and "Speed:" in t and "Expected finish:" in t for t in running)
    assert len(edits) < 40


async def test_urgent_goes_out_during_quiet_hours(harness: Harness) -> None:
    night = datetime(2026, 7, 1, 23, 30, tzinfo=KYIV).astimezone(UTC)
    eng = tune(harness, time_scale=20, now=Clock(night), quiet_hours=(22 * 60, 8 * 60), tz=KYIV)
    org = await organizer(harness, 4400)
    await resident(harness, 4401)
    for urgent in (False, True):
        await org.send("/announce")
        await org.send("Air raid shelter open" if urgent else "Choir practice")
        await org.press("Continue ➡️")
        await org.press("Continue ➡️")
        assert "waits while quiet hours (22:00–08:00) last" in org.last.text
        if urgent:
            await org.press("🔕 Urgent: off")
            assert "🚨 Urgent: on" in org.last.buttons and "even during quiet hours" in org.last.text
        await org.press("✅ Send to 2 residents")
    campaign = await last_campaign(harness)
    assert campaign.urgent
    assert await finished(harness, campaign.id) == {"sent": 2}
    await harness.fake.wait_for(lambda: eng.is_idle)
    assert bot_texts(harness, 4401) == [f"{HEADER}\n\nAir raid shelter open"]
    assert await counts(harness, campaign.id - 1) == {"pending": 2}


async def test_limits_and_wrong_input(harness: Harness) -> None:
    tune(harness)
    org = await organizer(harness, 4500)
    await org.send("/announce")
    await org.send_sticker()
    assert "as text, or as a photo or document" in org.last.text
    await org.send("x" * 5000)
    assert "too long" in org.last.text and "5000" in org.last.text
    await org.send_photo(caption="y" * 1100)
    assert "photo or document" in org.last.text and "1100" in org.last.text
    await org.send_document("plan.pdf", caption="The plan")
    await org.press("Continue ➡️")
    await org.press("🎖 Roles")
    await org.press("Moderators")
    await org.press("⬅️ Back")
    answer = await org.press("Continue ➡️")
    assert answer is not None and "Nobody matches" in answer["text"]
    await org.press("👥 Everyone")
    await org.press("Continue ➡️")
    await org.press("✖ Don't send")
    assert "was not sent" in org.last.text
    async with harness.db() as s:
        assert await s.scalar(select(Campaign)) is None


async def test_residents_cannot_announce_or_press_organizer_buttons(harness: Harness) -> None:
    tune(harness)
    await resident(harness, 4601)
    olena = harness.user(4601)
    await olena.send("/announce")
    assert "not available to you" in olena.last.text
    await olena.send("/campaigns")
    assert "not available to you" in olena.last.text
    # a campaign exists; a forged cancel or confirm from a resident is refused on the server
    async with harness.db() as s:
        campaign = await cs.create_campaign(s, kind="announcement", audience=cs.Audience(),
                                            payload={"texts": {"en": "x"}, "default_locale": "en"},
                                            send_at=datetime.now(UTC) + timedelta(days=1))
        await s.commit()
    for data in (CampaignCb(action="cancel", id=campaign.id).pack(), "ann:cf:send:", "ann:aud:all:"):
        answer = await olena.press_data(data)
        assert answer is not None and "only for organizers" in answer["text"] and answer.get("show_alert")
    assert await status(harness, campaign.id) == "scheduled"
