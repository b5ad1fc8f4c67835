"""The reports queue in a real browser (headless Chromium through Playwright): sign in by the
/dashboard link, reject a report with a typed reason (the group card is redrawn), see the map's
markers (OpenStreetMap's tiles cannot load offline: the markers and the list still work) and a
report's photo through its signed link. Screenshots in test-artifacts/."""
from __future__ import annotations

import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.dashboard import mount
from storage.models import Report
from tests.flows.helpers import register
from tests.flows.reports_helpers import card_of, file_report, moderator, moderators_group
from tests.flows.test_dashboard_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _browser_or_skip
from tests.harness import Harness

TILES = "https://tile.openstreetmap.org/"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the browser, not the database, is tested
async def test_reject_with_a_reason_and_the_map_in_a_browser(harness: Harness) -> None:
    _browser_or_skip()
    from playwright.async_api import async_playwright

    group = moderators_group(harness)
    anna = await register(harness, 6001, "Anna")
    olha = await moderator(harness, group, 6101, "Olha")
    lamp = await file_report(anna, photos=1)
    bins = await file_report(anna, text="Bins <b>overflowing</b> at the park", place=(46.6380, 32.6150))
    pothole = await file_report(anna, text="A deep pothole on Suvorova", place=(46.6420, 32.6250))
    nowhere = await file_report(anna, text="Graffiti somewhere in the centre", place=None)
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
                page = await browser.new_page(locale="en-GB", viewport={"width": 900, "height": 1200})
                errors: list[str] = []
                tiles: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
                        and not msg.location.get("url", "").startswith(TILES) else None)
                page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

                async def no_tiles(route: object) -> None:  # offline, as the tests always are
                    tiles.append(route.request.url)  # type: ignore[attr-defined]
                    await route.abort()  # type: ignore[attr-defined]

                await page.route(TILES + "**", no_tiles)
                await page.goto(found.group(1))
                await page.click("#signin")
                await page.wait_for_url("**/app/reports")

                # the map: one marker for each listed report with a place, none for the one without
                await page.wait_for_selector("#map.map-ready")
                markers = page.locator("#map .leaflet-marker-icon")
                assert await markers.count() == 3
                assert tiles, "the map asked for OpenStreetMap's tiles"
                assert await page.locator(f"#report-{nowhere}").count() == 1  # listed, not on the map
                assert "Bins <b>overflowing</b> at the park" in await page.locator(f"#report-{bins}").inner_text()
                # a marker's popup leads to its report in the list
                await page.locator(f'#map .leaflet-marker-icon[title="#{pothole} · Street lighting"]').click()
                popup = page.locator(".leaflet-popup-content a")
                assert await popup.inner_text() == f"#{pothole} · Street lighting"
                assert await popup.get_attribute("href") == f"#report-{pothole}"
                # the photo, through its signed link (the bot token is nowhere in the page)
                photo = page.locator(f"#report-{lamp} .photos img")
                assert await photo.count() == 1
                await photo.scroll_into_view_if_needed()
                await page.wait_for_function(
                    "document.querySelector('#report-%d .photos img').naturalWidth > 0" % lamp)
                assert harness.settings.bot_token not in await page.content()
                await page.screenshot(path=str(ARTIFACTS / "dashboard-reports-map.png"), full_page=True)

                # reject with a typed reason
                item = page.locator(f"#report-{bins}")
                await item.locator("summary", has_text="🚫 Reject").click()
                reason = item.get_by_role("textbox", name="Another reason", exact=True)
                await reason.fill("Already fixed by the city <yesterday>")
                await item.get_by_role("button", name=f"Reject #{bins}").click()
                await page.wait_for_url("**/app/reports?*msg=done*")
                assert f"Report #{bins}: Rejected" in await page.get_by_role("status").inner_text()
                assert await page.locator(f"#report-{bins}").count() == 0  # no longer open
                await page.wait_for_selector("#map.map-ready")
                assert await page.locator("#map .leaflet-marker-icon").count() == 2

                # an empty reason is refused with a clear notice, the queue stays
                item = page.locator(f"#report-{pothole}")
                await item.locator("summary", has_text="🚫 Reject").click()
                await item.get_by_role("button", name=f"Reject #{pothole}").click()
                await page.wait_for_url("**/app/reports?*msg=error*")
                assert await page.get_by_role("status").inner_text() == "That is empty. Please type a few words."
                assert await page.locator(f"#report-{pothole}").count() == 1
                await page.screenshot(path=str(ARTIFACTS / "dashboard-reports-notice.png"), full_page=True)
                assert not errors, errors  # no CSP violation, no script error, no missing file
            finally:
                await browser.close()
    await harness.fake.settle()
    card = card_of(group, bins)
    assert "Status: Rejected — Olha" in card.text and "Already fixed by the city <yesterday>" in card.text
    async with harness.db() as s:
        report = await s.get(Report, bins)
        assert report is not None and report.status == "rejected"
        report = await s.get(Report, pothole)
        assert report is not None and report.status == "new"
