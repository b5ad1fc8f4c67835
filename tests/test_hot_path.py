"""The residents' hot path: what a tap costs the database, and no filter run in a thread.

The statement counts are those of one update through the real Dispatcher (the update unit with
its handled-update record, the project's middlewares, the handler), counted by tests/sqlcount.py:
a vote is at most 4 statements and one commit (the record, the user and their roles, the
response, the answer).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.services import polls as ps
from bot.services.campaigns import Audience, create_campaign
from storage.models import PollAnswer, PollResponse, utcnow
from tests.delivery_helpers import finished, resident, tune
from tests.harness import Harness
from tests.sqlcount import SqlCounter

# the update layer's own statement: the handled-update record, in the update's transaction (a
# button reads no conversation state unless a state filter asks; bot/updates.py)
FSM_READ = 1


async def send_poll(h: Harness, kind: str = "single", questions: int = 1, audience: Audience | None = None) -> int:
    now = utcnow()
    options = [{"en": "School"}, {"en": "Library"}, {"en": "Online"}]
    draft = ps.PollDraft(
        questions=[ps.QuestionDraft(kind, {"en": f"Question {n + 1}?"}, options if kind != "scale" else [])
                   for n in range(questions)],
        title={"en": "Survey"} if questions > 1 else {}, closes_at=now + timedelta(days=7),
        audience=(audience or Audience()).to_json())
    async with h.db() as s:
        poll = await ps.create_poll(s, draft, default_locale="en", created_by=None, now=now)
        campaign = await create_campaign(s, kind="poll", payload={"poll": ps.poll_json(poll)},
                                         audience=audience or Audience(), now=now)
        poll.campaign_id = campaign.id
        await s.commit()
        poll_id, campaign_id = poll.id, campaign.id
    assert h.app is not None and h.app.delivery is not None
    h.app.delivery.wake()
    await finished(h, campaign_id)
    return poll_id


def counted(h: Harness) -> SqlCounter:
    assert h.app is not None
    return SqlCounter.attach(h.app.engine, h.app.dp)


async def test_a_vote_costs_at_most_three_statements_and_one_commit(harness: Harness) -> None:
    tune(harness)
    await resident(harness, 7001)
    await resident(harness, 7002)
    poll_id = await send_poll(harness)
    a, b = harness.fake.user(7001), harness.fake.user(7002)
    await b.press("School")  # the first tap in this process reads the poll (then it is cached)
    counter = counted(harness)
    try:
        answer = await a.press("Library")
        assert answer is not None and answer["text"] == "Saved ✅"
        assert a.messages[-1].buttons == ["School", "✅ Library", "Online"]
        assert len(counter.per_update) == 1, counter.per_update
        statements, commits = counter.per_update[0]
        assert statements <= 3 + FSM_READ, str(counter)
        assert commits == 1, str(counter)

        counter.reset()  # changing the answer: the same
        await a.press("Online")
        assert a.messages[-1].buttons == ["School", "Library", "✅ Online"]
        statements, commits = counter.per_update[0]
        assert statements <= 3 + FSM_READ and commits == 1, str(counter)

        counter.reset()  # the same answer again: nothing to change, nothing edited
        edits = a.messages[-1].edits
        answer = await a.press("✅ Online")
        assert answer is not None and answer["text"] == "Saved ✅"
        assert a.messages[-1].edits == edits
        statements, _commits = counter.per_update[0]
        assert statements <= 3 + FSM_READ, str(counter)
    finally:
        counter.detach()
    async with harness.db() as s:
        poll = await s.get(ps.Poll, poll_id)
        assert poll is not None
        res = await ps.results(s, poll, min_group=1)
        assert res.participants == 2 and res.questions[0].counts == [1, 0, 1]


async def test_multiple_choice_taps_are_set_and_unset_not_blind_toggles(harness: Harness) -> None:
    tune(harness)
    await resident(harness, 7011)
    poll_id = await send_poll(harness, kind="multi")
    a = harness.fake.user(7011)
    message = a.messages[-1]
    library = message.inline_keyboard[1][0]["callback_data"]
    counter = counted(harness)
    try:
        await a.press("⬜ Library")  # (the poll is read once, then cached)
        assert a.messages[-1].buttons == ["⬜ School", "☑️ Library", "⬜ Online"]
        # the same tap delivered again (the old button: "choose Library") keeps Library chosen
        counter.reset()
        await a.press_data(library, message=message)
        assert a.messages[-1].buttons == ["⬜ School", "☑️ Library", "⬜ Online"]
        statements, commits = counter.per_update[0]
        assert statements <= 3 + FSM_READ and commits == 1, str(counter)
        await a.press("⬜ Online")
        await a.press("☑️ Library")  # now it is taken off
        assert a.messages[-1].buttons == ["⬜ School", "⬜ Library", "☑️ Online"]
    finally:
        counter.detach()
    async with harness.db() as s:
        chosen = list(await s.scalars(
            select(PollAnswer.choice).join(PollResponse, PollResponse.id == PollAnswer.response_id)
            .where(PollResponse.poll_id == poll_id)))
        assert chosen == [2]


async def test_a_poll_closed_elsewhere_takes_no_vote(harness: Harness) -> None:
    """Another worker closed the poll: this process's cached poll says nothing about it, the write
    itself checks."""
    tune(harness)
    await resident(harness, 7021)
    await resident(harness, 7022)
    poll_id = await send_poll(harness)
    a, b = harness.fake.user(7021), harness.fake.user(7022)
    await a.press("School")  # the poll is now in this process's cache
    async with harness.db() as s:  # closed behind the bot's back (as another process would)
        await ps.close_poll(s, poll_id, utcnow())
        await s.commit()
    answer = await b.press("Library")
    assert answer is not None and "closed" in answer["text"].lower()
    answer = await a.press("Online")
    assert answer is not None and "closed" in answer["text"].lower()
    async with harness.db() as s:
        assert await s.scalar(select(func.count()).select_from(PollResponse)) == 1
        assert list(await s.scalars(select(PollAnswer.choice))) == [0]


async def test_audience_is_still_checked(harness: Harness) -> None:
    tune(harness)
    await resident(harness, 7031, district="ostriv")
    await resident(harness, 7032, district="korabelnyi")
    poll_id = await send_poll(harness, audience=Audience(districts=["ostriv"]))
    outsider = harness.fake.user(7032)
    inside = harness.fake.user(7031)
    data = inside.messages[-1].inline_keyboard[0][0]["callback_data"]
    await outsider.send("/help")
    answer = await outsider.press_data(data, message=outsider.messages[-1])
    assert answer is not None and answer["text"] != "Saved ✅"
    answer = await inside.press("School")
    assert answer is not None and answer["text"] == "Saved ✅"
    async with harness.db() as s:
        assert await s.scalar(select(func.count()).select_from(PollResponse)
                              .where(PollResponse.poll_id == poll_id)) == 1


async def test_survey_steps_still_advance(harness: Harness) -> None:
    tune(harness)
    await resident(harness, 7041)
    poll_id = await send_poll(harness, questions=2)
    a = harness.fake.user(7041)
    await a.press("▶️ Answer")  # the invitation's button
    await a.press("School")
    assert "Question 2?" in a.messages[-1].text
    await a.press("Online")
    async with harness.db() as s:
        response = await s.scalar(select(PollResponse).where(PollResponse.poll_id == poll_id))
        assert response is not None and response.completed_at is not None and response.step == 2


def test_no_filter_or_handler_of_the_router_runs_in_a_thread() -> None:
    """aiogram sends every non-coroutine callable to asyncio.to_thread; build_router() makes them
    all awaitable (called inline)."""
    from aiogram import F

    from handlers import build_router, callables

    root = build_router()
    found = callables(root)
    assert len(found) > 200  # every feature's handlers and their filters
    assert [repr(o.callback) for o in found if not o.awaitable] == []
    # and an inlined magic filter still filters
    probe = next(o for o in found if getattr(o, "magic", None) is not None)
    assert probe.awaitable
    assert F.data.startswith("pv:").resolve  # (magic filters are what aiogram would thread)


async def send_discussion(h: Harness, seeds: int = 4) -> int:
    from bot.services import discussions as ds

    now = utcnow()
    async with h.db() as s:
        discussion = await ds.create(s, {"en": "What should the district do first?"},
                                     [f"Statement number {n + 1}" for n in range(seeds)], Audience().to_json(),
                                     now + timedelta(days=7), "en", None, now)
        payload = {"discussion": {"id": discussion.id, "question": discussion.question,
                                  "default_locale": "en", "closes_at": discussion.closes_at.isoformat()}}
        campaign = await create_campaign(s, kind="discussion", payload=payload, audience=Audience(), now=now)
        discussion.campaign_id = campaign.id
        await s.commit()
        discussion_id, campaign_id = discussion.id, campaign.id
    assert h.app is not None and h.app.delivery is not None
    h.app.delivery.wake()
    await finished(h, campaign_id)
    return discussion_id


async def test_a_discussion_vote_costs_few_statements(harness: Harness) -> None:
    from storage.models import DiscussionStatement, DiscussionVote

    tune(harness)
    await resident(harness, 7051)
    await resident(harness, 7052)
    discussion_id = await send_discussion(harness)
    a, b = harness.fake.user(7051), harness.fake.user(7052)
    await b.press("💬 Take part")
    await b.press("👍 Agree")  # the discussion is read once in this process, then cached
    await a.press("💬 Take part")
    counter = counted(harness)
    try:
        first = a.messages[-1]
        vote = first.inline_keyboard[0][0]["callback_data"]  # (the message becomes the next statement)
        answer = await a.press("👍 Agree", message=first)
        assert answer is not None and answer["text"] == "Saved ✅"
        assert "Statement number" in a.messages[-1].text and a.messages[-1].edits == 1
        statements, commits = counter.per_update[0]
        # user, participant, vote, the statement's counter, the next statement
        assert statements <= 5 + FSM_READ and commits == 1, str(counter)
        # the same tap again (re-delivered): the vote stays one, the counter too
        counter.reset()
        answer = await a.press_data(vote, message=first)
        assert answer is not None and answer["text"] == "Saved ✅"
        statements, commits = counter.per_update[0]
        assert statements <= 5 + FSM_READ and commits == 1, str(counter)
    finally:
        counter.detach()
    async with harness.db() as s:
        assert await s.scalar(select(func.count()).select_from(DiscussionVote)) == 2
        counts = list(await s.scalars(select(DiscussionStatement.votes).where(
            DiscussionStatement.discussion_id == discussion_id).order_by(DiscussionStatement.id)))
        assert sum(counts) == 2
