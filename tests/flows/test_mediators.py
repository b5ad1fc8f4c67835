"""Community mediators register residents without a smartphone and act for them (issue 10)."""
from __future__ import annotations

import json
import re

from sqlalchemy import select

from bot.fakeapi import FakeUser
from bot.services import users as us
from storage.models import (
    DiscussionParticipant,
    DiscussionStatement,
    EventRsvp,
    PollResponse,
    Proposal,
    ProposalSupport,
    Report,
    User,
)
from tests.delivery_helpers import Clock, finished, organizer, resident, tune
from tests.flows.test_discussions import _campaign as discussion_campaign
from tests.flows.test_discussions import take_part, vote_through
from tests.flows.test_events import NOW, create_event
from tests.flows.test_proposals import card as proposal_card
from tests.flows.test_proposals import open_in_list, propose
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
    assert "Read this aloud" in med.last.text       # in the mediator's language; what is read, in theirs
    assert ("We will keep your name" in med.last.text) == (language == "English")
    await med.press("✅ I read it aloud; they agree")
    found = re.search(r"M-\d{4,6}", med.last.text)
    assert found is not None and "Registered" in med.last.text
    return found.group(0)


async def link(med: FakeUser, code: str, phone: FakeUser) -> None:
    """The mediator's 🔗 link, opened and confirmed on the resident's own phone."""
    await med.send(code)
    await med.press("🔗 Link their Telegram")
    token = re.search(r"start=link_([\w-]+)", med.last.text).group(1)  # type: ignore[union-attr]
    await phone.send(f"/start link_{token}")
    await phone.press(phone.buttons()[0])
    assert "Your history is with you now" in phone.last.text


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
        assert maria.last.text.startswith(f"🤝 Acting for {code}")          # every screen says for whom,
        assert all(m.text.count("🤝 Acting for") == 1 for m in maria.messages[-8:])  # once, also when edited
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

    # the moderators see which reports a mediator filed, and by whom
    assisted = [m.text for m in group.messages
                if "🤝 Filed with a mediator's help for an offline resident (mediator: Maria" in m.text]
    assert len(assisted) == 2 and any("Rozova" in t for t in assisted) and any("Lipova 8" in t for t in assisted)
    assert not any("fallen tree" in t for t in assisted)
    # the organizer's figures count them apart
    await org.send("/stats")
    await org.press("Last 7 days")
    figures = next(m.text for m in reversed(org.messages) if m.text.startswith("📈"))
    assert "of them 2 offline residents, registered by mediators" in figures
    assert "🤝 With a mediator's help: 2 offline residents registered, 2 reports, 2 poll answers (1 mediator active)" \
        in figures


async def test_mediators_see_and_act_only_for_their_own_residents(harness: Harness) -> None:
    maria = await mediator(harness, 7001, "Maria")
    petar = await mediator(harness, 7002, "Petar")
    rada = await register_offline(maria, "Baba Rada")
    rada_id = (await _user(harness, rada)).id

    await petar.send(f"/act {rada}")
    assert f"{rada} was registered by another mediator" in petar.last.text
    await petar.send("/act M-0000")
    assert "There is no resident with the code M-0000" in petar.last.text
    await petar.send(rada)                                   # a typed code: the card, if it is theirs
    assert "registered by another mediator" in petar.last.text
    answer = await petar.press_data(f"md:a:{rada_id}:0")     # a forged "act for" button
    assert answer is not None and "registered by another mediator" in answer["text"]
    await petar.send("/residents")
    assert "Nobody yet" in petar.last.text and rada not in petar.last.text

    # a resident without the role: a polite refusal, for commands and forged buttons alike
    anna = await register(harness, 7300, "Anna")
    await anna.send("/residents")
    assert "not available to you" in anna.last.text
    answer = await anna.press_data(f"md:v:{rada_id}:0")
    assert answer is not None and "only community mediators" in answer["text"]

    # an admin sees everyone's residents, with whose they are
    admin = await register(harness, ADMIN_ID, "Admin")
    await admin.send("/residents")
    assert rada in admin.last.text and "Baba Rada" in admin.last.text
    await admin.press(admin.buttons()[0])
    assert "Mediator: Maria" in admin.last.text

    # the same person registered twice: a warning by name and district, before anything is saved
    await petar.send("/newresident")
    await petar.send("  baba   RADA ")
    await petar.press("Ostriv (the Island)")
    assert "already registered" in petar.last.text and rada in petar.last.text
    assert petar.buttons() == ["Someone else: continue", "✖ Stop"]   # not his: no way to open her card
    await petar.press("✖ Stop")
    await maria.send("/newresident")
    await maria.send("Baba Rada")
    await maria.press("Ostriv (the Island)")
    assert maria.buttons()[0] == f"Open {rada}"
    await maria.press(f"Open {rada}")
    assert "Baba Rada" in maria.last.text and "▶️ Act for them" in maria.buttons()
    async with harness.db() as s:
        assert len(list(await s.scalars(select(User).where(User.code.is_not(None))))) == 1


async def test_role_revoked_while_acting_or_registering(harness: Harness) -> None:
    maria = await mediator(harness, 7001, "Maria")
    rada = await register_offline(maria, "Baba Rada")
    admin = harness.user(ADMIN_ID, first_name="Admin", language_code="en")
    await maria.send(f"/act {rada}")
    await maria.send("/report")                             # half-way through a report for Rada
    await admin.send("/revoke mediator 7001")
    await admin.press("Yes, revoke")
    await maria.press("Street lighting")
    assert f"no longer a mediator, so you stopped acting for {rada}" in maria.last.text
    assert not any(b.startswith("⏹") for b in maria.reply_keyboard or [])
    await maria.send("The lamp is broken")                 # the report step is gone, nothing is filed
    async with harness.db() as s:
        assert list(await s.scalars(select(Report))) == []
        assert (await us.by_telegram_id(s, 7001)).acting_for_id is None  # type: ignore[union-attr]

    await admin.send("/grant mediator 7001")
    await maria.send("/newresident")
    await maria.send("Ivan")
    await admin.send("/revoke mediator 7001")
    await admin.press("Yes, revoke")
    answer = await maria.press("Korabelnyi district")
    assert answer is not None and "only community mediators" in answer["text"]
    await maria.send("hello")                               # no wizard left waiting
    async with harness.db() as s:
        assert len(list(await s.scalars(select(User).where(User.code.is_not(None))))) == 1


async def test_export_and_delete_an_offline_residents_data(harness: Harness) -> None:
    harness.expect_rejected = lambda c: "chat not found" in (c.description or "")  # no moderators' group here
    maria = await mediator(harness, 7001, "Maria")
    rada = await register_offline(maria, "Baba Rada", phone="088 123 4567")
    await maria.send(f"/act {rada}")
    await file_report(maria, text="The street lamp at Rozova 3 is broken")
    await maria.send("/mydata")                             # acting: her data, not Maria's
    data = json.loads(harness.fake.files[maria.last.file_id])  # type: ignore[index]
    assert data["profile"]["resident_code"] == rada and data["profile"]["phone"] == "088 123 4567"
    assert data["reports"][0]["description"] == "The street lamp at Rozova 3 is broken"
    await maria.send(f"⏹ Stop acting for {rada}")

    await maria.send(rada)
    await maria.press("🗑 Delete")
    assert "Delete everything we store about" in maria.last.text
    await maria.press("🗑 Yes, delete their data")
    assert f"{rada}: their personal data were deleted" in maria.last.text
    async with harness.db() as s:
        gone = await s.scalar(select(User).where(User.code == rada))
        assert gone is not None and gone.display_name is None and gone.phone is None and gone.deleted_at
    await maria.send(f"/act {rada}")
    assert "There is no resident with the code" in maria.last.text


async def test_an_offline_resident_links_their_own_telegram_account(harness: Harness) -> None:
    harness.expect_rejected = lambda c: "chat not found" in (c.description or "")  # no moderators' group here
    maria = await mediator(harness, 7001, "Maria")
    rada = await register_offline(maria, "Baba Rada", language="English")
    await maria.send(f"/act {rada}")
    number = await file_report(maria, text="The street lamp at Rozova 3 is broken")
    await maria.send(f"⏹ Stop acting for {rada}")
    await maria.send(rada)
    await maria.press("🔗 Link their Telegram")
    found = re.search(r"start=link_([\w-]+)", maria.last.text)
    assert found is not None and maria.last.file_id       # the link, and its QR code to scan
    token = found.group(1)

    await maria.send(f"/start link_{token}")                # not on her own account
    assert "the mediator's own account" in maria.last.text
    phone = harness.user(7500, first_name="Rada", language_code="bg")
    await phone.send(f"/start link_{token}")
    assert rada in phone.last.text and "Baba Rada" in phone.last.text
    await phone.press(phone.buttons()[0])                   # yes, it is me
    assert "Your history is with you now" in phone.last.text   # in her language: English
    assert "📝 Report a problem" in (phone.reply_keyboard or [])
    assert f"{rada} linked their own Telegram account" in maria.last.text
    await phone.send("/myreports")
    assert f"#{number}" in phone.last.text

    again = harness.user(7501, first_name="Someone", language_code="en")
    await again.send(f"/start link_{token}")
    assert "not valid any more" in again.last.text
    await maria.send(f"/act {rada}")
    assert "uses the bot themselves" in maria.last.text


async def test_linking_to_an_account_that_registered_itself_keeps_one_answer_per_poll(harness: Harness) -> None:
    harness.expect_rejected = lambda c: "chat not found" in (c.description or "")  # no moderators' group here
    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 7200)
    harness.fake.group(ORGANIZERS_CHAT, "Organizers").add_member(org)
    ivan_phone = await register(harness, 7600, "Ivan")
    maria = await mediator(harness, 7001, "Maria")
    ivan = await register_offline(maria, "Ivan", language="English")
    poll_id = await create_single_poll(harness, org)
    await ivan_phone.press("Online", message=poll_message(ivan_phone))
    await maria.send(f"/act {ivan}")
    await maria.send("📊 Polls")
    await maria.press(maria.buttons()[0])
    await maria.press("City library", message=poll_message(maria))
    number = await file_report(maria, text="The bench on Lipova is broken")
    await maria.send(f"⏹ Stop acting for {ivan}")
    await link(maria, ivan, ivan_phone)
    async with harness.db() as s:
        me = await us.by_telegram_id(s, 7600)
        report = await s.get(Report, number)
        assert me is not None and report is not None and report.user_id == me.id
        responses = list(await s.scalars(select(PollResponse).where(PollResponse.poll_id == poll_id)))
        assert len(responses) == 1                           # his own answer stays, counted once
        offline = await s.scalar(select(User).where(User.code == ivan))
        assert offline is not None and offline.deleted_at is not None and offline.display_name is None


async def test_mediator_rsvps_and_supports_a_proposal_for_a_resident(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05, now=Clock(NOW))
    group = moderators_group(harness)
    olha = await moderator(harness, group, 7100, "Olha")
    org = await organizer(harness, 7200)
    harness.fake.group(ORGANIZERS_CHAT, "Organizers").add_member(org)
    anna = await register(harness, 7300, "Anna")
    number = await propose(anna)
    await group.press(olha, "📣 Publish", message=proposal_card(group, number))
    event_id = await create_event(harness, org)
    maria = await mediator(harness, 7001, "Maria")
    rada = await register_offline(maria, "Baba Rada", language="English")

    await maria.send(f"/act {rada}")
    await maria.send("📅 Events")
    await maria.press(maria.buttons()[0])
    event_card = next(m for m in reversed(maria.messages) if "Budget workshop" in m.text and m.buttons)
    assert event_card.text.startswith(f"🤝 Acting for {rada}")
    answer = await maria.press("✅ Going", message=event_card)
    assert answer is not None and answer["text"] == "✅ You're going."
    detail = await open_in_list(maria, "Benches")
    answer = await maria.press("👍 Support", message=detail)
    assert answer is not None and "1 supporter now" in answer["text"]
    await maria.send(f"⏹ Stop acting for {rada}")

    async with harness.db() as s:
        me = await us.by_telegram_id(s, 7001)
        offline = await s.scalar(select(User).where(User.code == rada))
        assert me is not None and offline is not None
        rsvp = await s.scalar(select(EventRsvp).where(EventRsvp.event_id == event_id))
        support = await s.scalar(select(ProposalSupport).where(ProposalSupport.proposal_id == number))
        assert rsvp is not None and rsvp.user_id == offline.id and rsvp.assisted_by == me.id
        assert support is not None and support.user_id == offline.id and support.assisted_by == me.id
        published = await s.get(Proposal, number)
        assert published is not None and published.assisted_by is None  # Anna's own, whoever supports it


async def test_stopping_mid_step_leaves_nothing_half_done_for_the_mediator(harness: Harness) -> None:
    maria = await mediator(harness, 7001, "Maria")
    rada = await register_offline(maria, "Baba Rada")
    await maria.send(f"/act {rada}")
    await maria.send("/report")
    await maria.press("Street lighting")
    await maria.send("Rada's own problem at Rozova 3")
    await maria.send(f"⏹ Stop acting for {rada}")
    await maria.send("/cancel")
    assert "nothing to cancel" in maria.last.text            # her report for Rada is not hers to finish
    maria.block()                                             # and leaving the bot is about Maria, not Rada
    await harness.fake.settle()
    async with harness.db() as s:
        assert list(await s.scalars(select(Report))) == []
        offline = await s.scalar(select(User).where(User.code == rada))
        assert offline is not None and offline.unreachable_at is None


async def test_linking_keeps_one_set_of_discussion_votes(harness: Harness) -> None:
    tune(harness, time_scale=50, progress_interval=0.05)
    org = await organizer(harness, 8400)
    ivan_phone = await register(harness, 7600, "Ivan")
    maria = await mediator(harness, 7001, "Maria")
    ivan = await register_offline(maria, "Ivan", language="English")
    await org.send("/newdiscussion")
    await org.send("Where should the new playground go?")
    await org.send("Next to the school")
    await org.send("In the park")
    await org.press("✅ That's all")
    await org.press(next(b for b in org.buttons() if b.startswith("✅ Open it")))
    await finished(harness, (await discussion_campaign(harness, "discussion")).id)
    await take_part(ivan_phone)
    await vote_through(ivan_phone, {"Next to the school": "d", "In the park": "d"})   # his own votes
    await maria.send(f"/act {ivan}")
    await maria.send("/start discussion_1")
    await vote_through(maria, {"Next to the school": "a", "In the park": "a"})
    await maria.send(f"⏹ Stop acting for {ivan}")
    await link(maria, ivan, ivan_phone)
    async with harness.db() as s:
        assert len(list(await s.scalars(select(DiscussionParticipant)))) == 1   # he counts once
        votes = dict((await s.execute(select(DiscussionStatement.text, DiscussionStatement.votes))).all())
        assert votes == {"Next to the school": 1, "In the park": 1}


async def test_residents_list_pages_and_finds_by_name_or_code(harness: Harness) -> None:
    from bot.services import mediators as ms
    from storage.models import utcnow

    maria = await mediator(harness, 7001, "Maria")
    rada = await register_offline(maria, "Баба Рада")
    async with harness.db() as s:
        me = await us.by_telegram_id(s, 7001)
        assert me is not None
        for n in range(8):
            await ms.register(s, me, name=f"Neighbour {n}", district="ostriv", language="bg", phone=None, now=utcnow())
        await s.commit()
    await maria.send("/residents")
    assert "9 people" in maria.last.text and "Neighbour 7" in maria.last.text and rada not in maria.last.text
    await maria.press("▶️")                                   # the oldest one is on the second page
    assert rada in maria.last.text and "Neighbour 7" not in maria.last.text
    await maria.press("🔎 Find")
    await maria.send("рада")                                  # part of a name, any case, Cyrillic
    assert "1 person" in maria.last.text and rada in maria.last.text
    await maria.send(f"/residents {rada.replace('-', '').lower()}")
    assert "1 person" in maria.last.text and rada in maria.last.text
    await maria.send("/residents Olga")
    assert "Nobody matches" in maria.last.text
