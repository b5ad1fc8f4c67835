"""The dashboard's polls, surveys and discussions (issue 23): results with numbers after residents
voted through the bot, the small-group protection (a group below the minimum is not shown, and
the page says why), free-text answers, roles (a resident, a representative of another
organisation) and a discussion's common ground and opinion groups; on SQLite and PostgreSQL."""
from __future__ import annotations

import re
from html import unescape
from datetime import timedelta

from bot.services import discussions as ds
from bot.services import orgs as orgs_service
from bot.services import polls as polls_service
from bot.services import users as users_service
from storage.models import DiscussionParticipant, DiscussionStatement, DiscussionVote, Poll, utcnow
from tests.delivery_helpers import organizer, resident, tune
from tests.flows.test_dashboard import dashboard_client, tma
from tests.flows.test_polls import create_single_poll
from tests.harness import ADMIN_ID, Harness


def text_of(html: str) -> str:
    """The page's words, without tags (what a reader sees)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def voted_poll(h: Harness) -> int:
    """A poll made with /newpoll, answered by three residents through its buttons: two in
    Ostriv (English, Ukrainian), one in Korabelnyi."""
    tune(h, time_scale=20, progress_interval=0.05)
    org = await organizer(h, 5000)
    await resident(h, 5001, "en", district="ostriv")
    await resident(h, 5002, "uk", district="ostriv")
    await resident(h, 5003, "en", district="korabelnyi")
    a, b, c = (h.fake.user(i) for i in (5001, 5002, 5003))
    poll_id = await create_single_poll(h, org)
    await a.press("City library")
    await b.press("Школа № 12")
    await c.press("Online")
    await a.press("Online")  # changed their mind
    return poll_id


async def test_poll_results_with_numbers_and_the_small_group_protection(harness: Harness) -> None:
    poll_id = await voted_poll(harness)
    harness.settings.poll_min_group = 2  # Korabelnyi has 1: Ostriv alone may not be shown apart either
    async with dashboard_client(harness) as client:
        page = await client.get("/app/polls", headers=tma(5000))
        assert page.status == 200
        listing = text_of(await page.text())
        assert f"Poll #{poll_id} · Where should the next public discussion be?" in listing
        assert "open until" in listing and "3 participants" in listing

        page = await client.get(f"/app/polls/{poll_id}", headers=tma(5000))
        assert page.status == 200
        html = await page.text()
        seen = text_of(html)
        assert "3 participants" in seen
        assert '<figure class="chart">' in html
        assert re.search(r'<th scope="row">Online</th><td data-value="2">2 · 67%</td>', html), html
        assert re.search(r'<th scope="row">School No. 12</th><td data-value="1">1 · 33%</td>', html)
        assert '<td data-value="0">0 · 0%</td>' in html  # City library, after the change
        # the group below the minimum is not shown, and the page says why (the chat's words)
        assert "By district" not in seen and "Korabelnyi" not in seen and "Ostriv" not in seen
        assert ("No breakdown by district or language yet: a group is shown apart only when it has at least 2 "
                "participants and the others together have that many too (POLL_MIN_GROUP = 2)") in seen

        harness.settings.poll_min_group = 1  # not anonymous-protected: every district apart
        seen = text_of(await (await client.get(f"/app/polls/{poll_id}", headers=tma(5000))).text())
        assert "By district:" in seen and "By language:" in seen
        assert "Ostriv (the Island) 2 50% 0% 50%" in seen and "Korabelnyi district 1 0% 0% 100%" in seen  # answered, then each option
        assert "POLL_MIN_GROUP" not in seen

        response = await client.get(f"/app/api/polls/{poll_id}", headers=tma(5000))
        assert response.status == 200
        data = await response.json()
        assert data["status"] == "open" and data["results"]["participants"] == 3
        assert data["results"]["questions"][0]["counts"] == [1, 0, 2]

        # the admin sees it too, in their language
        page = await client.get(f"/app/polls/{poll_id}", headers=tma(ADMIN_ID),
                                cookies={"hromada_lang": "uk"})
        seen = text_of(await page.text())
        assert "Де провести наступне громадське обговорення?" in seen and "Онлайн" in seen


async def test_residents_and_other_organisations_do_not_see_polls(harness: Harness) -> None:
    now = utcnow()
    await resident(harness, 8001)
    rep_one, rep_two = await resident(harness, 8002), await resident(harness, 8003)
    async with harness.db() as s:
        one = await orgs_service.create(s, orgs_service.OrgDraft(name={"en": "Greens One"}), None, now)
        two = await orgs_service.create(s, orgs_service.OrgDraft(name={"en": "Water Two"}), None, now)
        for user_id, org in ((rep_one, one), (rep_two, two)):
            user = await users_service.by_id(s, user_id)
            assert user is not None
            await orgs_service.join(s, org.id, user, orgs_service.REPRESENTATIVE, now)
            await orgs_service.decide(s, org.id, user.id, True, None, now)
        poll = await polls_service.create_poll(s, polls_service.PollDraft(questions=[polls_service.QuestionDraft(
            kind="single", text={"en": "Clean the river bank on Saturday?"}, options=[{"en": "Yes"}, {"en": "No"}])],
            closes_at=now + timedelta(days=7)), default_locale="en", created_by=None, now=now)
        (await s.get(Poll, poll.id)).org_id = one.id  # type: ignore[union-attr]
        await s.commit()
    async with dashboard_client(harness) as client:
        for path in ("/app/polls", f"/app/polls/{poll.id}"):
            page = await client.get(path, headers=tma(8001))  # a resident
            assert page.status == 403 and "Your role does not open this page" in await page.text()
        assert (await client.get(f"/app/api/polls/{poll.id}", headers=tma(8001))).status == 403
        assert (await client.get("/app/polls")).status == 401
        assert (await client.get(f"/app/api/polls/{poll.id}")).status == 401

        # the representative of the other organisation: not in the list, refused on the page and the API
        listing = await client.get("/app/polls", headers=tma(8003))
        assert listing.status == 200 and "Clean the river bank" not in await listing.text()
        assert "No polls yet." in text_of(await listing.text())
        assert (await client.get(f"/app/polls/{poll.id}", headers=tma(8003))).status == 403
        assert (await client.get(f"/app/api/polls/{poll.id}", headers=tma(8003))).status == 403
        # the organisation's own representative sees it (and no discussions: those are the organizers')
        listing = await client.get("/app/polls", headers=tma(8002))
        assert "Clean the river bank on Saturday?" in await listing.text()
        assert "Discussions" not in text_of(await listing.text())
        page = await client.get(f"/app/polls/{poll.id}", headers=tma(8002))
        assert page.status == 200 and "Greens One" in await page.text()
        assert (await client.get("/app/polls/999999", headers=tma(8002))).status == 404
        assert (await client.get("/app/polls/99999999999", headers=tma(8002))).status == 404
        menu = await (await client.get("/app/polls", headers=tma(8002))).text()
        assert 'href="/app/polls" aria-current="page"' in menu and 'href="/app/events"' in menu
        assert 'href="/app/reports"' in menu  # (their organisation's part of the queue)


async def test_free_text_answers_as_the_chat_shows_them(harness: Harness) -> None:
    await organizer(harness, 5100)
    users = [await resident(harness, 5101 + i, district=d) for i, d in enumerate(("ostriv", "ostriv", "korabelnyi"))]
    assert harness.app is not None
    secret = harness.app.dp["poll_secret"]
    now = utcnow()
    async with harness.db() as s:
        poll = await polls_service.create_poll(s, polls_service.PollDraft(
            title={"en": "Needs of the district"}, questions=[
                polls_service.QuestionDraft(kind="text", text={"en": "What is missing in your street?"}),
                polls_service.QuestionDraft(kind="scale", text={"en": "How safe do you feel at night?"})]),
            default_locale="en", created_by=None, now=now)
        for user_id, text, score in zip(users, ("Benches", "A <b>bus</b> stop", "Street lights"), (2, 4, 5),
                                        strict=True):
            user = await users_service.by_id(s, user_id)
            assert user is not None
            key = polls_service.participant_key(secret, poll.id, user.id)
            await polls_service.answer_text(s, poll, 0, text, user, key, now)
            await polls_service.vote(s, poll, 1, score, user, key, now)
        await s.commit()
    harness.settings.poll_min_group = 1
    async with dashboard_client(harness) as client:
        html = await (await client.get(f"/app/polls/{poll.id}", headers=tma(5100))).text()
    seen = text_of(html)
    assert "Survey #%d: Needs of the district" % poll.id in seen
    assert "3 participants · 3 completed" in seen
    assert "A &lt;b&gt;bus&lt;/b&gt; stop" in html and "<b>bus</b>" not in html  # escaped
    # by district, in alphabetical order (never in the order they came)
    assert seen.index("Korabelnyi") < seen.index("Street lights") < seen.index("Ostriv") < seen.index("A <b>bus</b> stop")
    assert seen.index("A <b>bus</b> stop") < seen.index("Benches")
    assert "1 — not at all" in seen and "5 — very much" in seen and "Average: 3.7 of 5" in seen


async def test_a_discussion_page_shows_agreement_common_ground_and_groups(harness: Harness) -> None:
    await organizer(harness, 5200)
    await resident(harness, 5201)
    now = utcnow()
    async with harness.db() as s:
        d = await ds.create(s, {"en": "What should the park have?"}, ["More benches", "A car park"], {}, None, "en",
                            None, now - timedelta(days=2))
        statements = list(await s.scalars(select_statements(d.id)))
        for i in range(6):
            p = DiscussionParticipant(discussion_id=d.id, participant=f"k{i}", district="ostriv")
            s.add(p)
            await s.flush()
            s.add(DiscussionVote(participant_id=p.id, statement_id=statements[0].id, vote=1))
            s.add(DiscussionVote(participant_id=p.id, statement_id=statements[1].id, vote=1 if i < 2 else -1))
        await s.commit()
    async with dashboard_client(harness) as client:
        listing = text_of(await (await client.get("/app/polls", headers=tma(5200))).text())
        assert f"Discussion #{d.id} · What should the park have?" in listing and "6 participants" in listing
        page = await client.get(f"/app/polls/discussion/{d.id}", headers=tma(5200))
        assert page.status == 200
        html = await page.text()
        seen = text_of(html)
        assert "6 residents took part · 12 votes · 2 statements" in seen
        assert '<th scope="row">More benches</th><td data-value="100">100%</td><td>6</td><td>0</td><td>0</td><td>6</td>' in html
        assert '<td data-value="33">33%</td><td>2</td><td>4</td><td>0</td><td>6</td>' in html
        common = seen.split("Common ground")[1].split("Divisive")[0]
        assert "More benches" in common and "A car park" not in common
        assert "Opinion groups" in seen and "Only totals, and groups of at least 5 people" in seen
        assert (await client.get(f"/app/polls/discussion/{d.id}", headers=tma(5201))).status == 403
        assert (await client.get("/app/polls/discussion/4242", headers=tma(5200))).status == 404


def select_statements(discussion_id: int):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    return select(DiscussionStatement).where(DiscussionStatement.discussion_id == discussion_id).order_by(
        DiscussionStatement.id)
