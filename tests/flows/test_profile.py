"""Profile, help, privacy, data export and deletion through the fake Bot API."""
from __future__ import annotations

import json

import pytest

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
    readable, doc = anna.messages[-2], anna.last
    assert readable.kind == "document" and readable.filename == "hromada-my-data.html"
    assert doc.kind == "document" and doc.filename == "hromada-my-data.json"
    data = json.loads(harness.fake.files[doc.file_id])
    assert data["profile"]["display_name"] == "Anna"
    assert data["profile"]["telegram_id"] == 2003
    assert data["profile"]["district"] == "Dniprovskyi district"  # readable, the code beside it
    assert data["profile"]["district_code"] == "dniprovskyi"
    assert data["profile"]["consent_given_at"]


@pytest.mark.parametrize("lang", ["uk", "bg"])
async def test_mydata_is_readable_in_the_persons_language_beside_the_machine_json(harness: Harness,
                                                                                   lang: str) -> None:
    """The known data: a report in progress with what she added later, a supported proposal of
    someone else, an event answer (on the waitlist). The JSON keeps English keys with readable
    values; the HTML says the same in her language; both say what is deliberately left out."""
    import re
    from datetime import timedelta

    from lxml import etree

    from bot.services import events as events_service
    from bot.services import proposals as proposals_service
    from bot.services import reports as reports_service
    from bot.services import users as users_service
    from storage.models import utcnow
    from tests.delivery_helpers import resident

    anna = await register(harness, 2010, "Anna", lang=lang)
    other_id = await resident(harness, 2011)
    async with harness.db() as s:
        me = await users_service.by_telegram_id(s, 2010)
        other = await users_service.by_id(s, other_id)
        assert me is not None and other is not None
        report = await reports_service.create(s, me, reports_service.Draft(
            category="lighting", description="Лампа не світить", show_identity=False), per_hour=10)
        moderator = reports_service.Actor(None, None, "Mira")
        await reports_service.act(s, report.id, "accept", moderator, expected="new")
        await reports_service.act(s, report.id, "progress", moderator, expected="accepted")
        await reports_service.add_info(s, report.id, me, "Біля школи")
        proposal = await proposals_service.submit(s, other, proposals_service.ProposalDraft(
            title="Лавки в парку", problem="Немає де сісти.", solution="Десять лавок.", district="ostriv",
            category="infrastructure"), None)
        await proposals_service.act(s, proposal.id, "publish", proposals_service.Actor(None, "M"), expected="submitted")
        await proposals_service.support(s, proposal.id, me)
        now = utcnow()
        event = await events_service.create_event(s, events_service.EventDraft(
            kind="workshop", title={"en": "Budget workshop", lang: "Бюджетна майстерня"},
            starts_at=now + timedelta(days=3), ends_at=now + timedelta(days=3, hours=2), venue="Library",
            capacity=1), default_locale="en", created_by=None, now=now)
        await events_service.answer(s, event, other, "going", now)
        await events_service.answer(s, event, me, "going", now)  # full: she waits
        await s.commit()
    await anna.send("/mydata")
    readable, doc = anna.messages[-2], anna.last
    data = json.loads(harness.fake.files[doc.file_id])  # type: ignore[index]
    tr = harness.app.i18n.gettext  # type: ignore[union-attr]
    # English keys, readable values, the codes beside them
    assert data["profile"]["language"] == ("Українська" if lang == "uk" else "Български")
    (mine,) = data["reports"]
    assert (mine["status"], mine["status_code"]) == (harness.app.i18n.locales[lang].pgettext("report status", "In progress"), "in_progress")  # type: ignore[union-attr]
    assert mine["category_code"] == "lighting" and mine["category"] != "lighting"
    history = [(h["action_code"], h["by"]) for h in data["report_history"]]
    assert history == [("created", tr("you", locale=lang)), ("accept", tr("the moderators", locale=lang)),
                       ("progress", tr("the moderators", locale=lang)), ("info", tr("you", locale=lang))]
    assert "Mira" not in json.dumps(data, ensure_ascii=False)  # moderators are not named
    assert data["report_history"][-1]["text"] == "Біля школи"
    assert data["supported_proposals"][0]["title"] == "Лавки в парку"
    (answer,) = data["events"]
    assert answer["title"] == "Бюджетна майстерня" and answer["answer_code"] == "waitlist"
    assert answer["answer"] == tr("⏳ On the waitlist", locale=lang)
    # local times, to the second, with the community's offset; never microseconds
    times = re.findall(r'"(\d{4}-\d{2}-\d{2}T[^"]+)"', harness.fake.files[doc.file_id].decode())  # type: ignore[index]
    assert times and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0[23]:00", t) for t in times), times
    assert data["time_zone"] == "Europe/Kyiv"
    assert len(data["not_included"]) >= 3 and data["not_included"][0] == tr(
        "Your answers to anonymous polls: they are stored without anything that links them to you, so not even "
        "the bot can find them for you.", locale=lang)
    # the readable document: well-formed, in her language, without codes
    root = etree.fromstring(harness.fake.files[readable.file_id])  # type: ignore[index]
    assert root.get("lang") == lang
    text = " ".join("".join(root.itertext()).split())
    for msgid in ("Your profile", "Your reports", "What happened to your reports", "Proposals you support",
                  "What is deliberately not in this file", "Accepted by the moderators"):
        assert tr(msgid, locale=lang) != msgid and tr(msgid, locale=lang) in text, msgid
    assert "Лавки в парку" in text and "in_progress" not in text and "lighting" not in text


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
