"""Online discussions through the real Dispatcher and the fake Bot API.

Thirty residents in three districts vote on statements; their votes are constructed so that the
answer is known before the bot computes it: residents 0-14 (group A) and 15-29 (group B) each
span all three districts; A agrees with the car park and disagrees with closing the road, B the
other way round; nearly everyone agrees with the lighting and the trees (common ground); most
disagree with selling the park. The bot must find exactly that, show only totals, take
residents' statements through the moderators' card, and refuse what it must."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from sqlalchemy import select, update

from bot.fakeapi import FakeUser
from storage.models import (
    Campaign,
    Discussion,
    DiscussionParticipant,
    DiscussionStatement,
    utcnow,
)
from tests.delivery_helpers import finished, organizer, resident, tune
from tests.flows.reports_helpers import moderator, moderators_group
from tests.harness import ORGANIZERS_CHAT, Harness

CHANNEL = -1003000
DISTRICTS = ("dniprovskyi", "korabelnyi", "tsentralnyi")
LIGHT = "Keep the park lit at night"
CARS = "Build a car park by the river"
ROAD = "Close the riverside road to cars on weekends"
SELL = "Sell part of the park to a developer"
TREES = "Plant trees & shade for kids (age < 12)"
TRANSCRIPT = "By the river: shade & benches for kids < 12"  # a moderator's words for a voice note


def plan(i: int) -> dict[str, str]:
    """Resident i's vote on each statement: a(gree), d(isagree) or p(ass)."""
    a = i < 15
    return {
        LIGHT: "p" if i % 10 == 9 else "a",
        CARS: "a" if a else "d",
        ROAD: "d" if a else "a",
        SELL: "a" if i % 4 == 0 else "d",
        TREES: "a",
    }


async def vote_through(person: FakeUser, votes: dict[str, str]) -> list[str]:
    """Vote on every statement shown (with the buttons of the message, in any language), in the
    order shown, until all are seen; returns that order."""
    seen = []
    while True:  # the newest message with the discussion's buttons (a vote edits it in place)
        message = next((m for m in reversed(person.messages)
                        if "dc:" in str((m.reply_markup or {}).get("inline_keyboard"))), person.last)
        rows = (message.reply_markup or {}).get("inline_keyboard") or [[{}]]
        row = {b.get("callback_data", "").split(":")[1]: b["callback_data"] for b in rows[0] if "callback_data" in b}
        if "a" not in row:
            return seen
        statement = next(s for s in votes if f"«{s}»" in message.text)
        assert statement not in seen, "the same statement twice"
        seen.append(statement)
        answer = await person.press_data(row[votes[statement]], message=message)
        assert answer is not None and answer.get("text") in ("Saved ✅", "Збережено ✅")


async def take_part(person: FakeUser) -> dict | None:
    """Press the invitation's 💬 button (whatever the person's language)."""
    for message in reversed(person.messages):
        for row in (message.reply_markup or {}).get("inline_keyboard", []):
            for b in row:
                if b.get("callback_data", "").startswith("dc:go:"):
                    return await person.press(b["text"], message=message)
    raise AssertionError("no invitation")


async def _campaign(h: Harness, kind: str) -> Campaign:
    async with h.db() as s:
        found = await s.scalar(select(Campaign).where(Campaign.kind == kind).order_by(Campaign.id.desc()))
        assert found is not None
        return found


async def test_a_discussion_finds_common_ground_divisive_statements_and_opinion_groups(harness: Harness) -> None:
    harness.settings = harness.settings.model_copy(update={"public_channel_id": str(CHANNEL),
                                                           "public_channel_locales": ["en"]})
    await harness.restart()
    harness.fake.group(CHANNEL, "Kherson together")
    organizers = harness.fake.group(ORGANIZERS_CHAT, "Organizers")
    tune(harness, time_scale=50, progress_interval=0.05)
    group = moderators_group(harness)
    mod = await moderator(harness, group, 7001, "Mira")
    org = await organizer(harness, 8000)
    organizers.add_member(org)
    for i in range(30):
        await resident(harness, 8100 + i, "uk" if i == 28 else "en", district=DISTRICTS[i % 3])
    people = [harness.fake.user(8100 + i) for i in range(30)]

    # -- the organizer opens it -------------------------------------------------------------------
    await org.send("/newdiscussion")
    await org.send("How should the riverside park change?")
    await org.send("<b>More</b> benches")                                  # HTML: a clear answer
    assert "plain text" in org.last.text
    await org.send(LIGHT)
    assert "1 statement so far" in org.last.text and org.buttons() == []  # two at least
    await org.send("keep the park LIT at night!")                          # the same, in other words
    assert "already" in org.last.text
    for text in (CARS, ROAD, SELL):
        await org.send(text)
    await org.press("✅ That's all")
    assert "Question: How should the riverside park change?" in org.last.text and SELL in org.last.text
    await org.press("➕ Українська")                                       # a translation, as in every wizard
    assert org.last.text.startswith("🌐 Language: Українська")
    await org.send("Як має змінитися парк над річкою?")
    assert "Languages: Українська, English" in org.last.text
    open_button = next(b for b in org.buttons() if b.startswith("✅ Open it for"))
    await org.press(open_button)
    assert "Discussion #1 is open" in "\n".join(m.text for m in org.messages)
    await finished(harness, (await _campaign(harness, "discussion")).id)
    assert "How should the riverside park change?" in people[0].last.text
    assert "Як має змінитися парк над річкою?" in people[28].last.text  # in her language

    # -- ten residents vote; a statement is never shown twice ----------------------------------------
    orders: dict[int, list[str]] = {}
    for i in range(10):
        await take_part(people[i])
        orders[i] = await vote_through(people[i], {k: v for k, v in plan(i).items() if k != TREES})
    assert orders[0] == [LIGHT, CARS, ROAD, SELL]
    assert "You have voted on all 4 statements" in people[0].last.text

    # -- a resident's own statement goes to the moderators first ------------------------------------
    author = people[29]
    await take_part(author)
    await author.press("✍️ Add my statement")
    await author.send_photo()
    assert "That is empty" in author.last.text
    await author.send("<script>alert(1)</script>")
    assert "plain text" in author.last.text
    await author.send("x" * 281)
    assert "too long: 281 characters" in author.last.text
    await author.send("Keep the park lit at night.")
    assert "already in the discussion" in author.last.text
    await author.send(TREES)
    assert "A moderator will check your statement" in "\n".join(m.text for m in author.messages[-2:])
    card = group.last
    assert TREES in card.text and "R8129" not in card.text and "discussion #1" in card.text
    await people[0].press("🔄 Show me more")
    assert "You have voted on all 4" in people[0].last.text                 # not shown before approval

    stranger = harness.fake.user(8300, first_name="Sly")
    group.add_member(stranger)
    answer = await group.press(stranger, "✅ Approve", message=card)
    assert answer is not None and "only moderators" in answer["text"]
    await group.press(mod, "🚫 Reject", message=card)
    assert "Rude or offensive" in group.buttons(card)
    await group.press(mod, "⬅️ Back", message=card)
    await group.press(mod, "✅ Approve", message=card)
    assert "Approved by" in group.messages[-1].text or "Approved by" in card.text
    await finished(harness, (await _campaign(harness, "statement-news")).id)
    assert "is now shown to others" in author.last.text and "Plant trees &amp; shade for kids (age &lt; 12)" in author.last.html

    await take_part(people[1])
    await people[1].press("✍️ Add my statement")
    await people[1].send("The park should be sold, full stop")
    await group.press(mod, "🚫 Reject", message=group.last)
    await group.press(mod, "Says the same as another statement", message=group.last)
    await finished(harness, (await _campaign(harness, "statement-news")).id)
    assert "was not added" in people[1].last.text and "Says the same as another statement" in people[1].last.text

    # -- the others vote: the new statement, with the fewest votes, comes first to them ---------------
    for i in range(10, 30):
        await take_part(people[i])
        orders[i] = await vote_through(people[i], {k: v for k, v in plan(i).items() if not (i == 29 and k == TREES)})
    assert orders[10] == [TREES, LIGHT, CARS, ROAD, SELL]
    assert orders[29] == [LIGHT, CARS, ROAD, SELL]                           # never her own statement
    for i in range(10):                                                       # "show me more" continues later
        await people[i].press("🔄 Show me more")
        assert await vote_through(people[i], {TREES: plan(i)[TREES]}) == [TREES]
    assert "You have voted on all 5 statements" in people[0].last.text
    await people[0].press("🔄 Show me more")                                 # nothing new: still all seen
    assert "You have voted on all 5" in people[0].last.text

    # -- results ------------------------------------------------------------------------------------
    await org.send("/discussions")
    assert "30 participants" in org.messages[-2].text                        # the organizer's view, then
    assert "5 statements wait for you" in org.last.text                      # the residents' list: she may vote too
    await org.press("📊 #1")
    text = "\n".join(m.text for m in org.messages[-3:] if m.kind == "text")
    ground = text.split("Common ground")[1].split("Divisive")[0]
    divisive = text.split("Divisive")[1].split("Opinion groups")[0]
    assert LIGHT in ground and TREES in ground and CARS not in ground and SELL not in ground
    assert CARS in divisive and ROAD in divisive and LIGHT not in divisive and SELL not in divisive
    assert "Group A · 15 people" in text and "Group B · 15 people" in text
    groups = text.split("Opinion groups")[1]
    assert "agrees with «Build a car park by the river»: 100% (the others: 0%)" in groups
    assert "disagrees with «Build a car park by the river»: 100%" in groups
    assert all(f"R{8100 + i}" not in text for i in range(30))                # totals only, nobody named
    assert org.last.kind == "photo"                                           # the chart

    await org.press("🔒 Close now")
    await finished(harness, (await _campaign(harness, "discussion-results-org")).id)
    assert "The discussion has closed" in organizers.last.text and "Group A" in organizers.last.text
    answer = await organizers.press(org, "📢 To the public channel", message=organizers.last)
    assert answer is not None and "Published" in answer["text"]
    (post,) = harness.fake.bot_messages(CHANNEL)
    assert "Residents discussed" in post.text and LIGHT in post.text and "start=discussions" in post.html
    assert "Group A" not in post.text

    # -- after closing ------------------------------------------------------------------------------
    answer = await people[5].press("🔄 Show me more")
    assert answer is not None and "has closed" in answer["text"]
    answer = await people[5].press_data("dc:a:1:1")                          # an old vote button
    assert answer is not None and "has closed" in answer["text"]

    await org.send("/export")
    await org.press("💬 Discussions · CSV")
    rows = list(csv.DictReader(io.StringIO(harness.fake.files[org.last.file_id].decode("utf-8"))))  # type: ignore[index]
    light = next(r for r in rows if r["text"] == LIGHT and r["group"] == "all")
    assert (light["votes"], light["agree"], light["pass"], light["common_ground"]) == ("30", "27", "3", "yes")
    assert {r["group"] for r in rows} == {"all", "A", "B"}  # machine codes; the XLSX names the groups


async def test_statement_bad_input_audience_closing_time_and_erasure(harness: Harness) -> None:
    organizers = harness.fake.group(ORGANIZERS_CHAT, "Organizers")
    tune(harness, time_scale=50, progress_interval=0.05)
    group = moderators_group(harness)
    mod = await moderator(harness, group, 7002, "Mira")
    org = await organizer(harness, 8000)
    for i, district in enumerate(("ostriv", "ostriv", "suburbs")):
        await resident(harness, 8200 + i, "en", district=district)
    anna, bohdan, outsider = (harness.fake.user(8200 + i) for i in range(3))

    await org.send("/newdiscussion")
    await org.send("Where should the new playground go?")
    await org.send("Next to the school")
    assert org.buttons() == []                                                 # two statements at least
    answer = await org.press_data("nd:seeds-done")                            # a forged "That's all"
    assert answer is not None and "at least two" in answer["text"]
    await org.send("In the park")
    await org.press("✅ That's all")
    await org.press("👥 Audience")
    await org.press("🏘 Districts")
    await org.press("⬜ Ostriv")
    await org.press("⬅️ Back")
    await org.press("Continue ➡️")
    await org.press("⏰ Closing time")
    await org.send("yesterday at noon")
    assert "could not read that time" in org.last.text
    await org.send((utcnow() + timedelta(days=3)).astimezone(harness.settings.tz).strftime("%d.%m.%Y 18:00"))
    await org.press("✅ Open it for 2 residents")
    await finished(harness, (await _campaign(harness, "discussion")).id)
    assert "Where should the new playground go?" in anna.last.text

    await outsider.send("/discussions")
    assert "No discussions are open for you" in outsider.last.text
    answer = await outsider.press_data("dc:go:1:0")                            # not in the audience
    assert answer is not None and "for other residents" in answer["text"]
    await outsider.send("/newdiscussion")                                      # organizers only, checked
    assert "not available to you" in outsider.last.text
    for forged in ("do:c:1", "nd:open"):
        answer = await outsider.press_data(forged)
        assert answer is not None and answer["text"] == "Sorry, only organizers can do this."

    await take_part(anna)
    await anna.press("✍️ Add my statement")
    await anna.send_sticker()
    assert "That is empty" in anna.last.text
    await anna.send("Hi")
    assert "too short" in anna.last.text
    await anna.send("By the library, in the shade")
    await group.press(mod, "✅ Approve", message=group.last)
    await finished(harness, (await _campaign(harness, "statement-news")).id)
    assert "By the library, in the shade" in anna.last.text
    await take_part(anna)
    await anna.press("✍️ Add my statement")
    await anna.send("x<y or y>z: by the school, in the sun")                   # not HTML: taken
    assert "A moderator will check" in anna.messages[-2].text
    await anna.send("/discussions")
    assert "Where should the new playground go?" in anna.last.text and "2 statements wait for you" in anna.last.text

    # the closing time comes while the bot is down: closed by the check after the restart, once
    async with harness.db() as s:
        await s.execute(update(Discussion).values(closes_at=utcnow() - timedelta(minutes=1)))
        await s.commit()
    await harness.restart()
    assert harness.app is not None and harness.app.due_checks is not None
    await harness.app.due_checks()
    await finished(harness, (await _campaign(harness, "discussion-results-org")).id)
    assert sum("The discussion has closed" in m.text for m in organizers.messages) == 1
    async with harness.db() as s:
        assert (await s.scalar(select(Discussion.status))) == "closed"
    answer = await take_part(bohdan)
    assert answer is not None and "has closed" in answer["text"]
    answer = await group.press(mod, "✅ Approve", message=group.last)        # too late for her second one
    assert answer is not None and "has closed" in answer["text"] and group.buttons(group.last) == []

    # /deleteme: her waiting statement goes, her participation is no longer hers
    async with harness.db() as s:
        keys_before = set(await s.scalars(select(DiscussionParticipant.participant)))
    await anna.send("/deleteme")
    await anna.press("🗑 Yes, delete my data")
    async with harness.db() as s:
        statements = list(await s.scalars(select(DiscussionStatement).where(DiscussionStatement.seed.is_(False))))
        assert [(x.text, x.author_id) for x in statements] == [("By the library, in the shade", None)]
        news = await _campaign(harness, "statement-news")                      # what told her holds nothing of hers
        assert "library" not in str(news.payload) and news.audience["user_ids"] == []
        assert all(k not in keys_before or k.startswith("gone:")
                   for k in await s.scalars(select(DiscussionParticipant.participant)))


async def test_a_voice_statement_is_written_down_by_a_moderator_before_anyone_votes_on_it(
        harness: Harness) -> None:
    tune(harness, time_scale=50, progress_interval=0.05)
    group = moderators_group(harness)
    mod = await moderator(harness, group, 7003, "Mira")
    org = await organizer(harness, 8400)
    for i in range(2):
        await resident(harness, 8401 + i, "en")
    anna, bohdan = harness.fake.user(8401), harness.fake.user(8402)
    await org.send("/newdiscussion")
    await org.send("Where should the new playground go?")
    await org.send("Next to the school")
    await org.send("In the park")
    await org.press("✅ That's all")
    await org.press("✅ Open it for 4 residents")                               # the moderator lives here too
    await finished(harness, (await _campaign(harness, "discussion")).id)

    # -- a voice note instead of text: pending, its text empty, the card is the voice note ----------
    await take_part(anna)
    await anna.press("✍️ Add my statement")
    assert "record a voice note" in anna.last.text
    voice = await anna.send_voice(duration=9)
    assert "listen to your voice note" in "\n".join(m.text for m in anna.messages[-2:])
    async with harness.db() as s:
        statement = await s.scalar(select(DiscussionStatement).where(DiscussionStatement.seed.is_(False)))
        assert statement is not None and statement.status == "pending" and statement.text == ""
        assert statement.voice_file_id == voice.file_id
    card = group.last
    assert card.kind == "voice" and card.file_id == voice.file_id                 # sent by file_id
    assert "New voice statement" in card.text and "discussion #1" in card.text and "R8401" not in card.text
    assert "replying to this card" in card.text and group.buttons(card) == ["✅ Approve", "🚫 Reject"]

    answer = await group.press(mod, "✅ Approve", message=card)                  # nothing to vote on yet
    assert answer is not None and "Write down what the voice note says first" in answer["text"]
    async with harness.db() as s:
        assert (await s.get(DiscussionStatement, statement.id)).status == "pending"  # type: ignore[union-attr]

    stranger = harness.fake.user(8500, first_name="Sly")
    group.add_member(stranger)
    await group.send(stranger, "Sell the whole park", reply_to=card)              # not a moderator: refused
    assert "only moderators" in group.last.text
    await group.send_photo(mod, reply_to=card)
    assert "with the statement as text" in group.last.text
    await group.send(mod, "Hi", reply_to=card)                                    # the checks of a typed one
    assert "too short" in group.last.text and "Reply to the card again" in group.last.text
    await group.send(mod, "<b>Shade</b> by the river", reply_to=card)
    assert "plain text" in group.last.text
    await group.send(mod, "next to the SCHOOL!", reply_to=card)
    assert "already in the discussion" in group.last.text
    async with harness.db() as s:
        assert (await s.get(DiscussionStatement, statement.id)).text == ""  # type: ignore[union-attr]
    reply = await group.send(mod, TRANSCRIPT, reply_to=card)
    assert TRANSCRIPT in card.text and "Written down from this voice note" in card.text
    assert [m.reactions for m in group.history if m.message_id == reply.message_id] == [
        [{"type": "emoji", "emoji": "👍"}]]                                         # taken
    assert card.kind == "voice" and group.buttons(card) == ["✅ Approve", "🚫 Reject"]

    await group.press(mod, "✅ Approve", message=card)
    assert "Approved by" in card.text and group.buttons(card) == []
    await finished(harness, (await _campaign(harness, "statement-news")).id)
    assert "is now shown to others" in anna.last.text
    assert "By the river: shade &amp; benches for kids &lt; 12" in anna.last.html
    await group.send(mod, "Something else entirely", reply_to=card)               # decided: no more changes
    assert "Someone decided already: approved" in group.last.text

    # -- the others vote on the written-down text ---------------------------------------------------
    await take_part(bohdan)
    seen = await vote_through(bohdan, {"Next to the school": "a", "In the park": "d", TRANSCRIPT: "a"})
    assert sorted(seen) == [TRANSCRIPT, "In the park", "Next to the school"]
    assert "You have voted on all 3 statements" in bohdan.last.text

    # -- a voice note nobody wrote down can still be rejected -----------------------------------------
    await take_part(anna)
    await anna.press("✍️ Add my statement")
    await anna.send_voice()
    await group.press(mod, "🚫 Reject", message=group.last)
    await group.press(mod, "Not about the question", message=group.last)
    assert "Rejected by" in group.last.text
    await finished(harness, (await _campaign(harness, "statement-news")).id)
    assert "Your voice statement was not added" in anna.last.text

    await anna.send("/mydata")
    data = json.loads(harness.fake.files[anna.last.file_id])  # type: ignore[index]
    assert [(x["status_code"], x["voice_note"]) for x in data["discussion_statements"]] == [
        ("approved", True), ("rejected", True)]
    await anna.send("/deleteme")
    await anna.press("🗑 Yes, delete my data")
    async with harness.db() as s:
        kept = list(await s.scalars(select(DiscussionStatement).where(DiscussionStatement.seed.is_(False))))
        assert [(x.text, x.author_id, x.voice_file_id) for x in kept] == [(TRANSCRIPT, None, None)]
