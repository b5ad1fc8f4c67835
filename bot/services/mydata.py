"""/mydata made readable: the machine JSON of users.export_user with readable values (titles
instead of bare ids, names instead of codes, with the codes kept beside them as ``*_code``),
times in the community's time zone to the second, the full history of the person's reports, and
a note on what is deliberately not in it. No aiogram here: the caller gives ``label`` (a code's
name in the person's language) and the texts of the note; handlers/profile renders the
readable document from the same data.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from bot.services import reports as reports_service
from bot.services import users as users_service
from storage.models import (
    Discussion, Event, Organisation, Poll, Proposal, Recommendation, Report, ReportEvent, User,
)

Label = Callable[[str, Any], str]  # (domain, code) -> its name in the person's language
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?$")
# what moderators did that the reporter may read the words of: messages to them, their own words
_SHOWN_TEXT = ("info", "from_reporter", "to_reporter", "reject", "duplicate", "route")


def _pick(texts: Any, locale: str, default: str | None = None) -> Any:
    """A {locale: text} dict -> the text in ``locale``; anything else as it is."""
    if isinstance(texts, dict) and texts and all(isinstance(k, str) and len(k) <= 8 for k in texts):
        return texts.get(locale) or (texts.get(default) if default else None) or next(iter(texts.values()))
    return texts


def local_times(value: Any, tz: ZoneInfo) -> Any:
    """Every ISO time in ``value`` in the community's time zone, to the second, with its offset."""
    if isinstance(value, dict):
        return {k: local_times(v, tz) for k, v in value.items()}
    if isinstance(value, list):
        return [local_times(v, tz) for v in value]
    if isinstance(value, str) and _ISO.match(value):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(tz).isoformat(timespec="seconds")
    return value


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


def _coded(item: dict[str, Any], key: str, domain: str, label: Label) -> None:
    """item[key] = its readable name, item[key_code] = the code (both kept, code second)."""
    code = item.get(key)
    if code is None or isinstance(code, bool):
        return
    item[key] = label(domain, code)
    item[f"{key}_code"] = code


async def report_history(session: AsyncSession, user: User, label: Label) -> list[dict[str, Any]]:
    """Everything that happened to the person's reports (moderators not named; the words of an
    entry only where they were meant for the reporter or are the reporter's), and what the
    person did on other reports."""
    own = select(Report.id).where(Report.user_id == user.id)
    rows = await session.scalars(select(ReportEvent).where(
        (ReportEvent.report_id.in_(own)) | reports_service._by_person(user)).order_by(ReportEvent.id))
    out = []
    for e in rows:
        item: dict[str, Any] = {"report": e.report_id, "action": label("report_action", e.action),
                                "action_code": e.action, "status": label("report_status", e.new_status)
                                if e.new_status else None, "status_code": e.new_status,
                                "by": label("actor", "you" if e.actor_id == user.id else "moderators"),
                                "text": e.detail if e.action in _SHOWN_TEXT else None, "at": _iso(e.created_at)}
        out.append(item)
    return out


async def export(session: AsyncSession, user: User, community: Community, tz: ZoneInfo, label: Label,
                 not_included: list[str]) -> dict[str, Any]:
    """The person's data, readable (see the module's docstring); ``not_included`` are the
    sentences of the note on what is deliberately left out."""
    locale = user.language or "en"
    data = await users_service.export_user(session, user)
    profile = data["profile"]
    _coded(profile, "language", "language", label)
    if profile.get("district"):
        profile["district_code"] = profile["district"]
        profile["district"] = community.district_name(profile["district"], locale)
    profile["topics"] = [label("topic", t) for t in profile.get("topics") or []]
    data["roles"] = [label("role", r) for r in data.get("roles") or []]
    for report in data.get("reports", []):
        category = community.category(report.get("category"))
        report["category_code"], report["category"] = report.get("category"), (
            category.name(locale) if category else report.get("category"))
        if report.get("district"):
            report["district_code"] = report["district"]
            report["district"] = community.district_name(report["district"], locale)
        _coded(report, "status", "report_status", label)
        if report.get("reason"):
            report["reason"] = label("reject_reason", report["reason"])
    data["report_history"] = await report_history(session, user, label)

    polls = {p.id: p for p in await session.scalars(select(Poll).where(
        Poll.id.in_({a["poll"] for a in data.get("poll_answers", [])})))} if data.get("poll_answers") else {}
    for answer in data.get("poll_answers", []):
        poll = polls.get(answer["poll"])
        default = poll.default_locale if poll else None
        answer["poll_title"] = _pick(poll.title, locale, default) if poll and poll.title else None
        answer["question"] = _pick(answer.get("question"), locale, default)
        answer["answer"] = _pick(answer.get("answer"), locale, default)

    event_ids = {e["event"] for e in data.get("events", [])}
    events = {e.id: e for e in await session.scalars(select(Event).where(Event.id.in_(event_ids)))} if event_ids else {}
    for item in data.get("events", []):
        event = events.get(item["event"])
        if event is not None:
            item["title"] = _pick(event.title, locale, event.default_locale)
            item["starts_at"] = _iso(event.starts_at)
        _coded(item, "answer", "event_answer", label)

    for item in data.get("organisations", []):
        item["organisation"] = _pick(item.get("organisation"), locale)
        _coded(item, "role", "org_role", label)
        _coded(item, "status", "org_status", label)

    discussion_ids = {d["discussion"] for d in data.get("discussion_statements", [])}
    discussions = {d.id: d for d in await session.scalars(select(Discussion).where(
        Discussion.id.in_(discussion_ids)))} if discussion_ids else {}
    for item in data.get("discussion_statements", []):
        discussion = discussions.get(item["discussion"])
        if discussion is not None:
            item["question"] = _pick(discussion.question, locale, discussion.default_locale)
        _coded(item, "status", "statement_status", label)

    orgs = {o.id: o for o in await session.scalars(select(Organisation))}
    for item in data.get("proposals", []):
        if item.get("district"):
            item["district_code"] = item["district"]
            item["district"] = community.district_name(item["district"], locale)
        _coded(item, "category", "proposal_category", label)
        _coded(item, "status", "proposal_status", label)
        org = orgs.get(item.pop("organisation_id", None) or 0)
        item["organisation"] = _pick(org.name, locale) if org else None
    supported = [s["proposal"] for s in data.get("supported_proposals", [])]
    titles = dict((await session.execute(select(Proposal.id, Proposal.title).where(Proposal.id.in_(supported)))).all()
                  ) if supported else {}
    for item in data.get("supported_proposals", []):
        item["title"] = titles.get(item["proposal"])
    rec_ids = {r["recommendation"] for key in ("supported_recommendations", "endorsed_recommendations")
               for r in data.get(key, [])}
    recs = {r.id: r for r in await session.scalars(select(Recommendation).where(
        Recommendation.id.in_(rec_ids)))} if rec_ids else {}
    for key in ("supported_recommendations", "endorsed_recommendations"):
        for item in data.get(key, []):
            rec = recs.get(item["recommendation"])
            item["title"] = _pick(rec.title, locale, rec.default_locale) if rec else None
            if "organisation_id" in item:
                org = orgs.get(item.pop("organisation_id") or 0)
                item["organisation"] = _pick(org.name, locale) if org else None

    data = local_times(data, tz)
    data["time_zone"] = str(tz)
    data["not_included"] = not_included
    return data
