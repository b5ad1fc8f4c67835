"""The reports queue in a real browser (headless Chromium through Playwright): sign in by the
/dashboard link, reject a report with a typed reason (the group card is redrawn), see the map's
markers (OpenStreetMap's tiles cannot load offline: the markers and the list still work) and a
report's photo through its signed link. Screenshots in test-artifacts/."""
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
async def test_reject_with_a_reason_and_the_map_in_a_browser(harness: Harness) -> None:
    browser_or_skip()

    group = moderators_group(harness)
    anna = await register(harness, 6001, "Anna")
    olha = await moderator(harness, group, 6101, "Olha")
    lamp = await file_report(anna, photos=1)
    bins = await file_report(anna, text="Bins <b>overflowing</b> at the park", place=(46.6380, 32.6150))
    pothole = await file_report(anna, text="A deep pothole on Suvorova", place=(46.6420, 32.6250))
    nowhere = await file_report(anna, text="Graffiti somewhere in the centre", place=None)
    async with dashboard_browser(harness, olha, viewport={"width": 900, "height": 1200}) as seen:
        page, errors = seen.page, seen.errors
        await page.goto(seen.signin)
        await page.click("#signin")
        await page.wait_for_url("**/app/reports")

        # the map: one marker for each listed report with a place, none for the one without
        await page.wait_for_selector("#map.map-ready")
        markers = page.locator("#map .leaflet-marker-icon")
        assert await markers.count() == 3
        assert seen.tiles, "the map asked for OpenStreetMap's tiles"
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
    await harness.fake.settle()
    card = card_of(group, bins)
    assert "Status: Rejected — Olha" in card.text and "Already fixed by the city <yesterday>" in card.text
    async with harness.db() as s:
        report = await s.get(Report, bins)
        assert report is not None and report.status == "rejected"
        report = await s.get(Report, pothole)
        assert report is not None and report.status == "new"
