"""The poll service on a known data set, on SQLite and PostgreSQL: counts, breakdowns that hide
small groups, anonymity, and forgetting a resident."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.services import polls as ps
from bot.services.errors import DomainError
from storage.db import create_engine, create_sessionmaker
from storage.models import PollResponse, User

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRET = b"test-secret"


def draft(anonymous: bool = True) -> ps.PollDraft:
    return ps.PollDraft(
        questions=[
            ps.QuestionDraft("single", {"en": "Where?"}, [{"en": "School"}, {"en": "Library"}, {"en": "Online"}]),
            ps.QuestionDraft("multi", {"en": "What is missing?"}, [{"en": "Light"}, {"en": "Benches"}]),
            ps.QuestionDraft("text", {"en": "Anything else?"}),
        ],
        title={"en": "Needs"}, anonymous=anonymous, closes_at=NOW + timedelta(days=1),
    )


async def people(s, district: str, language: str, n: int, start: int) -> list[User]:  # type: ignore[no-untyped-def]
    users = [User(telegram_id=start + i, language=language, district=district, display_name=f"P{start + i}",
                  topics=[], registered_at=NOW, consent_at=NOW) for i in range(n)]
    s.add_all(users)
    await s.flush()
    return users


@pytest.mark.parametrize("anonymous", [True, False])
async def test_counts_and_breakdowns_on_a_known_data_set(database_url: str, anonymous: bool) -> None:
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as s:
        center = await people(s, "center", "uk", 6, 100)   # 6: shown on its own
        island = await people(s, "ostriv", "ru", 5, 200)   # 5: shown on its own
        small = await people(s, "suburbs", "bg", 2, 300)   # 2: too few to show, even as "other"
        poll = await ps.create_poll(s, draft(anonymous), default_locale="en", created_by=None, now=NOW)
        choices = {**{u.id: 0 for u in center[:4]}, **{u.id: 2 for u in center[4:]},
                   **{u.id: 1 for u in island}, **{u.id: 0 for u in small}}
        for u in center + island + small:
            key = ps.participant_key(SECRET, poll.id, u.id)
            await ps.vote(s, poll, 0, choices[u.id], u, key, NOW)
            await ps.vote(s, poll, 1, 0, u, key, NOW)
            if u in island:
                await ps.vote(s, poll, 1, 1, u, key, NOW)
        await ps.answer_text(s, poll, 2, "More buses", center[0], ps.participant_key(SECRET, poll.id, center[0].id), NOW)
        await ps.answer_text(s, poll, 2, "A doctor", small[0], ps.participant_key(SECRET, poll.id, small[0].id), NOW)
        await s.commit()

        res = await ps.results(s, poll, min_group=5)
        q1, q2, q3 = res.questions
        assert res.participants == 13 and res.completed == 2
        assert q1.counts == [6, 5, 2] and q1.answered == 13
        assert q2.counts == [13, 5] and q2.answered == 13
        if anonymous:
            # suburbs (2) alone could be worked out from the totals: ostriv, the smallest shown
            # group, joins it as "other" (7)
            assert [(g.code, g.answered, g.counts) for g in q1.by_district] == [
                ("center", 6, [4, 0, 2]), (None, 7, [2, 5, 0])]
            assert [(g.code, g.answered) for g in q1.by_language] == [("uk", 6), (None, 7)]
            # free text: the small district's answer is listed under "other", and never a name
            assert q3.texts == [("center", "More buses", None), (None, "A doctor", None)]
            assert ps.shown_groups({"a": 9, "b": 1}, 5) == set()       # nothing to show apart
            assert ps.shown_groups({"a": 9, "b": 5, "c": 6}, 5) == {"a", "b", "c"}
            assert ps.shown_groups({"a": 9, "b": 6, None: 3}, 5) == {"a"}
            assert all(r.user_id is None for r in await s.scalars(select(PollResponse)))
        else:
            assert [(g.code, g.answered) for g in q1.by_district] == [("center", 6), ("ostriv", 5), ("suburbs", 2)]
            assert q3.texts == [("center", "More buses", "P100"), ("suburbs", "A doctor", "P300")]
            assert {r.user_id for r in await s.scalars(select(PollResponse))} == {u.id for u in center + island + small}
        assert ps.Results.from_json(res.to_json()) == res

        mine = await ps.answers_of(s, await ps.response_of(s, poll.id, ps.participant_key(SECRET, poll.id, island[0].id)))
        assert mine == {0: [1], 1: [0, 1]}
        exported = await ps.personal_answers(s, island[0].id)
        assert (len(exported) == 3) is (not anonymous)

        # /deleteme: the counts stay, nothing leads back to the person, not even for the bot
        await ps.forget(s, island[0].id, SECRET)
        await s.commit()
        assert await ps.response_of(s, poll.id, ps.participant_key(SECRET, poll.id, island[0].id)) is None
        assert await ps.personal_answers(s, island[0].id) == []
        assert (await ps.results(s, poll, min_group=5)).questions[0].counts == [6, 5, 2]
    await engine.dispose()


async def test_votes_refused_when_closed_or_out_of_range(database_url: str) -> None:
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as s:
        (u,) = await people(s, "center", "uk", 1, 500)
        poll = await ps.create_poll(s, draft(), default_locale="en", created_by=None, now=NOW)
        key = ps.participant_key(SECRET, poll.id, u.id)
        for position, choice, code in ((0, 3, "bad_choice"), (0, -1, "bad_choice"), (5, 0, "unknown_question"),
                                       (2, 0, "bad_choice")):
            with pytest.raises(DomainError) as err:
                await ps.vote(s, poll, position, choice, u, key, NOW)
            assert err.value.code == code
        with pytest.raises(DomainError) as err:
            await ps.vote(s, None, 0, 0, u, key, NOW)
        assert err.value.code == "unknown_poll"
        with pytest.raises(DomainError) as err:                     # past the closing time
            await ps.vote(s, poll, 0, 0, u, key, NOW + timedelta(days=2))
        assert err.value.code == "closed"
        assert await ps.close_poll(s, poll.id, NOW) is not None
        assert await ps.close_poll(s, poll.id, NOW) is None          # once
        with pytest.raises(DomainError) as err:
            await ps.vote(s, poll, 0, 0, u, key, NOW)
        assert err.value.code == "closed"
        with pytest.raises(DomainError):
            await ps.create_poll(s, ps.PollDraft(questions=draft().questions, closes_at=NOW - timedelta(hours=1)),
                                 default_locale="en", created_by=None, now=NOW)
    await engine.dispose()


def test_survey_files() -> None:
    good = ps.parse_file(b"title: Needs\nquestions:\n  - text: Where?\n    options: [A, B]\n"
                         b"  - {kind: text, text: \"Why?\"}\n", "en", ["en", "uk"], NOW)
    assert [q.kind for q in good.questions] == ["single", "text"] and good.questions[0].options == [{"en": "A"}, {"en": "B"}]
    bomb = b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" \
           b"questions: [{text: *b}]\n"
    for content, problem in (
        (b"", "no_questions"),
        (b"questions: []", "no_questions"),
        (b"questions: [{kind: dance, text: X}]", "kind"),
        (b"questions: [{text: {de: X}}]", "language"),
        (b"questions: [{text: {uk: X}}]", "default_missing"),
        (b"questions: [{text: [X, Y]}]", "text_needed"),
        (b"questions: [{text: X, options: [A]}]", "options_count"),
        (b"questions: [{text: X, options: [A, a]}]", "duplicate_option"),
        (b"questions: [{text: X, options: [A, B]}]\ncloses_in_days: 0", "closes_in_days"),
        (b"questions: [{kind: text, text: X}, {kind: scale, text: Y}]", "title_needed"),
        (b"questions: [{text: " + b"x" * 400 + b"}]", "too_long"),
        (b"\xff\xfe", "encoding"),
        (b"questions: [{text: X", "syntax"),
        (bomb, "syntax"),                                        # aliases are refused, not expanded
    ):
        with pytest.raises(DomainError) as err:
            ps.parse_file(content, "en", ["en", "uk"], NOW)
        assert err.value.params["problem"] == problem, (content, err.value.params)
