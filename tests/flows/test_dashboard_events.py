"""The dashboard's events (issue 23): an event's counts after residents answered, checked in and
gave feedback through the bot; the check-in poster with a QR code of the bot's check-in link;
roles (a resident, a representative of another organisation); on SQLite and PostgreSQL."""
from __future__ import annotations

import io
from datetime import timedelta

import segno
from PIL import Image
from sqlalchemy import select

from bot.services import events as events_service
from bot.services import orgs as orgs_service
from bot.services import users as users_service
from storage.models import Event, utcnow
from tests.delivery_helpers import Clock, organizer, resident, tune
from tests.flows.test_dashboard import dashboard_client, tma
from tests.flows.test_dashboard_polls import text_of
from tests.flows.test_events import NOW, START, all_sent, card_of, create_event
from tests.harness import Harness


def qr_holds(png: bytes, data: str) -> bool:
    """Whether a PNG is the QR code of ``data``: its modules read from the image, each compared with
    the symbol segno makes for ``data`` (error level M, as bot.qr makes it; four modules of quiet
    zone). A code of anything else differs in most modules."""
    image = Image.open(io.BytesIO(png)).convert("L")
    code = segno.make(data, error="m", boost_error=False, micro=False)
    matrix = [list(row) for row in code.matrix]
    size = len(matrix) + 8
    if image.width != image.height or image.width % size:
        return False
    scale = image.width // size
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            pixel = image.getpixel(((c + 4) * scale + scale // 2, (r + 4) * scale + scale // 2))
            if (pixel < 128) != bool(dark):
                return False
    return all(image.getpixel((x, 1)) > 200 for x in range(0, image.width, scale))  # the quiet zone is white


async def test_an_events_counts_after_answers_check_in_and_feedback_through_the_bot(harness: Harness) -> None:
    clock = Clock(NOW)
    tune(harness, time_scale=20, progress_interval=0.05, now=clock)
    org = await organizer(harness, 6000)
    for tg_id, lang in ((6001, "en"), (6002, "uk"), (6003, "en"), (6004, "en")):
        await resident(harness, tg_id, lang)
    a, b, c, d = (harness.fake.user(i) for i in (6001, 6002, 6003, 6004))
    event_id = await create_event(harness, org)  # two places
    await a.press("✅ Going", message=card_of(a))
    await b.press(b.buttons(card_of(b))[0], message=card_of(b))
    await c.press("✅ Going", message=card_of(c))  # full: the waitlist
    await d.press("🤔 Maybe", message=card_of(d))
    await a.press("❓ Ask the speakers")
    await a.send("Will there be slides?")
    async with dashboard_client(harness) as client:
        listing = text_of(await (await client.get("/app/events", headers=tma(6000))).text())
        assert f"#{event_id} · Budget workshop" in listing and "Thursday, December 10, 2026" in listing
        assert "going 2, maybe 1, waitlist 1, came 0 · places 2" in listing
        page = await client.get(f"/app/events/{event_id}", headers=tma(6000))
        assert page.status == 200
        html = await page.text()
        seen = text_of(html)
        assert "Budget workshop" in seen and "City library, Ushakova 5" in seen and "Europe/Kyiv" in seen
        assert "🪑 All places are taken." in seen and "Places: 2" in seen
        assert '<th scope="row">✅ Going</th><td data-value="2">2</td>' in html
        assert '<th scope="row">🤔 Maybe</th><td data-value="1">1</td>' in html
        assert '<th scope="row">⏳ On the waitlist</th><td data-value="1">1</td>' in html
        assert "Checked in: 0" in seen and "Questions for the speakers so far: 1" in seen
        assert "No comments yet." in seen

    await a.press("❌ Can't go", message=card_of(a))  # a place frees up: C gets it
    async with harness.db() as s:
        token = (await s.get(Event, event_id)).checkin_token  # type: ignore[union-attr]
    clock.set(START + timedelta(minutes=5))
    await b.send(f"/start checkin_{token}")
    await c.send(f"/start checkin_{token}")
    clock.set(START + timedelta(hours=4))  # check-in closed: those who came are asked
    assert harness.app is not None
    await harness.app.due_checks()
    await all_sent(harness, "event-feedback")
    await b.press(b.buttons(b.last)[3])  # 4 of 5
    await b.send("More time for <questions>, please")
    await c.press(c.buttons(c.last)[1])  # 2 of 5, no comment
    async with dashboard_client(harness) as client:
        html = await (await client.get(f"/app/events/{event_id}", headers=tma(6000))).text()
        seen = text_of(html)
        assert '<th scope="row">✅ Going</th><td data-value="2">2</td>' in html  # B and C
        assert '<th scope="row">⏳ On the waitlist</th><td data-value="0">0</td>' in html
        assert "Checked in: 2" in seen and "Feedback: 3 of 5 from 2" in seen
        assert '<th scope="row">⭐ 4</th><td data-value="1">1</td>' in html
        assert '<th scope="row">⭐ 2</th><td data-value="1">1</td>' in html
        assert '<th scope="row">⭐ 5</th><td data-value="0">0</td>' in html
        assert "Comments (written or voice notes): 1" in seen
        assert "⭐ 4/5 · «More time for &lt;questions&gt;, please»" in html and "R6002" not in seen  # no names
        data = await (await client.get(f"/app/api/events/{event_id}", headers=tma(6000))).json()
        assert (data["going"], data["maybe"], data["waitlist"], data["no"], data["attended"]) == (2, 1, 0, 1, 2)
        assert data["places_left"] == 0 and data["scores"] == [0, 1, 0, 1, 0] and data["questions"] == 1


async def test_the_check_in_poster_and_its_qr_code(harness: Harness) -> None:
    clock = Clock(NOW)
    tune(harness, time_scale=20, progress_interval=0.05, now=clock)
    org = await organizer(harness, 6100)
    await resident(harness, 6101)
    event_id = await create_event(harness, org, capacity=None)
    assert harness.app is not None
    me = await harness.app.bot.me()
    async with harness.db() as s:
        event = await s.get(Event, event_id)
        assert event is not None
        link = f"https://t.me/{me.username}?start=checkin_{event.checkin_token}"
        assert events_service.checkin_link(me.username or "", event) == link
    async with dashboard_client(harness) as client:
        page = await client.get(f"/app/events/{event_id}/poster", headers=tma(6100))
        assert page.status == 200
        html = await page.text()
        seen = text_of(html)
        assert "<h1 class=\"poster-title\">Budget workshop</h1>" in html
        assert "Thursday, December 10, 2026, 6:30" in seen and "City library, Ushakova 5" in seen
        assert f'<img class="poster-qr" src="/app/events/{event_id}/qr.png"' in html and link in seen
        assert 'href="/app/static/poster.css"' in html and "<script" not in html
        css = await (await client.get("/app/static/poster.css")).text()
        assert "@page { size: A4" in css
        image = await client.get(f"/app/events/{event_id}/qr.png", headers=tma(6100))
        assert image.status == 200 and image.content_type == "image/png"
        png = await image.read()
        assert qr_holds(png, link) and not qr_holds(png, link + "x")
        # in the reader's language: the Ukrainian title and the day as Ukrainians write it
        page = await client.get(f"/app/events/{event_id}/poster", headers=tma(6100), cookies={"hromada_lang": "uk"})
        seen = text_of(await page.text())
        assert "Бюджетний воркшоп" in seen and "10 грудня 2026" in seen and "18:30" in seen
        # the code checks people in: not for residents
        assert (await client.get(f"/app/events/{event_id}/qr.png", headers=tma(6101))).status == 403
        assert (await client.get(f"/app/events/{event_id}/qr.png")).status == 401
        assert (await client.get(f"/app/events/{event_id}/poster", headers=tma(6101))).status == 403
    # the code on the poster checks a resident in, as the chat's does
    clock.set(START + timedelta(minutes=1))
    resident_user = harness.fake.user(6101)
    await resident_user.send("/start " + link.split("?start=", 1)[1])
    assert "You are checked in" in resident_user.last.text
    async with dashboard_client(harness) as client:  # came without answering first: counted apart
        seen = text_of(await (await client.get(f"/app/events/{event_id}", headers=tma(6100))).text())
    assert "Checked in: 1 · without signing up first: 1" in seen and "Places: no limit" in seen


async def test_residents_and_other_organisations_do_not_see_events(harness: Harness) -> None:
    now = utcnow()
    await resident(harness, 8001)
    rep_one, rep_two = await resident(harness, 8002), await resident(harness, 8003)
    async with harness.db() as s:
        one = await orgs_service.create(s, orgs_service.OrgDraft(name={"en": "Greens One"}), None, now)
        two = await orgs_service.create(s, orgs_service.OrgDraft(name={"en": "Water Two"}), None, now)
        for user_id, org in ((rep_one, one), (rep_two, two)):
            user = await users_service.by_id(s, user_id)
            assert user is not None
            await orgs_service.join(s, org.id, user, orgs_service.REPRESENTATIVE, now)
            await orgs_service.decide(s, org.id, user.id, True, None, now)
        event = await events_service.create_event(s, events_service.EventDraft(
            kind="workshop", title={"en": "Water talk"}, starts_at=now + timedelta(days=3),
            ends_at=now + timedelta(days=3, hours=1), venue="Hall"), default_locale="en", created_by=None, now=now)
        event.org_id = one.id
        await s.commit()
        assert await s.scalar(select(Event.org_id).where(Event.id == event.id)) == one.id
    async with dashboard_client(harness) as client:
        for path in ("/app/events", f"/app/events/{event.id}", f"/app/events/{event.id}/poster",
                     f"/app/api/events/{event.id}"):
            assert (await client.get(path, headers=tma(8001))).status == 403, path  # a resident
        listing = await client.get("/app/events", headers=tma(8003))  # the other organisation's representative
        assert listing.status == 200 and "Water talk" not in await listing.text()
        for path in (f"/app/events/{event.id}", f"/app/events/{event.id}/poster", f"/app/events/{event.id}/qr.png",
                     f"/app/api/events/{event.id}"):
            assert (await client.get(path, headers=tma(8003))).status == 403, path
        listing = await client.get("/app/events", headers=tma(8002))  # its own representative
        assert "Water talk" in await listing.text()
        page = await client.get(f"/app/events/{event.id}", headers=tma(8002))
        assert page.status == 200 and "Greens One" in await page.text()
        assert (await client.get("/app/events/31337", headers=tma(8002))).status == 404
