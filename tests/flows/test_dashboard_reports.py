"""The dashboard's reports part (issue 23, "Reports"): the card's typed actions (reject with a
reason, duplicate, pass on, reply to the reporter) through the card's own code path, the queue's
filters (age, organisation), the representatives' part, and the photos' signed links."""
from __future__ import annotations

import re
import time
from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.dashboard import reports as dash_reports
from bot.fakeapi.client import TINY_PNG
from bot.services import dashboard as dashboard_service
from bot.services import orgs as orgs_service
from bot.services import users as users_service
from bot.services.orgs import OrgDraft
from storage.models import Report, ReportEvent, User, utcnow
from tests.flows.helpers import register
from tests.flows.reports_helpers import card_of, file_report, moderator, moderators_group
from tests.flows.test_dashboard import dashboard_client, tma
from tests.harness import TOKEN, Harness


async def _org(h: Harness, names: dict[str, str], reps: list[int]) -> int:
    """An organisation of /orgs with these confirmed representatives (Telegram ids)."""
    async with h.db() as s:
        org = await orgs_service.create(s, OrgDraft(name=names, description={"en": "We help."},
                                                    contact="help@example.org"), None)
        for tg_id in reps:
            user = (await s.scalars(select(User).where(User.telegram_id == tg_id))).one()
            await orgs_service.join(s, org.id, user, orgs_service.REPRESENTATIVE)
            await orgs_service.decide(s, org.id, user.id, True, None)
        await s.commit()
        return org.id


async def _signed_in(h: Harness, client: TestClient, telegram_id: int) -> str:
    """A browser session for this person (as a /dashboard link gives it); returns the CSRF token."""
    async with h.db() as s:
        user = await users_service.by_telegram_id(s, telegram_id)
        assert user is not None
        token = await dashboard_service.issue_link(s, user.id)
        await s.commit()
    signed = await client.post("/app/signin", data={"t": token}, allow_redirects=False)
    assert signed.status == 303
    html = await (await client.get("/app/reports")).text()
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, html
    return found.group(1)


async def _events(h: Harness, number: int, action: str) -> list[tuple[int | None, str | None, str | None]]:
    async with h.db() as s:
        rows = await s.scalars(select(ReportEvent).where(ReportEvent.report_id == number,
                                                         ReportEvent.action == action))
        return [(e.actor_telegram_id, e.actor_name, e.detail) for e in rows]


async def test_typed_actions_through_the_dashboard_redraw_the_card(harness: Harness) -> None:
    group = moderators_group(harness)
    anna = await register(harness, 6001, "Anna")
    await moderator(harness, group, 6101, "Olha")
    iryna = await register(harness, 6201, "Iryna")
    greens = await _org(harness, {"en": "Kherson Greens"}, [6201])
    first = await file_report(anna)
    second = await file_report(anna, text="The same lamp at Ushakova 12, still dark")
    third = await file_report(anna, text="Bins overflowing at the park")
    olha = tma(6101)
    async with dashboard_client(harness) as client:
        async def act(number: int, **form: str) -> tuple[int, dict]:
            response = await client.post(f"/app/reports/{number}", data=form, headers=olha)
            return response.status, await response.json()

        # a resident may not; bad input is refused with the bot's own words, nothing changes
        assert (await client.post(f"/app/reports/{first}", data={"action": "reject", "status": "new",
                                                                 "text": "no"}, headers=tma(6001))).status == 403
        status, body = await act(first, action="reject", status="new", reason="", text="   ")
        assert (status, body["code"]) == (400, "report_empty")
        assert body["message"] == "That is empty. Please type a few words."
        status, body = await act(first, action="reject", status="new", text="x" * 201)
        assert status == 400 and body["message"] == "That is too long: at most 200 characters, please (you sent 201)."
        status, body = await act(second, action="duplicate", status="new", of="999")
        assert (status, body["message"]) == (400, "There is no report #999.")
        status, body = await act(second, action="duplicate", status="new", of="lamp")
        assert (status, body["message"]) == (400, "Please type a report number, like 12.")
        status, body = await act(second, action="duplicate", status="new", of=str(second))
        assert (status, body["code"]) == (400, "report_duplicate_self")
        status, body = await act(9999, action="accept", status="new")
        assert (status, body["message"]) == (400, "There is no report #9999.")
        status, body = await act(third, action="route", status="new", org="777")
        assert (status, body["code"]) == (400, "org_missing")
        status, body = await act(third, action="reply", text=" ")
        assert (status, body["code"]) == (400, "report_empty")
        assert (await client.post(f"/app/reports/{first}", data={"action": "explode", "status": "new"},
                                  headers=olha)).status == 400

        # reject with a typed reason, a duplicate, pass on, reply: each as the card does it
        status, body = await act(first, action="reject", status="new", text="Not <b>our</b> street")
        assert (status, body) == (200, {"ok": True, "code": "rejected", "status": "rejected"})
        status, body = await act(first, action="reject", status="new", text="again")
        assert status == 409 and body["message"] == "This report is already closed (Rejected)."
        status, body = await act(second, action="duplicate", status="new", of=f"#{first}")
        assert (status, body["code"]) == (200, "duplicate")
        status, body = await act(third, action="route", status="new", org=str(greens))
        assert (status, body["code"]) == (200, "routed")
        status, body = await act(third, action="reply", text="Thank you! We are <looking> into it.")
        assert (status, body["code"]) == (200, "replied")
    await harness.fake.settle()
    card = card_of(group, first)
    assert "Status: Rejected — Olha" in card.text and "Reason: Not <b>our</b> street" in card.text
    assert card.buttons == [] and card.edits >= 1
    card = card_of(group, second)
    assert "Duplicate" in card.text and f"Duplicate of #{first}" in card.text
    card = card_of(group, third)
    assert "Passed on to: Kherson Greens" in card.text
    assert await _events(harness, first, "reject") == [(6101, "Olha", "Not <b>our</b> street")]
    assert await _events(harness, third, "route") == [(6101, "Olha", "Kherson Greens")]
    assert await _events(harness, third, "to_reporter") == [(6101, "Olha", "Thank you! We are <looking> into it.")]
    told = await harness.fake.wait_for(lambda: next((m for m in anna.messages if "declined" in m.text), None))
    assert "Not <b>our</b> street" in told.text
    reply = await harness.fake.wait_for(lambda: next(
        (m for m in anna.messages if "The moderators about your report" in m.text), None))
    assert f"#{third}" in reply.text and "Thank you! We are <looking> into it." in reply.text
    under = [m.text for m in group.messages if m.reply_to_message_id == card_of(group, third).message_id]
    assert f"💬 Olha answered the reporter of #{third} from the dashboard:\n\nThank you! We are <looking> into it." \
        in under, under
    passed = await harness.fake.wait_for(lambda: next((m for m in iryna.messages if "Kherson Greens" in m.text), None))
    assert f"#{third}" in passed.text


async def test_the_page_shows_the_forms_and_a_clear_notice(harness: Harness) -> None:
    group = moderators_group(harness)
    anna = await register(harness, 6001, "Anna")
    await moderator(harness, group, 6101, "Olha")
    await _org(harness, {"en": "Kherson Greens", "uk": "Херсонські зелені"}, [])
    number = await file_report(anna, text="Bins <script>alert(1)</script> at the park")
    async with dashboard_client(harness) as client:
        csrf = await _signed_in(harness, client, 6101)
        html = await (await client.get("/app/reports")).text()
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        # the map reads its markers from the list's items (no inline script)
        assert 'id="map"' in html and 'data-lat="46.64" data-lon="32.62"' in html
        assert 'src="/app/static/map.js"' in html and 'src="/app/static/vendor/leaflet/leaflet.js"' in html
        assert (await client.get("/app/static/vendor/leaflet/images/marker-icon.png")).status == 200
        assert 'id="map"' not in await (await client.get("/app/reports?status=resolved")).text()  # nothing to map
        for label in ("🚫 Reject", "🔁 Duplicate", "🏛 Pass on", "💬 Reply to the reporter", "Kherson Greens",
                      "Outside our community&#39;s area", 'maxlength="200"', 'maxlength="3500"'):
            assert label in html, label
        # without the CSRF token nothing is done
        assert (await client.post(f"/app/reports/{number}", data={"action": "reject", "status": "new",
                                                                  "text": "spam"})).status == 403
        empty = await client.post(f"/app/reports/{number}", data={
            "action": "reject", "status": "new", "text": "", "csrf": csrf, "back": "/app/reports?status=new"},
            allow_redirects=False)
        assert empty.status == 303 and empty.headers["Location"].startswith("/app/reports?status=new&msg=error")
        page = await client.get(empty.headers["Location"])
        assert page.status == 200
        html = await page.text()
        assert 'class="notice error">That is empty. Please type a few words.' in html and f"#{number}" in html
        done = await client.post(f"/app/reports/{number}", data={
            "action": "reject", "status": "new", "reason": "abuse", "csrf": csrf}, allow_redirects=False)
        html = await (await client.get(done.headers["Location"])).text()
        assert f"Report #{number}: Rejected" in html
        html = await (await client.get("/app/reports?status=rejected")).text()
        assert "Reason: Spam or abusive content" in html and "💬 Reply to the reporter" in html
        assert "🚫 Reject" not in html  # a closed report: only a reply is left
        # the same page in Ukrainian
        client.session.cookie_jar.update_cookies({"hromada_lang": "uk"})
        html = await (await client.get("/app/reports?status=rejected")).text()
        assert "Черга звернень" in html
    await harness.fake.settle()
    assert "Status: Rejected — Olha" in card_of(group, number).text


async def test_filters_by_age_and_organisation(harness: Harness) -> None:
    group = moderators_group(harness)
    anna = await register(harness, 6001, "Anna")
    await moderator(harness, group, 6101, "Olha")
    greens = await _org(harness, {"en": "Kherson Greens"}, [])
    club = await _org(harness, {"en": "Quiet Club"}, [])
    old = await file_report(anna, text="An old pothole on Perekopska")
    recent = await file_report(anna, text="A fresh pothole on Suvorova")
    routed = await file_report(anna, text="Bins overflowing at the park")
    async with harness.db() as s:
        await s.execute(update(Report).where(Report.id == old).values(created_at=utcnow() - timedelta(days=4)))
        await s.execute(update(Report).where(Report.id == routed).values(created_at=utcnow() - timedelta(days=2)))
        await s.commit()
    async with dashboard_client(harness) as client:
        async def ids(query: str) -> list[int]:
            response = await client.get(f"/app/api/reports{query}", headers=tma(6101))
            assert response.status == 200
            return [r["id"] for r in (await response.json())["reports"]]

        assert await ids("") == [old, routed, recent]
        assert await ids("?age=1") == [old, routed]
        assert await ids("?age=3") == [old]
        assert await ids("?age=7") == []
        assert await ids("?age=5") == [old, routed, recent]  # not offered: ignored
        response = await client.post(f"/app/reports/{routed}", data={"action": "route", "status": "new",
                                                                     "org": str(greens)}, headers=tma(6101))
        assert response.status == 200
        assert await ids(f"?org={greens}") == [routed]
        assert await ids(f"?org={club}") == []
        assert await ids(f"?org={greens}&age=3") == []
        listed = (await (await client.get(f"/app/api/reports?org={greens}", headers=tma(6101))).json())["reports"]
        assert listed[0]["routed_to"] == "Kherson Greens" and listed[0]["routed_org_id"] == greens
        await _signed_in(harness, client, 6101)
        html = await (await client.get("/app/reports?age=3")).text()
        assert f'id="report-{old}"' in html and f'id="report-{recent}"' not in html
        assert '<option value="3" selected>more than 3 d ago</option>' in html
        html = await (await client.get(f"/app/reports?org={greens}")).text()
        assert f'id="report-{routed}"' in html and f'id="report-{old}"' not in html
        assert "🏛 Passed on to: Kherson Greens" in html


async def test_a_representative_sees_and_acts_on_their_organisations_reports_only(harness: Harness) -> None:
    group = moderators_group(harness)
    anna = await register(harness, 6001, "Anna")
    await moderator(harness, group, 6101, "Olha")
    iryna_chat = await register(harness, 6201, "Iryna")
    await register(harness, 6301, "Petro")
    greens = await _org(harness, {"en": "Kherson Greens"}, [6201])
    club = await _org(harness, {"en": "Quiet Club"}, [6301])
    await iryna_chat.send("/dashboard")  # a representative may open it (here it is not switched on)
    assert "not switched on" in iryna_chat.last.text
    ours = await file_report(anna, text="Bins overflowing at the park", photos=1)
    theirs = await file_report(anna, text="A bench is broken on the square", photos=1)
    unrouted = await file_report(anna, text="A fresh pothole on Suvorova")
    async with dashboard_client(harness) as client:
        for number, org in ((ours, greens), (theirs, club)):
            routed = await client.post(f"/app/reports/{number}", data={"action": "route", "status": "new",
                                                                       "org": str(org)}, headers=tma(6101))
            assert routed.status == 200
        iryna = tma(6201)
        assert (await (await client.get("/app/api/me", headers=iryna)).json())["roles"] == ["representative"]
        response = await client.get("/app/api/reports", headers=iryna)
        assert response.status == 200
        assert [r["id"] for r in (await response.json())["reports"]] == [ours]
        assert [r["id"] for r in (await (await client.get(f"/app/api/reports?org={club}",
                                                          headers=iryna)).json())["reports"]] == []
        # another organisation's report (or one passed on to nobody): refused, nothing changes
        for number in (theirs, unrouted):
            refused = await client.post(f"/app/reports/{number}", data={"action": "resolve", "status": "new"},
                                        headers=iryna)
            assert refused.status == 403
        # a moderator's action is not theirs
        assert (await client.post(f"/app/reports/{ours}", data={"action": "reject", "status": "new", "text": "no"},
                                  headers=iryna)).status == 400
        done = await client.post(f"/app/reports/{ours}", data={"action": "progress", "status": "new"}, headers=iryna)
        assert done.status == 200 and (await done.json())["status"] == "in_progress"
        stale = await client.post(f"/app/reports/{ours}", data={"action": "resolve", "status": "new"}, headers=iryna)
        assert stale.status == 409
        # the photo links: their own report's only
        mine = (await (await client.get("/app/api/reports", headers=iryna)).json())["reports"][0]["photos"]
        assert len(mine) == 1
        assert (await client.get(mine[0], headers=iryna)).status == 200
        other = dash_reports.photo_link(harness.app, theirs, 0)
        assert (await client.get(other, headers=iryna)).status == 403
        # the page, in a browser session
        await _signed_in(harness, client, 6201)
        html = await (await client.get("/app/reports")).text()
        assert f'id="report-{ours}"' in html and f'id="report-{theirs}"' not in html
        assert f'id="report-{unrouted}"' not in html and "Quiet Club" not in html
        assert "You see the reports passed on to your organisation." in html
        assert "↩️ Not for us" in html and "🚫 Reject" not in html and "💬 Reply to the reporter" not in html
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]
        back = await client.post(f"/app/reports/{ours}", data={"action": "back", "status": "in_progress",
                                                               "csrf": csrf}, allow_redirects=False)
        assert back.status == 303
        html = await (await client.get(back.headers["Location"])).text()
        assert f"Report #{ours} is given back to the moderators." in html
        assert f'id="report-{ours}"' not in html  # no longer theirs
        # a resident opens nothing
        assert (await client.get("/app/api/reports", headers=tma(6001))).status == 403
    await harness.fake.settle()
    card = card_of(group, ours)
    assert "Status: In progress — Iryna" in card.text
    assert "Passed on to" not in card.text  # given back
    under = [m.text for m in group.messages if m.reply_to_message_id == card.message_id]
    assert any("Kherson Greens" in t and "Iryna" in t for t in under), under
    assert await _events(harness, ours, "route_declined") == [(6201, "Iryna", "Kherson Greens")]
    async with harness.db() as s:
        report = await s.get(Report, theirs)
        assert report is not None and report.status == "new"


async def test_photo_links_are_signed_expire_and_never_show_the_token(harness: Harness) -> None:
    group = moderators_group(harness)
    anna = await register(harness, 6001, "Anna")
    await moderator(harness, group, 6101, "Olha")
    number = await file_report(anna, photos=2)
    app = harness.app
    async with dashboard_client(harness) as client:
        await _signed_in(harness, client, 6101)
        html = await (await client.get("/app/reports")).text()
        links = re.findall(rf'src="(/app/photo/{number}/\d\?exp=\d+&amp;sig=[0-9a-f]+)"', html)
        assert len(links) == 2 and TOKEN not in html and TOKEN.split(":")[1] not in html
        assert f'alt="Photo 1 of report #{number}"' in html
        link = links[0].replace("&amp;", "&")
        response = await client.get(link)
        assert response.status == 200 and response.headers["Content-Type"].startswith("image/")
        assert await response.read() == TINY_PNG
        assert TOKEN not in str(response.url) and "Cache-Control" in response.headers
        # tampered: another photo, another report, another expiry, another signature
        exp, sig = re.search(r"exp=(\d+)&sig=([0-9a-f]+)", link).groups()  # type: ignore[union-attr]
        for bad in (f"/app/photo/{number}/1?exp={exp}&sig={sig}", f"/app/photo/{number + 1}/0?exp={exp}&sig={sig}",
                    f"/app/photo/{number}/0?exp={int(exp) + 60}&sig={sig}",
                    f"/app/photo/{number}/0?exp={exp}&sig={'0' * 64}", f"/app/photo/{number}/0?exp={exp}",
                    f"/app/photo/{number}/0?exp=soon&sig={sig}"):
            assert (await client.get(bad)).status == 403, bad
        expired = dash_reports.photo_link(app, number, 0, now=time.time() - dash_reports.PHOTO_MINUTES * 60 - 1)
        assert (await client.get(expired)).status == 403
        far = dash_reports.photo_link(app, number, 0, now=time.time() + 86400)  # not beyond a few minutes
        assert (await client.get(far)).status == 403
        assert (await client.get(dash_reports.photo_link(app, number, 5))).status == 404  # signed, no such photo
        # a valid link still needs someone who may see the report
        async with dashboard_client(harness) as stranger:
            assert (await stranger.get(link)).status == 401
            assert (await stranger.get(link, headers=tma(6001))).status == 403
    assert any(c.method == "getFile" for c in harness.fake.calls)


async def test_odd_numbers_in_addresses_and_forms_are_answered_not_crashed_on(harness: Harness) -> None:
    # (found by a review: "²" passes str.isdigit(), and a 20-digit number overflows an id column)
    group = moderators_group(harness)
    anna = await register(harness, 6001, "Anna")
    await moderator(harness, group, 6101, "Olha")
    number = await file_report(anna)
    huge = "99999999999999999999"
    async with dashboard_client(harness) as client:
        csrf = await _signed_in(harness, client, 6101)
        for address in ("/app/reports?age=%C2%B2", "/app/reports?org=%C2%B2", f"/app/reports?org={huge}",
                        f"/app/api/reports?org={huge}", "/app/api/reports?age=%C2%B3",
                        "/app/reports?code=routed&n=%C2%B2", f"/app/reports?code=routed&n={huge}",
                        "/app/reports?msg=error&code=report_missing&n=1&st=%C2%B2"):
            assert (await client.get(address)).status == 200, address
        assert (await client.post(f"/app/reports/{huge}", data={"action": "accept", "status": "new",
                                                                 "csrf": csrf})).status == 404
        for field, value in (("of", huge), ("of", "²"), ("org", huge)):
            action = "duplicate" if field == "of" else "route"
            answer = await client.post(f"/app/reports/{number}", data={
                "action": action, "status": "new", field: value, "csrf": csrf}, allow_redirects=False)
            assert answer.status == 303, (field, value, answer.status)   # back to the queue, with a notice
            notice = await (await client.get(answer.headers["Location"])).text()
            assert 'role="status"' in notice or 'class="notice' in notice, notice[:500]
        exp = int(time.time()) + 100
        assert (await client.get(f"/app/photo/{number}/0?exp={exp}&sig=%C3%A9")).status == 403
        assert (await client.get(f"/app/photo/{huge}/0?exp={exp}&sig=ab")).status == 404
