"""Flow tests for the moderators' group: one language for every text there, /help, /queue links,
and status notifications that name the report (issue 19, items 3, 4 and 6)."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.fakeapi import FakeGroup, FakeUser, SentMessage
from handlers.moderation.cards import run_report_checks
from storage.models import Report, utcnow
from tests.flows.helpers import register
from tests.flows.reports_helpers import PLACE, card_of, file_report, moderator, moderators_group
from tests.harness import MODERATORS_CHAT, Harness

UK_TEXT = "Яма на дорозі біля школи <№5>, глибока & небезпечна для велосипедистів"


async def _told(h: Harness, who: FakeUser, text: str) -> SentMessage:
    return await h.fake.wait_for(lambda: next((m for m in reversed(who.messages) if text in m.text), None))


async def _checks(h: Harness, now) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    app = h.app
    assert app is not None
    return await run_report_checks(app.sessionmaker, app.bot, app.settings, app.i18n, app.delivery, now=now,
                                   community=app.community)


async def _report_in_own_language(who: FakeUser, text: str = UK_TEXT) -> int:
    """/report with the first category, no photos, a location, anonymous: the buttons by their
    place, whatever the reporter's language."""
    await who.send("/report")
    await who.press(who.buttons()[0])  # the first category (street lighting)
    await who.send(text)
    await who.press(who.buttons()[0])  # skip photos
    await who.send_location(*PLACE)
    await who.press(who.buttons()[0])  # keep the district
    await who.press(who.buttons()[0])  # stay anonymous
    await who.press(who.buttons()[0])  # send
    found = re.search(r"#(\d+)", who.last.text)
    assert found, who.last.text
    return int(found.group(1))


def _card_in_any_language(group: FakeGroup, number: int) -> SentMessage:
    return next(m for m in group.messages if f" #{number} · " in m.text.split("\n")[0])


async def _moderator_speaking(h: Harness, group: FakeGroup, user_id: int, name: str, lang: str) -> FakeUser:
    who = await moderator(h, group, user_id, name)
    async with h.db() as s:  # registered in English by the helper; now their own language
        from bot.services import users as users_service

        user = await users_service.by_telegram_id(s, user_id)
        assert user is not None
        await users_service.set_language(s, user, lang)
        await s.commit()
    return who


async def test_the_moderators_group_reads_one_language(harness: Harness) -> None:
    """A Ukrainian reporter and a Russian-speaking moderator: everything in the group is in the
    group's language (MODERATORS_LOCALE, by default DEFAULT_LOCALE: English here), what the
    reporter receives in Ukrainian."""
    group = moderators_group(harness)
    olha = await _moderator_speaking(harness, group, 6101, "Olha", "ru")
    oksana = await register(harness, 6003, "Oksana", lang="uk")
    number = await _report_in_own_language(oksana)
    card = card_of(group, number)
    assert "Street lighting" in card.text and "👤 Resident R-" in card.text and "Status: New" in card.text
    assert "Мешканець" not in card.text and "Житель" not in card.text
    # the Russian-speaking moderator presses: the card, the toast and the prompts stay in English
    answer = await group.press(olha, "✅ Accept", message=card)
    assert answer and answer["text"] == "Accepted"
    card = card_of(group, number)
    assert "Status: Accepted — Olha" in card.text and "👤 Resident R-" in card.text
    news = await _told(harness, oksana, f"Модератори прийняли ваше звернення #{number} (Вуличне освітлення: «")
    # the reporter answers the news in Ukrainian: relayed under the card, labelled in English
    await oksana.send("Дякую! Там ще й ліхтар не світить", reply_to=news)
    relayed = group.last
    assert relayed.reply_to_message_id == card.message_id
    assert relayed.text.startswith("💬 Resident R-") and f"about #{number}:" in relayed.text
    assert "Мешканець" not in relayed.text and "щодо" not in relayed.text
    # a moderator's reply goes to the reporter in Ukrainian; the moderator's prompts are in English
    await group.send(olha, "Дякуємо, передамо й це", reply_to=card)
    await _told(harness, oksana, f"Модератори щодо вашого звернення #{number}")
    await group.press(olha, "🔁 Duplicate", message=card)
    assert group.last.text.startswith("Type the number of the report")
    await group.send(olha, "/cancel", reply_to=group.last)
    assert group.last.text == "Cancelled."
    await group.send(olha, "/queue")
    assert "1 open report" in group.last.text and "Street lighting · Accepted" in group.last.text
    await group.send(olha, "/help")
    assert "Moderating in this group" in group.last.text
    # the reminder of a stale report is written by the periodic job: in English too
    assert await _checks(harness, utcnow() + timedelta(hours=49)) == (1, 0)
    assert "has had no update for 48 hours" in group.last.text
    # the reporter withdraws it (in Ukrainian): the note under the card and the card in English
    await oksana.send("/myreports")
    await oksana.press(f"#{number}")
    await oksana.press(oksana.buttons()[1])  # withdraw
    await oksana.press(oksana.buttons()[0])  # yes
    assert group.last.text == f"↩️ The resident withdrew report #{number}."
    card = card_of(group, number)  # redrawn by the reporter's own update: still in English
    assert "Status: Withdrawn by the resident" in card.text and "👤 Resident R-" in card.text
    assert "Мешканець" not in card.text


async def test_moderators_locale_sets_the_language_of_the_group(harness: Harness) -> None:
    """MODERATORS_LOCALE=bg: a Bulgarian group for an English-speaking community and reporter."""
    harness.settings = harness.settings.model_copy(update={"moderators_locale": "bg"})
    await harness.restart()
    group = moderators_group(harness)
    olha = await moderator(harness, group, 6101, "Olha")  # an English-speaking moderator
    anna = await register(harness, 6001, "Anna")
    number = await file_report(anna, text="Pothole <near> the school")
    card = _card_in_any_language(group, number)
    assert "Улично осветление" in card.text and "👤 Жител R-" in card.text and "Статус: Нов" in card.text
    assert "✅ Приемам" in card.buttons
    await group.press(olha, "✅ Приемам", message=card)
    assert "Статус: Приет — Olha" in _card_in_any_language(group, number).text
    await _told(harness, anna, f"Your report #{number} (Street lighting: “Pothole <near> the school”) was accepted")
    await group.send(olha, "/queue")
    assert "1 отворен сигнал" in group.last.text
    await group.send(olha, "/help")
    assert "Модериране в тази група" in group.last.text and "✅ Приемам" in group.last.text


async def test_help_in_the_moderators_group(harness: Harness) -> None:
    group = moderators_group(harness)
    olha = await moderator(harness, group, 6101, "Olha")
    await group.send(olha, "/help")
    help_text = group.last.text
    assert group.last.reply_to_message_id is not None
    for words in ("Moderating in this group", "✅ Accept · 🛠 In progress · 🎉 Resolved", "🚫 Reject",
                  "🔁 Duplicate", "🗂 Category", "🏛 Pass on", "Reply to a card", "48 hours", "/queue", "/cancel"):
        assert words in help_text, words
    assert "An admin gives the role" not in help_text
    # someone in the group without the role learns how to get it
    stranger = harness.user(6200, first_name="Stranger", language_code="en")
    group.add_member(stranger)
    await group.send(stranger, "/help")
    assert "Moderating in this group" in group.last.text
    assert "An admin gives the role with /grant moderator @username" in group.last.text


async def test_queue_links_every_report_to_its_card(harness: Harness) -> None:
    group = moderators_group(harness, forum=True)
    olha = await moderator(harness, group, 6101, "Olha")
    anna = await register(harness, 6001, "Anna")
    first = await file_report(anna, text="Lamp broken near school 5")
    second = await file_report(anna, category="Rubbish and cleaning", text="Bins overflowing", place=None)
    await group.send(olha, "/queue")
    queue = group.last
    assert "2 open reports" in queue.text and "Tap a number to go to the report's card." in queue.text
    assert queue.buttons == []  # every report is linked
    chat = str(MODERATORS_CHAT)[4:]
    for number in (first, second):
        card = card_of(group, number)
        link = f"https://t.me/c/{chat}/{card.message_thread_id}/{card.message_id}"
        assert any(e.get("type") == "text_link" and e.get("url") == link for e in queue.entities), queue.entities
        assert f'<a href="{link}">#{number}</a>' in queue.html


async def test_queue_button_posts_a_missing_card(harness: Harness) -> None:
    """A report whose card could not be posted (the group was unreachable) gets a button in
    /queue: pressed, the card is posted, once."""
    harness.expect_rejected = lambda c: "chat not found" in (c.description or "")  # the group is not there yet
    anna = await register(harness, 6001, "Anna")
    number = await file_report(anna)
    group = moderators_group(harness)
    olha = await moderator(harness, group, 6101, "Olha")
    await group.send(olha, "/queue")
    queue = group.last
    assert queue.buttons == [f"📋 #{number}"] and "Tap a report's button below to go to its card." in queue.text
    answer = await group.press(olha, f"📋 #{number}", message=queue)
    assert answer and answer["text"] == f"The card of report #{number} is being posted now."
    card = await harness.fake.wait_for(lambda: next(
        (m for m in group.messages if m.buttons and f"Report #{number} " in m.text), None))
    assert "✅ Accept" in card.buttons
    await group.press(olha, f"📋 #{number}", message=queue)  # pressed again: the card is known now
    assert group.last.text == f"⬆️ The card of report #{number}"
    assert group.last.reply_to_message_id == card.message_id
    await _checks(harness, utcnow() + timedelta(minutes=3))  # the periodic check does not post it again
    assert len([m for m in group.messages if m.buttons and f"Report #{number} " in m.text]) == 1
    # and now the queue links to it
    await group.send(olha, "/queue")
    assert group.last.buttons == [] and f"/{card.message_id}" in group.last.html
    stranger = harness.user(6200, first_name="Stranger", language_code="en")
    answer = await group.press(stranger, f"📋 #{number}", message=queue)
    assert answer and answer["text"] == "Only moderators can do this."


async def test_queue_in_a_basic_group_points_to_cards(harness: Harness) -> None:
    """A group without t.me/c links (not a supergroup): each report has a button that answers
    in reply to its card."""
    basic = -5000
    harness.settings = harness.settings.model_copy(update={"moderators_chat_id": basic})
    await harness.restart()
    moderators_group(harness)  # (quiet hours off)
    group = harness.fake.group(basic, "Moderators")
    olha = await moderator(harness, group, 6101, "Olha")
    anna = await register(harness, 6001, "Anna")
    number = await file_report(anna)
    card = card_of(group, number)
    await group.send(olha, "/queue")
    queue = group.last
    assert queue.buttons == [f"📋 #{number}"] and "t.me/c/" not in queue.html
    await group.press(olha, f"📋 #{number}", message=queue)
    assert group.last.text == f"⬆️ The card of report #{number}" and group.last.reply_to_message_id == card.message_id


async def test_status_notifications_name_the_report(harness: Harness) -> None:
    group = moderators_group(harness)
    olha = await moderator(harness, group, 6101, "Olha")
    anna = await register(harness, 6001, "Anna")
    long = "Pothole <near> the school & the bus stop, deep enough to break a wheel"
    number = await file_report(anna, category="Roads and pavements", text=long)
    excerpt = "Pothole <near> the school & the bus…"
    await group.press(olha, "✅ Accept", message=card_of(group, number))
    accepted = await _told(harness, anna, f"✅ Your report #{number} (Roads and pavements: “{excerpt}”) was accepted")
    assert "&lt;near&gt; the school &amp; the bus…" in accepted.html  # the resident's words, escaped
    await group.press(olha, "🗂 Category", message=card_of(group, number))
    await group.press(olha, "Rubbish and cleaning", message=card_of(group, number))
    await _told(harness, anna, f"Your report #{number} (“{excerpt}”) was moved to the category “Rubbish and cleaning”.")
    await group.press(olha, "🎉 Resolved", message=card_of(group, number))
    await _told(harness, anna, f"🎉 Your report #{number} (Rubbish and cleaning: “{excerpt}”) is marked as resolved.")
    due = None
    async with harness.db() as s:
        due = (await s.scalar(select(Report).where(Report.id == number))).followup_due_at  # type: ignore[union-attr]
    assert due is not None and await _checks(harness, due + timedelta(minutes=1)) == (0, 1)
    await _told(harness, anna, f"A few days ago your report #{number} (Rubbish and cleaning: “{excerpt}”) was marked")
    # a short description is shown whole; the reporter's language names the category and quotes it
    oksana = await register(harness, 6003, "Oksana", lang="uk")
    other = await _report_in_own_language(oksana, "Не світить ліхтар")
    await group.press(olha, "🚫 Reject", message=card_of(group, other))
    await group.press(olha, "Spam or abusive content", message=card_of(group, other))
    await _told(harness, oksana, f"🚫 Ваше звернення #{other} (Вуличне освітлення: «Не світить ліхтар») відхилено.")
