"""Project proposals and the organisations network, through the real Dispatcher, the delivery
engine and the fake Bot API: propose, moderate, support, status changes with news in each
person's language, merging duplicates, representatives, bad input, counts."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.fakeapi import FakeGroup, FakeUser, SentMessage
from bot.services import proposals as proposals_service
from handlers.proposals.keyboards import PModCb
from storage.models import Campaign, Organisation, OrgMember, Proposal, ProposalSupport, User, utcnow
from tests.flows.helpers import register
from tests.flows.reports_helpers import moderator, moderators_group
from tests.harness import ADMIN_ID, Harness

PROBLEM = "The park on Lermontova has no benches & no shade, older people cannot rest there."
SOLUTION = "Put up ten benches and plant twelve trees; residents will water them."


async def propose(who: FakeUser, title: str = "Benches <and> shade in the park", *, budget: str | None = "25 000",
                  photo: bool = False, org: str | None = None) -> int:
    await who.send("/propose")
    await who.send(title)
    await who.send(PROBLEM)
    await who.send(SOLUTION)
    await who.press(who.buttons()[0])  # the first district
    await who.press("Greenery and environment")
    if budget is None:
        await who.press("Skip")
    else:
        await who.send(budget)
    if photo:
        await who.send_photo()
    else:
        await who.press("Skip")
    if org is not None:
        await who.press(org)
    assert "Please check your proposal" in who.last.text
    await who.press("✅ Send to the moderators")
    assert "went to the moderators" in who.last.text
    return int(who.last.text.split("#")[1].split(" ")[0])


def card(group: FakeGroup, number: int) -> SentMessage:
    return next(m for m in reversed(group.messages) if m.text.startswith(f"💡 Proposal #{number} "))


async def news(h: Harness, who: FakeUser, text: str) -> SentMessage:
    return await h.fake.wait_for(lambda: next((m for m in reversed(who.messages) if text in m.text), None))


async def proposal(h: Harness, number: int) -> Proposal:
    async with h.db() as s:
        found = await s.get(Proposal, number)
        assert found is not None
        return found


def uk(h: Harness, msgid: str) -> str:
    assert h.app is not None
    text = h.app.i18n.gettext(msgid, locale="uk")
    assert text != msgid  # translated
    return text


async def open_in_list(who: FakeUser, title_part: str) -> SentMessage:
    await who.send("/proposals")
    button = next(b for b in who.buttons() if title_part in b)
    await who.press(button)
    return who.last


async def test_propose_moderate_support_and_follow_to_realisation(harness: Harness) -> None:
    group = moderators_group(harness)
    olha = await moderator(harness, group, 6101, "Olha")
    anna = await register(harness, 6001, "Anna")
    number = await propose(anna, photo=True)

    first = card(group, number)
    assert "Benches &lt;and&gt; shade" not in first.text and "Benches <and> shade in the park" in first.text
    assert "Waiting for the moderators" in first.text and "25,000" in first.text
    assert "From: R-" in first.text and "Anna" not in first.text  # a pseudonym, as for reports
    assert group.messages[-1].kind == "photo" and group.messages[-1].reply_to_message_id == first.message_id
    assert "📣 Publish" in group.buttons(first)

    # Ask for changes: the author reworks one field; nothing else is lost.
    await group.press(olha, "✏️ Ask for changes", message=first)
    await group.send(olha, "Please say which part of the park.", reply_to=group.last)
    asked = await news(harness, anna, "ask for changes")
    assert "Please say which part of the park." in asked.text
    await anna.press("✏️ Edit and send again", message=asked)
    assert "Please check your proposal" in anna.last.text and PROBLEM.replace("&", "&amp;")[:20] in anna.last.html
    await anna.press("✏️ Title")
    await anna.send("Benches and shade by the Lermontova fountain")
    assert "Please check your proposal" in anna.last.text and "fountain" in anna.last.text
    await anna.press("✅ Send to the moderators")
    assert "reworked proposal #%d" % number in anna.last.text
    assert f"reworked proposal #{number}" in group.last.text
    assert "fountain" in card(group, number).text

    await group.press(olha, "📣 Publish", message=card(group, number))
    await news(harness, anna, "is published")
    assert (await proposal(harness, number)).published_at is not None

    # Residents support it, once; in their own language.
    bohdan = await register(harness, 6002, "Bohdan", lang="uk")
    carl = await register(harness, 6003, "Carl")
    detail = await open_in_list(carl, "Lermontova")
    assert "0 supporters" in detail.text
    answer = await carl.press("👍 Support", message=detail)
    assert answer["text"] == "Thank you for your support! 1 supporter now."  # type: ignore[index]
    assert "1 supporter (you too)" in carl.last.text and "↩️ Withdraw my support" in carl.buttons()
    again = await carl.press_data(f"pj:sup:{number}:0:-1::0", message=carl.last)  # an old Support button
    assert again["text"] == "You already support this proposal. Thank you!"  # type: ignore[index]
    own = await anna.press_data(f"pj:sup:{number}:0:-1::0", message=anna.last)
    assert own["text"] == "This is your own proposal: you support it already."  # type: ignore[index]
    await bohdan.send("/proposals")
    await bohdan.press(next(b for b in bohdan.buttons() if "Lermontova" in b))
    await bohdan.press(bohdan.buttons()[0])  # 👍 in Ukrainian
    assert (await proposal(harness, number)).supporters == 2

    # Every step reaches the author and the supporters, each in their language, with its date.
    for button, english in (("🏛 Under review", "under review by the municipality"),
                            ("✅ Accepted", "was accepted and funded"),
                            ("🛠 Work started", "has started")):
        await group.press(olha, button, message=card(group, number))
        await news(harness, anna, english)
        await news(harness, carl, english)
    await group.press(olha, "📈 Progress", message=card(group, number))
    await group.send(olha, "150", reply_to=group.last)
    assert "percentage from 0 to 100" in group.last.text
    await group.send(olha, "40 the benches are ordered", reply_to=group.last)
    progress = await news(harness, carl, "progress 40%")
    assert "the benches are ordered" in progress.text
    await group.press(olha, "🎉 Realised", message=card(group, number))
    await news(harness, carl, "is realised")
    ukrainian = [m.text for m in bohdan.messages if f"#{number}" in m.text]
    assert any(uk(harness, "🎉 Proposal «{title}» (#{number}) is realised! Thank you for making it happen.")
               .split("«")[0] in t for t in ukrainian)
    assert group.buttons(card(group, number)) == []  # realised: nothing more to press

    detail = await open_in_list(carl, "Lermontova")
    assert "🎉 Realised" in detail.text and "▰▰▰▰▰▰▰▰▰▰ 100%" in detail.text
    assert detail.text.count("• ") == 6 and "2026" in detail.text  # the latest steps of the dated history
    assert "👍 Support" not in carl.buttons()
    async with harness.db() as s:
        total, by_district, _ = await proposals_service.counts(s)
    assert (total.proposed, total.published, total.accepted, total.realised) == (1, 1, 1, 1)


async def test_bad_input_rejection_and_merged_duplicates(harness: Harness) -> None:
    group = moderators_group(harness)
    olha = await moderator(harness, group, 6101, "Olha")
    anna = await register(harness, 6001, "Anna")
    carl = await register(harness, 6003, "Carl")

    await anna.send("/propose")
    await anna.send("Hi")
    assert "at least 5 characters" in anna.last.text
    await anna.send("Playground <b>now</b> & safe")
    await anna.send("x" * 5000)
    assert "at most 1,500 characters" in anna.last.text and "you sent 5,000" in anna.last.text
    await anna.send_photo()
    assert "Please answer with text" in anna.last.text
    await anna.send(PROBLEM)
    await anna.send(SOLUTION)
    await anna.press(anna.buttons()[0])
    await anna.press("Education and youth")
    await anna.send("a lot")
    assert "as a number" in anna.last.text
    await anna.send("12.5")
    assert "as a number" in anna.last.text
    await anna.press("Skip")
    await anna.send("no photo, sorry")
    assert "Please send a photo" in anna.last.text
    await anna.press("Skip")
    assert "Estimated budget: not estimated" in anna.last.text and "Playground &lt;b&gt;now" in anna.last.html
    await anna.press("✅ Send to the moderators")
    first = int(anna.last.text.split("#")[1].split(" ")[0])
    second = await propose(carl, "A safe playground on Perekopska")
    third = await propose(carl, "Street lamps on the way to school", budget="8000 грн")
    assert (await proposal(harness, third)).budget == 8000
    for n in (first, second, third):
        await group.press(olha, "📣 Publish", message=card(group, n))

    ben = await register(harness, 6004, "Ben")
    dana = await register(harness, 6005, "Dana")
    for who in (ben, dana):
        await open_in_list(who, "Perekopska")
        await who.press("👍 Support")
    await open_in_list(dana, "Playground")
    await dana.press("👍 Support")

    # Perekopska repeats the first one: merged; its author and supporters support the first (Dana once).
    await group.press(olha, "🔁 Duplicate", message=card(group, second))
    await group.send(olha, f"#{second}", reply_to=group.last)
    assert "cannot repeat itself" in group.last.text
    await group.send(olha, "#999", reply_to=group.last)
    assert "There is no proposal #999" in group.last.text
    await propose(anna, "A proposal still waiting for the moderators")
    waiting = (await proposal(harness, third)).id + 1
    await group.send(olha, str(waiting), reply_to=group.last)
    assert f"Proposal #{waiting} is not collecting support" in group.last.text
    await group.send(olha, str(first), reply_to=group.last)
    await news(harness, carl, "was merged into it")
    await news(harness, ben, f"now support #{first}")
    assert (await proposal(harness, first)).supporters == 3
    assert (await proposal(harness, second)).status == "duplicate"

    # Rejected with a reason: the supporters are told; an old Support button is refused.
    detail = await open_in_list(ben, "Street lamps")
    await group.press(olha, "🚫 Reject", message=card(group, third))
    await group.send(olha, "The city already plans new lamps there in spring.", reply_to=group.last)
    await news(harness, carl, "already plans new lamps")
    answer = await ben.press("👍 Support", message=detail)
    assert answer["text"] == "This proposal was rejected, so it cannot be supported any more."  # type: ignore[index]

    # Two moderators at once: the stale press changes nothing.
    stale = card(group, first)
    await group.press(olha, "✅ Accepted", message=stale)
    answer = await group.press_data(olha, PModCb(a="review", id=first, st="published").pack(), message=stale)
    assert (await proposal(harness, first)).status == "accepted"
    assert "Someone else changed this proposal" in answer["text"]  # type: ignore[index]

    # A resident cannot press the moderators' buttons.
    group.add_member(carl)
    answer = await group.press(carl, "🚫 Reject", message=card(group, first))
    assert answer["text"] == "Only moderators can do this."  # type: ignore[index]

    async with harness.db() as s:
        total, by_district, _ = await proposals_service.counts(s)
        supports = (await s.scalars(select(ProposalSupport))).all()
    assert (total.proposed, total.published, total.accepted, total.realised) == (4, 3, 1, 0)
    assert len(supports) == 5  # #1: Dana, Ben, Carl; #2 keeps its record: Ben, Dana


async def test_organisations_representatives_act_for_them_until_removed(harness: Harness) -> None:
    group = moderators_group(harness)
    await moderator(harness, group, 6101, "Olha")
    admin = await register(harness, ADMIN_ID, "Admin")
    await admin.send("/neworg")
    await admin.send("G" * 130)
    assert "at most 120 characters" in admin.last.text
    await admin.send("Kherson Greens & Co")
    await admin.send("We plant trees in yards.")
    await admin.press("➕ Українська")                                   # translations as in every wizard
    await admin.send("Херсонські зелені\nСадимо дерева у дворах.")
    await admin.press("Continue ➡️")
    await admin.send("+380 50 000 00 00")
    await admin.press(admin.buttons()[0])
    assert admin.buttons()[0].startswith("☑️")
    await admin.press("Done ✅")
    assert "Kherson Greens &amp; Co" in admin.last.html and "is in the network now" in admin.last.text

    iryna = await register(harness, 6201, "Iryna")
    taras = await register(harness, 6202, "Taras", lang="uk")
    await iryna.send("/orgs")
    assert "1 organisation" in iryna.last.text
    await iryna.press("Kherson Greens & Co")
    assert "We plant trees in yards." in iryna.last.text and "0 members in the bot" in iryna.last.text
    answer = await iryna.press("🎙 I represent it")
    assert answer["text"] == ("Thank you. An admin will confirm that you represent «Kherson Greens & Co»; "  # type: ignore[index]
                              "I will tell you.")
    answer = await iryna.press_data("org:rep:1:0:0:", message=iryna.last)  # asking twice
    assert "already asked" in answer["text"]  # type: ignore[index]
    await iryna.press("🚪 Leave")
    await iryna.press("🎙 I represent it")  # asked again the same day: the admins are not asked twice
    await iryna.send("/newpoll")
    assert "not available to you" in iryna.last.text  # not confirmed yet
    request = await harness.fake.wait_for(lambda: next((m for m in admin.messages if "says they represent" in m.text), None))
    assert sum("says they represent" in m.text for m in admin.messages) == 1
    await admin.press("✅ Confirm", message=request)
    assert "now represents" in admin.last.text
    await news(harness, iryna, "confirmed representative")
    answer = await admin.press_data("org:ok:1:0:%d:" % (await _user_id(harness, 6201)), message=request)
    assert answer["text"] == "Already decided by another admin."  # type: ignore[index]

    # She announces on its behalf: residents read who it is from, in their language.
    await iryna.send("/announce")
    await iryna.send("Planting day on Saturday")
    await iryna.press("Continue ➡️")
    await iryna.press("Continue ➡️")
    assert any("🏢 From: Kherson Greens & Co" in m.text for m in iryna.messages[-3:])  # the preview shows it
    await iryna.press(next(b for b in iryna.buttons() if b.startswith("✅ Send to")))
    heard = await news(harness, taras, "Planting day on Saturday")
    assert uk(harness, "🏢 From: {organisation}").format(organisation="Херсонські зелені") in heard.text
    async with harness.db() as s:
        mine = (await s.scalars(select(Campaign).where(Campaign.kind == "announcement"))).one()
    assert mine.org_id == 1
    await iryna.send("/announce")  # one more, for later: it will not go out once the organisation left
    await iryna.send("Autumn planting")
    await iryna.press("Continue ➡️")
    await iryna.press("Continue ➡️")
    await iryna.press("🕒 Schedule for later")
    later = datetime.now(ZoneInfo("Europe/Kyiv")) + timedelta(days=2)
    await iryna.send(f"{later:%d.%m.%Y} 10:30")
    await iryna.press(next(b for b in iryna.buttons() if b.startswith("✅ Schedule for")))

    # A proposal on its behalf; then the organisation leaves the network mid-draft.
    number = await propose(iryna, "Trees for the school yard", org="🏢 Kherson Greens & Co")
    assert "Iryna" not in card(group, number).text and "Kherson Greens &amp; Co" in card(group, number).html
    await iryna.send("/propose")
    for text in ("More trees on Suvorova", PROBLEM, SOLUTION):
        await iryna.send(text)
    await iryna.press(iryna.buttons()[0])
    await iryna.press("Safety")
    await iryna.press("Skip")
    await iryna.press("Skip")
    await iryna.press("🏢 Kherson Greens & Co")
    assert "From: Kherson Greens &amp; Co" in iryna.last.html

    await admin.send("/orgs")
    await admin.press("Kherson Greens & Co")
    await admin.press("🗑 Remove from the network")
    await admin.press("🗑 Yes, remove")
    await news(harness, iryna, "was removed from the network")
    async with harness.db() as s:
        statuses = [c.status for c in await s.scalars(
            select(Campaign).where(Campaign.kind == "announcement").order_by(Campaign.id))]
    assert statuses == ["done", "cancelled"]
    review = next(m for m in reversed(iryna.messages) if "Please check your proposal" in m.text)
    await iryna.press("✅ Send to the moderators", message=review)
    assert "You no longer represent «Kherson Greens & Co»" in iryna.messages[-2].text
    assert iryna.buttons() == ["👤 Myself"]
    await iryna.press("👤 Myself")
    await iryna.press("✅ Send to the moderators")
    assert "went to the moderators" in iryna.last.text
    await iryna.send("/announce")
    assert "not available to you" in iryna.last.text
    await iryna.send("/orgs")
    assert "No organisations yet" in iryna.last.text

    async with harness.db() as s:
        total, _, by_org = await proposals_service.counts(s)
        proposals = (await s.scalars(select(Proposal).order_by(Proposal.id))).all()
        member = await s.get(OrgMember, (1, await _user_id(harness, 6201)))
        assert (await s.get(Organisation, 1)).removed_at is not None  # type: ignore[union-attr]
    assert [p.org_id for p in proposals] == [1, None] and total.proposed == 2
    assert by_org[1][1].proposed == 1 and by_org[1][0]["uk"] == "Херсонські зелені"
    assert member is not None and member.status == "confirmed"  # the record stays; the role went


async def _user_id(h: Harness, tg_id: int) -> int:
    async with h.db() as s:
        user = (await s.scalars(select(User).where(User.telegram_id == tg_id))).one()
        return user.id


async def test_list_pages_filters_and_order_by_support(harness: Harness) -> None:
    anna = await register(harness, 6001, "Anna")
    async with harness.db() as s:
        author = (await s.scalars(select(User).where(User.telegram_id == 6001))).one()
        backers = [User(telegram_id=7000 + i, language="en", topics=[], registered_at=author.registered_at)
                   for i in range(7)]
        s.add_all(backers)
        await s.flush()
        for i in range(7):  # proposal i has i supporters; odd ones are on the Island
            p = await proposals_service.submit(s, author, proposals_service.ProposalDraft(
                title=f"Idea number {i}", problem=PROBLEM, solution=SOLUTION,
                district="ostriv" if i % 2 else "korabelnyi", category="other"), None,
                now=utcnow() - timedelta(days=7 - i))  # at most five a day
            await proposals_service.act(s, p.id, "publish", proposals_service.Actor(None, "M"), expected="submitted")
            for backer in backers[:i]:
                await proposals_service.support(s, p.id, backer)
        await s.commit()
    await anna.send("/proposals")
    assert "7 proposals, the most supported first. Page 1 of 2." in anna.last.text
    assert [b.split(" ·")[0][2:] for b in anna.buttons()[:5]] == [f"Idea number {i}" for i in (6, 5, 4, 3, 2)]
    await anna.press("▶️")
    assert "Page 2 of 2" in anna.last.text and anna.buttons()[0].endswith("Idea number 1 · 👍 1")
    await anna.press("📍 District")
    await anna.press("Ostriv (the Island)")
    assert "Showing: Ostriv (the Island)" in anna.last.text and "3 proposals" in anna.last.text
    assert [b.split(" ·")[0][2:] for b in anna.buttons()[:3]] == ["Idea number 5", "Idea number 3", "Idea number 1"]
    await anna.press("🔎 Status")
    await anna.press("🎉 Realised")
    assert "No proposals here yet" in anna.last.text and "Ostriv (the Island), 🎉 Realised" in anna.last.text


async def test_card_of_a_proposal_submitted_by_a_mediator_says_so(harness: Harness) -> None:
    group = moderators_group(harness)
    olha = await moderator(harness, group, 6101, "Olha")
    anna = await register(harness, 6001, "Anna")
    number = await propose(anna)
    assert "mediator" not in card(group, number).text
    async with harness.db() as s:  # as if a mediator without a name or username had submitted it for someone
        mediator = User(telegram_id=6202, language="en", topics=[])
        s.add(mediator)
        await s.flush()
        found = await s.get(Proposal, number)
        assert found is not None
        found.assisted_by = mediator.id
        await s.commit()
        mediator_id = mediator.id
    await group.press(olha, "📣 Publish", message=card(group, number))
    text = card(group, number).text
    assert (f"🤝 Submitted with a mediator's help for an offline resident (mediator: R-{mediator_id})"
            in text.split("\n"))
    assert "From: R-" in text and "Anna" not in text
