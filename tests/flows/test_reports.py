"""Residents report problems (/report) and follow them (/myreports), through the fake Bot API."""
from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Report, ReportPhoto
from tests.flows.helpers import register
from tests.flows.reports_helpers import card_of, file_report, moderators_group
from tests.harness import Harness


async def _report(h: Harness, number: int) -> Report:
    async with h.db() as s:
        report = await s.get(Report, number)
        assert report is not None
        return report


async def test_full_report_with_photos_location_and_card(harness: Harness) -> None:
    group = moderators_group(harness)
    anna = await register(harness, 5001, "Anna")
    assert "📝 Report a problem" in (anna.reply_keyboard or [])
    await anna.send("📝 Report a problem")
    assert "What kind of problem" in anna.last.text
    assert "Street lighting" in anna.buttons()
    await anna.press("Roads and pavements")
    await anna.send("Pothole <b>deep</b> & dangerous at Ushakova 5")
    prompt = anna.last
    assert "Skip" in " ".join(anna.buttons(prompt))
    await anna.send_photo()
    assert "1 photo added" in anna.last.text
    # the prompt's "Skip" is taken away and the counter counts on in one message (their ids are
    # kept once Telegram has sent them, after the update's commit)
    assert anna.buttons(prompt) == []
    counters = [m for m in anna.messages if "added" in (m.text or "")]
    await anna.send_album(2)
    assert "3 photos added" in anna.last.text
    assert [m for m in anna.messages if "added" in (m.text or "")] == counters
    await anna.press("Done ✅")
    await anna.send_location(46.6400, 32.6200)
    assert "Keep Dniprovskyi district" in anna.buttons()[0]
    await anna.press("Ostriv (the Island)")
    await anna.press("🙈 No")
    review = anna.last.text
    assert "Pothole <b>deep</b> & dangerous" in review and "3 photos" in review and "Resident R-" in review
    await anna.press("✅ Send the report")
    assert "#1" in anna.last.text
    assert "Report a problem" in " ".join(anna.reply_keyboard or [])  # the main menu is back
    report = await _report(harness, 1)
    assert report.category == "roads" and report.district == "ostriv" and report.status == "new"
    assert report.latitude == 46.64 and not report.show_identity
    card = card_of(group, 1)
    assert "Roads and pavements" in card.text and "Ostriv" in card.text
    assert "Pothole <b>deep</b> & dangerous" in card.text  # escaped, shown literally
    assert "Resident R-" in card.text and "Anna" not in card.text
    assert "✅ Accept" in card.buttons
    photos = [m for m in group.messages if m.kind == "photo"]
    assert len(photos) == 3 and all(m.reply_to_message_id == card.message_id for m in photos)


async def test_voice_address_and_album_limit(harness: Harness) -> None:
    group = moderators_group(harness)
    anna = await register(harness, 5002, "Anna")
    await anna.send("/report")
    await anna.press("Rubbish and cleaning")
    await anna.send_voice()
    assert "Voice note received" in anna.messages[-2].text
    await anna.send_album(7)
    assert "I kept the first 5" in anna.last.text
    await anna.send_document("photo.jpg", b"\xff\xd8\xff", mime_type="image/jpeg")
    assert "as a photo, not as a file" in anna.last.text
    await anna.send_sticker()
    assert "Only photos" in anna.last.text
    await anna.press("Done ✅")
    await anna.send("Near the <market> & bus stop")
    await anna.press("✅ Keep")
    await anna.press("👤 Yes, show my name")
    await anna.press("✅ Send the report")
    async with harness.db() as s:
        assert await s.scalar(select(func.count()).select_from(ReportPhoto)) == 5
    report = await _report(harness, 1)
    assert report.voice_file_id and report.description == "" and report.address == "Near the <market> & bus stop"
    card = card_of(group, 1)
    assert "Voice note below" in card.text and "Near the <market> & bus stop" in card.text
    assert "Anna" in card.text and "@anna5002" in card.text  # she agreed to show her name
    assert any(m.kind == "voice" for m in group.messages)


async def test_location_sent_at_the_photo_step_is_taken_as_the_place(harness: Harness) -> None:
    moderators_group(harness)
    anna = await register(harness, 5003, "Anna")
    await anna.send("/report")
    await anna.press("Street lighting")
    await anna.send("The lamp is out")
    prompt = anna.last
    assert prompt.buttons == ["Skip"]
    await anna.send_location(46.64, 32.62)
    assert all(not m.buttons for m in anna.messages if m.message_id == prompt.message_id)
    await anna.press("✅ Keep")
    await anna.press("🙈 No, only “R-")
    await anna.press("✅ Send the report")
    report = await _report(harness, 1)
    assert (report.latitude, report.longitude) == (46.64, 32.62) and report.address is None


async def test_bad_input_is_answered_and_nothing_is_lost(harness: Harness) -> None:
    moderators_group(harness)
    stranger = harness.user(5099, first_name="Ivan", language_code="en")
    await stranger.send("/report")
    assert "register first" in stranger.last.text and "/start" in stranger.last.text
    anna = await register(harness, 5003, "Anna")
    await anna.send("/report")
    await anna.press("Street lighting")
    await anna.send_sticker()
    assert "in words or with a voice note" in anna.last.text
    await anna.send("ok")
    assert "a few more words" in anna.last.text
    await anna.send("x" * 2500)
    assert "too long" in anna.last.text
    await anna.send("Lamp broken on Perekopska street")
    await anna.press("Skip")
    await anna.send_sticker()
    assert "send a location" in anna.last.text
    await anna.send_location(50.45, 30.52)  # Kyiv: far outside Kherson
    assert "outside its area" in anna.last.text
    await anna.press("No, I will send another")
    await anna.send_location(50.45, 30.52)
    await anna.press("Yes, it is right")
    await anna.press("✅ Keep")
    await anna.press("🙈 No")
    assert "Lamp broken on Perekopska street" in anna.last.text
    await anna.press("✅ Send the report")
    report = await _report(harness, 1)
    assert report.latitude == 50.45 and report.description == "Lamp broken on Perekopska street"


async def test_cancel_and_flood_control(harness: Harness) -> None:
    moderators_group(harness)
    anna = await register(harness, 5004, "Anna")
    await anna.send("/report")
    await anna.press("Street lighting")
    await anna.send("/cancel")
    assert "Cancelled" in anna.last.text
    assert harness.app is not None
    harness.app.dp["settings"].reports_per_hour = 2
    await file_report(anna)
    await file_report(anna, text="Another broken lamp in the park")
    await anna.send("/report")
    assert "at most 2 reports per hour" in anna.last.text
    async with harness.db() as s:
        assert await s.scalar(select(func.count()).select_from(Report)) == 2


async def test_myreports_add_info_and_withdraw(harness: Harness) -> None:
    group = moderators_group(harness)
    anna = await register(harness, 5005, "Anna")
    await anna.send("/myreports")
    assert "not reported any problems yet" in anna.last.text
    number = await file_report(anna)
    await anna.send("/myreports")
    assert f"#{number}" in anna.last.text and "New" in anna.last.text
    await anna.press(f"#{number}")
    await anna.press("➕ Add information")
    await anna.send("It is <dark> since Monday")
    assert "Added to report" in anna.last.text
    card = card_of(group, number)
    added = group.last
    assert added.reply_to_message_id == card.message_id and "It is <dark> since Monday" in added.text
    assert "Anna" not in added.text
    await anna.send("/myreports")
    await anna.press(f"#{number}")
    await anna.press("↩️ Withdraw")
    await anna.press("Yes, withdraw it")
    assert "withdrawn" in anna.last.text
    assert (await _report(harness, number)).status == "withdrawn"
    card = card_of(group, number)
    assert "Withdrawn" in card.text and card.buttons == []
