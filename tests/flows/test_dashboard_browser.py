"""The dashboard in a real browser (headless Chromium through Playwright): sign in by the
/dashboard link, open the queue, resolve a report (the group card is redrawn), switch language.
A screenshot of each page is kept in test-artifacts/ (HROMADA_TEST_ARTIFACTS overrides).

Skipped when Playwright or Chromium is missing; `.ci/run` installs Chromium and fails on any
skipped browser test."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.dashboard import mount
from storage.models import Report
from tests.flows.helpers import register
from tests.flows.reports_helpers import card_of, file_report, moderator, moderators_group
from tests.harness import ROOT, Harness

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TILES = "https://tile.openstreetmap.org/"  # the map's tiles (the tests run offline: they fail to load)
ARTIFACTS = Path(os.environ.get("HROMADA_TEST_ARTIFACTS", ROOT / "test-artifacts"))


def _browser_or_skip() -> None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        pytest.skip("browser test: Playwright's Python package is not installed")
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip(f"browser test: no Chromium at {CHROMIUM} (apt-get install -y chromium)")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the browser, not the database, is tested
async def test_sign_in_resolve_and_switch_language_in_a_browser(harness: Harness) -> None:
    _browser_or_skip()
    from playwright.async_api import async_playwright

    group = moderators_group(harness)
    anna = await register(harness, 6001, "Anna")
    olha = await moderator(harness, group, 6101, "Olha")
    number = await file_report(anna)
    assert harness.app is not None
    root = web.Application()
    mount(root, harness.app)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with TestServer(root, host="127.0.0.1") as server:
        base = str(server.make_url("/app/"))
        harness.settings.dashboard_url, harness.settings.dashboard_port = base, server.port
        await olha.send("/dashboard")
        found = re.search(r"(http://127\.0\.0\.1:\d+/app/signin\?t=[\w-]+)", olha.last.text)
        assert found, olha.last.text
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page = await browser.new_page(locale="en-GB")
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
                        and not msg.location.get("url", "").startswith(TILES) else None)  # offline: no map tiles
                page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status == 404 else None)
                await page.goto(found.group(1))
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
            finally:
                await browser.close()
    await harness.fake.settle()
    assert "Status: Resolved — Olha" in card_of(group, number).text  # the group card was redrawn
    async with harness.db() as s:
        report = await s.get(Report, number)
        assert report is not None and report.status == "resolved"
