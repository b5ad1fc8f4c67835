"""The dashboard in a real browser for the tests: headless Chromium through Playwright, the
dashboard served on a local port, a person signed in by the link /dashboard sends them.

Skipped when Playwright or Chromium is missing; `.ci/run` installs Chromium and fails on any
skipped browser test. Screenshots go to test-artifacts/ (HROMADA_TEST_ARTIFACTS overrides)."""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.dashboard import mount
from bot.fakeapi import FakeUser
from tests.harness import ROOT, Harness

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(os.environ.get("HROMADA_TEST_ARTIFACTS", ROOT / "test-artifacts"))
TILES = "https://tile.openstreetmap.org/"  # the map's tiles: the tests run offline, they are refused


def browser_or_skip() -> None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        pytest.skip("browser test: Playwright's Python package is not installed")
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip(f"browser test: no Chromium at {CHROMIUM} (apt-get install -y chromium)")


@dataclass
class Browsing:
    page: Any  # playwright's Page
    signin: str  # the one-time sign-in link /dashboard sent
    base: str  # the dashboard's address, ending in /app/
    errors: list[str] = field(default_factory=list)  # page errors, console errors, 4xx/5xx answers
    tiles: list[str] = field(default_factory=list)  # map tiles asked for (and refused)


@asynccontextmanager
async def dashboard_browser(h: Harness, who: FakeUser, **page_options: Any) -> AsyncIterator[Browsing]:
    """A browser page, not yet signed in, with the link ``who`` got from /dashboard. Whatever went
    wrong in the page (a script error, a CSP violation, a missing file) is in ``errors``."""
    browser_or_skip()
    from playwright.async_api import async_playwright

    assert h.app is not None
    root = web.Application()
    mount(root, h.app)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with TestServer(root, host="127.0.0.1") as server:
        base = str(server.make_url("/app/"))
        h.settings.dashboard_url, h.settings.dashboard_port = base, server.port
        await who.send("/dashboard")
        found = re.search(r"(http://127\.0\.0\.1:\d+/app/signin\?t=[\w-]+)", who.last.text)
        assert found, who.last.text
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page = await browser.new_page(locale="en-GB", **page_options)
                seen = Browsing(page, found.group(1), base)
                page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
                page.on("console", lambda msg: seen.errors.append(msg.text) if msg.type == "error"
                        and not msg.location.get("url", "").startswith(TILES) else None)
                page.on("response", lambda r: seen.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

                async def no_tiles(route: Any) -> None:  # offline, as the tests always are
                    seen.tiles.append(route.request.url)
                    await route.abort()

                await page.route(TILES + "**", no_tiles)
                yield seen
            finally:
                await browser.close()


async def sign_in(seen: Browsing, landing: str = "**/app/reports") -> None:
    await seen.page.goto(seen.signin)
    await seen.page.click("#signin")
    await seen.page.wait_for_url(landing)
