"""Recommendations to the council through the real Dispatcher, the delivery engine and the fake
Bot API: an organizer drafts one with evidence (a closed poll, a discussion's common ground, report
counts), opens it; residents of its district get it and support it; representatives endorse it
for their organisation; it goes through the whole lifecycle, the supporters and the endorsing
representatives are told of submission, the answer and implementation once each in their
language; a resident, another organisation's representative and a stale tap are refused; the
council document lists it with its figures, endorsements and answer."""
from __future__ import annotations

import json

from datetime import UTC, datetime, timedelta

from lxml import etree
from sqlalchemy import func, select

from bot.services import discussions as ds
from bot.services import polls as pls
from storage.models import (
    Campaign,
    DiscussionParticipant,
    DiscussionStatement,
    DiscussionVote,
    Organisation,
    OrgMember,
    PollAnswer,
    PollResponse,
    Recommendation,
    Report,
    ReportEvent,
    User,
)
from tests.delivery_helpers import Clock, organizer, resident, tune
from tests.harness import Harness

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


async def data_set(h: Harness, voter: int | None = None) -> dict[str, int]:
    """A closed poll (2 of 3 for Yes; the first answer is the resident ``voter``'s, under the keyed
    hash of anonymous polls), a discussion with common ground (5 of 5 agree on "More benches"),
    four reports in the centre this month (one resolved), two organisations."""
    assert h.app is not None
    secret = h.app.dp["poll_secret"]
    async with h.db() as s:
        poll = await pls.create_poll(s, pls.PollDraft(questions=[pls.QuestionDraft(
            kind="single", text={"en": "Do we need benches?", "uk": "Чи потрібні лавки?"},
            options=[{"en": "Yes", "uk": "Так"}, {"en": "No", "uk": "Ні"}])]),
            default_locale="en", created_by=None, now=NOW - timedelta(days=20))
        for i, choice in enumerate((0, 0, 1)):
            key = pls.participant_key(secret, poll.id, voter) if voter and i == 0 else f"h{i}"
            r = PollResponse(poll_id=poll.id, participant=key, district="tsentralnyi", language="en",
                             completed_at=NOW - timedelta(days=19))
            s.add(r)
            await s.flush()
            s.add(PollAnswer(response_id=r.id, question_id=poll.questions[0].id, choice=choice))
        await pls.close_poll(s, poll.id, NOW - timedelta(days=10))
        d = await ds.create(s, {"en": "What should the park have?"}, ["More benches", "A car park"], {}, None, "en",
                            None, NOW - timedelta(days=20))
        first = await s.scalar(select(DiscussionStatement).where(DiscussionStatement.discussion_id == d.id)
                               .order_by(DiscussionStatement.id))
        assert first is not None
        for i in range(5):
            p = DiscussionParticipant(discussion_id=d.id, participant=f"k{i}", district="tsentralnyi")
            s.add(p)
            await s.flush()
            s.add(DiscussionVote(participant_id=p.id, statement_id=first.id, vote=1))
        for i, category in enumerate(("roads", "roads", "roads", "lighting")):
            r = Report(category=category, district="tsentralnyi", status="new", created_at=NOW - timedelta(days=3 + i))
            s.add(r)
            await s.flush()
            if i == 0:
                s.add(ReportEvent(report_id=r.id, action="resolve", created_at=NOW - timedelta(days=1)))
        greens = Organisation(name={"en": "Kherson Greens", "uk": "Херсонські зелені"}, created_at=NOW - timedelta(days=90))
        youth = Organisation(name={"en": "Youth Hub"}, created_at=NOW - timedelta(days=90))
        s.add_all([greens, youth])
        await s.commit()
        return {"poll": poll.id, "discussion": d.id, "greens": greens.id, "youth": youth.id}


async def representative(h: Harness, tg_id: int, org_id: int, lang: str = "en") -> object:
    user_id = await resident(h, tg_id, lang, district="ostriv")
    async with h.db() as s:
        s.add(OrgMember(org_id=org_id, user_id=user_id, role="representative", status="confirmed"))
        await s.commit()
    return h.user(tg_id)


async def arrived(h: Harness, who: object, text: str, count: int = 1) -> list:  # type: ignore[type-arg]
    """Wait until ``count`` messages containing ``text`` reached ``who``; returns them."""
    return await h.fake.wait_for(lambda: (found := [m for m in who.messages if text in m.text])  # type: ignore[attr-defined]
                                 and len(found) >= count and found or None)


async def test_from_evidence_to_implementation(harness: Harness) -> None:
    clock = Clock(NOW)
    tune(harness, now=clock)
    org = await organizer(harness, 7000)
    olena_id = await resident(harness, 7101, "uk", district="tsentralnyi")
    ids = await data_set(harness, voter=olena_id)  # she answered the poll and supports it: told once
    await resident(harness, 7102, "en", district="tsentralnyi")
    await resident(harness, 7103, "en", district="ostriv")
    olena, mark, islander = harness.user(7101), harness.user(7102), harness.user(7103)
    iryna = await representative(harness, 7201, ids["greens"])
    yurii = await representative(harness, 7202, ids["youth"], "bg")

    # /newrec: title (with a translation), text, problem, proposal, body, district
    await org.send("/newrec")
    assert "A new recommendation" in org.last.text and "🌐 Language: English" in org.last.text
    await org.send("Benches <in> the central park\nuk: Лавки в центральному парку")
    assert "without the “uk:” line" in org.last.text                  # never glued into the title
    await org.send("Benches <in> the central park")
    await org.send("The network recommends ten benches along the main alley.")
    assert "Translations" in org.last.text                             # the same ➕ menu as every wizard
    await org.press("➕ Українська")
    assert "🌐 Language: Українська" in org.last.text
    await org.send("Лавки в центральному парку")
    assert "first line" in org.last.text                               # the title and the text, both
    await org.send("Лавки в центральному парку\nМережа радить десять лавок уздовж головної алеї.")
    assert "Added: Українська" in org.last.text
    await org.press("Continue ➡️")
    await org.send("x")
    assert "at least 3 characters" in org.last.text  # the step waits
    await org.send("Older residents have nowhere to sit.")
    await org.send("Install ten benches by spring.")
    assert "addressed to" in org.last.text
    await org.press("Kherson City Council")
    await org.press("Tsentralnyi district")
    assert "Evidence for “Benches &lt;in&gt; the central park”" in org.last.html and "0 pieces" in org.last.text
    await org.press("📊 A closed poll's result")
    answer = await org.press(f"#{ids['poll']} Do we need benches?")
    assert answer is not None and answer["text"] == "Attached ✅"
    assert "1 piece attached" in org.last.text
    await org.press("💬 A discussion's common ground")
    await org.press(f"#{ids['discussion']} What should the park have?")
    await org.press("📝 Report counts")
    await org.press("The last 30 days")
    await org.press("📊 A closed poll's result")
    again = await org.press(f"#{ids['poll']} Do we need benches?")
    assert again is not None and again["text"] == "That is attached already."
    await org.press("✅ Done")
    card = org.last.text
    assert "Recommendation #1: Benches <in> the central park" in card and "Draft" in card
    assert "To: Kherson City Council · Tsentralnyi district" in card
    assert "“More benches”: 100% agree (5 votes)" in card
    assert "Do we need benches?: “Yes” 67%" in card
    assert "4 received, 1 resolved" in card and "most: Roads and pavements 3, Street lighting 1" in card
    assert org.buttons() == ["📎 Evidence", "🗳 Open for support", "💬 Discuss with residents", "⬅️ All recommendations"]

    # open for 14 days: the residents of the district get it, in their language; the island does not
    await org.press("🗳 Open for support")
    await org.press("14 days")
    assert "Open for support until December 15, 2026" in org.last.text
    (published,) = await arrived(harness, mark, "A recommendation to the council")
    assert "Benches <in> the central park" in published.text and "Support it until December 15, 2026" in published.text
    (ukrainian,) = await arrived(harness, olena, "Лавки в центральному парку")
    # a resident cannot use the organizers' buttons (nor /newrec)
    refused = await mark.press_data("rc:adopt:1:open:", message=published)
    assert refused is not None and refused["text"] == "Sorry, only organizers can do this."
    await mark.send("/newrec")
    assert "not available to you" in mark.last.text
    assert not [m for m in islander.messages if "recommendation to the council" in m.text]

    # residents support it once; a resident of another district cannot
    answer = await mark.press("👍 Support", message=published)
    assert answer is not None and answer["text"] == "Thank you for your support! 1 supporter now."
    shown = next(m for m in mark.messages if m.message_id == published.message_id)  # edited in place
    assert "✅ You support it." in shown.text and "↩️ Withdraw my support" in shown.buttons
    twice = await mark.press_data("rv:sup:1:0", message=published)
    assert twice is not None and twice["text"] == "You already support it. Thank you!"
    await olena.press(ukrainian.buttons[0], message=ukrainian)
    await islander.send("/recommendations")
    assert "No recommendations are open for support right now." in islander.last.text  # not his district's
    outsider = await islander.press_data("rv:sup:1:0")
    assert outsider is not None and outsider["text"] == "This recommendation is for the residents of another district."

    # representatives endorse it for their organisation, from /recommendations
    await iryna.send("/recommendations")  # type: ignore[attr-defined]
    assert "Benches <in> the central park" in iryna.last.text  # type: ignore[attr-defined]
    await iryna.press("1")  # type: ignore[attr-defined]
    assert "🏢 Endorse for Kherson Greens" in iryna.buttons()  # type: ignore[attr-defined]
    assert "👍 Support" not in iryna.buttons()  # type: ignore[attr-defined]  # she lives on the island
    answer = await iryna.press("🏢 Endorse for Kherson Greens")  # type: ignore[attr-defined]
    assert answer is not None and answer["text"] == "Endorsed for Kherson Greens ✅"
    assert "1 organisation stands behind it: Kherson Greens" in iryna.last.text  # type: ignore[attr-defined]
    await yurii.send("/recommendations")  # type: ignore[attr-defined]
    await yurii.press("1")  # type: ignore[attr-defined]
    other = await yurii.press_data(f"rv:end:1:{ids['greens']}")  # type: ignore[attr-defined]  # not his organisation
    assert other is not None and "confirmed representative" in await _en(harness, other["text"], "bg")
    await yurii.press(yurii.buttons()[0])  # type: ignore[attr-defined]  # endorse for Youth Hub, in Bulgarian
    async with harness.db() as s:
        rec = await s.get(Recommendation, 1)
        assert rec is not None and rec.supporters == 2
    await iryna.send("/mydata")  # type: ignore[attr-defined]  # her endorsement is in her data
    hers = json.loads(harness.fake.files[iryna.last.file_id])  # type: ignore[attr-defined]
    assert [(r["title"], r["organisation"]) for r in hers["endorsed_recommendations"]] == [
        ("Benches <in> the central park", "Kherson Greens")]

    # the lifecycle; a stale tap changes nothing
    await org.send("/recommendations")
    assert "#1 Benches <in> the central park — 🗳 Open for support · 👍 2" in org.last.text
    await org.press("#1 Benches <in> the central park")
    assert "2 organisations stand behind it: Kherson Greens, Youth Hub" in org.last.text
    assert "2 residents support it" in org.last.text
    await org.press("🤝 Adopted by the network")
    stale = await org.press_data("rc:adopt:1:open:")
    assert stale is not None and stale["text"] == "Someone changed this recommendation meanwhile: here it is as it is now."
    skip = await org.press_data("rc:implement:1:adopted:")
    assert skip is not None and skip["text"] == "That step is not possible at this point."
    clock.set(NOW + timedelta(days=16))
    await org.press("📨 Submitted")
    await org.press("by letter")
    submitted = "which you took part in, was submitted to Kherson City Council by letter on December 17, 2026"
    await arrived(harness, mark, submitted)
    await arrived(harness, iryna, submitted)
    await arrived(harness, yurii, "Общински съвет на Херсон")
    await arrived(harness, olena, "Херсонська міська рада")
    late = await mark.press_data("rv:uns:1:0")
    assert late is not None and "submitted already" in late["text"]

    await org.press("🏛 The council's answer")
    await org.press("partly accepted")
    assert "please type or paste its text, or send its document" in org.last.text
    await org.send_document("answer.pdf", b"%PDF-1.4 the council's letter", caption="Five benches this year, five next year.")
    assert "Saved: 🏛 Answered." in org.messages[-2].text
    assert "📎 The council's answer (document)" in org.buttons()
    (told,) = await arrived(harness, mark, "answered the recommendation")
    assert "Kherson City Council answered the recommendation “Benches <in> the central park”: partly accepted." in told.text
    assert "Five benches this year, five next year." in told.text
    await mark.press("🔎 Evidence and details", message=told)  # the answer's document, from the news
    await mark.press("📎 The council's answer (document)")
    assert mark.last.kind == "document" and harness.fake.files[mark.last.file_id] == (  # type: ignore[index]
        b"%PDF-1.4 the council's letter")
    await org.press("🛠 Work started")
    await org.send("150")
    assert "percentage from 0 to 100" in org.last.text
    await org.send("50 five benches are in")
    assert "Progress: 50%" in org.last.text
    await org.press("🎉 Implemented")
    await arrived(harness, mark, "has been implemented")
    await arrived(harness, iryna, "has been implemented")

    # once each: a news campaign per step, each person told once
    async with harness.db() as s:
        news = list(await s.scalars(select(Campaign.key).where(Campaign.kind == "recommendation-news")
                                    .order_by(Campaign.id)))
        assert news == ["rec:1:submitted", "rec:1:answered", "rec:1:implemented"]
        assert await s.scalar(select(func.count()).select_from(Campaign).where(Campaign.key == "rec:1:open")) == 1
    for who in (mark, iryna):
        assert sum("has been implemented" in m.text for m in who.messages) == 1  # type: ignore[attr-defined]
    implemented_uk = harness.app.i18n.gettext(  # type: ignore[union-attr]
        "🎉 The recommendation “{title}”, which you took part in, has been implemented. Thank you!", locale="uk")
    assert implemented_uk.startswith("🎉 Рекомендацію")
    (once,) = await arrived(harness, olena, implemented_uk.split("«")[0])
    # the recommendation itself, then its submission and the answer: once each
    assert sum("Херсонська міська рада" in m.text for m in olena.messages) == 3
    assert not [m for m in islander.messages if "recommendation to the council" in m.text]

    # the council document lists it with its evidence (then and now), endorsements and answer
    async with harness.db() as s:  # one more of those reports resolved since it was attached
        lighting = await s.scalar(select(Report.id).where(Report.category == "lighting"))
        s.add(ReportEvent(report_id=lighting, action="resolve", created_at=NOW + timedelta(days=16)))
        await s.commit()
    await org.send("/report_for_council")
    await org.press("Last 30 days")
    await org.press("English")
    raw = harness.fake.files[org.last.file_id]  # type: ignore[index]
    root = etree.fromstring(raw)  # well-formed
    (section,) = root.xpath('//h:section[@id="recommendations"]', namespaces={"h": "http://www.w3.org/1999/xhtml"})
    text = " ".join(" ".join(section.itertext()).split())
    for expected in ("Recommendations to the council", "1. Benches <in> the central park", "Kherson City Council",
                     "Organisations standing behind it Kherson Greens, Youth Hub", "Residents supporting it 2", "partly accepted",
                     "Five benches this year, five next year.", "Progress 100 %", "“More benches”: 100% agree (5 votes)",
                     "4 received, 1 resolved → now 4 received, 2 resolved", "Do we need benches?: “Yes” 67%", "Implemented", "five benches are in"):
        assert expected in text, expected
    assert "Olena" not in text and "R7101" not in text  # nobody named


async def _en(h: Harness, text: str, lang: str) -> str:
    """The English msgid of a translated toast (to assert on it whatever the language)."""
    assert h.app is not None
    wanted = "Only a confirmed representative of the organisation can do this."
    return wanted if h.app.i18n.gettext(wanted, locale=lang) == text else text


async def test_deleteme_takes_the_support_back(harness: Harness) -> None:
    tune(harness, now=Clock(NOW))
    await data_set(harness)
    uid = await resident(harness, 7301, "en", district="tsentralnyi")
    async with harness.db() as s:
        rec = Recommendation(title={"en": "Lamps"}, text={"en": "Lamps."}, problem="Dark.", proposal="Lamps.",
                             district=None, body="council", default_locale="en", status="open",
                             open_until=NOW + timedelta(days=7), created_at=NOW, updated_at=NOW)
        s.add(rec)
        await s.commit()
        rec_id = rec.id
    who = harness.user(7301)
    await who.send("/recommendations")
    assert "Lamps · 👍 0" in who.last.text
    await who.press("1")
    await who.press("👍 Support")
    await who.send("/mydata")  # what they support is in their data, by its title
    mine = json.loads(harness.fake.files[who.last.file_id])  # type: ignore[index]
    assert [(r["recommendation"], r["title"]) for r in mine["supported_recommendations"]] == [(rec_id, "Lamps")]
    assert mine["endorsed_recommendations"] == []
    await who.send("/deleteme")
    await who.press(who.buttons()[0])
    async with harness.db() as s:
        rec = await s.get(Recommendation, rec_id)
        assert rec is not None and rec.supporters == 0
        user = await s.get(User, uid)
        assert user is not None and user.deleted_at is not None


async def test_a_long_recommendation_fits_one_message(harness: Harness) -> None:
    """Long texts and ten pieces of evidence with long titles: the card shortens itself to fit."""
    from bot.services import recommendations as rs
    from storage.models import Proposal

    tune(harness, now=Clock(NOW))
    org = await organizer(harness, 7000)
    async with harness.db() as s:
        rec = await rs.create(s, rs.Draft(title={"en": "T" * 160}, text={"en": "x " * 1000}, problem="p" * 1500,
                                          proposal="q" * 1500, body="council"), None, "en", ["council"], NOW)
        for i in range(rs.EVIDENCE_MAX + 1):
            p = Proposal(title=f"{i} " + "L" * 150, problem="p" * 20, solution="s" * 20, category="other",
                         language="en", status="published", supporters=i, published_at=NOW)
            s.add(p)
            await s.flush()
            if i < rs.EVIDENCE_MAX:
                await rs.attach(s, rec, "proposal", p.id, 1, NOW)
            else:
                try:
                    await rs.attach(s, rec, "proposal", p.id, 1, NOW)
                except Exception as exc:  # noqa: BLE001
                    assert getattr(exc, "code", None) == "rec_evidence_full"
        await s.commit()
    await org.send("/recommendations")
    await org.press(f"#{rec.id} " + "T" * 29 + "…")
    card = org.last
    assert card.text.startswith("📜 Recommendation #1:") and len(card.html) <= 4096
    assert "💡 Proposal #1" in card.text and "💡 Proposal #10" in card.text  # every piece, by name at least


async def _followed_up(h: Harness, ids: dict[str, int]) -> tuple[int, int]:
    """One recommendation answered "partly" after 7 days and in progress (40 %), endorsed by Kherson
    Greens; another submitted 5 days ago, waiting for the council's answer."""
    from storage.models import RecommendationEndorsement

    async with h.db() as s:
        answered = Recommendation(
            title={"en": "Benches", "uk": "Лавки"}, text={"en": "Benches."}, problem="=1+1 nowhere to sit",
            proposal="Ten benches.", district="tsentralnyi", body="council", default_locale="en",
            status="in_progress", submitted_at=NOW - timedelta(days=10), submitted_to="council",
            submitted_how="letter", answer="partly", answer_text="Five this year.", answered_at=NOW - timedelta(days=3),
            progress=40, supporters=3, created_at=NOW - timedelta(days=30), updated_at=NOW)
        waiting = Recommendation(
            title={"en": "Lamps"}, text={"en": "Lamps."}, problem="Dark.", proposal="Lamps.", district=None,
            body="council", default_locale="en", status="submitted", submitted_at=NOW - timedelta(days=5),
            submitted_to="council", submitted_how="session", created_at=NOW - timedelta(days=20), updated_at=NOW)
        s.add_all([answered, waiting])
        await s.flush()
        s.add(RecommendationEndorsement(recommendation_id=answered.id, org_id=ids["greens"], created_at=NOW))
        await s.commit()
        return answered.id, waiting.id


async def test_stats_digest_and_export_follow_the_recommendations(harness: Harness) -> None:
    import io

    from openpyxl import load_workbook

    from bot.services import impact as impact_service
    from handlers.stats import texts as stats_texts

    tune(harness, now=Clock(NOW))
    answered, waiting = await _followed_up(harness, await data_set(harness))
    org = await organizer(harness, 7000)
    await org.send("/stats 2026-11-01 2026-12-01")
    text = next(m.text for m in reversed(org.messages) if m.text.startswith("📈"))
    assert ("🏛 Recommendations to the council: 2 submitted, 1 answered (1 accepted fully or partly), "
            "0 implemented") in text
    assert "   median time to the council's answer: 7 days" in text.split("\n")

    # the digest names those waiting longest for an answer, to whom and since when
    assert harness.app is not None
    async with harness.db() as s:
        data = await impact_service.digest(s, NOW - timedelta(days=7), NOW, NOW, 1)
    assert data["recommendations"]["waiting"][0]["id"] == waiting
    with harness.app.i18n.context(), harness.app.i18n.use_locale("en"):  # as the delivery engine renders it
        shown = stats_texts.digest({"data": data, "frequency": "weekly"}, harness.app.community, "en",
                                   harness.settings.tz)
    assert "🏛 <b>Recommendations to the council</b>: 1 submitted, 1 answered, 0 implemented" in shown
    assert f"• «Lamps» (#{waiting}), to Kherson City Council since November 26, 2026" in shown

    # the export: in the reader's language, typed cells, the organisations by name; CSV with codes
    uk = await organizer(harness, 7001, "uk")
    await uk.send("/export")
    label = harness.app.i18n.gettext("🏛 Recommendations", locale="uk")
    assert label != "🏛 Recommendations"
    await uk.press(f"{label} · XLSX")
    sheet = load_workbook(io.BytesIO(harness.fake.files[uk.last.file_id])).active  # type: ignore[index]
    tr = lambda msgid: harness.app.i18n.gettext(msgid, locale="uk")  # type: ignore[union-attr]  # noqa: E731
    header = [c.value for c in sheet[1]]
    assert sheet.title == tr("Recommendations to the council")
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row[tr("Title")].value == "Лавки" and row[tr("Status")].value == harness.app.i18n.locales["uk"].pgettext(  # type: ignore[union-attr]
        "recommendation status", "In progress")
    assert row[tr("Organisations standing behind it")].value == "Херсонські зелені"
    assert row[tr("The council's answer")].value == tr("partly accepted")
    assert row[tr("Submitted to the council")].is_date and row[tr("Progress")].value == 0.4
    assert row[tr("Residents supporting it")].value == 3 and row[tr("Pieces of evidence")].value == 0
    assert row[tr("The problem")].value == "=1+1 nowhere to sit" and row[tr("The problem")].data_type == "s"
    await uk.press(f"{label} · CSV")
    csv_text = harness.fake.files[uk.last.file_id].decode()  # type: ignore[index]
    lines = csv_text.splitlines()
    assert lines[0].startswith("number,title,status,district,district_name,body,body_name,problem")
    assert f"{answered},Лавки,in_progress,tsentralnyi," in lines[1] and ",partly," in lines[1]
    assert "'=1+1 nowhere to sit" in lines[1]  # never a formula


async def test_each_public_step_goes_to_the_channel_once_and_links_back(harness: Harness) -> None:
    """The organizer's card has "📢 To the public channel" for the latest public step: the
    submission (who stands behind it), then the council's answer; each once, in the channel's
    languages; the post's link opens the recommendation for a resident."""
    channel = -1003000
    harness.settings = harness.settings.model_copy(update={"public_channel_id": str(channel),
                                                           "public_channel_locales": ["uk", "en"]})
    await harness.restart()
    harness.fake.group(channel, "Kherson together")
    tune(harness, now=Clock(NOW))
    ids = await data_set(harness)
    async with harness.db() as s:
        rec = Recommendation(title={"en": "Lamps <now>", "uk": "Ліхтарі <зараз>"}, text={"en": "Lamps."},
                             problem="Dark.", proposal="Lamps.", district=None, body="council", default_locale="en",
                             status="submitted", submitted_at=NOW - timedelta(days=2), submitted_to="council",
                             submitted_how="letter", supporters=12, created_at=NOW, updated_at=NOW)
        s.add(rec)
        await s.flush()
        from storage.models import RecommendationEndorsement
        s.add(RecommendationEndorsement(recommendation_id=rec.id, org_id=ids["greens"], created_at=NOW))
        await s.commit()
        rec_id = rec.id
    org = await organizer(harness, 7000)
    await org.send("/recommendations")
    await org.press("#1 Lamps <now>")
    answer = await org.press("📢 To the public channel")
    assert answer is not None and "Published" in answer["text"]
    (post,) = harness.fake.bot_messages(channel)
    assert "Ліхтарі <зараз>" in post.text and "Lamps <now>" in post.text  # escaped, Ukrainian then English
    assert "was submitted to Kherson City Council by letter on November 29, 2026" in post.text
    assert "Behind it: 1 organisation, 12 residents." in post.text
    again = await org.press("📢 To the public channel")
    assert again is not None and "already" in again["text"] and len(harness.fake.bot_messages(channel)) == 1

    async with harness.db() as s:  # the council answered
        found = await s.get(Recommendation, rec_id)
        assert found is not None
        found.status, found.answer, found.answer_text, found.answered_at = "answered", "accepted", "Yes.", NOW
        await s.commit()
    await org.send("/recommendations")
    await org.press("#1 Lamps <now>")
    answer = await org.press("📢 To the public channel")
    assert answer is not None and "Published" in answer["text"]
    assert "Kherson City Council answered the recommendation “Lamps &lt;now&gt;”: accepted." in \
        harness.fake.bot_messages(channel)[-1].html
    assert f"?start=rec_{rec_id}\"" in harness.fake.bot_messages(channel)[-1].html  # the link back
    reader = harness.user(7400)
    await resident(harness, 7400, "en")
    await reader.send(f"/start rec_{rec_id}")
    assert "Lamps <now>" in reader.last.text and "🏛" in reader.last.text


async def test_residents_discuss_a_recommendation_and_it_becomes_its_evidence(harness: Harness) -> None:
    """"💬 Discuss with residents" opens a discussion seeded from the recommendation (its proposal and
    problem), sent to its district in each resident's language; their anonymous votes show on the
    card as evidence; a second tap opens no second discussion."""
    from storage.models import Discussion, DiscussionStatement, RecommendationEvidence

    tune(harness, now=Clock(NOW))
    await data_set(harness)
    org = await organizer(harness, 7000)
    await resident(harness, 7410, "uk", district="tsentralnyi")
    await resident(harness, 7411, "en", district="ostriv")
    async with harness.db() as s:
        rec = Recommendation(title={"en": "Night buses", "uk": "Нічні автобуси"}, text={"en": "Buses."},
                             problem="No way home after 22:00 & night shifts.", proposal="Two night routes.",
                             district="tsentralnyi", body="council", default_locale="en", status="draft",
                             created_at=NOW, updated_at=NOW)
        s.add(rec)
        await s.commit()
        rec_id = rec.id
    await org.send("/recommendations")
    await org.press("#1 Night buses")
    answer = await org.press("💬 Discuss with residents")
    assert answer is not None and "The discussion is open" in answer["text"]
    olha, islander = harness.user(7410), harness.user(7411)
    invitation = await arrived(harness, olha, "Нічні автобуси")
    assert "💬" in invitation[0].text
    assert not [m for m in islander.messages if "Night buses" in m.text]  # another district
    await olha.press(invitation[0].buttons[0], message=invitation[0])
    assert "Two night routes." in olha.last.text
    await olha.press(olha.last.buttons[0], message=olha.last)  # agree
    async with harness.db() as s:
        (evidence,) = (await s.scalars(select(RecommendationEvidence).where(
            RecommendationEvidence.recommendation_id == rec_id))).all()
        discussion = await s.get(Discussion, evidence.ref_id)
        assert evidence.kind == "discussion" and discussion is not None
        seeds = [st.text for st in await s.scalars(select(DiscussionStatement).where(
            DiscussionStatement.discussion_id == discussion.id).order_by(DiscussionStatement.id))]
        assert seeds[:2] == ["Two night routes.", "No way home after 22:00 & night shifts."]
    await org.send("/recommendations")
    await org.press("#1 Night buses")
    assert "What do you think of the recommendation “Night buses”?" in org.last.text  # its evidence
    again = await org.press("💬 Discuss with residents")
    assert again is not None and "open already" in again["text"]
    async with harness.db() as s:
        assert await s.scalar(select(func.count()).select_from(Discussion)) == 2  # the data set's and this one
