"""The organizers' dashboard (issue 23): Mini App sign-in, roles per endpoint, browser sign-in
links and sessions, CSRF, security headers, and an action that redraws the group card."""
from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.dashboard import mount
from bot.services import dashboard as dashboard_service
from bot.services.errors import DomainError
from storage.models import DashboardToken, Report, ReportEvent, utcnow
from tests.flows.helpers import register
from tests.flows.reports_helpers import card_of, file_report, moderator, moderators_group
from tests.harness import ADMIN_ID, TOKEN, Harness


def init_data(telegram_id: int, *, auth_date: float | None = None, token: str = TOKEN, **extra: str) -> str:
    fields = {"query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
              "user": json.dumps({"id": telegram_id, "first_name": "Olha", "language_code": "en"},
                                 separators=(",", ":")),
              "auth_date": str(int(time.time() if auth_date is None else auth_date)), **extra}
    return dashboard_service.sign_init_data(fields, token)


def tma(telegram_id: int, **kwargs: object) -> dict[str, str]:
    return {"Authorization": f"tma {init_data(telegram_id, **kwargs)}"}  # type: ignore[arg-type]


@asynccontextmanager
async def dashboard_client(h: Harness) -> AsyncIterator[TestClient]:
    assert h.app is not None
    root = web.Application()
    mount(root, h.app)
    async with TestClient(TestServer(root)) as client:
        yield client


# -- the signature check, without a database -----------------------------------------------------


def test_init_data_as_telegram_specifies() -> None:
    # Telegram's recipe spelled out: secret = HMAC_SHA256("WebAppData", token); hash over sorted lines
    import hashlib
    import hmac

    data = init_data(42)
    fields = dict(p.split("=", 1) for p in data.split("&"))
    from urllib.parse import unquote_plus

    fields = {k: unquote_plus(v) for k, v in fields.items()}
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash")
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    assert fields["hash"] == hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    assert dashboard_service.validate_init_data(data, TOKEN, 86400)["id"] == 42


def test_init_data_refused_when_wrong() -> None:
    now = time.time()
    good = init_data(42, auth_date=now)
    with pytest.raises(DomainError):  # another bot's token
        dashboard_service.validate_init_data(init_data(42, token="999:OTHER"), TOKEN, 86400)
    with pytest.raises(DomainError):  # wrong hash
        dashboard_service.validate_init_data(re.sub(r"hash=[0-9a-f]{4}", "hash=0000", good), TOKEN, 86400)
    with pytest.raises(DomainError):  # expired
        dashboard_service.validate_init_data(init_data(42, auth_date=now - 90000), TOKEN, 86400)
    tampered = good.replace("%22id%22%3A42", "%22id%22%3A43")
    assert tampered != good
    with pytest.raises(DomainError):  # tampered user
        dashboard_service.validate_init_data(tampered, TOKEN, 86400)
    with pytest.raises(DomainError):  # no hash at all
        dashboard_service.validate_init_data("auth_date=1&user=%7B%7D", TOKEN, 86400)
    with pytest.raises(DomainError):  # a repeated field
        dashboard_service.validate_init_data(good + "&auth_date=1", TOKEN, 86400)


# -- the API through aiohttp's test client ---------------------------------------------------------


async def test_api_me_and_reports_by_role(harness: Harness) -> None:
    group = moderators_group(harness)
    anna = await register(harness, 6001, "Anna")
    await moderator(harness, group, 6101, "Olha")
    number = await file_report(anna)
    async with dashboard_client(harness) as client:
        response = await client.get("/app/api/me")
        assert response.status == 401
        assert "frame-ancestors https://web.telegram.org" in response.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        for bad in (tma(6101, token="999:OTHER"), tma(6101, auth_date=time.time() - 90000),
                    {"Authorization": "tma " + init_data(6101).replace("%22id%22%3A6101", "%22id%22%3A9000")},
                    {"Authorization": "Bearer " + init_data(6101)}, {"Authorization": "tma "}):
            assert (await client.get("/app/api/me", headers=bad)).status == 401
        response = await client.get("/app/api/me", headers=tma(6101))
        assert response.status == 200
        assert await response.json() == {"id": 6101, "roles": ["moderator"], "locale": "en"}
        assert await (await client.get("/app/api/me", headers=tma(6001))).json() == {
            "id": 6001, "roles": [], "locale": "en"}
        assert (await (await client.get("/app/api/me", headers=tma(ADMIN_ID))).json())["roles"] == ["admin"]

        assert (await client.get("/app/api/reports", headers=tma(6001))).status == 403  # a resident
        assert (await client.get("/app/api/reports")).status == 401
        response = await client.get("/app/api/reports", headers=tma(6101))  # a moderator
        assert response.status == 200
        reports = (await response.json())["reports"]
        assert [r["id"] for r in reports] == [number] and reports[0]["status"] == "new"
        assert (await (await client.get("/app/api/reports?status=resolved", headers=tma(6101))).json()) == {
            "reports": []}

        # roles are read again on every request: the role taken, the same signed data is refused
        from bot.services import users as users_service

        async with harness.db() as s:
            olha = await users_service.by_telegram_id(s, 6101)
            assert olha is not None
            await users_service.revoke_role(s, olha, "moderator")
            await s.commit()
        assert (await client.get("/app/api/reports", headers=tma(6101))).status == 403
        assert (await (await client.get("/app/api/me", headers=tma(6101))).json())["roles"] == []


async def test_action_through_the_dashboard_redraws_the_card(harness: Harness) -> None:
    group = moderators_group(harness)
    anna = await register(harness, 6001, "Anna")
    await moderator(harness, group, 6101, "Olha")
    number = await file_report(anna)
    card = card_of(group, number)
    async with dashboard_client(harness) as client:
        refused = await client.post(f"/app/reports/{number}", data={"action": "accept", "status": "new"},
                                    headers=tma(6001))
        assert refused.status == 403
        response = await client.post(f"/app/reports/{number}", data={"action": "accept", "status": "new"},
                                     headers=tma(6101))
        assert response.status == 200 and (await response.json())["ok"]
        stale = await client.post(f"/app/reports/{number}", data={"action": "accept", "status": "new"},
                                  headers=tma(6101))
        assert stale.status == 409  # the card showed "new": someone changed it meanwhile
    await harness.fake.settle()
    card = card_of(group, number)
    assert "Status: Accepted — Olha" in card.text and card.edits >= 1
    assert "🎉 Resolved" in card.buttons and "✅ Accept" not in card.buttons
    async with harness.db() as s:
        events = list(await s.scalars(select(ReportEvent).where(ReportEvent.report_id == number,
                                                                ReportEvent.action == "accept")))
        assert [(e.actor_telegram_id, e.actor_name, e.new_status) for e in events] == [(6101, "Olha", "accepted")]
    told = await harness.fake.wait_for(lambda: next((m for m in anna.messages if "was accepted" in m.text), None))
    assert told is not None


async def test_sign_in_link_session_csrf_and_sign_out(harness: Harness) -> None:
    group = moderators_group(harness)
    anna = await register(harness, 6001, "Anna")
    olha = await moderator(harness, group, 6101, "Olha")
    number = await file_report(anna)
    await anna.send("/dashboard")
    assert "not available to you" in anna.last.text  # the command catalogue refuses it (guard)
    await olha.send("/dashboard")
    assert "not switched on" in olha.last.text
    harness.settings.dashboard_url, harness.settings.dashboard_port = "http://127.0.0.1:8099/app/", 8099
    await olha.send("/dashboard")
    found = re.search(r"http://127\.0\.0\.1:8099/app/signin\?t=([\w-]+)", olha.last.text)
    assert found, olha.last.text
    token = found.group(1)
    async with harness.db() as s:  # only a hash of it is kept
        stored = list(await s.scalars(select(DashboardToken.token_hash)))
        assert stored and token not in stored
    async with dashboard_client(harness) as client:
        page = await client.get(f"/app/signin?t={token}")  # a GET (a link preview) spends nothing
        assert page.status == 200 and token in await page.text()
        assert (await client.get("/app/reports")).status == 401
        signed = await client.post("/app/signin", data={"t": token}, allow_redirects=False)
        assert signed.status == 303 and signed.headers["Location"] == "/app/reports"
        cookie = signed.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/app/" in cookie
        assert "Secure" not in cookie  # plain http on localhost; https sets it
        page = await client.get("/app/reports")
        html = await page.text()
        assert page.status == 200 and f"#{number}" in html and "The street lamp at Ushakova 12" in html
        assert "<script>" not in html and 'src="/app/static/dashboard.js"' in html
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]
        assert (await client.get("/app/api/me")).status == 200  # the cookie works for the API too
        # once only: a second use of the link (another browser) is refused
        async with TestClient(TestServer(client.server.app)) as other:
            assert (await other.post("/app/signin", data={"t": token})).status == 403
        # a POST without the CSRF token changes nothing
        assert (await client.post(f"/app/reports/{number}", data={"action": "resolve", "status": "new"},
                                  allow_redirects=False)).status == 403
        done = await client.post(f"/app/reports/{number}", data={"action": "resolve", "status": "new",
                                                                 "csrf": csrf}, allow_redirects=False)
        assert done.status == 303 and "msg=done" in done.headers["Location"]
        page = await client.get(done.headers["Location"])
        html = await page.text()
        assert f"Report #{number}: Resolved" in html
        assert 'name="back" value="/app/reports"' not in html or "msg=" not in html.split('name="back"')[1][:80]
        assert "msg%3D" not in html and "msg=done" not in html  # forms and links return without the notice
        # a POST from another site is refused, even with the token
        assert (await client.post(f"/app/reports/{number}", data={"action": "resolve", "status": "new",
                                                                  "csrf": csrf},
                                  headers={"Origin": "https://evil.example"})).status == 403
        # too big a body is refused before it is read
        big = await client.post(f"/app/reports/{number}", data={"x": "a" * 20000, "csrf": csrf})
        assert big.status == 413
        # sign-out needs the CSRF token too, then the session is gone
        assert (await client.post("/app/signout", allow_redirects=False)).status == 403
        out = await client.post("/app/signout", data={"csrf": csrf}, allow_redirects=False)
        assert out.status == 303
        client.session.cookie_jar.update_cookies({"hromada_session": cookie.split(";")[0].split("=", 1)[1]})
        assert (await client.get("/app/api/me")).status == 401
    async with harness.db() as s:
        report = await s.get(Report, number)
        assert report is not None and report.status == "resolved"


async def test_sign_in_link_expires_and_sessions_end(harness: Harness) -> None:
    await register(harness, 6101, "Olha")
    async with harness.db() as s:
        from bot.services import users as users_service

        olha = await users_service.by_telegram_id(s, 6101)
        assert olha is not None
        past = utcnow() - timedelta(minutes=dashboard_service.LINK_MINUTES + 1)
        old = await dashboard_service.issue_link(s, olha.id, now=past)
        fresh = await dashboard_service.issue_link(s, olha.id)
        await s.commit()
        with pytest.raises(DomainError):
            await dashboard_service.redeem_link(s, old)
        with pytest.raises(DomainError):
            await dashboard_service.redeem_link(s, "not-a-token")
        raw, user_id, expires = await dashboard_service.redeem_link(s, fresh)
        await s.commit()
        assert user_id == olha.id and await dashboard_service.session_user(s, raw) == olha.id
        assert await dashboard_service.session_user(s, raw, now=expires + timedelta(seconds=1)) is None


async def test_mini_app_opens_a_session_for_the_pages(harness: Harness) -> None:
    group = moderators_group(harness)
    await register(harness, 6001, "Anna")
    await moderator(harness, group, 6101, "Olha")
    async with dashboard_client(harness) as client:
        assert (await client.post("/app/api/session", headers=tma(6001))).status == 403  # a resident
        assert (await client.post("/app/api/session", headers=tma(6101, token="999:OTHER"))).status == 401
        assert (await client.get("/app/reports")).status == 401
        opened = await client.post("/app/api/session", headers=tma(6101))
        assert opened.status == 200 and "HttpOnly" in opened.headers["Set-Cookie"]
        assert (await client.get("/app/reports")).status == 200
        assert (await client.get("/app/static/dashboard.js")).headers["X-Content-Type-Options"] == "nosniff"
        assert "SameSite=Lax" in opened.headers["Set-Cookie"]  # plain http (trying it locally): Lax
    # over https a Mini App's cookie must reach the frame Telegram's web clients open it in
    harness.settings.dashboard_url = "https://hromada.example.org/app/"
    async with dashboard_client(harness) as client:
        framed = await client.post("/app/api/session", headers=tma(6101))
        assert framed.status == 200, await framed.text()
        cookie = framed.headers["Set-Cookie"]
        assert all(part in cookie for part in ("HttpOnly", "Secure", "SameSite=None", "Partitioned")), cookie
        # a cross-site POST with that cookie is still refused (Origin), besides the CSRF token
        refused = await client.post("/app/signout", headers={"Origin": "https://evil.example"})
        assert refused.status == 403


async def test_polling_mode_serves_the_dashboard_on_its_port(harness: Harness) -> None:
    import socket

    import aiohttp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    harness.settings.dashboard_port = port
    await harness.restart()  # run_polling starts the dashboard's server beside the poller
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/app/api/me", headers=tma(ADMIN_ID)) as resp:
            assert resp.status == 200 and (await resp.json())["roles"] == ["admin"]


def test_dashboard_settings() -> None:
    from bot.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="DASHBOARD_URL"):
        load_settings(_env_file=None, dashboard_url="http://bot.example.org/app/")
    with pytest.raises(ConfigError, match="DASHBOARD_PORT"):
        load_settings(_env_file=None, dashboard_port="http")
    settings = load_settings(_env_file=None, dashboard_url="https://bot.example.org/app", dashboard_port="")
    assert settings.dashboard_url == "https://bot.example.org/app/" and settings.dashboard_port is None
    assert settings.dashboard_auth_max_age == 86400 and not settings.dashboard_enabled
    assert load_settings(_env_file=None, dashboard_port="8081").dashboard_enabled
