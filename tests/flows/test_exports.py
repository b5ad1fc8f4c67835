"""/export: XLSX for people in their language (read back with openpyxl, types checked), CSV for
machines (read with csv), reports as Open311 GeoReport v2 JSON (validated against a JSON Schema
written from the spec); names only in admins' files, and only where allowed."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import jsonschema

import pytest
from openpyxl import load_workbook

from bot.i18n import NC_, Contextual
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
        await reports_service.add_info(s, 2, bohdan, "It is by the bus stop, 2 m wide")  # added later
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
        past = now - timedelta(days=10)
        await events_service.create_event(s, events_service.EventDraft(
            kind="lecture", title={"en": "Held lecture"}, starts_at=past + timedelta(days=2),
            ends_at=past + timedelta(days=2, hours=1), venue="School", speakers="Iryna Melnyk"),
            default_locale="en", created_by=None, now=past)
        poll = await polls_service.create_poll(s, polls_service.PollDraft(questions=[polls_service.QuestionDraft(
            kind="single", text={"en": "Where first?"}, options=[{"en": "School"}, {"en": "Park"}])],
            closes_at=now + timedelta(days=7)), default_locale="en", created_by=None, now=now)
        for person, choice in ((anna, 1), (bohdan, 1)):
            await polls_service.vote(s, poll, 0, choice, person, f"key-{person.id}", now)
        await s.commit()


SCHEMA = json.loads((Path(__file__).parent.parent / "schemas" / "georeport_v2.json").read_text())


def _open311(kind: str, doc: object) -> None:
    """Validates a services or requests list against the GeoReport v2 schema."""
    schema = {"$defs": SCHEMA["$defs"], "type": "array", "items": {"$ref": f"#/$defs/{kind}"}}
    jsonschema.Draft202012Validator(schema).validate(doc)


def _csv(h: Harness, file_id: str) -> list[dict[str, str]]:
    raw = h.fake.files[file_id]
    assert not raw.startswith("\ufeff".encode())  # UTF-8 without a BOM: a file for machines
    with io.StringIO(raw.decode("utf-8"), newline="") as text:
        rows = list(csv.DictReader(text, delimiter=",", quotechar='"'))
    assert raw.count(b"\r\n") >= len(rows) + 1  # CRLF line ends, as documented
    return rows


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
    assert rows[1]["added_info"].endswith("It is by the bus stop, 2 m wide")  # what the resident added later
    assert "Reports: 4 rows" in org.last.text and "for import into other systems" in org.last.text
    await org.press("💡 Proposals · CSV")
    (proposal,) = _csv(harness, org.last.file_id)  # type: ignore[arg-type]
    assert proposal["title"] == "Лавки в парку" and proposal["budget"] == "25000" and "author" not in proposal

    await org.press("🗺 Reports for city systems (Open311 JSON)")
    services_doc, requests_doc = org.messages[-2], org.messages[-1]
    services = json.loads(harness.fake.files[services_doc.file_id])  # type: ignore[index]
    requests = json.loads(harness.fake.files[requests_doc.file_id])  # type: ignore[index]
    assert {s["service_code"] for s in services} >= {"lighting", "roads", "waste"}
    _open311("service", services)
    _open311("request", requests)
    assert all(s["type"] == "blackbox" and s["description"] != s["service_name"] for s in services)
    assert all("" not in r.values() for r in requests)
    assert [r["service_request_id"] for r in requests] == ["1", "2", "4"]  # the withdrawn one is not a request
    first, second, _fourth = requests
    assert (first["status"], second["status"]) == ("closed", "open")
    assert first["lat"] == 46.64 and first["long"] == 32.62
    assert first["address"] == "вул. Ушакова, 12, Ostriv (the Island)"  # the district as address detail
    assert first["status_notes"] == "Resolved" and second["status_notes"] == "New"
    assert "<script>" not in _fourth["description"] and len(_fourth["description"]) <= 4000
    assert first["requested_datetime"][-6:] in ("+02:00", "+03:00")
    assert all("media_url" not in r for r in requests)
    assert "Анна" not in harness.fake.files[requests_doc.file_id].decode()  # type: ignore[index]

    await org.press("📝 Reports · XLSX")
    sheet = load_workbook(io.BytesIO(harness.fake.files[org.last.file_id])).active  # type: ignore[index]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0][:4] == ["No.", "Reported", "Last change", "Status"] and len(cells) == 5
    description = cells[0].index("Description")
    assert cells[4][description].startswith("=HYPERLINK(\"http://x\")")  # as typed, never run as a formula
    assert list(sheet.iter_rows())[4][description].data_type == "s"
    assert "This file is for people" in org.last.text
    await org.press("📅 Events · CSV")
    held, event = _csv(harness, org.last.file_id)  # type: ignore[arg-type]
    assert (event["title"], event["going"], event["waitlist"], event["capacity"]) == ("Budget workshop", "1", "1", "1")
    assert (held["title"], held["status"], held["speakers"]) == ("Held lecture", "held", "Iryna Melnyk")
    assert event["status"] == "scheduled"
    await org.press("📊 Poll results · CSV")
    results = _csv(harness, org.last.file_id)  # type: ignore[arg-type]
    totals = {r["answer"]: (r["count"], r["percent"]) for r in results if r["group"] == "all"}
    assert totals == {"School": ("0", "0.0"), "Park": ("2", "100.0")}
    assert {r["title"] for r in results} == {"Where first?"}  # an untitled poll is named by its question
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
    await bohdan.send("/help")
    assert "/export" not in bohdan.last.text
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
    raw = harness.fake.files[org.last.file_id].decode("utf-8")  # type: ignore[index]
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
    assisted = cells[0].index("Through a mediator")
    assert [(row[1], row[assisted]) for row in cells[1:] if row[assisted] == "yes"] == [("A bench by the bus stop", "yes")]
    assert sum(row[assisted] == "no" for row in cells[1:]) == 5
    await org.press("📅 Events · CSV")
    events = {r["number"]: r["assisted_answers"] for r in _csv(harness, org.last.file_id)}  # type: ignore[arg-type]
    assert events[str(ids["held"])] == "1" and sum(int(v) for v in events.values()) == 1
    await org.press("📊 Poll results · CSV")
    results = _csv(harness, org.last.file_id)  # type: ignore[arg-type]
    assert {(r["participants"], r["assisted_participants"]) for r in results} == {("3", "1")}


def tr(h: Harness, msgid: str | Contextual, lang: str) -> str:
    assert h.app is not None
    if isinstance(msgid, Contextual):  # (a status: its words depend on what it is about)
        text = h.app.i18n.locales[lang].pgettext(*msgid)
        assert text != msgid.message, msgid
        return text
    text = h.app.i18n.gettext(msgid, locale=lang)
    assert text != msgid, msgid  # translated
    return text


@pytest.mark.parametrize("lang", ["uk", "bg"])
async def test_xlsx_is_for_people_in_their_language_with_real_types(harness: Harness, lang: str) -> None:
    from openpyxl.cell.cell import TYPE_FORMULA

    await _data_set(harness)
    org = await organizer(harness, 6100, lang)
    await org.send("/help")
    assert tr(harness, "Export reports, proposals, events, poll and discussion results, recommendations (XLSX, CSV, Open311)",
              lang) in org.last.text
    await org.send("/export")
    await org.press(f"{tr(harness, '📝 Reports', lang)} · XLSX")
    title = tr(harness, "Reports", lang)
    assert org.last.filename.startswith(title + " ") and org.last.filename.endswith(".xlsx")
    assert tr(harness, "This file is for people: open it in a spreadsheet program (Excel, LibreOffice); dates "
                       "and numbers can be filtered and summed.", lang) in org.last.text
    book = load_workbook(io.BytesIO(harness.fake.files[org.last.file_id]))  # type: ignore[index]
    sheet = book.active
    assert sheet.title == title
    header = [c.value for c in sheet[1]]
    assert header[:4] == [tr(harness, h, lang) for h in ("No.", "Reported", "Last change", "Status")]
    assert "category" not in header and "district" not in header  # the codes are in the CSV only
    assert all(c.font.b for c in sheet[1]) and sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}5"
    first = list(sheet.iter_rows(min_row=2, max_row=2))[0]
    by = dict(zip(header, first, strict=True))
    number, reported = by[tr(harness, "No.", lang)], by[tr(harness, "Reported", lang)]
    assert number.data_type == "n" and number.value == 1
    assert isinstance(reported.value, datetime) and reported.is_date and reported.value.tzinfo is None
    assert reported.number_format == "DD.MM.YYYY HH:MM"
    async with harness.db() as s:
        report = await reports_service.get(s, 1)
        assert report is not None
        created = report.created_at
    tz = harness.app.settings.tz  # type: ignore[union-attr]
    local_created = (created if created.tzinfo else created.replace(tzinfo=__import__("datetime").timezone.utc))
    assert reported.value == local_created.astimezone(tz).replace(tzinfo=None, microsecond=reported.value.microsecond)
    assert by[tr(harness, "Status", lang)].value == tr(harness, NC_("report status", "Resolved"), lang)
    assert by[tr(harness, "Through a mediator", lang)].value == tr(harness, "no", lang)
    assert by[tr(harness, "Latitude", lang)].value == 46.64
    for column in sheet.columns:  # widths fitted: every column at least as wide as its header's words
        letter = column[0].column_letter
        assert sheet.column_dimensions[letter].width >= 8
    assert sheet.column_dimensions[reported.column_letter].width >= len("01.12.2026 23:59")  # never "2026-11-0"
    long_cell = list(sheet.iter_rows(min_row=5, max_row=5))[0][header.index(tr(harness, "Description", lang))]
    assert long_cell.alignment.wrap_text and long_cell.data_type == "s"
    assert not any(c.data_type == TYPE_FORMULA for row in sheet.iter_rows() for c in row)
    added = list(sheet.iter_rows(min_row=3, max_row=3))[0][header.index(tr(harness, "Added later by the resident",
                                                                            lang))]
    assert added.value.endswith("It is by the bus stop, 2 m wide")

    await org.press(f"{tr(harness, '💡 Proposals', lang)} · XLSX")
    sheet = load_workbook(io.BytesIO(harness.fake.files[org.last.file_id])).active  # type: ignore[index]
    header = [c.value for c in sheet[1]]
    by = dict(zip(header, list(sheet.iter_rows(min_row=2, max_row=2))[0], strict=True))
    budget = by[tr(harness, "Estimated budget", lang)]
    assert budget.value == 25000 and budget.data_type == "n"
    assert budget.number_format == '#,##0 "' + ("₴" if lang == "uk" else "UAH") + '"'  # the community's currency
    assert by[tr(harness, "District", lang)].value == ("Острів" if lang == "uk" else "Острова")
    assert by[tr(harness, "Status", lang)].value == tr(harness, NC_("proposal status", "Published: collecting support"), lang)
    assert by[tr(harness, "Progress", lang)].number_format == "0.0%"

    await org.press(f"{tr(harness, '📅 Events', lang)} · XLSX")
    sheet = load_workbook(io.BytesIO(harness.fake.files[org.last.file_id])).active  # type: ignore[index]
    header = [c.value for c in sheet[1]]
    held = dict(zip(header, [c.value for c in list(sheet.iter_rows(min_row=2, max_row=2))[0]], strict=True))
    assert held[tr(harness, "Status", lang)] == tr(harness, "Held", lang)
    assert held[tr(harness, "Kind", lang)] == tr(harness, "Open lecture", lang)
    assert held[tr(harness, "Speakers", lang)] == "Iryna Melnyk"

    await org.press(f"{tr(harness, '📊 Poll results', lang)} · XLSX")
    sheet = load_workbook(io.BytesIO(harness.fake.files[org.last.file_id])).active  # type: ignore[index]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    share = tr(harness, "Share", lang)
    assert [(r[tr(harness, "Answer", lang)].value, r[share].value, r[share].number_format) for r in rows] == [
        ("School", 0.0, "0.0%"), ("Park", 1.0, "0.0%")]
    assert {r[tr(harness, "Group", lang)].value for r in rows} == {tr(harness, "Everyone", lang)}
    assert {r[tr(harness, "Title", lang)].value for r in rows} == {"Where first?"}

    await org.press(tr(harness, "🗺 Reports for city systems (Open311 JSON)", lang))
    services = json.loads(harness.fake.files[org.messages[-2].file_id])  # type: ignore[index]
    requests = json.loads(harness.fake.files[org.last.file_id])  # type: ignore[index]
    _open311("service", services)
    _open311("request", requests)
    assert requests[0]["status_notes"] == tr(harness, NC_("report status", "Resolved"), lang)  # in the requester's language
    assert requests[0]["address"].endswith("Острів" if lang == "uk" else "Острова")
    assert {s["service_name"] for s in services} >= {"Вуличне освітлення" if lang == "uk" else "Улично осветление"}
