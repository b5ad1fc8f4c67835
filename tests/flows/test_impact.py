"""/stats, /report_for_council and /digest through the real Dispatcher and the fake Bot API, on
the known data set of tests/impact_data.py (November 2026)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from storage.models import Campaign
from tests.delivery_helpers import Clock, finished, organizer, resident, tune
from tests.harness import ORGANIZERS_CHAT, Harness
from tests.impact_data import MEDIATED, NOW, PEOPLE, at, known_data, mediated_data

XHTML = "{http://www.w3.org/1999/xhtml}"


async def test_stats_text_and_charts_for_a_known_period(harness: Harness) -> None:
    tune(harness, now=Clock(NOW))
    org = await organizer(harness, 7000)
    await known_data(harness, organizer_tg=7000)
    await org.send("/stats")
    assert "which period" in org.last.text
    await org.press("Last month")                                          # November 2026
    text = next(m.text for m in org.messages if m.text.startswith("📈"))
    assert "November 1, 2026 – November 30, 2026" in text
    for line in ("🏢 Organisations: 1 in the network, 1 active in this period",
                 "👥 Residents: 5 registered (3 new in this period)",
                 "by district: Ostriv (the Island) 2 · district not given 1 · Suburban communities 1 · Tsentralnyi district 1",
                 "📅 Events held: 2; participants: 2 different people (3 check-ins)",
                 "💡 Proposals: 2 proposed, 3 accepted, 1 realised",
                 "📝 Reports: 3 received, 3 resolved",
                 "by category: Roads and pavements 2 · Street lighting 1",
                 "median time to the first response: 5 hours; to resolution: 2 days",
                 "📊 Polls: 1 run; participation 50% (2 of 4 invited)"):
        assert line in text, line
    charts = [m for m in org.messages if m.kind == "photo"]
    assert [m.text.split("\n")[0] for m in charts] == ["Residents by district", "Reports by category", "Proposals"]
    # every chart has its figures as text too: all of them, in its caption
    assert charts[0].text.split("\n")[1:] == ["Ostriv (the Island): 2", "district not given: 1",
                                              "Suburban communities: 1", "Tsentralnyi district: 1"]
    assert charts[1].text.split("\n")[1:] == ["Roads and pavements: 2", "Street lighting: 1"]
    assert charts[2].text.split("\n")[1:] == ["proposed: 2", "accepted: 3", "realised: 1"]
    assert all(harness.fake.files[m.file_id].startswith(b"\x89PNG") for m in charts)  # type: ignore[index]
    assert not any(name in text for name in PEOPLE)

    uk = await organizer(harness, 7001, "uk")
    await uk.send("/stats 2026-11")                                        # typed, in Ukrainian
    assert "5 годин" in next(m.text for m in uk.messages if m.text.startswith("📈"))


async def test_stats_bad_input_quiet_and_huge_periods_and_residents(harness: Harness) -> None:
    tune(harness, now=Clock(NOW))
    org = await organizer(harness, 7000)
    await known_data(harness, organizer_tg=7000)
    await org.send("/stats someday")
    assert "could not read that period" in org.last.text
    await org.send("/stats 2026-11-30 2026-11-01")
    assert "ends before it starts" in org.last.text
    await org.send("/stats 2027")
    assert "has not begun yet" in org.last.text
    await org.send("/stats 0001-01-01 9999-12-31")                         # no crash: everything there is
    assert "Residents: 5 registered" in next(m.text for m in reversed(org.messages) if m.text.startswith("📈"))
    await org.send("/stats 2026-07")
    assert "Nothing happened in this period" in org.last.text and "0 residents" in org.last.text
    before = len(org.messages)
    await org.send("/stats 1900-01-01 2999-12-31")                         # everything there is
    assert "The platform's data starts on September 1, 2026" in org.messages[before].text
    assert "Residents: 5 registered (5 new" in org.messages[before].text

    anna = harness.user(6001, language_code="en")
    await resident(harness, 6001)
    for command in ("/stats", "/report_for_council", "/digest"):
        await anna.send(command)
        assert "not available to you" in anna.last.text
    answer = await anna.press_data("st:s:30d:")                           # a forged button
    assert answer is not None and "only organizers" in answer["text"]


async def test_council_report_is_a_well_formed_document_in_the_chosen_language(harness: Harness) -> None:
    tune(harness, now=Clock(NOW))
    org = await organizer(harness, 7000)
    await known_data(harness, organizer_tg=7000)
    await org.send("/report_for_council")
    await org.press("Last month")
    assert "In which language" in org.last.text
    await org.press("Українська")
    doc = org.last
    assert doc.kind == "document" and doc.filename.endswith("-2026-11-01-2026-11-30.html")
    raw = harness.fake.files[doc.file_id]  # type: ignore[index]
    root = ET.fromstring(raw)                                               # well-formed
    assert root.get("lang") == "uk"
    body = "".join(root.itertext())
    assert root.find(f"{XHTML}head/{XHTML}title") is not None
    for expected in ("Основні показники", "Головні проблеми, про які повідомили мешканці", "Дороги", "Острів", "Where first?", "In the park", "A ramp at the library",
                     "Budget workshop (uk)", "Park cleanup"):
        assert expected in body, expected
    assert "Trees & <shade> for the yard" in body                            # escaped, and read back as typed
    assert not any(name in body for name in PEOPLE)                          # no personal data
    assert raw.count(b"data:image/png;base64,") == 1                        # the chart is inside
    caption = root.find(f".//{XHTML}figure/{XHTML}figcaption")              # with its figures as text
    assert caption is not None and [part.split(": ")[1] for part in (caption.text or "").split(" · ")] == ["2", "1"]
    assert (caption.text or "").startswith("Дороги")

    await org.send("/report_for_council 2026-07")                          # nothing happened then
    await org.press("English")
    assert "There is no data for" in org.last.text


async def test_digest_daily_privately_and_weekly_to_the_group_once_across_restarts(harness: Harness) -> None:
    monday_8 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)                     # 08:00 in Kyiv
    clock = Clock(monday_8)
    tune(harness, now=clock)
    group = harness.fake.group(ORGANIZERS_CHAT, "Organizers")
    org = await organizer(harness, 7000, "uk")
    group.add_member(org)
    await known_data(harness, organizer_tg=7000)
    async with harness.db() as s:  # known_data makes them English speakers; this one reads Ukrainian
        from sqlalchemy import update

        from storage.models import User
        await s.execute(update(User).where(User.telegram_id == 7000).values(language="uk"))
        await s.commit()
    await org.send("/digest")
    assert "вимкнено" in org.last.text
    await org.press(next(b for b in org.buttons() if "👤" in b and ("Щодня" in b or "Daily" in b)))
    await org.press(next(b for b in org.buttons() if "👥" in b and ("Щотижня" in b or "Weekly" in b)))
    assert sum("✅" in b for b in org.buttons()) == 2

    async def due() -> None:
        assert harness.app is not None
        await harness.app.due_checks()
        async with harness.db() as s:
            for campaign in await s.scalars(select(Campaign).where(Campaign.kind == "digest")):
                await finished(harness, campaign.id)

    await due()                                                             # 08:00: nothing is due yet
    assert not [m for m in harness.fake.bot_messages(7000) if m.text.startswith("🗞")]
    clock.set(monday_8 + timedelta(hours=1, minutes=5))                     # 09:05
    await due()
    await harness.restart()                                                 # and after a restart
    await due()
    mine = [m for m in harness.fake.bot_messages(7000) if m.text.startswith("🗞")]
    ours = [m for m in harness.fake.bot_messages(ORGANIZERS_CHAT) if m.text.startswith("🗞")]
    assert len(mine) == 1 and len(ours) == 1
    assert mine[0].text.startswith("🗞 Щоденний дайджест · 29 листопада 2026\u202fр., 09:00 – 30 листопада 2026\u202fр., 09:00")
    assert "ще відкрито — 1" in mine[0].text and "Вуличне освітлення 1" in mine[0].text
    assert ours[0].text.startswith("🗞 Weekly digest · November 23, 2026, 9:00\u202fAM")           # the chat's: DEFAULT_LOCALE
    assert "«Winter fair»: 1 going" in ours[0].text                         # 10 Dec: within two weeks
    assert "Park cleanup" not in ours[0].text                               # held on 20 Nov, the week before
    assert "«Benches in the park» (#1) 👍 3" in ours[0].text
    async with harness.db() as s:
        assert await s.scalar(select(func.count()).select_from(Campaign).where(Campaign.kind == "digest")) == 2

    clock.set(monday_8 + timedelta(days=1, hours=1, minutes=5))             # Tuesday: only the daily one
    await due()
    assert len([m for m in harness.fake.bot_messages(7000) if m.text.startswith("🗞")]) == 2
    assert len([m for m in harness.fake.bot_messages(ORGANIZERS_CHAT) if m.text.startswith("🗞")]) == 1


async def test_stats_council_and_digest_show_what_mediators_did_for_offline_residents(harness: Harness) -> None:
    tune(harness, now=Clock(NOW))
    org = await organizer(harness, 7000)
    await mediated_data(harness, await known_data(harness, organizer_tg=7000))
    await org.send("/stats 2026-11")
    text = next(m.text for m in org.messages if m.text.startswith("📈"))
    for line in ("👥 Residents: 10 registered (5 new in this period)",
                 "   of them 3 offline residents, registered by mediators",
                 "📅 Events held: 2; participants: 3 different people (4 check-ins)",
                 "📊 Polls: 1 run; participation 60% (3 of 5 invited)",
                 "🤝 With a mediator's help: 2 offline residents registered, 1 report, 1 poll answer, 1 event answer, "
                 "1 proposal, 1 proposal supported (2 mediators active)"):
        assert line in text.split("\n"), line
    assert not any(name in text for name in PEOPLE + MEDIATED)

    await org.send("/report_for_council 2026-11")
    await org.press("English")
    body = "".join(ET.fromstring(harness.fake.files[org.last.file_id]).itertext())  # type: ignore[index]
    assert "of them 3 offline residents, registered by mediators" in body and "(2 mediators active)" in body
    assert not any(name in body for name in PEOPLE + MEDIATED)

    assert harness.app is not None
    from bot.services import impact
    from handlers.stats import texts
    async with harness.db() as s:
        data = await impact.digest(s, at(11, 10), at(11, 17), at(11, 17), min_group=1)
    with harness.app.i18n.context(), harness.app.i18n.use_locale("en"):
        digest = texts.digest({"frequency": "weekly", "data": data}, harness.app.community, "en", harness.settings.tz)
    assert ("🤝 With a mediator's help: 2 offline residents registered, 1 report, 1 event answer, 1 proposal, "
            "1 proposal supported (2 mediators active)") in digest


@pytest.mark.parametrize("lang, button", [("uk", "Українська"), ("bg", "Български")])
async def test_council_document_is_fit_to_print_in_two_languages(harness: Harness, lang: str, button: str) -> None:
    """Read back with lxml (as XML and as HTML): A4 pages with the period and page numbers in the
    footer, headings kept with their tables, a hierarchy of figures, no emoji, no seconds, the
    currency, counts beside averages, language names in the document's language and the empty
    recommendations section."""
    import re

    from lxml import etree
    from lxml import html as lxml_html

    from storage.models import PollAnswer, PollQuestion, PollResponse, Proposal

    tune(harness, now=Clock(NOW))
    org = await organizer(harness, 7000)
    await known_data(harness, organizer_tg=7000)
    async with harness.db() as s:  # a budget and a 1–5 question beside the known data
        ramp = await s.scalar(select(Proposal).where(Proposal.title == "A ramp at the library"))
        assert ramp is not None
        ramp.budget = 25000
        poll_id = await s.scalar(select(PollQuestion.poll_id))
        scale = PollQuestion(poll_id=poll_id, position=1, kind="scale", text={"en": "How 🙂 comfortable are the benches?"},
                             options=[])
        s.add(scale)
        await s.flush()
        for response_id, value in zip(list(await s.scalars(select(PollResponse.id).order_by(PollResponse.id))), (4, 5),
                                      strict=True):
            s.add(PollAnswer(response_id=response_id, question_id=scale.id, choice=value))
        await s.commit()
    await org.send("/report_for_council")
    await org.press("Last month")
    await org.press(button)
    raw = harness.fake.files[org.last.file_id]  # type: ignore[index]
    root = etree.fromstring(raw)  # well-formed XML
    page = lxml_html.document_fromstring(raw)  # and HTML a browser reads
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    assert root.get("lang") == lang
    tr = harness.app.i18n.gettext  # type: ignore[union-attr]
    style = root.findtext("h:head/h:style", namespaces=ns)
    assert "size: A4" in style and "margin:" in style and "counter(page)" in style and "counter(pages)" in style
    footer = re.search(r"@bottom-left \{ content: \"([^\"]*)\"", style)
    assert footer is not None and "2026" in footer.group(1)  # the period, in the footer of every page
    assert "break-after: avoid" in style and ".keep" in style
    body_text = page.text_content()
    emoji = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF\uFE0F]")
    assert not emoji.search(body_text), emoji.findall(body_text)
    assert not re.search(r"\d{1,2}:\d{2}:\d{2}", body_text)  # no seconds
    hint = page.xpath('//p[@class="hint"]')
    assert hint and "PDF" in hint[0].text_content()
    (recommendations,) = page.xpath('//section[@id="recommendations"]')
    assert len(recommendations) == 0 and not recommendations.text_content().strip()  # empty, ready
    # a real hierarchy: headline figures with their details under them
    details = page.xpath('//ul[@class="figures"]/li/ul/li')
    assert any(tr("by district: {list}", locale=lang).split(":")[0] in d.text_content() for d in details)
    languages = [d.text_content() for d in details if tr("by language: {list}", locale=lang).split(":")[0]
                 in d.text_content()]
    assert languages and ("Англійська" if lang == "uk" else "Английски") in languages[0]
    assert "English" not in languages[0]
    # every question heading is kept with its table, on one page
    for heading in page.xpath("//h4"):
        section = heading.getparent()
        assert section.tag == "section" and "keep" in section.get("class") and section.xpath(".//table | .//p")
    assert page.xpath("//h3") and page.xpath("//h2")
    text = " ".join(body_text.split())
    assert "25" in text and ("25 000 ₴" in text.replace("\xa0", " ") if lang == "uk"
                             else "25 000 UAH" in text.replace("\xa0", " "))
    average = tr("Average: {mean} of 5 ({count} rating)", locale=lang)
    assert average != "Average: {mean} of 5 ({count} rating)"
    assert "4,5" in text and re.search(r"4,5\D+5\D+2", text)  # the mean, of 5, from 2 ratings
    assert tr("{value} — very much", locale=lang).format(value=5) in text  # the scale's ends named
