"""/export: reports and proposals as CSV that spreadsheet programs open (UTF-8 with BOM), and
reports as Open311 GeoReport v2 JSON; names only in admins' files, and only where allowed."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from openpyxl import load_workbook

from bot.services import events as events_service
from bot.services import polls as polls_service
from bot.services import proposals as proposals_service
from bot.services import reports as reports_service
from bot.services import users as users_service
from tests.delivery_helpers import organizer, resident
from tests.flows.helpers import register
from storage.models import utcnow
from tests.harness import ADMIN_ID, Harness


async def _data_set(h: Harness) -> None:
    """Three reports (one with the name allowed, one withdrawn) and one published proposal."""
    anna_id = await resident(h, 6001)
    bohdan_id = await resident(h, 6002, "uk")
    async with h.db() as s:
        anna, bohdan = await users_service.by_id(s, anna_id), await users_service.by_id(s, bohdan_id)
        assert anna is not None and bohdan is not None
        anna.display_name = "Анна Коваль"
        first = await reports_service.create(s, anna, reports_service.Draft(
            category="lighting", description="Лампа не світить, біля школи №5; \"темно\"", latitude=46.64,
            longitude=32.62, address="вул. Ушакова, 12", show_identity=True), per_hour=10)
        await reports_service.create(s, bohdan, reports_service.Draft(
            category="roads", description="A pothole, quite deep", show_identity=False), per_hour=10)
        third = await reports_service.create(s, bohdan, reports_service.Draft(
            category="waste", description="Rubbish left after the fair"), per_hour=10)
        await reports_service.withdraw(s, third.id, bohdan)
        await reports_service.act(s, first.id, "resolve", reports_service.Actor(None, None, "M"), expected="new")
        proposal = await proposals_service.submit(s, anna, proposals_service.ProposalDraft(
            title="Лавки в парку", problem="Немає де сісти, старшим людям важко.",
            solution="Поставити десять лавок.", district="ostriv", category="infrastructure", budget=25000), None)
        await proposals_service.act(s, proposal.id, "publish", proposals_service.Actor(None, "M"),
                                    expected="submitted")
        await reports_service.create(s, anna, reports_service.Draft(
            category="roads", description="=HYPERLINK(\"http://x\")"), per_hour=10)  # typed by a resident
        now = utcnow()
        event = await events_service.create_event(s, events_service.EventDraft(
            kind="workshop", title={"en": "Budget workshop"}, starts_at=now + timedelta(days=3),
            ends_at=now + timedelta(days=3, hours=2), venue="Library", capacity=1), default_locale="en",
            created_by=None, now=now)
        await events_service.answer(s, event, anna, "going", now)
        await events_service.answer(s, event, bohdan, "going", now)  # full: waits
        poll = await polls_service.create_poll(s, polls_service.PollDraft(questions=[polls_service.QuestionDraft(
            kind="single", text={"en": "Where first?"}, options=[{"en": "School"}, {"en": "Park"}])],
            closes_at=now + timedelta(days=7)), default_locale="en", created_by=None, now=now)
        for person, choice in ((anna, 1), (bohdan, 1)):
            await polls_service.vote(s, poll, 0, choice, person, f"key-{person.id}", now)
        await s.commit()


def _csv(h: Harness, file_id: str) -> list[dict[str, str]]:
    raw = h.fake.files[file_id]
    assert raw.startswith("\ufeff".encode())  # the BOM: Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


async def test_organizer_files_have_no_names_admin_files_only_allowed_ones(harness: Harness) -> None:
    await _data_set(harness)
    org = await organizer(harness, 6100)
    await org.send("/export")
    assert "no personal data" in org.last.text
    await org.press("📝 Reports · CSV")
    rows = _csv(harness, org.last.file_id)  # type: ignore[arg-type]
    assert org.last.filename.startswith("hromada-reports-") and len(rows) == 4
    assert "reporter" not in rows[0]
    assert rows[0]["description"] == 'Лампа не світить, біля школи №5; "темно"'
    assert rows[0]["status"] == "resolved" and rows[0]["category_name"] == "Street lighting"
    assert rows[0]["created"].endswith(("+02:00", "+03:00"))  # Kyiv time, with its offset
    await org.press("💡 Proposals · CSV")
    (proposal,) = _csv(harness, org.last.file_id)  # type: ignore[arg-type]
    assert proposal["title"] == "Лавки в парку" and proposal["budget"] == "25000" and "author" not in proposal

    await org.press("🗺 Reports for city systems (Open311 JSON)")
    services_doc, requests_doc = org.messages[-2], org.messages[-1]
    services = json.loads(harness.fake.files[services_doc.file_id])  # type: ignore[index]
    requests = json.loads(harness.fake.files[requests_doc.file_id])  # type: ignore[index]
    assert {s["service_code"] for s in services} >= {"lighting", "roads", "waste"}
    assert [r["service_request_id"] for r in requests] == ["1", "2", "4"]  # the withdrawn one is not a request
    first, second, _fourth = requests
    assert (first["status"], second["status"]) == ("closed", "open")
    assert first["lat"] == 46.64 and first["long"] == 32.62 and first["address"] == "вул. Ушакова, 12"
    assert first["requested_datetime"][-6:] in ("+02:00", "+03:00")
    assert all("media_url" not in r for r in requests)
    assert "Анна" not in harness.fake.files[requests_doc.file_id].decode()  # type: ignore[index]

    await org.press("📝 Reports · XLSX")
    sheet = load_workbook(io.BytesIO(harness.fake.files[org.last.file_id])).active  # type: ignore[index]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0][:4] == ["number", "created", "updated", "status"] and len(cells) == 5
    assert cells[4][8] == "=HYPERLINK(\"http://x\")"  # as typed, in a string cell: never run as a formula
    assert list(sheet.iter_rows())[4][8].data_type == "s"
    await org.press("📅 Events · CSV")
    (event,) = _csv(harness, org.last.file_id)  # type: ignore[arg-type]
    assert (event["title"], event["going"], event["waitlist"], event["capacity"]) == ("Budget workshop", "1", "1", "1")
    await org.press("📊 Poll results · CSV")
    results = _csv(harness, org.last.file_id)  # type: ignore[arg-type]
    totals = {r["answer"]: (r["count"], r["percent"]) for r in results if r["group"] == "all"}
    assert totals == {"School": ("0", "0.0"), "Park": ("2", "100.0")}
    assert all(r["group"] == "all" for r in results)  # two people: too few to show any district apart

    admin = await register(harness, ADMIN_ID, "Admin")
    await admin.send("/export")
    await admin.press("📝 Reports · CSV")
    rows = _csv(harness, admin.last.file_id)  # type: ignore[arg-type]
    assert rows[0]["reporter"] == "Анна Коваль"  # she allowed moderators to see her name
    assert rows[1]["reporter"].startswith("R-")  # he did not: the pseudonym only

    bohdan = harness.fake.user(6002)  # a resident, in Ukrainian
    await bohdan.send("/export")
    assert bohdan.last.text == uk(harness, "Sorry, this command is not available to you. Type /help to see what you "
                                           "can do.")
    answer = await bohdan.press_data("ex:reports:csv", message=bohdan.last)  # a forged button
    assert answer["text"] == uk(harness, "Sorry, only organizers and admins can export.")  # type: ignore[index]
    assert not bohdan.messages[-1].file_id


def uk(h: Harness, msgid: str) -> str:
    assert h.app is not None
    text = h.app.i18n.gettext(msgid, locale="uk")
    assert text != msgid  # translated
    return text


async def test_assisted_marks_and_the_offline_residents_table_without_names_or_phones(harness: Harness) -> None:
    from tests.impact_data import MEDIATED, known_data, mediated_data

    ids = await known_data(harness)
    await mediated_data(harness, ids)
    org = await organizer(harness, 6100)
    await org.send("/export")
    await org.press("🤝 Offline residents · CSV")
    assert org.last.filename.startswith("hromada-offline-residents-")
    raw = harness.fake.files[org.last.file_id].decode("utf-8-sig")  # type: ignore[index]
    assert not any(name in raw for name in MEDIATED) and "+380" not in raw and "7302" not in raw
    rows = _csv(harness, org.last.file_id)  # type: ignore[arg-type]
    assert list(rows[0]) == ["code", "district", "district_name", "language", "registered", "linked",
                             "assisted_actions"]
    assert [(r["code"], r["district"], r["language"], r["registered"], r["linked"], r["assisted_actions"])
            for r in rows] == [("M-1001", "ostriv", "uk", "2026-10-25", "no", "4"),  # 2 reports, an RSVP, a support
                               ("M-1002", "tsentralnyi", "ru", "2026-11-12", "no", "2"),  # a report, a proposal
                               ("M-1003", "ostriv", "uk", "2026-11-14", "yes", "0")]  # the erased M-1004 is not there

    await org.press("📝 Reports · CSV")
    reports = _csv(harness, org.last.file_id)  # type: ignore[arg-type]
    assert [r["assisted"] for r in reports] == ["no"] * 5 + ["yes"] * 3
    await org.press("💡 Proposals · XLSX")
    sheet = load_workbook(io.BytesIO(harness.fake.files[org.last.file_id])).active  # type: ignore[index]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assisted = cells[0].index("assisted")
    assert [(row[1], row[assisted]) for row in cells[1:] if row[assisted] == "yes"] == [("A bench by the bus stop", "yes")]
    assert sum(row[assisted] == "no" for row in cells[1:]) == 5
    await org.press("📅 Events · CSV")
    events = {r["number"]: r["assisted_answers"] for r in _csv(harness, org.last.file_id)}  # type: ignore[arg-type]
    assert events[str(ids["held"])] == "1" and sum(int(v) for v in events.values()) == 1
    await org.press("📊 Poll results · CSV")
    results = _csv(harness, org.last.file_id)  # type: ignore[arg-type]
    assert {(r["participants"], r["assisted_participants"]) for r in results} == {("3", "1")}
