"""Exports for organizers and the city: CSV files and Open311 GeoReport v2 JSON. No aiogram here.

CSV is UTF-8 with a byte order mark, so spreadsheet programs open Cyrillic correctly. Personal
data (a reporter's or author's name) is in admins' exports only, and a reporter's name only when
they allowed moderators to see it; the others get the pseudonym or nothing. Times are ISO 8601
in the community's time zone, with the offset.

What a community mediator did for an offline resident is marked: an ``assisted`` column (yes/no)
on reports and proposals, counts of assisted answers on events and polls, and a table of the
offline residents themselves (their codes, never names or phones).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from storage.models import (
    Event,
    EventRsvp,
    Organisation,
    Poll,
    PollResponse,
    Proposal,
    ProposalSupport,
    Report,
    ReportPhoto,
    User,
)

BOM = "\ufeff"
OPEN311_OPEN = ("new", "accepted", "in_progress", "reopened")


def local(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else ""


def yes_no(value: object) -> str:
    return "yes" if value else "no"


@dataclass
class Table:
    name: str  # the file's and the sheet's name
    header: list[str]
    rows: list[list[Any]]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula (OWASP)


def csv_safe(value: Any) -> Any:
    """A text cell that starts like a formula gets a leading apostrophe (OWASP's advice for CSV
    injection): LibreOffice and Excel show it as text and never run it. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_safe(v) for v in table.header])
    writer.writerows([csv_safe("" if v is None else v) for v in row] for row in table.rows)
    return out.getvalue().encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(table.name[:31])
    sheet.append(table.header)
    for row in table.rows:
        sheet.append([_cell(sheet, v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(sheet: Any, value: Any) -> Any:
    """Text is stored as a string cell (type ``s``, with the quote-prefix style for text that starts
    like a formula), never as a formula, and as typed: no apostrophe added. Control characters,
    which XLSX cannot hold, are dropped (what residents type is already cleaned on the way in)."""
    if not isinstance(value, str):
        return value
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    if value.startswith(FORMULA_START):
        cell.quotePrefix = True
    return cell


async def _people(session: AsyncSession, ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id: u for u in await session.scalars(select(User).where(User.id.in_(ids)))}


async def reports(session: AsyncSession, community: Community, tz: ZoneInfo, locale: str,
                  personal: bool) -> Table:
    reports = list(await session.scalars(select(Report).order_by(Report.id)))
    photos = dict((await session.execute(
        select(ReportPhoto.report_id, func.count()).group_by(ReportPhoto.report_id))).all())
    people = await _people(session, {r.user_id for r in reports if r.user_id}) if personal else {}
    header = ["number", "created", "updated", "status", "category", "category_name", "district", "district_name",
              "description", "address", "latitude", "longitude", "photos", "reason", "routed_to", "duplicate_of",
              "assisted"]
    if personal:
        header.append("reporter")
    rows = []
    for r in reports:
        category = community.category(r.category)
        row = [r.id, local(r.created_at, tz), local(r.updated_at, tz), r.status, r.category,
               category.name(locale) if category else r.category, r.district or "",
               community.district_name(r.district, locale) if r.district else "", r.description, r.address,
               r.latitude, r.longitude, photos.get(r.id, 0), r.reason, r.routed_to, r.duplicate_of,
               yes_no(r.assisted_by)]
        if personal:
            person = people.get(r.user_id or 0)
            alias = r.alias or ""  # the report's own pseudonym: it links no two reports
            row.append(alias if person is None or not r.show_identity else (person.display_name or alias))
        rows.append(row)
    return Table("reports", header, rows)


async def proposals(session: AsyncSession, community: Community, tz: ZoneInfo, locale: str,
                    personal: bool) -> Table:
    proposals = list(await session.scalars(select(Proposal).order_by(Proposal.id)))
    orgs = {o.id: o for o in await session.scalars(select(Organisation))}
    people = await _people(session, {p.user_id for p in proposals if p.user_id}) if personal else {}
    header = ["number", "title", "status", "district", "district_name", "category", "budget", "supporters",
              "progress", "organisation", "problem", "proposal", "submitted", "published", "accepted", "realised",
              "reason", "duplicate_of", "assisted"]
    if personal:
        header.append("author")
    rows = []
    for p in proposals:
        org = orgs.get(p.org_id or 0)
        row = [p.id, p.title, p.status, p.district or "", community.district_name(p.district, locale) if p.district
               else "", p.category, p.budget, p.supporters, p.progress,
               (org.name.get(locale) or next(iter(org.name.values()), "")) if org else "", p.problem, p.solution,
               local(p.created_at, tz), local(p.published_at, tz), local(p.accepted_at, tz),
               local(p.realised_at, tz), p.reason, p.duplicate_of, yes_no(p.assisted_by)]
        if personal:
            person = people.get(p.user_id or 0)
            row.append((person.display_name or p.alias or "") if person else "")
        rows.append(row)
    return Table("proposals", header, rows)


async def events(session: AsyncSession, tz: ZoneInfo, locale: str) -> Table:
    """Every event with its answers, attendance and feedback (no names: counts only)."""
    from bot.services import events as events_service

    items = list(await session.scalars(select(Event).order_by(Event.starts_at, Event.id)))
    tallies = await events_service.tallies(session, [e.id for e in items])
    orgs = {o.id: o for o in await session.scalars(select(Organisation))}
    assisted = await _assisted_counts(session, EventRsvp, EventRsvp.event_id)
    header = ["number", "kind", "title", "starts", "ends", "place", "capacity", "status", "organisation", "going",
              "maybe", "cannot", "waitlist", "attended", "walk_ins", "feedback_answers", "feedback_average",
              "assisted_answers"]
    rows = []
    for e in items:
        t = tallies[e.id]
        org = orgs.get(e.org_id or 0)
        rows.append([e.id, e.kind, _pick(e.title, locale, e.default_locale), local(e.starts_at, tz),
                     local(e.ends_at, tz), e.venue or e.online_url or "", e.capacity, e.status,
                     _pick(org.name, locale, "") if org else "", t.going, t.maybe, t.no, t.waitlist, t.attended,
                     t.walkin, t.feedback, round(t.score, 2) if t.score is not None else None,
                     assisted.get(e.id, 0)])
    return Table("events", header, rows)


async def poll_results(session: AsyncSession, community: Community, locale: str, min_group: int) -> Table:
    """Each poll's answers per option (or scale value), in all and per district, with the same
    protection of small groups as the results in the chat; never per person, free texts not
    included (only how many wrote one)."""
    from bot.services import polls as polls_service

    header = ["poll", "title", "status", "participants", "assisted_participants", "question", "question_text",
              "kind", "answer", "group", "answered", "count", "percent"]
    rows: list[list[Any]] = []
    assisted = await _assisted_counts(session, PollResponse, PollResponse.poll_id)
    for poll in await session.scalars(select(Poll).order_by(Poll.id)):
        result = await polls_service.results(session, poll, min_group)
        title = _pick(poll.title, locale, poll.default_locale)
        for n, q in enumerate(result.questions, 1):
            base = [poll.id, title, poll.status, result.participants, assisted.get(poll.id, 0), n,
                    _pick(q.text, locale, poll.default_locale), q.kind]
            if q.kind == "text":
                rows.append([*base, "", "all", q.answered, q.answered, None])
                continue
            labels = ([_pick(o, locale, poll.default_locale) for o in q.options] if q.kind != "scale"
                      else [str(v) for v in polls_service.SCALE])
            groups = [("all", q.answered, q.counts)] + [
                (community.district_name(g.code, locale) if g.code else "other", g.answered, g.counts)
                for g in q.by_district]
            for group, answered, counts in groups:
                for label, count in zip(labels, counts, strict=True):
                    rows.append([*base, label, group, answered, count,
                                 round(100 * count / answered, 1) if answered else None])
    return Table("poll results", header, rows)


async def discussion_results(session: AsyncSession, locale: str, min_group: int) -> Table:
    """Each discussion's approved statements with their votes in all and per opinion group (groups
    have at least ``min_group`` people by construction), common ground and divisive marks; never
    per person, authors not named."""
    from bot.services import discussions as discussions_service
    from storage.models import Discussion

    header = ["discussion", "question", "status", "participants", "statement", "text", "from", "group", "people",
              "votes", "agree", "disagree", "pass", "agree_percent", "common_ground", "divisive"]
    rows: list[list[Any]] = []
    for discussion in await session.scalars(select(Discussion).order_by(Discussion.id)):
        analysis = await discussions_service.results(session, discussion, min_group)
        base = [discussion.id, _pick(discussion.question, locale, discussion.default_locale), discussion.status,
                analysis.participants]
        for s in sorted(analysis.statements, key=lambda s: s.id):
            slices = [("all", analysis.participants, s.tally)] + [
                (f"group {chr(ord('A') + n)}", g.size, s.by_group[n]) for n, g in enumerate(analysis.groups)]
            for group, people, t in slices:
                rows.append([*base, s.id, s.text, "organizer" if s.seed else "resident", group, people, t.votes,
                             t.agree, t.disagree, t.passed, round(100 * t.agree / t.votes, 1) if t.votes else None,
                             s.consensus, s.divisive])
    return Table("discussion results", header, rows)


async def _assisted_counts(session: AsyncSession, model: Any, key: Any) -> dict[int, int]:
    """How many of a table's rows a mediator made for an offline resident, per ``key`` (an event, a poll)."""
    return {k: int(n) for k, n in await session.execute(
        select(key, func.count()).where(model.assisted_by.is_not(None)).group_by(key))}


async def offline_residents(session: AsyncSession, community: Community, tz: ZoneInfo, locale: str) -> Table:
    """The residents community mediators registered in person: code, district, language, the day,
    whether they linked their own Telegram account since, and how many things a mediator did for
    them (reports, proposals, event answers, supports and answers to polls that are not anonymous:
    an anonymous answer is linked to no one). No names, no phones: organizers read this."""
    people = list(await session.scalars(select(User).where(
        User.code.is_not(None), User.mediator_id.is_not(None), User.deleted_at.is_(None))
        .order_by(User.registered_at, User.id)))
    actions: dict[int, int] = {}
    for model in (Report, Proposal, EventRsvp, ProposalSupport, PollResponse):
        for user_id, n in await session.execute(
                select(model.user_id, func.count()).where(  # type: ignore[attr-defined]
                    model.assisted_by.is_not(None), model.user_id.is_not(None))  # type: ignore[attr-defined]
                .group_by(model.user_id)):  # type: ignore[attr-defined]
            actions[user_id] = actions.get(user_id, 0) + int(n)
    header = ["code", "district", "district_name", "language", "registered", "linked", "assisted_actions"]
    rows = [[u.code, u.district or "", community.district_name(u.district, locale) if u.district else "", u.language,
             u.registered_at.astimezone(tz).date().isoformat() if u.registered_at else "",
             yes_no(u.telegram_id is not None or u.linked_at is not None), actions.get(u.id, 0)] for u in people]
    return Table("offline residents", header, rows)


def _pick(texts: dict[str, Any], locale: str, default: str) -> str:
    return texts.get(locale) or texts.get(default) or next(iter(texts.values()), "")


def open311_services(community: Community, locale: str) -> list[dict[str, Any]]:
    """GeoReport v2 service list: one service per report category."""
    return [{"service_code": c.code, "service_name": c.name(locale), "description": c.name(locale),
             "metadata": False, "type": "realtime", "keywords": "", "group": ""} for c in community.categories]


async def open311_requests(session: AsyncSession, community: Community, tz: ZoneInfo,
                           locale: str) -> list[dict[str, Any]]:
    """GeoReport v2 service requests (withdrawn reports are not requests any more). No media_url:
    a Telegram file link would carry the bot's token. No names: Open311 has no place for them."""
    out = []
    for r in await session.scalars(select(Report).where(Report.status != "withdrawn").order_by(Report.id)):
        category = community.category(r.category)
        notes = {"rejected": r.reason, "duplicate": f"duplicate of {r.duplicate_of}" if r.duplicate_of else None}
        out.append({
            "service_request_id": str(r.id),
            "status": "open" if r.status in OPEN311_OPEN else "closed",
            "status_notes": notes.get(r.status) or r.status.replace("_", " "),
            "service_name": category.name(locale) if category else r.category,
            "service_code": r.category,
            "description": r.description,
            "agency_responsible": r.routed_to or "",
            "service_notice": "",
            "requested_datetime": local(r.created_at, tz),
            "updated_datetime": local(r.updated_at, tz),
            "expected_datetime": "",
            "address": r.address or "",
            "address_id": "",
            "zipcode": "",
            "lat": r.latitude,
            "long": r.longitude,
        })
    return out
