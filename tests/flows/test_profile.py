"""Profile, help, privacy, data export and deletion through the fake Bot API."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from storage.models import FsmRecord, User
from tests.flows.helpers import register
from tests.harness import Harness


async def _row(h: Harness, telegram_id: int) -> User | None:
    async with h.db() as s:
        return await s.scalar(select(User).where(User.telegram_id == telegram_id))


async def test_profile_edit_every_field(harness: Harness) -> None:
    anna = await register(harness, 2001, "Anna")
    await anna.send("/profile")
    card = anna.last.text
    assert "Anna" in card and "Dniprovskyi district" in card and "English" in card
    await anna.press("✏️ Name")
    await anna.send("<i>Anna</i> & Bob")
    assert "<i>Anna</i> & Bob" in anna.last.text  # shown literally, escaped
    await anna.press("📍 District")
    await anna.press("Ostriv (the Island)")
    await anna.press("🔔 Topics")
    await anna.press("Polls and surveys")
    await anna.press("Done ✅")
    await anna.press("🌐 Language")
    await anna.press("Русский")
    user = await _row(harness, 2001)
    assert user is not None
    assert user.display_name == "<i>Anna</i> & Bob" and user.district == "ostriv"
    assert "polls" not in user.topics and user.language == "ru"
    await anna.send("/profile")
    assert "Остров" in anna.last.text  # district names come translated from the community file


async def test_menu_buttons_and_help_by_role(harness: Harness) -> None:
    anna = await register(harness, 2002, "Anna")
    assert anna.reply_keyboard is not None
    await anna.send("❓ Help")
    assert "/profile" in anna.last.text and "/grant" not in anna.last.text
    admin = await register(harness, 9000, "Admin")
    await admin.send("/help")
    assert "/grant" in admin.last.text and "/roles" in admin.last.text
    await anna.send("👤 My profile")
    assert "Your profile" in anna.last.text


async def test_mydata_export_is_complete_json(harness: Harness) -> None:
    anna = await register(harness, 2003, "Anna")
    await anna.send("/mydata")
    doc = anna.last
    assert doc.kind == "document" and doc.filename == "hromada-my-data.json"
    data = json.loads(harness.fake.files[doc.file_id])
    assert data["profile"]["display_name"] == "Anna"
    assert data["profile"]["telegram_id"] == 2003
    assert data["profile"]["district"] == "dniprovskyi"
    assert data["profile"]["consent_given_at"]


async def test_deleteme_erases_personal_data_and_keeps_anonymous_totals(harness: Harness) -> None:
    anna = await register(harness, 2004, "Anna")
    await anna.send("/deleteme")
    await anna.press("Cancel")
    assert "Nothing was deleted" in anna.last.text
    assert (await _row(harness, 2004)) is not None
    await anna.send("/deleteme")
    await anna.press("🗑 Yes, delete my data")
    assert "deleted" in anna.messages[-2].text
    assert await _row(harness, 2004) is None
    async with harness.db() as s:
        erased = (await s.scalars(select(User).where(User.deleted_at.is_not(None)))).all()
        assert len(erased) == 1
        assert erased[0].display_name is None and erased[0].username is None and erased[0].telegram_id is None
        assert erased[0].district == "dniprovskyi"  # anonymous totals by district still add up
        assert await s.scalar(select(func.count()).select_from(FsmRecord)) == 0
    await anna.send("/mydata")
    assert "nothing" in anna.last.text
    # coming back starts a fresh registration
    await anna.send("/start")
    assert "choose your language" in anna.last.text


async def test_profile_requires_registration_and_bad_input(harness: Harness) -> None:
    bob = harness.user(2005, first_name="Bob", language_code="en")
    await bob.send("/profile")
    assert "/start" in bob.last.text
    await bob.send("/frobnicate")
    assert "don't know this command" in bob.last.text
    await bob.send("hello?")
    assert "/start" in bob.last.text
    await bob.send_sticker()
    assert "/start" in bob.last.text
    await bob.send("/cancel")
    assert "nothing to cancel" in bob.last.text
    await bob.send("/privacy")
    assert "/deleteme" in bob.last.text


async def test_blocked_user_is_marked_unreachable_and_reachable_again(harness: Harness) -> None:
    anna = await register(harness, 2006, "Anna")
    anna.block()
    await harness.fake.settle()
    user = await _row(harness, 2006)
    assert user is not None and user.unreachable_at is not None
    anna.unblock()
    await anna.send("/help")
    user = await _row(harness, 2006)
    assert user is not None and user.unreachable_at is None


async def test_unexpected_error_gets_a_localized_apology(harness: Harness, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.services import users

    anna = await register(harness, 2007, "Anna", lang="en")
    harness.expect_failed_updates = True

    async def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database on fire")

    monkeypatch.setattr(users, "export_user", boom)
    await anna.send("/mydata")
    assert "Sorry, something went wrong" in anna.last.text
    await anna.send("/profile")  # the conversation continues
    assert "Your profile" in anna.last.text
