"""Polls and surveys through the real Dispatcher, the delivery engine and the fake Bot API."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.fakeapi import FakeUser
from bot.services import polls as ps
from storage.models import Campaign, Poll, PollAnswer, PollResponse
from tests.delivery_helpers import Clock, finished, organizer, resident, tune, until
from tests.harness import ORGANIZERS_CHAT, Harness


async def poll_campaign(h: Harness, kind: str = "poll") -> Campaign:
    async with h.db() as s:
        campaign = await s.scalar(select(Campaign).where(Campaign.kind == kind).order_by(Campaign.id.desc()))
    assert campaign is not None
    return campaign


async def create_single_poll(h: Harness, org: FakeUser, *, anonymous: bool = True) -> int:
    await org.send("/newpoll")
    await org.press("One choice")
    await org.send("Where should the next public discussion be?\nSchool No. 12\nCity library\nOnline")
    await org.press("➕ Українська")
    await org.send("Де провести наступне громадське обговорення?\nШкола № 12\nМіська бібліотека\nОнлайн")
    assert "Added: Українська" in org.last.text
    await org.press("Continue ➡️")
    if not anonymous:
        await org.press("🕶 Anonymous: on")
        assert "Anonymous: no" in org.last.text
    await org.press("✅ Send to", wait=True)
    campaign = await poll_campaign(h)
    await finished(h, campaign.id)
    return int(campaign.payload["poll"]["id"])


def poll_message(who: FakeUser):  # type: ignore[no-untyped-def]
    return next(m for m in reversed(who.messages) if m.buttons and "📊" in m.text)


async def test_single_choice_poll_vote_change_close_and_publish(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org_group = harness.fake.group(ORGANIZERS_CHAT, "Organizers")
    org = await organizer(harness, 5000)
    org_group.add_member(org)
    await resident(harness, 5001, "en", district="ostriv")
    await resident(harness, 5002, "uk", district="ostriv")
    await resident(harness, 5003, "bg", district="korabelnyi")  # no Bulgarian version: English
    a, b, c = (harness.fake.user(i) for i in (5001, 5002, 5003))

    poll_id = await create_single_poll(harness, org)
    assert "Where should the next public discussion be?" in poll_message(a).text
    assert "Де провести наступне громадське обговорення?" in poll_message(b).text
    assert poll_message(b).buttons == ["Школа № 12", "Міська бібліотека", "Онлайн"]
    assert "Anonymous" in poll_message(a).text and "Open until" in poll_message(a).text

    answer = await a.press("City library")
    assert answer is not None and answer["text"] == "Saved ✅"
    assert poll_message(a).buttons == ["School No. 12", "✅ City library", "Online"]
    assert "Your answer: City library" in poll_message(a).text
    await a.press("Online")                                 # changed their mind
    assert poll_message(a).buttons == ["School No. 12", "City library", "✅ Online"]
    await b.press("Школа № 12")
    await b.press("✅ Школа № 12")                          # a double tap changes nothing
    await c.press("Online")

    async with harness.db() as s:
        poll = await s.get(Poll, poll_id)
        assert poll is not None
        res = await ps.results(s, poll, min_group=1)
        assert res.participants == 3 and res.questions[0].counts == [1, 0, 2]
        # anonymous: no answer row leads back to a resident
        assert all(r.user_id is None for r in await s.scalars(select(PollResponse)))

    await org.send("/polls")
    assert "#%d" % poll_id in org.last.text and "3 participants" in org.last.text
    await org.press(f"📊 #{poll_id}")
    results = next(m for m in reversed(org.messages) if m.text.startswith("📊 Results"))
    assert "Online — 2 (67%)" in results.text and "School No. 12 — 1 (33%)" in results.text
    await org.press("📊 Charts and breakdowns", message=results)
    charts = [m for m in org.messages if m.kind == "photo"]
    assert len(charts) == 1 and "question 1" in charts[0].text

    await org.press("⏹ Close now", message=results)
    await org.press("⏹ Yes, close")
    in_group = await until(lambda: _group_results(harness))
    assert "Online — 2 (67%)" in in_group.text
    await until(lambda: _buttons_taken_off(harness, a))
    answer = await a.press("🔒 Poll closed")
    assert answer is not None and "closed" in answer["text"]
    # an old button pressed after closing (a forged or stale callback) is refused politely
    answer = await a.press_data(f"pv:{poll_id}:0:v:0")
    assert answer is not None and answer["text"] == "This poll is closed."

    await org_group.press(org, "📣 Send the results to participants", message=in_group)
    published = await poll_campaign(harness, "poll-results")
    assert await finished(harness, published.id) == {"sent": 3}
    assert a.last.text.startswith("📣 Poll results") and "Online" in a.last.text
    assert b.last.text.startswith("📣 Результати") or "Онлайн" in b.last.text
    assert "By district" not in a.last.text                   # participants get totals only
    answer = await org_group.press(org, "📊 Charts and breakdowns", message=in_group)
    async with harness.db() as s:
        assert (await s.get(Poll, poll_id)).results_published_at is not None  # type: ignore[union-attr]


async def _group_results(h: Harness):  # type: ignore[no-untyped-def]
    return next((m for m in h.fake.bot_messages(ORGANIZERS_CHAT) if m.text.startswith("📊 Results")), None)


async def _buttons_taken_off(h: Harness, who: FakeUser) -> bool:
    message = next(m for m in who.messages if "📊" in m.text)
    return message.buttons == ["🔒 Poll closed"]


async def test_residents_can_not_run_organizer_buttons(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 5100)
    await resident(harness, 5101)
    poll_id = await create_single_poll(harness, org)
    who = harness.fake.user(5101)
    answer = await who.press_data(f"pl:c:{poll_id}")
    assert answer is not None and answer["text"] == "Sorry, only organizers can do this."
    await who.send("/newpoll")
    assert "not available to you" in who.last.text
    async with harness.db() as s:
        assert (await s.get(Poll, poll_id)).status == "open"  # type: ignore[union-attr]


async def test_survey_built_in_the_bot_answered_step_by_step_across_restarts(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 5200)
    await resident(harness, 5201, "en")
    who = harness.fake.user(5201)

    await org.send("/newpoll")
    await org.press("Scale 1–5")
    await org.send("How safe do you feel in your street at night?")
    await org.press("Continue ➡️")
    await org.press("➕ Add a question")
    assert "title" in org.last.text
    await org.send("Needs of our district")
    await org.press("Continue ➡️")                      # no translation of the title
    await org.press("Several choices")
    await org.send("What is missing nearby?\nLighting\nA playground\nA pharmacy\nBenches")
    await org.press("Continue ➡️")
    await org.press("➕ Add a question")
    await org.press("Free-text answer")
    await org.send("What should the council do first?")
    await org.press("Continue ➡️")
    panel = org.last.text
    assert "Survey: Needs of our district" in panel and "3. What should the council do first?" in panel
    await org.press("✅ Send to")
    await finished(harness, (await poll_campaign(harness)).id)

    intro = who.last
    assert "Survey: Needs of our district" in intro.text and "3 questions" in intro.text
    await who.press("▶️ Answer")
    assert "Question 1 of 3" in who.last.text and who.last.buttons == ["1", "2", "3", "4", "5"]
    await who.press("4")
    assert "Question 2 of 3" in who.last.text                # the next question follows at once

    await harness.restart()                                  # the resident stops here; the bot restarts
    await who.send("📊 Polls")                               # the menu button, for those who don't type commands
    assert "continue at question 2 of 3" in who.last.text
    await who.press("1. ▶️ Continue")
    q2 = who.last
    assert "Question 2 of 3" in q2.text
    await who.press("⬜ Lighting", message=q2)
    await who.press("⬜ Benches", message=q2)
    assert who.messages[-1].buttons[:4] == ["☑️ Lighting", "⬜ A playground", "⬜ A pharmacy", "☑️ Benches"]
    await who.press("Next ➡️", message=q2)
    assert "Question 3 of 3" in who.last.text
    await who.press("✍️ Write my answer")
    await harness.restart()                                  # the bot restarts while they type
    await who.send("<b>Fix</b> the lights & benches")
    assert who.last.text.startswith("🙏 Thank you!")
    await who.send("/polls")
    assert "no open polls for you" in who.last.text

    async with harness.db() as s:
        poll = await s.scalar(select(Poll).order_by(Poll.id.desc()))
        assert poll is not None
        res = await ps.results(s, poll, min_group=1)
    assert res.completed == 1
    assert res.questions[0].counts == [0, 0, 0, 1, 0] and res.questions[0].mean == 4
    assert res.questions[1].counts == [1, 0, 0, 1]
    assert [t[1] for t in res.questions[2].texts] == ["<b>Fix</b> the lights & benches"]


SURVEY_YAML = """\
title: {en: "Needs analysis", bg: "Анализ на нуждите"}
anonymous: true
closes_in_days: 3
questions:
  - kind: single
    text: {en: "Do you have running water at home?", bg: "Имате ли течаща вода вкъщи?"}
    options:
      - {en: "Yes", bg: "Да"}
      - {en: "No", bg: "Не"}
  - kind: scale
    text: {en: "How important is a new kindergarten?", bg: "Колко важна е нова детска градина?"}
"""


async def test_survey_imported_from_a_file_and_bad_files_explained(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 5300)
    await resident(harness, 5301, "bg")
    who = harness.fake.user(5301)

    await org.send("/newpoll")
    await org.send_document("survey.yaml", b"questions: [{kind: single, text: Hi, options: [Same, same]}]")
    assert "could not read this survey file" in org.last.text and "question 1: This option is there twice: same" in org.last.text
    await org.send_document("survey.json", b"{not json")
    assert "could not read this survey file" in org.last.text
    await org.send_document("survey.yaml", SURVEY_YAML.encode())
    assert "Survey: Needs analysis" in org.last.text and "Languages: English, Български" in org.last.text
    await org.press("✅ Send to")
    await finished(harness, (await poll_campaign(harness)).id)

    assert "Анализ на нуждите" in who.last.text
    await who.press(who.buttons()[0])
    assert "Имате ли течаща вода вкъщи?" in who.last.text and who.last.buttons == ["Да", "Не"]
    await who.press("Не")
    assert "Колко важна е нова детска градина?" in who.last.text
    async with harness.db() as s:
        poll = await s.scalar(select(Poll).order_by(Poll.id.desc()))
        assert poll is not None and poll.closes_at is not None
        assert timedelta(days=2.9) < poll.closes_at - datetime.now(UTC) < timedelta(days=3.1)


async def test_wizard_refuses_bad_questions_and_a_past_closing_time(harness: Harness) -> None:
    org = await organizer(harness, 5400)
    await org.send("/newpoll")
    await org.press("One choice")
    await org.send("Only a question?")
    assert "from 2 to 10 options" in org.last.text and "you gave 0" in org.last.text
    await org.send("Where?\nHere\nhere")
    assert "This option is there twice: here" in org.last.text
    await org.send("Where?\n" + "\n".join(f"Place {n}" for n in range(11)))
    assert "you gave 11" in org.last.text
    await org.send("Where?\nA place with a very long name that no button can show fully\nB")
    await org.press("Continue ➡️")
    preview = next(m for m in reversed(org.messages) if m.text.startswith("📊 Poll"))
    assert "1. A place with a very long name that no button can show fully" in preview.text
    assert preview.buttons[0].startswith("1. A place with a") and preview.buttons[0].endswith("…")
    answer = await org.press(preview.buttons[1], message=preview)
    assert answer is not None and answer["text"] == "This is only a preview."
    await org.press("🕒 Closing time")
    await org.send("01.01.2020 10:00")
    assert "already passed" in org.last.text
    await org.send("tomorrow")
    assert "25.12 18:30" in org.last.text or "for example" in org.last.text, org.last.text


async def test_a_vote_before_registering_is_kept(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 5500)
    poll_id = await create_single_poll(harness, org)
    stranger = harness.user(5501, first_name="Iryna", language_code="en")
    await stranger.send("/start")          # a chat exists; they leave registration half-way
    answer = await stranger.press_data(f"pv:{poll_id}:0:v:2", message=stranger.last)
    assert answer is not None and "register first" in answer["text"]
    await stranger.press(stranger.buttons()[3])   # English
    await stranger.press(stranger.buttons()[0])   # keep the name
    await stranger.press(stranger.buttons()[0])   # district
    await stranger.press(stranger.buttons()[-1])  # topics: done
    await stranger.press(stranger.buttons()[0])   # consent
    assert "The link chose «Online» for you" in stranger.last.text  # kept, and asked to confirm
    async with harness.db() as s:
        assert await s.scalar(select(PollAnswer.choice)) is None
    await stranger.press("✅ Confirm my vote")
    assert "Your answer: Online" in stranger.last.text
    async with harness.db() as s:
        assert await s.scalar(select(PollAnswer.choice)) == 2


async def test_poll_closes_on_time_even_after_a_restart(harness: Harness) -> None:
    clock = Clock(datetime.now(UTC))
    tune(harness, time_scale=20, progress_interval=0.05, now=clock)
    group = harness.fake.group(ORGANIZERS_CHAT, "Organizers")
    org = await organizer(harness, 5600)
    group.add_member(org)
    await resident(harness, 5601)
    who = harness.fake.user(5601)
    poll_id = await create_single_poll(harness, org)
    await who.press("Online")

    await harness.stop()
    clock.set(clock.value + timedelta(days=8))               # the closing time passes while down
    await harness.start()
    assert harness.app is not None
    results = await until(lambda: _group_results(harness))
    assert f"#{poll_id} · closed" in results.text and "Online — 1 (100%)" in results.text
    await until(lambda: _buttons_taken_off(harness, who))
    await harness.app.due_checks()                           # a later check does nothing twice
    await harness.restart()
    async with harness.db() as s:
        assert len(list(await s.scalars(select(Campaign).where(Campaign.kind == "poll-results-org")))) == 1
    assert len([m for m in harness.fake.bot_messages(ORGANIZERS_CHAT) if m.text.startswith("📊")]) == 1


async def test_forged_links_and_buttons_and_polls_meant_for_others(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 5700)
    await resident(harness, 5701, district="ostriv")
    await resident(harness, 5702, district="korabelnyi")
    inside, outside = harness.fake.user(5701), harness.fake.user(5702)
    await org.send("/newpoll")
    await org.press("Several choices")
    await org.send("What is missing?\nLight\nBenches")
    await org.press("Continue ➡️")
    await org.press("👥 Change audience")
    await org.press("🏘 Districts")
    await org.press("Ostriv (the Island)")
    await org.press("⬅️ Back")
    await org.press("Continue ➡️")
    await org.press("✅ Send to")
    poll_id = int((await poll_campaign(harness)).payload["poll"]["id"])
    await finished(harness, (await poll_campaign(harness)).id)

    for data in (f"pv:{10**20}:0:v:0", "pv:3000000000:0:v:0", f"pv:{poll_id}:0:v:7", f"pv:{poll_id}:99:v:0",
                 f"pv:{poll_id}:0:n:0", "pl:r:99999999999", "pv:abc"):
        answer = await inside.press_data(data, message=inside.last)
        assert answer is not None and answer.get("text"), data       # a polite answer, no apology
    assert not any("Sorry, something went wrong" in m.text for m in inside.messages)
    for link in ("/start poll_²", "/start vote_1_0_²", f"/start poll_{10**12}", "/start vote_1_x_1"):
        await inside.send(link)
        assert "went wrong" not in inside.last.text, link

    await outside.send(f"/start poll_{poll_id}")                     # a link meant for another district
    assert "for other residents" in outside.last.text
    answer = await outside.press_data(f"pv:{poll_id}:0:v:0", message=outside.last)
    assert answer is not None and "for other residents" in answer["text"]

    await inside.press("⬜ Light")                                     # one multiple-choice question
    await inside.send("/polls")
    assert "no open polls for you" in inside.last.text                # answered: off the list
    async with harness.db() as s:
        poll = await s.get(Poll, poll_id)
        assert poll is not None
        res = await ps.results(s, poll, min_group=1)
    assert res.participants == 1 and res.completed == 1 and res.questions[0].counts == [1, 0]
