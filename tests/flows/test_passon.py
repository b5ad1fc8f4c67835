"""🏛 Pass on (issue 19, item 5): the moderator picks an organisation of /orgs, its representatives
get the report as a card they can act on, in their language, and the moderators see to whom it
was delivered (or that nobody there can be reached)."""
from __future__ import annotations

from sqlalchemy import select

from bot.fakeapi import FakeUser, SentMessage
from bot.services import orgs as orgs_service
from bot.services.orgs import OrgDraft
from storage.models import Report, ReportEvent, User
from tests.flows.helpers import register
from tests.flows.reports_helpers import card_of, file_report, moderator, moderators_group
from tests.harness import Harness


async def _told(h: Harness, who: FakeUser, text: str) -> SentMessage:
    return await h.fake.wait_for(lambda: next((m for m in reversed(who.messages) if text in m.text), None))


async def _org(h: Harness, names: dict[str, str], contact: str | None, reps: list[int]) -> int:
    """An organisation of /orgs with these confirmed representatives (Telegram ids)."""
    async with h.db() as s:
        org = await orgs_service.create(s, OrgDraft(name=names, description={"en": "We help."}, contact=contact), None)
        for tg_id in reps:
            user = (await s.scalars(select(User).where(User.telegram_id == tg_id))).one()
            await orgs_service.join(s, org.id, user, orgs_service.REPRESENTATIVE)
            await orgs_service.decide(s, org.id, user.id, True, None)
        await s.commit()
        return org.id


async def _report(h: Harness, number: int) -> Report:
    async with h.db() as s:
        report = await s.get(Report, number)
        assert report is not None
        return report


def _uk(h: Harness, msgid: str) -> str:
    assert h.app is not None
    text = h.app.i18n.gettext(msgid, locale="uk")
    assert text != msgid, msgid  # translated
    return text


async def test_pass_on_reaches_the_organisations_representatives(harness: Harness) -> None:
    group = moderators_group(harness)
    olha = await moderator(harness, group, 6101, "Olha")
    anna = await register(harness, 6001, "Anna")
    iryna = await register(harness, 6201, "Iryna", lang="uk")
    taras = await register(harness, 6202, "Taras")
    stranger = await register(harness, 6203, "Stepan")
    greens = await _org(harness, {"en": "Kherson Greens & Co", "uk": "Херсонські зелені"}, "+380 50 000 00 00",
                        [6201, 6202])
    await _org(harness, {"en": "Quiet Club"}, "club@example.org", [])  # nobody represents it
    number = await file_report(anna, text="Bins overflowing <again> at the park", photos=1)

    # the card offers the organisations of /orgs, not a typed label
    await group.press(olha, "🏛 Pass on", message=card_of(group, number))
    assert card_of(group, number).buttons == ["🏛 Kherson Greens & Co", "🏛 Quiet Club", "⬅️ Back"]
    await group.press(olha, "🏛 Quiet Club", message=card_of(group, number))
    nobody = await _told(harness, group, "Quiet Club has no representative the bot can reach")  # type: ignore[arg-type]
    assert "club@example.org" in nobody.text and nobody.reply_to_message_id == card_of(group, number).message_id
    assert "Passed on to: Quiet Club" in card_of(group, number).text
    await _told(harness, anna, f"Your report #{number} (Street lighting: “Bins overflowing <again> at the park”) "
                               "was passed on to: Quiet Club.")

    # passed on to an organisation with representatives: each gets it in their language
    await group.press(olha, "🏛 Pass on", message=card_of(group, number))
    assert "✓ 🏛 Quiet Club" in card_of(group, number).buttons
    await group.press(olha, "🏛 Kherson Greens & Co", message=card_of(group, number))
    delivered = await _told(harness, group, f"Report #{number} was delivered to Kherson Greens & Co")  # type: ignore[arg-type]
    assert "Iryna @iryna6201" in delivered.text and "Taras @taras6202" in delivered.text
    assert delivered.reply_to_message_id == card_of(group, number).message_id
    theirs = await _told(harness, iryna, "Херсонські зелені")
    assert f"#{number}" in theirs.text and "Bins overflowing <again>" in theirs.text and theirs.kind == "photo"
    assert "Anna" not in theirs.text  # who reported it is not passed on
    assert theirs.buttons == [_uk(harness, "🛠 We're on it"), _uk(harness, "🎉 Resolved"), _uk(harness, "↩️ Not for us")]
    his = await _told(harness, taras, "The moderators passed it on to Kherson Greens & Co, which you represent.")
    assert his.buttons == ["🛠 We're on it", "🎉 Resolved", "↩️ Not for us"]
    await _told(harness, anna, "was passed on to: Kherson Greens & Co.")
    report = await _report(harness, number)
    assert report.routed_org_id == greens and report.routed_to == "Kherson Greens & Co"

    # someone who does not represent it cannot act on it, even with the card's own data
    forged = his.inline_keyboard[0][0]["callback_data"]
    answer = await stranger.press_data(forged, message=stranger.last)
    assert answer and "no longer passed on to your organisation" in answer["text"]
    assert (await _report(harness, number)).status == "new"

    # a representative takes it on: the reporter, the moderators' card and the group are told
    await iryna.press(theirs.buttons[0], message=theirs)
    assert (await _report(harness, number)).status == "in_progress"
    assert "Status: In progress — Iryna" in card_of(group, number).text
    await _told(harness, group, f"Kherson Greens & Co (Iryna @iryna6201) on report #{number}: In progress.")  # type: ignore[arg-type]
    await _told(harness, anna, f"Work has started on your report #{number}")
    edited = next(m for m in iryna.messages if m.message_id == theirs.message_id)
    assert edited.buttons == [_uk(harness, "🎉 Resolved"), _uk(harness, "↩️ Not for us")]
    # the other representative's card is stale: refused, and shown as it is now
    answer = await taras.press("🛠 We're on it", message=his)
    assert answer and "Someone else changed this report" in answer["text"]
    his = next(m for m in taras.messages if m.message_id == his.message_id)
    assert his.buttons == ["🎉 Resolved", "↩️ Not for us"] and "In progress" in his.text

    # not for them after all: given back, the moderators pass it on elsewhere
    await taras.press("↩️ Not for us", message=his)
    assert f"You gave report #{number} back" in taras.last.text
    await _told(harness, group, f"Kherson Greens & Co (Taras @taras6202) says report #{number} is not theirs")  # type: ignore[arg-type]
    report = await _report(harness, number)
    assert report.routed_org_id is None and report.routed_to is None and report.status == "in_progress"
    assert "Passed on to" not in card_of(group, number).text
    answer = await iryna.press(_uk(harness, "🎉 Resolved"), message=theirs)
    assert answer is not None and (await _report(harness, number)).status == "in_progress"
    async with harness.db() as s:
        actions = [e.action for e in await s.scalars(
            select(ReportEvent).where(ReportEvent.report_id == number).order_by(ReportEvent.id))]
    assert actions == ["created", "route", "route", "progress", "route_declined"]
