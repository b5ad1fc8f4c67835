"""The dashboard's polls and events in a real browser (headless Chromium through Playwright): a
poll's page with its chart drawn by charts.js, a discussion's agreement chart, an event's page, its A4 check-in poster with the QR
code loaded, and the language switched. A screenshot of each page is kept in test-artifacts/.

Skipped when Playwright or Chromium is missing (see test_dashboard_browser.py)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.services import discussions as ds
from storage.models import (
    DiscussionParticipant,
    DiscussionStatement,
    DiscussionVote,
    utcnow,
)
from tests.delivery_helpers import Clock, organizer, resident, tune
from tests.flows.browser import ARTIFACTS, browser_or_skip, dashboard_browser
from tests.flows.test_events import NOW, card_of, create_event
from tests.flows.test_polls import create_single_poll
from tests.harness import Harness


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the browser, not the database, is tested
async def test_poll_chart_event_and_poster_in_a_browser(harness: Harness) -> None:
    browser_or_skip()

    clock = Clock(NOW)
    tune(harness, time_scale=20, progress_interval=0.05, now=clock)
    org = await organizer(harness, 6000)
    await resident(harness, 5001, "en", district="ostriv")
    await resident(harness, 5002, "uk", district="ostriv")
    await resident(harness, 5003, "en", district="korabelnyi")
    a, b, c = (harness.fake.user(i) for i in (5001, 5002, 5003))
    poll_id = await create_single_poll(harness, org)
    await a.press("Online")
    await b.press("Школа № 12")
    await c.press("Online")
    event_id = await create_event(harness, org)
    await a.press("✅ Going", message=card_of(a))
    await c.press("🤔 Maybe", message=card_of(c))

    async with harness.db() as s:  # a discussion with votes (as residents' taps leave them)
        d = await ds.create(s, {"en": "What should the park have?"}, ["More benches", "A car park"], {}, None, "en",
                            None, utcnow() - timedelta(days=1))
        first, second = await s.scalars(select(DiscussionStatement).where(
            DiscussionStatement.discussion_id == d.id).order_by(DiscussionStatement.id))
        for i in range(6):
            p = DiscussionParticipant(discussion_id=d.id, participant=f"k{i}", district="ostriv")
            s.add(p)
            await s.flush()
            s.add_all([DiscussionVote(participant_id=p.id, statement_id=first.id, vote=1),
                       DiscussionVote(participant_id=p.id, statement_id=second.id, vote=1 if i < 2 else -1)])
        await s.commit()
    async with dashboard_browser(harness, org) as seen:
        page, errors = seen.page, seen.errors
        await page.goto(seen.signin)
        await page.click("#signin")
        await page.wait_for_url("**/app/reports")

        await page.get_by_role("link", name="Polls", exact=True).click()
        await page.wait_for_url("**/app/polls")
        assert await page.locator("h1").first.inner_text() == "Polls and surveys"
        assert "3 participants" in await page.locator(f"#poll-{poll_id}").inner_text()
        await page.screenshot(path=str(ARTIFACTS / "dashboard-polls.png"), full_page=True)

        await page.locator(f"#poll-{poll_id} a").click()
        await page.wait_for_url(f"**/app/polls/{poll_id}")
        chart = page.locator("figure.chart[data-drawn]")
        await chart.first.wait_for()
        assert await chart.first.get_attribute("data-drawn") == "3"  # three options, three bars
        assert await page.locator("figure.chart svg rect").count() == 3
        assert "2 · 67%" in await page.locator("figure.chart svg").first.inner_html()
        assert "POLL_MIN_GROUP = 5" in await page.locator("#protection").inner_text()  # why no breakdown
        await page.screenshot(path=str(ARTIFACTS / "dashboard-poll.png"), full_page=True)

        await page.get_by_role("link", name="Українська").click()
        await page.wait_for_url(f"**/app/polls/{poll_id}")
        assert await page.locator("html").get_attribute("lang") == "uk"
        assert "Де провести наступне громадське обговорення?" in await page.locator("h1").inner_text()
        await page.locator("figure.chart[data-drawn]").first.wait_for()
        await page.screenshot(path=str(ARTIFACTS / "dashboard-poll-uk.png"), full_page=True)
        await page.get_by_role("link", name="English").click()
        await page.wait_for_url(f"**/app/polls/{poll_id}")

        await page.get_by_role("link", name="Polls", exact=True).click()
        await page.wait_for_url("**/app/polls")
        await page.locator(f"#discussion-{d.id} a").click()
        await page.wait_for_url(f"**/app/polls/discussion/{d.id}")
        await page.locator("#agreement figure.chart[data-drawn]").wait_for()
        assert await page.locator("#agreement svg rect").count() == 2
        assert "More benches" in await page.locator("#consensus").inner_text()
        await page.screenshot(path=str(ARTIFACTS / "dashboard-discussion.png"), full_page=True)

        await page.get_by_role("link", name="Events", exact=True).click()
        await page.wait_for_url("**/app/events")
        assert "Budget workshop" in await page.locator(f"#event-{event_id}").inner_text()
        await page.screenshot(path=str(ARTIFACTS / "dashboard-events.png"), full_page=True)
        await page.locator(f"#event-{event_id} a").click()
        await page.wait_for_url(f"**/app/events/{event_id}")
        signups = page.locator("#signups figure.chart[data-drawn]")
        await signups.wait_for()
        assert await page.locator("#signups svg rect").count() == 4
        assert "1 place left of 2" in await page.locator("#places").inner_text()
        await page.screenshot(path=str(ARTIFACTS / "dashboard-event.png"), full_page=True)

        await page.locator("#poster-link").click()
        await page.wait_for_url(f"**/app/events/{event_id}/poster")
        assert await page.locator("h1").inner_text() == "Budget workshop"
        qr = page.locator("img.poster-qr")
        await qr.wait_for()
        await page.wait_for_function("document.querySelector('img.poster-qr').complete")
        assert await qr.evaluate("img => img.naturalWidth") > 300  # the PNG loaded
        await page.screenshot(path=str(ARTIFACTS / "dashboard-poster.png"), full_page=True)
        await page.emulate_media(media="print")
        assert not await page.locator(".screen-only").first.is_visible()  # the print stylesheet
        await page.screenshot(path=str(ARTIFACTS / "dashboard-poster-print.png"), full_page=True)
        pdf = await page.pdf(prefer_css_page_size=True, print_background=True)
        (ARTIFACTS / "dashboard-poster.pdf").write_bytes(pdf)
        assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1  # one A4 page
        box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", pdf)
        assert box and round(float(box.group(1))) == 595 and round(float(box.group(2))) == 842  # A4 in points
        await page.emulate_media(media="screen")

        await page.get_by_role("link", name="Українська").click()
        await page.wait_for_url(f"**/app/events/{event_id}/poster")
        assert await page.locator("h1").inner_text() == "Бюджетний воркшоп"
        assert "10 грудня 2026" in await page.locator(".poster-when").inner_text()
        await page.wait_for_function("document.querySelector('img.poster-qr').complete")
        await page.screenshot(path=str(ARTIFACTS / "dashboard-poster-uk.png"), full_page=True)
        assert not errors, errors  # no CSP violation, no script error, nothing missing
