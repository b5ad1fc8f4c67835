"""The Impact page and the boards in a real browser (headless Chromium through Playwright): an
organizer signs in by the /dashboard link, chooses last month on Impact and sees its charts drawn
by charts.js, downloads an XLSX file, opens the proposals and recommendations boards, switches to
Ukrainian. Screenshots in test-artifacts/ (dashboard-impact.png and the others)."""
from __future__ import annotations

import io

import pytest

from tests.delivery_helpers import Clock, organizer, tune
from tests.flows.browser import ARTIFACTS, browser_or_skip, dashboard_browser
from tests.flows.test_recommendations import _followed_up
from tests.harness import Harness
from tests.impact_data import NOW, known_data


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the browser, not the database, is tested
async def test_impact_charts_downloads_and_boards_in_a_browser(harness: Harness) -> None:
    browser_or_skip()
    from openpyxl import load_workbook

    tune(harness, now=Clock(NOW))
    org = await organizer(harness, 7000)
    await known_data(harness, organizer_tg=7000)
    async with harness.db() as s:
        from sqlalchemy import select

        from storage.models import Organisation

        ostriv = await s.scalar(select(Organisation.id).where(Organisation.removed_at.is_(None)))
    await _followed_up(harness, {"greens": ostriv})
    async with dashboard_browser(harness, org, accept_downloads=True) as seen:
        page, errors = seen.page, seen.errors
        await page.goto(seen.signin)
        await page.click("#signin")
        await page.wait_for_url("**/app/reports")

        await page.get_by_role("link", name="Impact").click()
        await page.wait_for_url("**/app/impact")
        await page.select_option("select[name=period]", "prev")
        await page.get_by_role("button", name="Show").click()
        await page.wait_for_url("**period=prev**")
        assert "November 1, 2026 – November 30, 2026" in await page.locator("#figures-title").inner_text()
        assert "📝 Reports: 3 received, 3 resolved" in await page.locator("ul.figures").inner_text()
        drawn = page.locator("figure.chart[data-drawn]")
        await drawn.first.wait_for()
        assert await drawn.count() == 3
        assert [await f.get_attribute("data-drawn") for f in await drawn.all()] == ["4", "2", "3"]
        assert await page.locator("figure.chart svg rect.chart-bar").count() == 9
        await page.screenshot(path=str(ARTIFACTS / "dashboard-impact.png"), full_page=True)

        async with page.expect_download() as info:
            await page.locator("a[href='/app/impact/export/proposals.xlsx']").click()
        download = await info.value
        assert download.suggested_filename == "Proposals 2026-12-01.xlsx"
        sheet = load_workbook(io.BytesIO(open(await download.path(), "rb").read())).active
        assert sheet is not None and sheet["A1"].value == "No." and sheet["B1"].value == "Title"

        # a custom period typed wrong: the notice, in the page's language
        await page.select_option("select[name=period]", "custom")
        await page.fill("input[name=from]", "someday")
        await page.get_by_role("button", name="Show").click()
        await page.wait_for_url("**from=someday**")
        assert "I could not read that period" in await page.get_by_role("alert").inner_text()

        await page.get_by_role("link", name="Proposals").click()
        await page.wait_for_url("**/app/proposals")
        assert await page.locator("h1").inner_text() == "Proposals by status"
        accepted = page.locator("#proposals-accepted")
        assert "Benches in the park" in await accepted.inner_text()
        assert await page.locator("#board-proposals section").count() == 5
        await page.screenshot(path=str(ARTIFACTS / "dashboard-proposals.png"), full_page=True)

        await page.get_by_role("link", name="Recommendations").click()
        await page.wait_for_url("**/app/recommendations")
        assert "Five this year." in await page.locator("#recommendations-in_progress").inner_text()
        await page.screenshot(path=str(ARTIFACTS / "dashboard-recommendations.png"), full_page=True)

        await page.get_by_role("link", name="Українська").click()
        await page.wait_for_url("**/app/recommendations")
        assert await page.locator("h1").inner_text() == "Рекомендації для ради за статусом"
        await page.get_by_role("link", name="Пропозиції").click()
        await page.wait_for_url("**/app/proposals")
        assert await page.locator("h1").inner_text() == "Пропозиції за статусом"
        await page.screenshot(path=str(ARTIFACTS / "dashboard-proposals-uk.png"), full_page=True)
        await page.get_by_role("link", name="Вплив").click()
        await page.select_option("select[name=period]", "prev")
        await page.get_by_role("button", name="Показати").click()
        await page.wait_for_url("**period=prev**")
        await page.locator("figure.chart[data-drawn]").first.wait_for()
        assert "1 листопада 2026" in await page.locator("#figures-title").inner_text()
        await page.screenshot(path=str(ARTIFACTS / "dashboard-impact-uk.png"), full_page=True)
        assert not errors, errors  # no CSP violation, no script error, nothing missing
