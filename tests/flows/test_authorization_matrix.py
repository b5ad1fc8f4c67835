"""The authorization matrix (issue 18): every staff command and every staff button, sent by people
who must not use them, changes nothing in the database and gets a refusal or a silent ignore.

Nothing here is listed by hand except what residents may press: the commands come from the
command catalogue (bot.commands, which every feature fills in), the buttons from every
CallbackData factory the routers use, and their action values from the handlers' filters and the
keyboards' own buttons. A new staff command or button prefix is covered without editing this file.

Who tries:
- a resident, in a private chat;
- a member of the moderators' group who is not a moderator, in the group;
- a representative of organisation 2, on the objects of organisation 1 (every id 1 is theirs);
- a mediator, on a resident another mediator registered.

Silent ignores (documented): a group command from a non-moderator in the group is not answered
(the group is not spammed); a button of a wizard step nobody is in answers "no longer active".
"""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiogram.filters.callback_data import CallbackData
from sqlalchemy import select

from bot.commands import COMMANDS
from bot.services import campaigns as campaigns_service
from bot.services import events as events_service
from bot.services import mediators as mediators_service
from bot.services import orgs as orgs_service
from bot.services import polls as polls_service
from bot.services import reports as reports_service
from bot.services import users as users_service
from storage.models import Base, Event, Poll, Report, utcnow
from tests.delivery_helpers import resident
from tests.flows.reports_helpers import moderators_group
from handlers.moderation.cards import post_card
from tests.harness import Harness

ROOT = Path(__file__).resolve().parents[2]
# What anyone registered may press (their own reports, votes, events, proposals, discussions, the
# registration and profile pickers, a link confirmation); everything else is staff. A prefix with
# both kinds lists its resident actions.
RESIDENT_PREFIXES = {"lang", "pick", "rep", "myr", "pv", "ev", "pw", "pj", "dc", "lk", "rv"}
RESIDENT_ACTIONS = {"org": {"list", "show", "member", "rep", "leave", "done", "d"},
                    "wg": {"join", "leave", "page"}}
# Tables a refused update may still touch, and why: none. (Kept as a set so a reason can be added.)
MAY_CHANGE: set[str] = {"handled_updates"}  # the record that an update was handled (bot/updates.py)
APOLOGY = "went wrong"


def factories() -> dict[str, type[CallbackData]]:
    import importlib
    import pkgutil

    import handlers

    # every feature module imported, so every factory is defined (not build_router(): that would
    # take the feature routers away from the running bot's dispatcher)
    for module in pkgutil.walk_packages(handlers.__path__, "handlers."):
        importlib.import_module(module.name)
    found: dict[str, type[CallbackData]] = {}
    stack = list(CallbackData.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if getattr(cls, "__prefix__", None):
            found[cls.__prefix__] = cls
    return found


def known_values() -> dict[tuple[str, str], set[str]]:
    """(factory name, field) -> the literal values the handlers filter on and the keyboards emit."""
    values: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in (ROOT / "handlers").rglob("*.py"):
        src = path.read_text(encoding="utf-8")
        for m in re.finditer(r"(\w+Cb)\.filter\(|(\w+Cb)\(", src):
            name = m.group(1) or m.group(2)
            i, depth = m.end(), 1
            j = i
            while depth and j < len(src):
                depth += {"(": 1, ")": -1}.get(src[j], 0)
                j += 1
            body = src[i:j - 1]
            for field, value in re.findall(r'F\.(\w+)\s*==\s*"([^"]*)"', body):
                values[(name, field)].add(value)
            for field, group in re.findall(r'F\.(\w+)\.in_\(\s*[\{\(\[]([^\}\)\]]*)', body):
                values[(name, field)].update(re.findall(r'"([^"]*)"', group))
            for field, value in re.findall(r'\b(\w+)="([^"]*)"', body):
                values[(name, field)].add(value)
    return values


def staff_presses() -> list[str]:
    """Every staff button: each action value of each staff factory, ids 1."""
    values = known_values()
    out: list[str] = []
    for prefix, cls in sorted(factories().items()):
        if prefix in RESIDENT_PREFIXES:
            continue
        fields = list(cls.model_fields.items())
        str_fields = [name for name, f in fields if f.annotation is str]
        choices = sorted(values.get((cls.__name__, str_fields[0]), set()) or {"x"}) if str_fields else [""]
        for choice in choices:
            if choice in RESIDENT_ACTIONS.get(prefix, set()):
                continue
            kwargs: dict[str, Any] = {}
            for name, f in fields:
                if f.annotation is int:
                    kwargs[name] = 1
                elif name == (str_fields[0] if str_fields else None):
                    kwargs[name] = choice
                else:
                    kwargs[name] = sorted(values.get((cls.__name__, name), set()) or {""})[0]
            data = cls(**kwargs).pack()
            if len(data.encode()) <= 64:
                out.append(data)
    return out


async def snapshot(h: Harness) -> dict[str, str]:
    out = {}
    async with h.db() as s:
        for table in Base.metadata.sorted_tables:
            if table.name in MAY_CHANGE:
                continue
            rows = (await s.execute(select(table))).all()
            out[table.name] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


async def _world(h: Harness) -> dict[str, Any]:
    """Two organisations, a representative of the second, objects of the first (organisation 1,
    poll 1, event 1, campaign 1), a report and an offline resident of another mediator."""
    now = utcnow()
    reporter = await resident(h, 8001)
    rep = await resident(h, 8002)
    member = await resident(h, 8003)
    mediator_a = await resident(h, 8004)
    mediator_b = await resident(h, 8005)
    h.user(8006, first_name="Plain", language_code="en")
    plain = await resident(h, 8006)
    async with h.db() as s:
        one = await orgs_service.create(s, orgs_service.OrgDraft(name={"en": "Greens One"}), None, now)
        two = await orgs_service.create(s, orgs_service.OrgDraft(name={"en": "Water Two"}), None, now)
        rep_user = await users_service.by_id(s, rep)
        assert rep_user is not None
        await orgs_service.join(s, two.id, rep_user, orgs_service.REPRESENTATIVE, now)
        await orgs_service.decide(s, two.id, rep_user.id, True, None, now)
        for uid in (mediator_a, mediator_b):
            user = await users_service.by_id(s, uid)
            assert user is not None
            await s.refresh(user, ["roles"])
            await users_service.grant_role(s, user, "mediator", None)
        a = await users_service.by_id(s, mediator_a)
        assert a is not None
        offline = await mediators_service.register(s, a, name="Hanna", district="ostriv", language="uk",
                                                   phone=None, now=now)
        poll = await polls_service.create_poll(s, polls_service.PollDraft(questions=[polls_service.QuestionDraft(
            kind="single", text={"en": "Where?"}, options=[{"en": "A"}, {"en": "B"}])],
            closes_at=now + timedelta(days=7)), default_locale="en", created_by=None, now=now)
        event = await events_service.create_event(s, events_service.EventDraft(
            kind="workshop", title={"en": "Water talk"}, starts_at=now + timedelta(days=3),
            ends_at=now + timedelta(days=3, hours=1), venue="Hall"), default_locale="en", created_by=None, now=now)
        (await s.get(Poll, poll.id)).org_id = one.id  # type: ignore[union-attr]
        (await s.get(Event, event.id)).org_id = one.id  # type: ignore[union-attr]
        campaign = await campaigns_service.create_campaign(
            s, kind="announcement", payload={"texts": {"en": "Hi"}}, audience=campaigns_service.Audience(),
            send_at=now + timedelta(days=1), now=now)
        campaign.org_id = one.id
        reporter_user = await users_service.by_id(s, reporter)
        assert reporter_user is not None
        await reports_service.create(s, reporter_user, reports_service.Draft(
            category="roads", description="A deep pothole here"), per_hour=10)
        await s.commit()
        return {"rep": rep, "member": member, "mediator_b": mediator_b, "offline": offline.id, "plain": plain,
                "poll": poll.id, "event": event.id}


def _answered(answer: dict | None) -> bool:
    return answer is not None and APOLOGY not in (answer.get("text") or "").lower()


async def test_staff_commands_from_people_without_the_role_change_nothing(harness: Harness) -> None:
    await _world(harness)
    group = moderators_group(harness)
    plain, member = harness.fake.user(8006), harness.fake.user(8003)
    group.add_member(member)
    staff = [c for c in COMMANDS if c.roles]
    assert len(staff) >= 10, [c.name for c in staff]
    before = await snapshot(harness)
    for command in staff:
        for text in (f"/{command.name}", f"/{command.name} 1"):
            if command.where == "private":
                await plain.send(text)
                assert "not available to you" in plain.last.text, (text, plain.last.text)
            else:
                sent = len(harness.fake.bot_messages(group.id))
                await group.send(member, text)
                replies = harness.fake.bot_messages(group.id)[sent:]
                assert all(APOLOGY not in m.text for m in replies), (text, [m.text for m in replies])
                assert all("not available" in m.text or "only for" in m.text or "moderator" in m.text.lower()
                           for m in replies), (text, [m.text for m in replies])
                await plain.send(text)
                assert APOLOGY not in plain.last.text, text
    assert not changed(before, await snapshot(harness))


async def _tap(h: Harness, press: Any, data: str) -> dict | None:
    """Press, then wait (up to 0.3 s after the fake settled) for the bot's answer to this query."""
    import asyncio

    before = len(h.fake.callback_answers)
    answer = await press(data)
    for _ in range(6):
        if answer is not None:
            return answer
        await asyncio.sleep(0.05)
        await h.fake.settle()
        answer = next((a for a in h.fake.callback_answers[before:]), None)
    return answer


async def test_staff_buttons_from_people_without_the_role_change_nothing(harness: Harness) -> None:
    world = await _world(harness)
    group = moderators_group(harness)
    plain, member, rep = harness.fake.user(8006), harness.fake.user(8003), harness.fake.user(8002)
    mediator_b = harness.fake.user(8005)
    group.add_member(member)
    for who in (plain, rep, mediator_b):
        await who.send("/help")
    async with harness.db() as s:  # a bot message in the group to press the forged buttons on
        report = await s.get(Report, 1)
        assert report is not None and harness.app is not None
        app = harness.app
        app.i18n.set_current(app.i18n)
        with app.i18n.use_locale("en"):
            await post_card(app.bot, s, report, app.settings, app.community, app.i18n)
        await s.commit()
    await harness.fake.settle()
    presses = staff_presses()
    prefixes = {data.split(":")[0] for data in presses}
    assert {"mod", "pm", "ds", "md", "np", "ne", "ann", "cmp", "eo", "pl", "ex", "st", "dg", "act"} <= prefixes
    before = await snapshot(harness)
    unanswered: list[tuple[str, str]] = []
    tried = 0
    for data in presses:
        for actor, press in (
            ("resident", lambda d: plain.press_data(d, message=plain.messages[-1])),
            ("group member", lambda d: group.press_data(member, d, message=group.messages[-1])),
            ("representative of another organisation", lambda d: rep.press_data(d, message=rep.messages[-1])),
        ):
            answer = await _tap(harness, press, data)
            tried += 1
            if answer is None:
                unanswered.append((actor, data))
            else:
                assert APOLOGY not in (answer.get("text") or "").lower(), (actor, data, answer)
            after = await snapshot(harness)
            assert not changed(before, after), (actor, data, changed(before, after))
    # another mediator's resident, by a forged id (list, search and register name nobody: any
    # mediator may use them)
    for data in [p for p in presses if p.startswith("md:") and p.split(":")[1] not in ("l", "s", "r")]:
        forged = data.replace(":1:", f":{world['offline']}:", 1)
        answer = await _tap(harness, lambda d: mediator_b.press_data(d, message=mediator_b.messages[-1]), forged)
        tried += 1
        if answer is None:
            unanswered.append(("mediator", forged))
        assert not changed(before, await snapshot(harness)), forged
    assert not harness.failed_updates.failed
    assert not unanswered, f"{len(unanswered)} of {tried} forged presses got no answer: {unanswered}"
