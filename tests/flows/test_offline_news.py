"""Offline residents (issue 19, item 8): what the bot promised them ("I will tell you", "they can
write to you") reaches the mediator who registered them, in the mediator's chat, naming the
resident's code; a typed "Skip", in any language and case, is never taken as an address."""
from __future__ import annotations

from datetime import timedelta

from bot.fakeapi import FakeUser, SentMessage
from storage.models import Report, utcnow
from tests.flows.reports_helpers import card_of, file_report, moderator, moderators_group
from tests.flows.test_mediators import mediator, register_offline
from tests.flows.test_moderation import _checks
from tests.flows.test_proposals import card as proposal_card
from tests.flows.test_proposals import propose
from tests.harness import Harness


async def _told(h: Harness, who: FakeUser, text: str) -> SentMessage:
    return await h.fake.wait_for(lambda: next((m for m in reversed(who.messages) if text in m.text), None))


async def test_outcomes_for_offline_residents_reach_their_mediator(harness: Harness) -> None:
    group = moderators_group(harness)
    mykola = await moderator(harness, group, 7100, "Mykola")
    maria = await mediator(harness, 7001, "Maria")
    code = await register_offline(maria, "Baba Rada")  # Bulgarian; Maria reads English
    header = f"🤝 For {code} (Baba Rada), whom you registered:"

    await maria.send(f"/act {code}")
    # "Skip" typed, not pressed: in another language's words, in capitals, with spaces; never an address
    first = await file_report(maria, text="The street lamp at Rozova 3 is broken", place="  ПРОПУСТИТЬ ")
    assert "I will tell you about every change" in next(
        m.text for m in reversed(maria.messages) if f"#{first}" in m.text)
    second = await file_report(maria, text="A hole in the pavement on Lipova", place="skip")
    third = await file_report(maria, text="Bins overflowing on Rozova", place="Пропускане")
    proposal = await propose(maria, "Benches for the Rozova yard")
    await maria.send(f"⏹ Stop acting for {code}")
    async with harness.db() as s:
        for number in (first, second, third):
            report = await s.get(Report, number)
            assert report is not None and report.address is None and report.latitude is None
    assert "📍 not given" in card_of(group, first).text

    # the outcome of the report: in Maria's chat, in her language, naming the code
    await group.press(mykola, "✅ Accept", message=card_of(group, first))
    accepted = await _told(harness, maria, f"Your report #{first} (Street lighting: “The street lamp at Rozova 3")
    assert accepted.text.startswith(header) and "Please tell them." in accepted.text
    # "they can still write to you through the bot": the moderators' reply reaches her, and her answer them
    await group.send(mykola, "Is it the lamp by the <bakery>?", reply_to=card_of(group, first))
    relayed = await _told(harness, maria, "Is it the lamp by the <bakery>?")
    assert relayed.text.startswith(header) and f"The moderators about your report #{first}" in relayed.text
    assert relayed.buttons == []  # she answers by replying (the ↩️ button is the resident's own)
    await maria.send("Yes, Baba Rada says it is that one", reply_to=relayed)
    assert "Sent to the moderators" in maria.last.text
    assert "Baba Rada says it is that one" in group.last.text
    assert group.last.reply_to_message_id == card_of(group, first).message_id

    # "is it fixed?": answered with its buttons while acting for her
    await group.press(mykola, "🎉 Resolved", message=card_of(group, first))
    await _told(harness, maria, f"Your report #{first} (Street lighting")
    assert (await _checks(harness, utcnow() + timedelta(days=3, minutes=1)))[1] == 1  # (the others: stale)
    question = await _told(harness, maria, "Is the problem really fixed?")
    assert question.text.startswith(header) and f"first /act {code}" in question.text
    await maria.send(f"/act {code}")
    await maria.press("👎 No, still a problem", message=question)
    async with harness.db() as s:
        report = await s.get(Report, first)
        assert report is not None and report.status == "reopened"
    await maria.send(f"⏹ Stop acting for {code}")

    # the outcome of the proposal, too
    await group.press(mykola, "📣 Publish", message=proposal_card(group, proposal))
    published = await harness.fake.wait_for(lambda: next(
        (m for m in reversed(maria.messages) if m.text.startswith(header) and "Benches for the Rozova" in m.text), None))
    assert "published" in published.text
