"""The recommendations service on SQLite and PostgreSQL: a known data set (a discussion with
common ground, a closed poll, reports, a proposal, an event, two organisations' representatives,
residents) goes through the whole lifecycle; evidence keeps its figures of the moment and is
recomputed now; stale and out-of-order steps, outsiders and double taps are refused; the news
goes to supporters and endorsers once per step; /deleteme takes a person's support away."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from bot.services import discussions as ds
from bot.services import orgs as os_
from bot.services import polls as pls
from bot.services import recommendations as rs
from bot.services.errors import DomainError
from storage.db import create_engine, create_sessionmaker
from storage.models import (
    Campaign,
    Delivery,
    DiscussionParticipant,
    DiscussionStatement,
    DiscussionVote,
    OrgMember,
    PollAnswer,
    PollResponse,
    Proposal,
    Report,
    ReportEvent,
    User,
)

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
SECRET = b"k" * 32
BODIES = ["council", "executive"]


async def refused(code: str, coro) -> None:  # type: ignore[no-untyped-def]
    try:
        await coro
    except DomainError as exc:
        assert exc.code == code, exc.code
    else:
        raise AssertionError(f"expected {code}")


async def known_data(s) -> dict:  # type: ignore[no-untyped-def]
    people = [User(telegram_id=700 + i, language=("uk", "en", "bg")[i % 3], district="tsentralnyi" if i < 5 else "ostriv",
                   topics=[], registered_at=NOW - timedelta(days=60), display_name=f"P{i}") for i in range(8)]
    s.add_all(people)
    await s.flush()
    # a discussion: statement 1 has common ground (4 of 4 agree), statement 2 divides
    d = await ds.create(s, {"en": "What should the park have?"}, ["More benches", "A car park"], {}, None, "en",
                        None, NOW - timedelta(days=20))
    st = list(await s.scalars(select(DiscussionStatement).where(DiscussionStatement.discussion_id == d.id)
                              .order_by(DiscussionStatement.id)))
    for i in range(4):
        p = DiscussionParticipant(discussion_id=d.id, participant=f"k{i}", district="tsentralnyi")
        s.add(p)
        await s.flush()
        s.add(DiscussionVote(participant_id=p.id, statement_id=st[0].id, vote=1))
        s.add(DiscussionVote(participant_id=p.id, statement_id=st[1].id, vote=1 if i < 2 else -1))
    # a closed poll: 2 of 3 for "Yes"
    poll = await pls.create_poll(s, pls.PollDraft(questions=[pls.QuestionDraft(
        kind="single", text={"en": "Do we need benches?"}, options=[{"en": "Yes"}, {"en": "No"}])]),
        default_locale="en", created_by=None, now=NOW - timedelta(days=15))
    for i, choice in enumerate((0, 0, 1)):  # the first is P5's, under the keyed hash of anonymous polls
        key = pls.participant_key(SECRET, poll.id, people[5].id) if i == 0 else f"h{i}"
        r = PollResponse(poll_id=poll.id, participant=key, district="tsentralnyi", language="en",
                         completed_at=NOW - timedelta(days=14))
        s.add(r)
        await s.flush()
        s.add(PollAnswer(response_id=r.id, question_id=poll.questions[0].id, choice=choice))
    await pls.close_poll(s, poll.id, NOW - timedelta(days=10))
    # reports: 3 in the centre in the last 30 days (1 resolved), 1 on the island
    for i, (district, category) in enumerate((("tsentralnyi", "roads"), ("tsentralnyi", "roads"),
                                               ("tsentralnyi", "lighting"), ("ostriv", "roads"))):
        r = Report(category=category, district=district, status="new", created_at=NOW - timedelta(days=5 + i))
        s.add(r)
        await s.flush()
        if i == 0:
            s.add(ReportEvent(report_id=r.id, action="resolve", created_at=NOW - timedelta(days=2)))
    proposal = Proposal(title="Benches by the fountain", problem="p" * 20, solution="s" * 20, district="tsentralnyi",
                        category="other", language="en", status="published", supporters=7, published_at=NOW)
    s.add(proposal)
    greens = await os_.create(s, os_.OrgDraft(name={"en": "Greens"}), None, NOW)
    youth = await os_.create(s, os_.OrgDraft(name={"en": "Youth"}), None, NOW)
    s.add_all([OrgMember(org_id=greens.id, user_id=people[6].id, role="representative", status="confirmed"),
               OrgMember(org_id=youth.id, user_id=people[7].id, role="representative", status="confirmed"),
               OrgMember(org_id=youth.id, user_id=people[4].id, role="member", status="confirmed")])
    await s.flush()
    return {"people": people, "discussion": d, "statements": st, "poll": poll, "proposal": proposal,
            "greens": greens, "youth": youth}


def draft() -> rs.Draft:
    return rs.Draft(title={"en": "Benches in the central park", "uk": "Лавки в центральному парку"},
                    text={"en": "The network recommends benches."}, problem="Nowhere to sit.",
                    proposal="Ten benches by spring.", body="council", district="tsentralnyi")


async def test_whole_lifecycle(database_url: str) -> None:
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as s:
        data = await known_data(s)
        people, greens, youth = data["people"], data["greens"], data["youth"]
        organizer = people[0]
        await refused("rec_incomplete", rs.create(s, rs.Draft(title={"en": "x"}), organizer.id, "en", BODIES, NOW))
        rec = await rs.create(s, draft(), organizer.id, "en", BODIES, NOW)
        assert rec.status == "draft"

        # evidence, with the figures of this moment
        disc = await rs.attach(s, rec, "discussion", data["discussion"].id, 1, NOW)
        assert [x["text"] for x in disc.snapshot["statements"]] == ["More benches"]  # common ground only
        assert disc.snapshot["statements"][0]["agree"] == 4 and disc.snapshot["participants"] == 4
        poll = await rs.attach(s, rec, "poll", data["poll"].id, 1, NOW)
        assert poll.snapshot["questions"][0]["counts"] == [2, 1] and poll.snapshot["participants"] == 3
        reports = await rs.attach(s, rec, "reports", 30, 1, NOW)
        assert reports.snapshot == {"received": 3, "resolved": 1, "by_category": [["roads", 2], ["lighting", 1]]}
        prop = await rs.attach(s, rec, "proposal", data["proposal"].id, 1, NOW)
        assert prop.snapshot["supporters"] == 7
        await refused("rec_evidence_twice", rs.attach(s, rec, "poll", data["poll"].id, 1, NOW))
        await refused("rec_evidence_missing", rs.attach(s, rec, "proposal", 999, 1, NOW))
        await refused("rec_evidence_missing", rs.attach(s, rec, "reports", 12, 1, NOW))

        # no skipping, no stale taps
        await refused("rec_not_allowed", rs.act(s, rec.id, "submit", organizer.id, expected="draft", now=NOW))
        await refused("rec_until", rs.act(s, rec.id, "open", organizer.id, expected="draft", now=NOW, until=NOW))
        rec, _ = await rs.act(s, rec.id, "open", organizer.id, expected="draft", now=NOW,
                              until=NOW + timedelta(days=14))
        await refused("rec_changed", rs.act(s, rec.id, "open", organizer.id, expected="draft", now=NOW,
                                            until=NOW + timedelta(days=14)))
        await refused("rec_not_allowed", rs.attach(s, rec, "event", 1, 1, NOW))  # evidence is fixed once open
        campaign_id = await rs.publish(s, rec, organizer.id, NOW)
        assert campaign_id == await rs.publish(s, rec, organizer.id, NOW)  # once
        assert (await s.get(Campaign, campaign_id)).audience["districts"] == ["tsentralnyi"]  # type: ignore[union-attr]

        # residents of its district support it, once; an outsider cannot
        for person in people[1:4]:
            await rs.support(s, rec.id, person, NOW)
        await refused("rec_support_twice", rs.support(s, rec.id, people[1], NOW))
        await refused("rec_not_audience", rs.support(s, rec.id, people[5], NOW))  # the island
        assert await rs.unsupport(s, rec.id, people[3]) == 2
        await refused("rec_not_supported", rs.unsupport(s, rec.id, people[3]))

        # organisations endorse through a representative, once each; a member cannot
        await rs.endorse(s, rec.id, greens.id, people[6], NOW)
        await refused("rec_endorsed_twice", rs.endorse(s, rec.id, greens.id, people[6], NOW))
        await refused("rec_not_representative", rs.endorse(s, rec.id, youth.id, people[4], NOW))
        await refused("rec_not_representative", rs.endorse(s, rec.id, greens.id, people[7], NOW))  # another org's
        await rs.endorse(s, rec.id, youth.id, people[7], NOW)
        await rs.unendorse(s, rec.id, youth.id, people[7])
        await rs.endorse(s, rec.id, youth.id, people[7], NOW)
        assert [o.name["en"] for _e, o in await rs.endorsements(s, rec.id)] == ["Greens", "Youth"]

        # support closes at its date
        await refused("rec_closed", rs.support(s, rec.id, people[4], NOW + timedelta(days=15)))
        rec, _ = await rs.act(s, rec.id, "adopt", organizer.id, expected="open", now=NOW + timedelta(days=15))
        await refused("rec_incomplete", rs.act(s, rec.id, "submit", organizer.id, expected="adopted",
                                               to="council", how="pigeon", now=NOW))
        later = NOW + timedelta(days=16)
        rec, _ = await rs.act(s, rec.id, "submit", organizer.id, expected="adopted", to="council", how="letter",
                              now=later)
        assert rec.submitted_at == later and rec.submitted_how == "letter"
        await refused("rec_submitted", rs.unsupport(s, rec.id, people[1]))
        await refused("rec_submitted", rs.unendorse(s, rec.id, greens.id, people[6]))
        news = await rs.tell(s, rec, SECRET, later)
        assert news is not None and news == await rs.tell(s, rec, SECRET, later)  # once per step
        told = await s.get(Campaign, news)
        assert told is not None and told.kind == rs.NEWS_KIND and told.status == "running"
        # supporters, endorsing representatives and the poll's participant P5 (found by the hash);
        # the campaign itself keeps no list of them
        recipients = sorted(await s.scalars(select(Delivery.user_id).where(Delivery.campaign_id == news)))
        assert recipients == sorted([people[1].id, people[2].id, people[5].id, people[6].id, people[7].id])
        assert told.audience["user_ids"] == []
        told.finished_at = later
        await s.execute(update(Delivery).where(Delivery.campaign_id == news).values(status="sent"))
        assert await rs.forget_news_recipients(s) == 5
        assert await s.scalar(select(func.count()).select_from(Delivery).where(Delivery.campaign_id == news)) == 0

        rec, _ = await rs.act(s, rec.id, "answer", organizer.id, expected="submitted", answer="partly",
                              text="Five benches this year.", now=later)
        assert rec.answer == "partly" and rec.answer_text == "Five benches this year."
        await refused("rec_progress", rs.act(s, rec.id, "start", organizer.id, expected="answered", text="150"))
        rec, _ = await rs.act(s, rec.id, "start", organizer.id, expected="answered", text="20 ordered", now=later)
        rec, _ = await rs.act(s, rec.id, "milestone", organizer.id, expected="in_progress", text="60% three are in",
                              now=later)
        assert rec.progress == 60
        rec, _ = await rs.act(s, rec.id, "implement", organizer.id, expected="in_progress", now=later)
        assert rec.status == "implemented" and rec.progress == 100 and rec.closed_at == later
        await refused("rec_not_allowed", rs.act(s, rec.id, "fail", organizer.id, expected="implemented", text="x"))
        history = [(st.old_status, st.new_status, st.progress) for st in await rs.steps(s, rec.id)]
        assert history == [(None, "draft", None), ("draft", "open", None), ("open", "adopted", None),
                           ("adopted", "submitted", None), ("submitted", "answered", None),
                           ("answered", "in_progress", 20), ("in_progress", "in_progress", 60),
                           ("in_progress", "implemented", 100)]

        # the figures now, beside the snapshot: more reports resolved, more support for the proposal
        s.add(ReportEvent(report_id=(await s.scalar(select(Report.id).where(Report.category == "lighting"))),
                          action="resolve", created_at=later))
        data["proposal"].supporters = 9
        await s.flush()
        now_reports = await rs.figures(s, reports, 1)
        assert now_reports is not None and now_reports["resolved"] == 2 and reports.snapshot["resolved"] == 1
        assert (await rs.figures(s, prop, 1))["supporters"] == 9  # type: ignore[index]
        assert (await rs.figures(s, disc, 1))["statements"][0]["agree"] == 4  # type: ignore[index]
        assert (await rs.figures(s, poll, 1))["questions"][0]["counts"] == [2, 1]  # type: ignore[index]

        # the figures of /stats: submitted, answered, accepted, implemented, the median time to an answer
        figures = await rs.counts(s, NOW, NOW + timedelta(days=30))
        assert (figures.submitted, figures.answered, figures.accepted, figures.implemented) == (1, 1, 1, 1)
        assert figures.median_to_answer == timedelta(0) and figures.waiting == []
        assert (await rs.counts(s, NOW + timedelta(days=30), NOW + timedelta(days=60))).submitted == 0

        # the council document of the period lists it, with its evidence and endorsing organisations
        (item,) = await rs.for_council(s, NOW - timedelta(days=1), NOW + timedelta(days=30), 1)
        assert item.rec.id == rec.id and [o.name["en"] for o in item.orgs] == ["Greens", "Youth"]
        assert [e.kind for e, _now in item.evidence] == ["discussion", "poll", "reports", "proposal"]
        assert await rs.for_council(s, NOW + timedelta(days=40), NOW + timedelta(days=50), 1) == []  # finished before

        # /deleteme: the support goes, the endorsement stays as the organisation's, without the name
        await rs.forget(s, people[1].id)
        await rs.forget(s, people[6].id)
        assert (await rs.get(s, rec.id)).supporters == 1  # type: ignore[union-attr]
        assert {e.user_id for e, _o in await rs.endorsements(s, rec.id)} == {None, people[7].id}
    await engine.dispose()


async def test_rejected_goes_to_not_implemented_and_input_checks(database_url: str) -> None:
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as s:
        data = await known_data(s)
        organizer = data["people"][0]
        rec = await rs.create(s, rs.Draft(title={"en": "Light the island"}, text={"en": "Lamps."}, problem="Dark.",
                                          proposal="Lamps.", body="executive"), organizer.id, "en", BODIES, NOW)
        assert rec.district is None  # the whole community
        steps = (("open", "draft", {"until": NOW + timedelta(days=7)}), ("adopt", "open", {}),
                 ("submit", "adopted", {"to": "executive", "how": "session"}),
                 ("answer", "submitted", {"answer": "rejected", "text": "No budget."}))
        for action, expected, extra in steps:
            rec, _ = await rs.act(s, rec.id, action, organizer.id, expected=expected, now=NOW, **extra)
        assert rs.next_actions(rec) == ["fail"]  # a rejected one is not started or implemented
        await refused("rec_not_allowed", rs.act(s, rec.id, "implement", organizer.id, expected="answered", now=NOW))
        rec, _ = await rs.act(s, rec.id, "fail", organizer.id, expected="answered", text="Rejected for lack of money",
                              now=NOW)
        assert rec.status == "not_implemented" and rec.reason == "Rejected for lack of money"
        waiting = await rs.create(s, draft(), None, "en", BODIES, NOW)
        for action, expected, extra in steps[:3]:
            waiting, _ = await rs.act(s, waiting.id, action, organizer.id, expected=expected,
                                      now=NOW - timedelta(days=3), **{**extra, "until": NOW} if action == "open" else extra)
        figures = await rs.counts(s, NOW - timedelta(days=7), NOW + timedelta(days=1))
        assert figures.submitted == 2 and figures.answered == 1 and figures.accepted == 0
        assert [r.id for r in figures.waiting] == [waiting.id]  # waiting for an answer
        await refused("rec_not_allowed", rs.act(s, rec.id, "nonsense", organizer.id, expected="draft"))
        await refused("rec_missing", rs.act(s, 999, "open", organizer.id, expected="draft"))
        await refused("rec_poll_open", rs.attach(
            s, await rs.create(s, draft(), None, "en", BODIES, NOW), "poll",
            (await pls.create_poll(s, pls.PollDraft(questions=[pls.QuestionDraft(
                kind="single", text={"en": "Q?"}, options=[{"en": "A"}, {"en": "B"}])]),
                default_locale="en", created_by=None, now=NOW)).id, 1, NOW))
    await engine.dispose()
    assert rs.clean_text("title", "  Benches   in the park ") == "Benches in the park"
    for bad, code in (("", "rec_too_short"), ("x" * 161, "rec_too_long")):
        try:
            rs.clean_text("title", bad)
        except DomainError as exc:
            assert exc.code == code
        else:
            raise AssertionError(bad)
    assert rs.parse_progress("40% the tender") == (40, "the tender")
