"""The dashboard in a real browser (headless Chromium through Playwright): sign in by the
/dashboard link, open the queue, resolve a report (the group card is redrawn), switch language.
A screenshot of each page is kept in test-artifacts/ (HROMADA_TEST_ARTIFACTS overrides).

Skipped when Playwright or Chromium is missing; `.ci/run` installs Chromium and fails on any
skipped browser test."""
from __future__ import annotations

import pytest

from storage.models import Report
from tests.flows.browser import ARTIFACTS, browser_or_skip, dashboard_browser
from tests.flows.helpers import register
from tests.flows.reports_helpers import (
    card_of,
    file_report,
    moderator,
    moderators_group,
)
from tests.harness import Harness


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the browser, not the database, is tested
async def test_sign_in_resolve_and_switch_language_in_a_browser(harness: Harness) -> None:
    browser_or_skip()

    group = moderators_group(harness)
    anna = await register(harness, 6001, "Anna")
    olha = await moderator(harness, group, 6101, "Olha")
    number = await file_report(anna)
    async with dashboard_browser(harness, olha) as seen:
        page, errors = seen.page, seen.errors
        await page.goto(seen.signin)
        await page.screenshot(path=str(ARTIFACTS / "dashboard-signin.png"), full_page=True)
        await page.click("#signin")
        await page.wait_for_url("**/app/reports")
        assert await page.locator("h1").inner_text() == "Reports queue"
        item = page.locator(f"#report-{number}")
        assert "The street lamp at Ushakova 12 is broken" in await item.inner_text()
        await page.screenshot(path=str(ARTIFACTS / "dashboard-reports.png"), full_page=True)

        await item.get_by_role("button", name="🎉 Resolved").click()
        await page.wait_for_url("**/app/reports?*msg=done*")
        assert f"Report #{number}: Resolved" in await page.get_by_role("status").inner_text()
        assert await page.locator(f"#report-{number}").count() == 0  # no longer open
        await page.select_option("select[name=status]", "resolved")
        await page.get_by_role("button", name="Show").click()
        await page.wait_for_url("**status=resolved**")
        assert await page.locator(f"#report-{number}").count() == 1

        await page.get_by_role("link", name="Українська").click()
        await page.wait_for_url("**status=resolved**")
        assert await page.locator("h1").inner_text() == "Черга звернень"
        assert await page.locator("html").get_attribute("lang") == "uk"
        await page.screenshot(path=str(ARTIFACTS / "dashboard-reports-uk.png"), full_page=True)

        await page.get_by_role("button", name="Вийти").click()
        await page.wait_for_url("**/app/signed-out")
        assert "Ви вийшли." in await page.locator("main").inner_text()
        assert not errors, errors  # no CSP violation, no script error
    await harness.fake.settle()
    assert "Status: Resolved — Olha" in card_of(group, number).text  # the group card was redrawn
    async with harness.db() as s:
        report = await s.get(Report, number)
        assert report is not None and report.status == "resolved"
