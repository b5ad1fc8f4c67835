"""Community mediators register residents without a smartphone and act for them (issue 10)."""
from __future__ import annotations

import re

from sqlalchemy import select

from bot.fakeapi import FakeUser
from bot.services import users as us
from storage.models import PollResponse, Report, User
from tests.delivery_helpers import organizer, resident, tune
from tests.flows.helpers import register
from tests.flows.reports_helpers import file_report, moderator, moderators_group
from tests.flows.test_polls import create_single_poll, poll_message
from tests.harness import ADMIN_ID, ORGANIZERS_CHAT, Harness


async def mediator(h: Harness, tg_id: int, name: str) -> FakeUser:
    """Registered in the bot, then made a mediator by an admin with /grant."""
    who = await register(h, tg_id, name)
    admin = h.user(ADMIN_ID, first_name="Admin", language_code="en")
    await admin.send(f"/grant mediator {tg_id}")
    assert "is now mediator" in admin.last.text
    return who


async def register_offline(med: FakeUser, name: str, *, district: str = "Ostriv (the Island)",
                           language: str = "Български", phone: str | None = None) -> str:
    """/newresident, five steps; returns the resident's code."""
    await med.send("/newresident")
    await med.send(name)
    await med.press(district)
    if "already registered" in med.last.text:
        await med.press("Someone else: continue")
    await med.press(language)
    if phone:
        await med.send(phone)
    else:
        await med.press("Skip")
    assert "Read this aloud" in med.last.text
    await med.press("✅ I read it aloud; they agree")
    found = re.search(r"M-\d{4,6}", med.last.text)
    assert found is not None and "Registered" in med.last.text
    return found.group(0)


async def _user(h: Harness, code: str) -> User:
    async with h.db() as s:
        found = await s.scalar(select(User).where(User.code == code))
        assert found is not None
        return found


async def test_mediator_files_reports_and_answers_a_poll_for_two_offline_residents(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    group = moderators_group(harness)
    await moderator(harness, group, 7100, "Mykola")
    org_group = harness.fake.group(ORGANIZERS_CHAT, "Organizers")
    org = await organizer(harness, 7200)
    org_group.add_member(org)
    await resident(harness, 7300, "en")
    maria = await mediator(harness, 7001, "Maria")

    first = await register_offline(maria, "Baba Rada", phone="+359 88 123 4567")
    second = await register_offline(maria, "Ivan <b>& sons</b>", district="Korabelnyi district", language="Русский")
    assert first != second
    rada, ivan = await _user(harness, first), await _user(harness, second)
    assert rada.telegram_id is None and rada.language == "bg" and rada.phone == "+359 88 123 4567"
    assert ivan.display_name == "Ivan <b>& sons</b>" and ivan.district == "korabelnyi"

    poll_id = await create_single_poll(harness, org)   # offline residents get no invitation: nobody to send to

    for code, lamp in ((first, "Ulitsa Rozova 3"), (second, "Ulitsa Lipova 8")):
        await maria.send(f"/act {code.lower().replace('-', '')}")         # "m4821" works too
        assert f"You are acting for {code}" in maria.last.text
        assert maria.reply_keyboard is not None and maria.reply_keyboard[0] == f"⏹ Stop acting for {code}"
        number = await file_report(maria, text=f"The street lamp at {lamp} is broken")
        assert maria.last.text.startswith(f"🤝 Acting for {code}")          # every screen says for whom
        await maria.send("📊 Polls")
        await maria.press(maria.buttons()[0])
        await maria.press("City library", message=poll_message(maria))
        await maria.send(f"⏹ Stop acting for {code}")
        assert f"You stopped acting for {code}" in maria.last.text
        assert not any(b.startswith("⏹") for b in maria.reply_keyboard or [])
        async with harness.db() as s:
            report = await s.get(Report, number)
            owner = await s.scalar(select(User).where(User.code == code))
            me = await us.by_telegram_id(s, 7001)
            assert report is not None and owner is not None and me is not None
            assert report.user_id == owner.id and report.assisted_by == me.id

    async with harness.db() as s:
        responses = list(await s.scalars(select(PollResponse).where(PollResponse.poll_id == poll_id)))
        assert len(responses) == 2 and all(r.assisted_by == me.id for r in responses)
    # Maria, as herself again, files nothing for anyone
    number = await file_report(maria, text="A fallen tree blocks the pavement on Lipova")
    async with harness.db() as s:
        report = await s.get(Report, number)
        assert report is not None and report.assisted_by is None and report.user_id == me.id
