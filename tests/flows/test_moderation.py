"""Moderators triage reports on cards in their group; the reporter is kept informed."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.fakeapi import FakeGroup, FakeUser, SentMessage
from bot.services import orgs as orgs_service
from bot.services.orgs import OrgDraft
from handlers.moderation.cards import run_report_checks
from storage.models import Report, ReportEvent, ReportMessage, utcnow
from tests.flows.helpers import register
from tests.flows.reports_helpers import card_of, file_report, moderator, moderators_group
from tests.harness import MODERATORS_CHAT, Harness


async def _report(h: Harness, number: int) -> Report:
    async with h.db() as s:
        report = await s.get(Report, number)
        assert report is not None
        return report


async def _events(h: Harness, number: int) -> list[ReportEvent]:
    async with h.db() as s:
        return list(await s.scalars(select(ReportEvent).where(ReportEvent.report_id == number)
                                    .order_by(ReportEvent.id)))


async def _told(h: Harness, who: FakeUser, text: str) -> SentMessage:
    return await h.fake.wait_for(lambda: next((m for m in reversed(who.messages) if text in m.text), None))


async def _setup(h: Harness, *, forum: bool = False) -> tuple[FakeGroup, FakeUser, FakeUser, FakeUser]:
    group = moderators_group(h, forum=forum)
    anna = await register(h, 6001, "Anna")
    olha = await moderator(h, group, 6101, "Olha")
    petro = await moderator(h, group, 6102, "Petro")
    return group, anna, olha, petro


async def _checks(h: Harness, now) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    app = h.app
    assert app is not None
    return await run_report_checks(app.sessionmaker, app.bot, app.settings, app.i18n, app.delivery, now=now,
                                   community=app.community)


async def test_accept_progress_resolve_and_followup(harness: Harness) -> None:
    group, anna, olha, petro = await _setup(harness)
    number = await file_report(anna)
    card = card_of(group, number)
    await group.press(olha, "✅ Accept", message=card)
    card = card_of(group, number)
    assert "Status: Accepted — Olha" in card.text and card.edits >= 1 and "2026" in card.text
    accepted = await _told(harness, anna, f"Your report #{number} (Street lighting: “The street lamp at Ushakova 12 is "
                                             "broken”) was accepted")
    await anna.send("Thanks! It is the lamp by the <school>", reply_to=accepted)  # a reply to the news
    assert "Sent to the moderators" in anna.last.text
    assert "the lamp by the <school>" in group.last.text and group.last.reply_to_message_id == card.message_id
    await group.press(petro, "🛠 In progress", message=card)
    await _told(harness, anna, f"Work has started on your report #{number} (Street lighting")
    await group.press(olha, "🎉 Resolved", message=card_of(group, number))
    await _told(harness, anna, "is marked as resolved")
    card = card_of(group, number)
    assert "Status: Resolved — Olha" in card.text and card.buttons == []
    report = await _report(harness, number)
    assert report.status == "resolved" and report.followup_due_at is not None
    actions = [e.action for e in await _events(harness, number)]
    assert actions == ["created", "accept", "from_reporter", "progress", "resolve"]
    # a button pressed after the report was resolved (an old copy of the card) changes nothing
    answer = await group.press_data(petro, f"mod:reject:{number}:in_progress:", message=card)
    assert answer and "already resolved" in answer["text"]
    # "is it fixed?" — not before it is due, once when due, never twice
    now = utcnow()
    assert await _checks(harness, now) == (0, 0)
    assert await _checks(harness, now + timedelta(days=3, minutes=1)) == (0, 1)
    question = await _told(harness, anna, "Is the problem really fixed?")
    assert await _checks(harness, now + timedelta(days=4)) == (0, 0)
    assert len([m for m in anna.messages if "really fixed" in m.text]) == 1
    await anna.press("👎 No, still a problem", message=question)
    assert "open again" in anna.last.text
    assert (await _report(harness, number)).status == "reopened"
    card = card_of(group, number)
    assert "Reopened" in card.text and "✅ Accept" in card.buttons
    assert "not fixed" in group.last.text and group.last.reply_to_message_id == card.message_id
    assert await _checks(harness, now + timedelta(days=30)) == (1, 0)  # stale now, but not asked again
    # resolved a second time: the reporter is asked again, once
    await group.press(petro, "🎉 Resolved", message=card_of(group, number))
    due = (await _report(harness, number)).followup_due_at
    assert due is not None and await _checks(harness, due + timedelta(minutes=1)) == (0, 1)
    await harness.fake.wait_for(lambda: len([m for m in anna.messages if "really fixed" in m.text]) == 2)
    assert await _checks(harness, due + timedelta(days=1)) == (0, 0)


async def test_reject_duplicate_category_route(harness: Harness) -> None:
    group, anna, olha, petro = await _setup(harness)
    first = await file_report(anna, text="Lamp broken near school 5")
    second = await file_report(anna, text="No light at all near the school number 5")
    third = await file_report(anna, category="Rubbish and cleaning", text="Bins overflowing", place=None)
    fourth = await file_report(anna, category="Rubbish and cleaning", text="Graffiti", place=None)
    # reject with a reason from the list
    await group.press(olha, "🚫 Reject", message=card_of(group, first))
    await group.press(olha, "Not enough information to act on", message=card_of(group, first))
    assert (await _report(harness, first)).status == "rejected"
    assert "Reason: Not enough information" in card_of(group, first).text
    await _told(harness, anna, f"Your report #{first} (Street lighting: “Lamp broken near school 5”) was declined. "
                                "Reason: Not enough information")
    # duplicate: a typed number, bad input first
    await group.press(petro, "🔁 Duplicate", message=card_of(group, second))
    prompt = group.last
    await group.send(petro, "abc", reply_to=prompt)
    assert "type a report number" in group.last.text
    await group.send(petro, f"#{second}", reply_to=prompt)
    assert "cannot be a duplicate of itself" in group.last.text
    await group.send(petro, f"#{first}", reply_to=prompt)
    report = await _report(harness, second)
    assert report.status == "duplicate" and report.duplicate_of == first
    assert f"Duplicate of #{first}" in card_of(group, second).text
    await _told(harness, anna, f"same problem as report #{first}")
    # change category, then pass on to an organisation, then reject with a typed reason
    await group.press(olha, "🗂 Category", message=card_of(group, third))
    await group.press(olha, "Roads and pavements", message=card_of(group, third))
    assert (await _report(harness, third)).category == "roads"
    await _told(harness, anna, "moved to the category “Roads and pavements”")
    async with harness.db() as s:  # an organisation of /orgs (pass-on itself: tests/flows/test_passon.py)
        await orgs_service.create(s, OrgDraft(name={"en": "Kherson City Council <roads dept>"}), None)
        await s.commit()
    await group.press(olha, "🏛 Pass on", message=card_of(group, third))
    await group.press(olha, "🏛 Kherson City Council <roads dept>", message=card_of(group, third))
    assert "Passed on to: Kherson City Council <roads dept>" in card_of(group, third).text
    await _told(harness, anna, "passed on to: Kherson City Council <roads dept>")
    await group.press(petro, "🚫 Reject", message=card_of(group, fourth))
    await group.press(petro, "✍️ Another reason", message=card_of(group, fourth))
    await group.send(petro, "Private property, we cannot help", reply_to=group.last)
    assert (await _report(harness, fourth)).reason == "Private property, we cannot help"
    await _told(harness, anna, "Reason: Private property, we cannot help")
    events = await _events(harness, third)
    assert [e.action for e in events] == ["created", "category", "route"]
    assert events[1].detail == "waste -> roads" and events[2].actor_name == "Olha"


async def test_permissions_and_simultaneous_presses(harness: Harness) -> None:
    # two presses at once: the refused one redraws the card the other one has just redrawn
    harness.expect_rejected = lambda c: "not modified" in (c.description or "")
    group, anna, olha, petro = await _setup(harness)
    stranger = harness.user(6200, first_name="Stranger", language_code="en")
    group.add_member(stranger)
    number = await file_report(anna)
    card = card_of(group, number)
    answer = await group.press(stranger, "✅ Accept", message=card)
    assert answer and answer["show_alert"] and "Only moderators" in answer["text"]
    assert (await _report(harness, number)).status == "new"
    await group.send(stranger, "I am writing to the reporter", reply_to=card)
    assert not any("I am writing" in m.text for m in anna.messages)
    # a Telegram administrator of the group may act without the role
    boss = harness.user(6201, first_name="Boss", language_code="en")
    harness.fake.set_admin(MODERATORS_CHAT, boss.id)
    await group.send(boss, "/queue")
    assert f"#{number}" in group.last.text and group.last.reply_to_message_id is not None
    # two moderators press different outcomes on the same card at the same moment: handled at
    # the same time (as in production), one of them wins and the other is told
    await group.press(olha, "✅ Accept", message=card, wait=False)
    await group.press(petro, "🎉 Resolved", message=card, wait=False)
    await harness.fake.settle()
    report = await _report(harness, number)
    assert report.status in ("accepted", "resolved")
    accepted = report.status == "accepted"
    refused = [a for a in group.callback_answers if a["user_id"] == (petro if accepted else olha).id]
    assert refused and "Someone else changed" in refused[-1]["text"]
    assert [e.action for e in await _events(harness, number)] == ["created", "accept" if accepted else "resolve"]
    if accepted:
        await group.press(boss, "🎉 Resolved", message=card_of(group, number))
    assert (await _report(harness, number)).status == "resolved"


async def test_a_reply_to_a_reporter_who_blocked_the_bot_says_so(harness: Harness) -> None:
    """The relayed message goes out after the commit; Telegram's refusal still reaches the
    moderator, as a reply to their message."""
    group, anna, olha, _petro = await _setup(harness)
    number = await file_report(anna)
    anna.block()
    harness.expect_rejected = lambda c: "blocked" in (c.description or "")  # the relay to Anna, expected
    said = await group.send(olha, "Which entrance exactly?", reply_to=card_of(group, number))
    await harness.fake.settle()
    told = [m for m in group.messages if m.reply_to_message_id == said.message_id]
    assert told and "can no longer be reached" in told[-1].text


async def test_relay_both_ways_keeps_the_reporter_anonymous(harness: Harness) -> None:
    seen: list[str] = []
    harness.fake.on_bot_message = lambda m, event: seen.append(m.text) if m.chat_id == MODERATORS_CHAT else None
    group, anna, olha, petro = await _setup(harness)
    number = await file_report(anna, photos=1)
    card = card_of(group, number)
    await group.send(olha, "Which entrance exactly?", reply_to=card)
    relayed = anna.last
    assert "Which entrance exactly?" in relayed.text and "Olha" not in relayed.text
    assert "The moderators about your report" in relayed.text
    await anna.send("The second one, <near> the shop", reply_to=relayed)
    assert "Sent to the moderators" in anna.last.text
    back = group.last
    assert back.reply_to_message_id == card.message_id and "The second one, <near> the shop" in back.text
    await group.send(petro, "Thanks, noted", reply_to=back)  # a reply to the relayed answer also reaches her
    assert "Thanks, noted" in anna.last.text
    await anna.press("↩️ Reply")
    await anna.send("You are welcome")
    assert group.last.reply_to_message_id == card.message_id and "You are welcome" in group.last.text
    # photos and voice notes pass too, still without anyone's account showing
    await group.send_photo(olha, caption="Is it <this> one?", reply_to=card)
    photo = anna.last
    assert photo.kind == "photo" and "Is it <this> one?" in photo.text and "Olha" not in photo.text
    await anna.send_voice(reply_to=photo)
    assert "Sent to the moderators" in anna.last.text
    voice = group.last
    assert voice.kind == "voice" and voice.reply_to_message_id == card.message_id and "Resident R-" in voice.text
    await group.press(olha, "✅ Accept", message=card)
    await anna.send("/myreports")
    await anna.press(f"#{number}")
    await anna.press("➕ Add information")
    await anna.send("Also a second lamp")
    texts = seen + [m.text for m in group.history]
    assert texts
    for text in texts:
        assert "Anna" not in text and "anna6001" not in text.lower(), text
    actions = [e.action for e in await _events(harness, number)]
    assert actions.count("to_reporter") == 3 and actions.count("from_reporter") == 3

    # /mydata holds the report and what she wrote; /deleteme leaves nothing that leads to her
    await anna.send("/mydata")
    data = json.loads(harness.fake.files[anna.last.file_id])
    assert [r["number"] for r in data["reports"]] == [number]
    assert data["reports"][0]["description"] == "The street lamp at Ushakova 12 is broken"
    written = [a["text"] for a in data["report_history"] if a["action_code"] in ("from_reporter", "info")]
    assert written == ["The second one, <near> the shop", "You are welcome", "[voice]", "Also a second lamp"]
    await anna.send("/deleteme")
    await anna.press("🗑 Yes, delete my data")
    async with harness.db() as s:
        report = await s.get(Report, number)
        assert report is not None and report.status == "accepted"  # the lamp still needs fixing
        for event in await s.scalars(select(ReportEvent).where(ReportEvent.actor_id == report.user_id)):
            assert event.actor_telegram_id is None and event.actor_name is None
            assert event.action not in ("from_reporter", "info") or event.detail is None
        links = await s.scalars(select(ReportMessage).where(ReportMessage.chat_id == anna.id))
        assert links.all() == []


async def test_duplicates_forum_topics_queue_and_stale(harness: Harness) -> None:
    group, anna, olha, petro = await _setup(harness, forum=True)
    bob = await register(harness, 6002, "Bob")
    first = await file_report(anna, text="Broken lamp at the bus stop")
    second = await file_report(bob, text="Dark street, lamp not working", place=(46.6405, 32.6203))  # ~60 m away
    third = await file_report(bob, category="Rubbish and cleaning", text="Broken lamp at the bus stop!", place=None)
    fourth = await file_report(anna, category="Rubbish and cleaning", text="Bins", place=None)
    assert f"Possible duplicates: #{first}" in card_of(group, second).text
    assert f"#{first}" in card_of(group, third).text  # same district, similar text
    assert "Possible duplicates" not in card_of(group, fourth).text
    names = sorted(t["name"] for t in group.topics)
    assert names == ["Rubbish and cleaning", "Street lighting"]
    assert len(harness.fake.calls_to("createForumTopic")) == 2
    lighting = next(t["message_thread_id"] for t in group.topics if t["name"] == "Street lighting")
    assert card_of(group, first).message_thread_id == lighting == card_of(group, second).message_thread_id
    # a new category moves the card to its topic: posted there, the old one deleted
    old_card = card_of(group, second)
    await group.press(olha, "🗂 Category", message=old_card)
    await group.press(olha, "Rubbish and cleaning", message=card_of(group, second))
    rubbish = next(t["message_thread_id"] for t in group.topics if t["name"] == "Rubbish and cleaning")
    assert card_of(group, second).message_thread_id == rubbish
    assert old_card.message_id not in [m.message_id for m in group.messages]
    assert [m for m in group.messages if m.buttons and f"Report #{second} " in m.text] == [card_of(group, second)]
    await group.press(olha, "✅ Accept", message=card_of(group, first))
    assert "Accepted" in card_of(group, first).text
    await group.send(olha, "/queue")
    queue = group.last.text
    assert "4 open reports" in queue and queue.index(f"#{first}") < queue.index(f"#{fourth}")
    stranger = harness.user(6200, first_name="Stranger", language_code="en")
    await group.send(stranger, "/queue")
    assert group.last.text == queue  # nothing new for a non-moderator
    assert harness.app is not None and harness.app.scheduler.get_job("report-checks") is not None
    later = utcnow() + timedelta(hours=49)
    assert await _checks(harness, later) == (4, 0)
    raised = [m for m in group.messages if "has had no update for 48 hours" in m.text]
    assert len(raised) == 4
    assert any(m.reply_to_message_id == card_of(group, first).message_id for m in raised)
    assert await _checks(harness, later + timedelta(hours=1)) == (0, 0)  # not again at once
    assert await _checks(harness, later + timedelta(hours=49)) == (4, 0)  # but after another 48 hours


async def test_reporter_is_told_in_their_language(harness: Harness) -> None:
    group = moderators_group(harness)
    olha = await moderator(harness, group, 6101, "Olha")
    oksana = await register(harness, 6003, "Oksana", lang="uk")
    await oksana.send("/report")
    await oksana.press("Вуличне освітлення")
    await oksana.send("Не світить ліхтар біля школи")
    await oksana.press(oksana.buttons()[0])  # skip photos
    await oksana.send_location(46.64, 32.62)
    await oksana.press(oksana.buttons()[0])  # keep the district
    await oksana.press(oksana.buttons()[0])  # stay anonymous
    await oksana.press(oksana.buttons()[0])  # send
    card = card_of(group, 1)
    assert "Street lighting" in card.text  # the card is in the community's default language
    await group.press(olha, "🗂 Category", message=card)
    await group.press(olha, "Roads and pavements", message=card_of(group, 1))
    await _told(harness, oksana, "Дороги й тротуари")


async def test_simultaneous_changes_have_one_outcome(harness: Harness) -> None:
    """Two sessions act on the same report at once: exactly one change wins."""
    import asyncio

    from sqlalchemy.exc import OperationalError

    from bot.services import reports as reports_service
    from bot.services.errors import DomainError

    moderators_group(harness)
    anna = await register(harness, 6004, "Anna")
    number = await file_report(anna)
    assert harness.app is not None

    async def attempt(action: str, detail: str | None = None) -> str:
        async with harness.app.sessionmaker() as session:  # type: ignore[union-attr]
            try:
                await reports_service.act(session, number, action, reports_service.Actor(name=action),
                                          expected="new", detail=detail)
                await session.commit()
                return "ok"
            except (DomainError, OperationalError) as exc:  # SQLite may refuse the stale writer outright
                await session.rollback()
                return getattr(exc, "code", "locked")

    # two moderators change the category at once: one change, one audit entry
    results = await asyncio.gather(attempt("category", "waste"), attempt("category", "roads"))
    assert sorted(results).count("ok") == 1, results
    assert (await _report(harness, number)).category == ("waste" if results[0] == "ok" else "roads")

    results = await asyncio.gather(attempt("accept"), attempt("reject", "spam"))
    assert sorted(results).count("ok") == 1, results
    report = await _report(harness, number)
    winner = "accept" if results[0] == "ok" else "reject"
    assert report.status == {"accept": "accepted", "reject": "rejected"}[winner]
    assert [e.action for e in await _events(harness, number)] == ["created", "category", winner]


async def test_card_that_could_not_be_posted_is_posted_later(harness: Harness) -> None:
    harness.expect_rejected = lambda c: "chat not found" in (c.description or "")  # the group is not there yet
    anna = await register(harness, 6001, "Anna")
    number = await file_report(anna)            # the moderators' group is not there yet
    assert "#" + str(number) in anna.last.text  # the resident is not bothered with it
    assert (await _report(harness, number)).card_message_id is None
    group = moderators_group(harness)
    await moderator(harness, group, 6101, "Olha")
    assert await _checks(harness, utcnow()) == (0, 0)  # not in the same minute: it may be in flight
    assert group.messages == []
    await _checks(harness, utcnow() + timedelta(minutes=2))
    card = card_of(group, number)
    assert "✅ Accept" in card.buttons
    await _checks(harness, utcnow() + timedelta(minutes=3))
    assert len([m for m in group.messages if m.buttons]) == 1  # posted once


async def test_deleteme_takes_the_name_off_the_cards(harness: Harness) -> None:
    group, anna, olha, petro = await _setup(harness)
    number = await file_report(anna, show_name=True)
    assert "Anna" in card_of(group, number).text
    await group.press(olha, "✅ Accept", message=card_of(group, number))
    await anna.send("/deleteme")
    await anna.press("🗑 Yes, delete my data")
    card = card_of(group, number)
    assert "Anna" not in card.text and "anna6001" not in card.text.lower() and "R-" in card.text
    assert "Accepted" in card.text and "✅ Accept" not in card.buttons  # still the same report


async def test_card_of_a_report_filed_by_a_mediator_says_so(harness: Harness) -> None:
    from storage.models import User

    group, anna, olha, _petro = await _setup(harness)
    number = await file_report(anna)
    assert "mediator" not in card_of(group, number).text
    await register(harness, 6201, "Maria")
    async with harness.db() as s:  # as if Maria, a community mediator, had filed it for an offline resident
        mediator = await s.scalar(select(User).where(User.telegram_id == 6201))
        assert mediator is not None
        mediator.display_name = "Maria <Mediator>"
        report = await s.get(Report, number)
        assert report is not None
        report.assisted_by = mediator.id
        await s.commit()
    await group.press(olha, "✅ Accept", message=card_of(group, number))
    card = card_of(group, number)
    assert ("🤝 Filed with a mediator's help for an offline resident (mediator: Maria <Mediator> @maria6201)"
            in card.text.split("\n"))
    assert "Anna" not in card.text and "Resident R-" in card.text  # the reporter stays as they chose
    assert "Accepted" in card.text
