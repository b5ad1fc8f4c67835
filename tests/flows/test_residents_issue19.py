"""Issue 19, items 7, 12 and 14: what residents and organizers see (flow tests)."""
from __future__ import annotations

from sqlalchemy import select

from bot.fakeapi import FakeUser
from bot.services import polls as ps
from storage.models import Poll
from tests.delivery_helpers import finished, organizer, resident, tune
from tests.flows.test_polls import poll_campaign
from tests.harness import Harness


async def _text_poll(h: Harness, org: FakeUser, question: str) -> int:
    await org.send("/newpoll")
    await org.press("Free-text answer")
    await org.send(question)
    await org.press("Continue ➡️")
    await org.press("✅ Send to", wait=True)
    campaign = await poll_campaign(h)
    await finished(h, campaign.id)
    return int(campaign.payload["poll"]["id"])


async def _texts(h: Harness, poll_id: int) -> list[str]:
    async with h.db() as s:
        poll = await s.get(Poll, poll_id)
        assert poll is not None
        res = await ps.results(s, poll, min_group=1)
    return [t[1] for t in res.questions[-1].texts]


# ------------------------------------------------------------------ 7. a typed free-text answer

async def test_a_typed_message_answers_the_free_text_question_in_front_of_the_resident(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 7000)
    await resident(harness, 7001, "uk")
    who = harness.fake.user(7001)

    poll_id = await _text_poll(harness, org, "What should the council fix first?")
    question = who.last
    assert "What should the council fix first?" in question.text
    assert question.buttons == ["✍️ Написати відповідь"]          # the button stays, as a hint
    await who.send("📊 Опитування")                               # a menu tap is not an answer
    assert "What should the council fix first?" in who.last.text and await _texts(harness, poll_id) == []
    await who.send("Освітлення на <b>Перекопській</b>")           # typed, without pressing the button
    assert who.last.text.startswith("Збережено ✅")
    assert "Освітлення на &lt;b&gt;Перекопській&lt;/b&gt;" in who.last.html
    assert who.last.buttons == ["✍️ Змінити відповідь"]
    assert await _texts(harness, poll_id) == ["Освітлення на <b>Перекопській</b>"]
    await who.send("ще щось")                                     # answered: the next message is not taken
    assert "Збережено" not in who.last.text and await _texts(harness, poll_id) == ["Освітлення на <b>Перекопській</b>"]


async def test_a_survey_takes_the_typed_answer_of_its_next_question(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 7100)
    await resident(harness, 7101, "en")
    who = harness.fake.user(7101)

    await org.send("/newpoll")
    await org.press("Free-text answer")
    await org.send("What do you like about the district?")
    await org.press("Continue ➡️")
    await org.press("➕ Add a question")
    await org.send("Our district")                                # the survey's title
    await org.press("Continue ➡️")
    await org.press("Scale 1–5")
    await org.send("How safe is your street?")
    await org.press("Continue ➡️")
    await org.press("➕ Add a question")
    await org.press("Free-text answer")
    await org.send("What should change?")
    await org.press("Continue ➡️")
    await org.press("✅ Send to", wait=True)
    campaign = await poll_campaign(harness)
    await finished(harness, campaign.id)

    await who.send("hello")                                       # only the invitation was shown
    assert who.last.text.startswith("I did not understand")
    await who.press("▶️ Answer")
    assert "Question 1 of 3" in who.last.text and "Write your answer in a message." in who.last.text
    await who.send("The river")
    assert who.messages[-2].text.startswith("Saved ✅") and "Your answer: The river" in who.messages[-2].text
    assert "Question 2 of 3" in who.last.text
    await who.press("4")
    assert "Question 3 of 3" in who.last.text
    await harness.restart()                                       # the bot restarts while they type
    await who.send("More benches")
    assert who.last.text.startswith("🙏 Thank you!")
    async with harness.db() as s:
        poll = await s.scalar(select(Poll).order_by(Poll.id.desc()))
        assert poll is not None
        res = await ps.results(s, poll, min_group=1)
    assert [t[1] for t in res.questions[0].texts] == ["The river"]
    assert [t[1] for t in res.questions[2].texts] == ["More benches"]
    assert res.completed == 1
