"""The dashboard's Impact page (issue 23): the /stats figures of the known November data set
(tests/impact_data.py) for a period chosen in the form, as the chat shows them and in the
reader's language, their charts, a bad period's localized notice, who may see and download, and
the /export files and the council document read back by independent readers (openpyxl, csv,
json, lxml)."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from urllib.parse import unquote

from lxml import html as lxml_html

from bot.i18n import NC_, Contextual
from tests.delivery_helpers import Clock, organizer, resident, tune
from tests.flows.test_dashboard import dashboard_client, tma
from tests.harness import ADMIN_ID, Harness
from tests.impact_data import NOW, PEOPLE, known_data


async def representative(h: Harness, tg_id: int, org_id: int) -> None:
    """A confirmed representative of the organisation: asked, then confirmed by the admin (the service's path)."""
    from bot.services import orgs as orgs_service
    from bot.services import users as users_service

    user_id = await resident(h, tg_id)
    async with h.db() as s:
        user = await users_service.by_id(s, user_id)
        assert user is not None
        await orgs_service.join(s, org_id, user, "representative")
        await orgs_service.decide(s, org_id, user_id, True, None)
        await s.commit()


def tr(h: Harness, msgid: str | Contextual, locale: str = "uk") -> str:
    assert h.app is not None
    if isinstance(msgid, Contextual):  # (a status: its words depend on what it is about)
        text = h.app.i18n.locales[locale].pgettext(*msgid)
        assert text != msgid.message, f"not translated: {msgid}"
        return text
    text = h.app.i18n.gettext(msgid, locale=locale)
    assert locale == "en" or text != msgid, f"not translated: {msgid}"
    return text


def _text(html: str) -> str:
    return " ".join(lxml_html.fromstring(html).text_content().split())


def _charts(html: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    tree = lxml_html.fromstring(html)
    out = []
    for figure in tree.xpath("//figure[@class='chart']"):
        rows = [(row.xpath("th")[0].text_content().strip(), row.xpath("td")[0].get("data-value"),
                 row.xpath("td")[0].text_content().strip()) for row in figure.xpath(".//tbody/tr")]
        title = tree.xpath(f"//*[@id='{figure.get('aria-labelledby')}']")[0]
        out.append((title.text_content().strip(), rows))
    return out


async def test_impact_figures_for_a_chosen_period(harness: Harness) -> None:
    tune(harness, now=Clock(NOW))
    await organizer(harness, 7000)
    await known_data(harness, organizer_tg=7000)
    async with dashboard_client(harness) as client:
        page = await client.get("/app/impact?period=prev", headers=tma(7000))   # last month: November
        assert page.status == 200
        html = await page.text()
        text = _text(html)
        assert "November 1, 2026 – November 30, 2026" in text
        for line in ("🏢 Organisations: 1 in the network, 1 active in this period",
                     "👥 Residents: 5 registered (3 new in this period)",
                     "📅 Events held: 2; participants: 2 different people (3 check-ins)",
                     "💡 Proposals: 2 proposed, 3 accepted, 1 realised",
                     "📝 Reports: 3 received, 3 resolved",
                     "by category: Roads and pavements 2 · Street lighting 1",
                     "median time to the first response: 5 hours; to resolution: 2 days",
                     "📊 Polls: 1 run; participation 50% (2 of 4 invited)",
                     "🏛 Recommendations to the council: 0 submitted, 0 answered"):
            assert line in text, line
        assert not any(name in text for name in PEOPLE)
        assert _charts(html) == [
            ("Residents by district", [("Ostriv (the Island)", "2", "2"), ("district not given", "1", "1"),
                                       ("Suburban communities", "1", "1"), ("Tsentralnyi district", "1", "1")]),
            ("Reports by category", [("Roads and pavements", "2", "2"), ("Street lighting", "1", "1")]),
            ("Proposals", [("proposed", "2", "2"), ("accepted", "3", "3"), ("realised", "1", "1")])]
        assert "<script>" not in html and 'style="' not in html
        # the menu shows the section; the form keeps the choice
        assert 'href="/app/impact" aria-current="page"' in html
        assert '<option value="prev" selected>' in html

        # the same days typed as /stats takes them, in the form's custom fields
        for query in ("period=custom&from=2026-11-01&to=2026-11-30", "period=custom&from=01.11.2026&to=30.11.2026",
                      "period=custom&from=2026-11", "period=custom&from=11.2026"):
            text = _text(await (await client.get(f"/app/impact?{query}", headers=tma(7000))).text())
            assert "November 1, 2026 – November 30, 2026" in text and "📝 Reports: 3 received, 3 resolved" in text, query
        # a quiet period says so, without charts
        html = await (await client.get("/app/impact?period=custom&from=2026-07", headers=tma(7000))).text()
        assert "Nothing happened in this period" in _text(html) and not _charts(html)
        # before the first data: the page says where the figures start
        text = _text(await (await client.get("/app/impact?period=custom&from=1900-01-01&to=2026-11-30",
                                             headers=tma(7000))).text())
        assert "The platform's data starts on September 1, 2026: the figures are from then." in text


async def test_impact_in_ukrainian_and_a_bad_period(harness: Harness) -> None:
    tune(harness, now=Clock(NOW))
    await organizer(harness, 7001, "uk")
    await known_data(harness)
    async with dashboard_client(harness) as client:
        html = await (await client.get("/app/impact?period=custom&from=2026-11", headers=tma(7001))).text()
        text = _text(html)
        assert "1 листопада 2026 р. – 30 листопада 2026 р." in text
        assert "5 годин" in text and tr(harness, "Residents by district") in [c[0] for c in _charts(html)]
        assert tr(harness, "Impact figures") in text and tr(harness, "Files to download") in text
        from bot.services.errors import DomainError
        from handlers.stats import texts

        for query, code in (("period=custom&from=someday", "period_format"),
                            ("period=custom&from=2026-11-30&to=2026-11-01", "period_order"),
                            ("period=custom&from=2027", "period_future"), ("period=nonsense", "period_format"),
                            ("period=custom", "period_format")):
            page = await client.get(f"/app/impact?{query}", headers=tma(7001))
            assert page.status == 200
            html = await page.text()
            alert = lxml_html.fromstring(html).xpath("//*[@role='alert']")
            assert harness.app is not None
            with harness.app.i18n.context(), harness.app.i18n.use_locale("uk"):
                expected = re.sub("<[^>]+>", "", texts.period_error(DomainError(code)))
            with harness.app.i18n.context(), harness.app.i18n.use_locale("en"):
                assert expected != re.sub("<[^>]+>", "", texts.period_error(DomainError(code)))  # Ukrainian
            assert alert and alert[0].text_content().strip() == expected, query
            assert not _charts(html)
        # the form offers the chat's periods, in Ukrainian
        assert f">{tr(harness, 'Last month')}</option>" in html


async def test_who_sees_the_figures_and_who_downloads(harness: Harness) -> None:
    tune(harness, now=Clock(NOW))
    await organizer(harness, 7000)
    await resident(harness, 6001)
    ids = await known_data(harness)
    async with harness.db() as s:
        from sqlalchemy import select

        from storage.models import Organisation

        ostriv = await s.scalar(select(Organisation.id).where(Organisation.removed_at.is_(None)))
    await representative(harness, 7201, ostriv)
    assert ids
    async with dashboard_client(harness) as client:
        assert (await client.get("/app/impact")).status == 401
        for path in ("/app/impact", "/app/impact/export/reports.xlsx", "/app/impact/council?p=20261101-20261130"):
            refused = await client.get(path, headers=tma(6001))                    # a resident
            assert refused.status == 403, path
            assert "Your role does not open this page" in await refused.text()
        page = await client.get("/app/impact?period=prev", headers=tma(7201))    # a representative: /stats
        html = await page.text()
        assert page.status == 200 and "📝 Reports: 3 received" in _text(html)
        assert "/app/impact/export/" not in html and "Files to download" not in html
        assert (await client.get("/app/impact/export/reports.csv", headers=tma(7201))).status == 403
        html = await (await client.get("/app/impact?period=prev", headers=tma(7000))).text()
        assert 'href="/app/impact/export/reports.xlsx"' in html
        assert "The files have no personal data" in html
        html = await (await client.get("/app/impact?period=prev", headers=tma(ADMIN_ID))).text()
        assert "As an admin you get names" in html
        assert (await client.get("/app/impact/export/nothing.xlsx", headers=tma(7000))).status == 404
        assert (await client.get("/app/impact/export/reports.pdf", headers=tma(7000))).status == 404


async def test_downloads_read_back_in_ukrainian(harness: Harness) -> None:
    from openpyxl import load_workbook

    tune(harness, now=Clock(NOW))
    await organizer(harness, 7001, "uk")
    await known_data(harness)
    async with dashboard_client(harness) as client:
        page = await client.get("/app/impact?period=prev", headers=tma(7001))
        links = [a.get("href") for a in lxml_html.fromstring(await page.text()).xpath("//section[@class='downloads']//a")]
        assert "/app/impact/export/proposals.xlsx" in links and "/app/impact/export/events.csv" in links
        council = next(link for link in links if "council" in link and "lang=uk" in link)
        assert "p=20261101-20261130" in council

        response = await client.get("/app/impact/export/reports.xlsx", headers=tma(7001))
        assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
        assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == f"{tr(harness, 'Reports')} 2026-12-01.xlsx"
        sheet = load_workbook(io.BytesIO(await response.read())).active
        assert sheet is not None and sheet.title == tr(harness, "Reports")
        header = [c.value for c in sheet[1]]
        assert header[:4] == [tr(harness, "No."), tr(harness, "Reported"), tr(harness, "Last change"),
                              tr(harness, "Status")]
        rows = [{h: c for h, c in zip(header, row, strict=True)} for row in sheet.iter_rows(min_row=2)]
        assert len(rows) == 5
        first = rows[0]
        assert isinstance(first[tr(harness, "No.")].value, int) and first[tr(harness, "Reported")].is_date
        assert isinstance(first[tr(harness, "Reported")].value, datetime)
        assert first[tr(harness, "Status")].value == tr(harness, NC_("report status", "Resolved"))
        roads = harness.app.community.category("roads")  # type: ignore[union-attr]
        assert roads is not None and first[tr(harness, "Category")].value == roads.name("uk") != roads.name("en")

        response = await client.get("/app/impact/export/proposals.xlsx", headers=tma(7001))
        sheet = load_workbook(io.BytesIO(await response.read())).active
        assert sheet is not None
        header = [c.value for c in sheet[1]]
        rows = [{h: c.value for h, c in zip(header, row, strict=True)} for row in sheet.iter_rows(min_row=2)]
        ramp = next(r for r in rows if r[tr(harness, "Title")] == "A ramp at the library")
        assert ramp[tr(harness, "Supporters")] == 7 and ramp[tr(harness, "Status")] == tr(harness, NC_("proposal status", "Realised"))
        assert isinstance(ramp[tr(harness, "Realised")], datetime)

        response = await client.get("/app/impact/export/proposals.csv", headers=tma(7001))
        assert response.headers["Content-Type"].startswith("text/csv") and response.headers["Cache-Control"] == "no-store"
        assert "hromada-proposals-2026-12-01.csv" in response.headers["Content-Disposition"]
        table = list(csv.DictReader(io.StringIO((await response.read()).decode("utf-8"), newline="")))
        shade = next(r for r in table if r["title"] == "Trees & <shade> for the yard")  # as typed
        assert shade["status"] == "published" and shade["supporters"] == "2"
        assert datetime.fromisoformat(shade["submitted"]).utcoffset() is not None

        response = await client.get("/app/impact/export/open311-requests.json", headers=tma(7001))
        requests = json.loads(await response.read())
        assert response.status == 200 and len(requests) == 4 and all("service_code" in r for r in requests)

        response = await client.get(council, headers=tma(7001))
        assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
        document = (await response.read()).decode()
        from handlers.stats.council import title  # noqa: F401 - the document's own title, in Ukrainian
        assert tr(harness, "Residents' input: report and recommendations for the council") in document
        assert "1 листопада 2026 р. – 30 листопада 2026 р." in document
        assert "-2026-11-01-2026-11-30.html" in unquote(response.headers["Content-Disposition"])
        english = await client.get(council.replace("lang=uk", "lang=en"), headers=tma(7001))
        assert "<h1>Residents&#x27; input: report and recommendations for the council</h1>" in (await english.read()).decode()
        # a quiet period has no document: the page says so
        quiet = await client.get("/app/impact/council?p=20260701-20260731&lang=uk", headers=tma(7001),
                                 allow_redirects=False)
        assert quiet.status == 303
        page = await client.get(quiet.headers["Location"], headers=tma(7001))
        assert _text(await page.text()).count(tr(harness, "There is no data for {period}: no reports, polls, "
                                                  "proposals or events. Nothing to put in a report; try a "
                                                  "longer period.").split("{period}")[0].strip()) == 1
