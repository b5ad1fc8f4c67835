"""/export: reports and proposals as CSV that spreadsheet programs open (UTF-8 with BOM), and
reports as Open311 GeoReport v2 JSON; names only in admins' files, and only where allowed."""
from __future__ import annotations

import csv
import io
import json

from bot.services import proposals as proposals_service
from bot.services import reports as reports_service
from bot.services import users as users_service
from tests.delivery_helpers import organizer, resident
from tests.flows.helpers import register
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
    await org.press("📝 Reports (CSV)")
    rows = _csv(harness, org.last.file_id)  # type: ignore[arg-type]
    assert org.last.filename.startswith("hromada-reports-") and len(rows) == 3
    assert "reporter" not in rows[0]
    assert rows[0]["description"] == 'Лампа не світить, біля школи №5; "темно"'
    assert rows[0]["status"] == "resolved" and rows[0]["category_name"] == "Street lighting"
    assert rows[0]["created"].endswith(("+02:00", "+03:00"))  # Kyiv time, with its offset
    await org.press("💡 Proposals (CSV)")
    (proposal,) = _csv(harness, org.last.file_id)  # type: ignore[arg-type]
    assert proposal["title"] == "Лавки в парку" and proposal["budget"] == "25000" and "author" not in proposal

    await org.press("🗺 Reports for city systems (Open311 JSON)")
    services_doc, requests_doc = org.messages[-2], org.messages[-1]
    services = json.loads(harness.fake.files[services_doc.file_id])  # type: ignore[index]
    requests = json.loads(harness.fake.files[requests_doc.file_id])  # type: ignore[index]
    assert {s["service_code"] for s in services} >= {"lighting", "roads", "waste"}
    assert [r["service_request_id"] for r in requests] == ["1", "2"]  # the withdrawn one is not a request
    first, second = requests
    assert (first["status"], second["status"]) == ("closed", "open")
    assert first["lat"] == 46.64 and first["long"] == 32.62 and first["address"] == "вул. Ушакова, 12"
    assert first["requested_datetime"][-6:] in ("+02:00", "+03:00")
    assert all("media_url" not in r for r in requests)
    assert "Анна" not in harness.fake.files[requests_doc.file_id].decode()  # type: ignore[index]

    admin = await register(harness, ADMIN_ID, "Admin")
    await admin.send("/export")
    await admin.press("📝 Reports (CSV)")
    rows = _csv(harness, admin.last.file_id)  # type: ignore[arg-type]
    assert rows[0]["reporter"] == "Анна Коваль"  # she allowed moderators to see her name
    assert rows[1]["reporter"].startswith("R-")  # he did not: the pseudonym only

    bohdan = harness.fake.user(6002)  # a resident, in Ukrainian
    await bohdan.send("/export")
    assert bohdan.last.text == uk(harness, "Sorry, this command is not available to you. Type /help to see what you "
                                           "can do.")
    answer = await bohdan.press_data("ex:reports", message=bohdan.last)  # a forged button
    assert answer["text"] == uk(harness, "Sorry, only organizers and admins can export.")  # type: ignore[index]
    assert not bohdan.messages[-1].file_id


def uk(h: Harness, msgid: str) -> str:
    assert h.app is not None
    text = h.app.i18n.gettext(msgid, locale="uk")
    assert text != msgid  # translated
    return text
