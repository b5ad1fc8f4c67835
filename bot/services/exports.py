"""Exports for organizers and the city: CSV files and Open311 GeoReport v2 JSON. No aiogram here.

Each table goes two ways: XLSX for people (headers, values, sheet and file names in the
requester's language, real dates and numbers; ``to_xlsx``) and CSV for machines (the stable
English column keys and codes, UTF-8, the dialect in ``CSV_DIALECT``; ``to_csv``). Personal
data (a reporter's or author's name) is in admins' exports only, and a reporter's name only when
they allowed moderators to see it; the others get the pseudonym or nothing. Times are ISO 8601
in the community's time zone (with the offset in CSV).

What a community mediator did for an offline resident is marked: an ``assisted`` column (yes/no)
on reports and proposals, counts of assisted answers on events and polls, and a table of the
offline residents themselves (their codes, never names or phones).
"""
from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable
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
    ReportEvent,
    ReportPhoto,
    User,
)

OPEN311_OPEN = ("new", "accepted", "in_progress", "reopened")

# The machine CSV's dialect (README "Exports"): UTF-8 without a byte order mark, comma-separated,
# fields quoted with " only when needed (a " inside doubled), CRLF line ends, the first row the
# stable English column keys; times ISO 8601 with the community's offset, numbers with a dot,
# percentages as numbers of percent (26.7), yes/no as ``yes``/``no``, statuses and kinds as codes.
CSV_DIALECT = {"delimiter": ",", "quotechar": '"', "lineterminator": "\r\n", "quoting": csv.QUOTE_MINIMAL}


def local(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else ""


def yes_no(value: object) -> str:
    return "yes" if value else "no"


@dataclass(frozen=True)
class Column:
    """One column: its stable machine key (the CSV header) and what its values are.

    kind: ``int`` | ``float`` | ``percent`` (a number of percent, 26.7) | ``money`` | ``datetime``
    (an aware datetime) | ``date`` | ``bool`` | ``text`` | ``long`` (text worth wrapping) |
    ``code`` (a code people read translated: ``domain`` names the list, e.g. report_status)."""
    key: str
    kind: str = "text"
    domain: str = ""


@dataclass
class Table:
    name: str  # the machine file's name
    columns: list[Column]
    rows: list[list[Any]]
    period: tuple[datetime, datetime] | None = None  # the first and last date the rows speak of

    @property
    def header(self) -> list[str]:
        return [c.key for c in self.columns]


def _cols(spec: str) -> list[Column]:
    """'number:int created:datetime status:code:report_status ...' -> columns."""
    out = []
    for item in spec.split():
        key, _sep, rest = item.partition(":")
        kind, _sep, domain = rest.partition(":")
        out.append(Column(key, kind or "text", domain))
    return out


def _period(values: list[datetime | None]) -> tuple[datetime, datetime] | None:
    known = [_aware(v) for v in values if v is not None]
    return (min(known), max(known)) if known else None


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula (OWASP)


def csv_safe(value: Any) -> Any:
    """A text cell that starts like a formula gets a leading apostrophe (OWASP's advice for CSV
    injection): LibreOffice and Excel show it as text and never run it. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _machine(column: Column, value: Any, tz: ZoneInfo) -> Any:
    if value is None:
        return ""
    if column.kind == "datetime":
        return local(value, tz)
    if column.kind == "date":
        return value.isoformat()
    if column.kind == "bool":
        return yes_no(value)
    return value


def to_csv(table: Table, tz: ZoneInfo) -> bytes:
    """The file for machines: see CSV_DIALECT."""
    out = io.StringIO()
    writer = csv.writer(out, **CSV_DIALECT)  # type: ignore[arg-type]
    writer.writerow(table.header)
    writer.writerows([csv_safe(_machine(c, v, tz)) for c, v in zip(table.columns, row, strict=True)]
                     for row in table.rows)
    return out.getvalue().encode("utf-8")


@dataclass
class Sheet:
    """What makes a table readable for people, in their language (the handler fills it in from
    the catalogs): the sheet's title, a header per column key, a function giving a code's name
    (domain, code) -> text, the words for yes and no, the date formats and the currency."""
    title: str
    headers: dict[str, str]
    label: Callable[[str, Any], str]
    yes: str
    no: str
    datetime_format: str = "DD.MM.YYYY HH:MM"
    date_format: str = "DD.MM.YYYY"
    currency: str | None = None  # the symbol shown after budgets


WIDTH_MIN, WIDTH_MAX, WIDTH_LONG = 8, 45, 60


def to_xlsx(table: Table, sheet: Sheet, tz: ZoneInfo) -> bytes:
    """The file for people: translated headers and values, real date-time cells in the community's
    time zone, numbers as numbers, percent cells, budgets with their currency; a bold frozen header
    with a filter, columns fitted to their content, long texts wrapped. Text is always a string
    cell (never a formula); control characters, which XLSX cannot hold, are dropped."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    ws = book.active
    ws.title = _sheet_title(sheet.title)
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    widths = []
    shown_at = [i for i, c in enumerate(table.columns) if c.kind != "machine"]  # codes: CSV only
    columns = [table.columns[i] for i in shown_at]
    for n, column in enumerate(columns, 1):
        cell = ws.cell(row=1, column=n, value=sheet.headers.get(column.key, column.key))
        cell.font, cell.alignment = bold, Alignment(wrap_text=True, vertical="top")
        widths.append(min(max(len(str(cell.value)), WIDTH_MIN), WIDTH_MAX))
    money = '#,##0' + (f' "{sheet.currency}"' if sheet.currency else "")
    for r, full_row in enumerate(table.rows, 2):
        row = [full_row[i] for i in shown_at]
        for n, (column, value) in enumerate(zip(columns, row, strict=True), 1):
            shown, fmt, width = value, None, None
            if value is None or value == "":
                shown = None
            elif column.kind == "datetime":
                shown, fmt, width = value.astimezone(tz).replace(tzinfo=None), sheet.datetime_format, 16
            elif column.kind == "date":
                shown, fmt, width = value, sheet.date_format, 10
            elif column.kind == "percent":
                shown, fmt, width = value / 100, "0.0%", 7
            elif column.kind == "money":
                shown, fmt = value, money
                width = len(f"{value:,}") + (len(sheet.currency) + 1 if sheet.currency else 0)
            elif column.kind == "bool":
                shown = sheet.yes if value else sheet.no
            elif column.kind == "code":
                shown = sheet.label(column.domain, value)
            elif column.kind in ("text", "long"):
                shown = ILLEGAL_CHARACTERS_RE.sub("", str(value))
            cell = ws.cell(row=r, column=n)
            if isinstance(shown, str):
                cell.value = shown
                cell.data_type = "s"  # a string cell: never run, even if it starts with "="
                if shown.startswith(FORMULA_START):
                    cell.quotePrefix = True
                width = max(len(line) for line in shown.split("\n")) if shown else 0
            else:
                cell.value = shown
            if fmt:
                cell.number_format = fmt
            long = column.kind == "long" or (isinstance(shown, str) and len(shown) > WIDTH_MAX)
            cell.alignment = wrap if long else top
            if width is None:
                width = len(str(shown)) if shown is not None else 0
            widths[n - 1] = max(widths[n - 1], min(width + 1, WIDTH_MAX))
            if long:
                widths[n - 1] = max(widths[n - 1], WIDTH_LONG if column.kind == "long" else WIDTH_MAX)
    for n, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(n)].width = width + 2
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(len(table.rows) + 1, 2)}"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\."""
    for bad in "[]:*?/\\":
        title = title.replace(bad, " ")
    return title.strip()[:31] or "Sheet"


async def _people(session: AsyncSession, ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id: u for u in await session.scalars(select(User).where(User.id.in_(ids)))}


async def reports(session: AsyncSession, community: Community, tz: ZoneInfo, locale: str,
                  personal: bool) -> Table:
    """Every report with what the resident added to it later (``added_info``: each addition on a
    line of its own, with its local time)."""
    reports = list(await session.scalars(select(Report).order_by(Report.id)))
    photos = dict((await session.execute(
        select(ReportPhoto.report_id, func.count()).group_by(ReportPhoto.report_id))).all())
    added: dict[int, list[str]] = {}
    for report_id, when, detail in await session.execute(
            select(ReportEvent.report_id, ReportEvent.created_at, ReportEvent.detail)
            .where(ReportEvent.action == "info").order_by(ReportEvent.created_at, ReportEvent.id)):
        stamp = f"{_aware(when).astimezone(tz):%Y-%m-%d %H:%M}"
        added.setdefault(report_id, []).append(f"{stamp} {detail or ''}".strip())
    people = await _people(session, {r.user_id for r in reports if r.user_id}) if personal else {}
    columns = _cols("number:int created:datetime updated:datetime status:code:report_status category:machine "
                    "category_name district:machine district_name description:long added_info:long address "
                    "latitude:float longitude:float photos:int reason:code:reject_reason routed_to duplicate_of:int assisted:bool")
    if personal:
        columns.append(Column("reporter"))
    rows = []
    for r in reports:
        category = community.category(r.category)
        row = [r.id, r.created_at, r.updated_at, r.status, r.category,
               category.name(locale) if category else r.category, r.district,
               community.district_name(r.district, locale) if r.district else None, r.description,
               "\n".join(added.get(r.id, [])) or None, r.address, r.latitude, r.longitude, photos.get(r.id, 0),
               r.reason, r.routed_to, r.duplicate_of, r.assisted_by is not None]
        if personal:
            person = people.get(r.user_id or 0)
            alias = r.alias or ""  # the report's own pseudonym: it links no two reports
            row.append(alias if person is None or not r.show_identity else (person.display_name or alias))
        rows.append(row)
    return Table("reports", columns, rows, _period([r.created_at for r in reports]))


def _aware(value: datetime) -> datetime:
    from datetime import timezone

    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


async def proposals(session: AsyncSession, community: Community, tz: ZoneInfo, locale: str,
                    personal: bool) -> Table:
    proposals = list(await session.scalars(select(Proposal).order_by(Proposal.id)))
    orgs = {o.id: o for o in await session.scalars(select(Organisation))}
    people = await _people(session, {p.user_id for p in proposals if p.user_id}) if personal else {}
    columns = _cols("number:int title status:code:proposal_status district:machine district_name "
                    "category:code:proposal_category budget:money supporters:int progress:percent organisation "
                    "problem:long proposal:long submitted:datetime published:datetime accepted:datetime "
                    "realised:datetime reason:long duplicate_of:int assisted:bool")
    if personal:
        columns.append(Column("author"))
    rows = []
    for p in proposals:
        org = orgs.get(p.org_id or 0)
        row = [p.id, p.title, p.status, p.district, community.district_name(p.district, locale) if p.district
               else None, p.category, p.budget, p.supporters, p.progress,
               (org.name.get(locale) or next(iter(org.name.values()), "")) if org else None, p.problem, p.solution,
               p.created_at, p.published_at, p.accepted_at, p.realised_at, p.reason, p.duplicate_of,
               p.assisted_by is not None]
        if personal:
            person = people.get(p.user_id or 0)
            row.append((person.display_name or p.alias or "") if person else None)
        rows.append(row)
    return Table("proposals", columns, rows, _period([p.created_at for p in proposals]))


def event_status(event: Event, now: datetime) -> str:
    """What an event is now: cancelled, held (it has ended), under_way, or scheduled."""
    if event.status != "scheduled":
        return event.status
    if _aware(event.ends_at) <= now:
        return "held"
    return "under_way" if _aware(event.starts_at) <= now else "scheduled"


async def events(session: AsyncSession, tz: ZoneInfo, locale: str, now: datetime) -> Table:
    """Every event with its answers, attendance and feedback (no names: counts only)."""
    from bot.services import events as events_service

    items = list(await session.scalars(select(Event).order_by(Event.starts_at, Event.id)))
    tallies = await events_service.tallies(session, [e.id for e in items])
    orgs = {o.id: o for o in await session.scalars(select(Organisation))}
    assisted = await _assisted_counts(session, EventRsvp, EventRsvp.event_id)
    columns = _cols("number:int kind:code:event_kind title starts:datetime ends:datetime place speakers "
                    "capacity:int status:code:event_status organisation going:int maybe:int cannot:int "
                    "waitlist:int attended:int walk_ins:int feedback_answers:int feedback_average:float "
                    "assisted_answers:int")
    rows = []
    for e in items:
        t = tallies[e.id]
        org = orgs.get(e.org_id or 0)
        rows.append([e.id, e.kind, _pick(e.title, locale, e.default_locale), e.starts_at, e.ends_at,
                     e.venue or e.online_url or None, e.speakers or None, e.capacity, event_status(e, now),
                     _pick(org.name, locale, "") if org else None, t.going, t.maybe, t.no, t.waitlist, t.attended,
                     t.walkin, t.feedback, round(t.score, 2) if t.score is not None else None,
                     assisted.get(e.id, 0)])
    return Table("events", columns, rows, _period([e.starts_at for e in items]))


def poll_title(title: dict[str, Any] | None, first_question: dict[str, Any] | None, locale: str,
               default_locale: str) -> str:
    """The poll's title, or (a one-question poll has none) its question."""
    return _pick(title or {}, locale, default_locale) or _pick(first_question or {}, locale, default_locale)


async def poll_results(session: AsyncSession, community: Community, locale: str, min_group: int) -> Table:
    """Each poll's answers per option (or scale value), in all and per district, with the same
    protection of small groups as the results in the chat; never per person, free texts not
    included (only how many wrote one). ``group`` is ``all``, a district's code or ``other``."""
    from bot.services import polls as polls_service

    columns = _cols("poll:int title status:code:poll_status participants:int assisted_participants:int "
                    "question:int question_text:long kind:code:poll_kind answer group:code:group answered:int "
                    "count:int percent:percent")
    rows: list[list[Any]] = []
    assisted = await _assisted_counts(session, PollResponse, PollResponse.poll_id)
    dates: list[datetime | None] = []
    for poll in await session.scalars(select(Poll).order_by(Poll.id)):
        result = await polls_service.results(session, poll, min_group)
        title = poll_title(poll.title, result.questions[0].text if result.questions else None, locale,
                           poll.default_locale) or f"#{poll.id}"
        dates += [poll.created_at, poll.closes_at]
        for n, q in enumerate(result.questions, 1):
            base = [poll.id, title, poll.status, result.participants, assisted.get(poll.id, 0), n,
                    _pick(q.text, locale, poll.default_locale), q.kind]
            if q.kind == "text":
                rows.append([*base, None, "all", q.answered, q.answered, None])
                continue
            labels = ([_pick(o, locale, poll.default_locale) for o in q.options] if q.kind != "scale"
                      else [str(v) for v in polls_service.SCALE])
            groups = [("all", q.answered, q.counts)] + [
                (g.code or "other", g.answered, g.counts) for g in q.by_district]
            for group, answered, counts in groups:
                for label, count in zip(labels, counts, strict=True):
                    rows.append([*base, label, group, answered, count,
                                 round(100 * count / answered, 1) if answered else None])
    return Table("poll results", columns, rows, _period(dates))


async def discussion_results(session: AsyncSession, locale: str, min_group: int) -> Table:
    """Each discussion's approved statements with their votes in all and per opinion group (groups
    have at least ``min_group`` people by construction), common ground and divisive marks; never
    per person, authors not named. ``group`` is ``all`` or an opinion group's letter."""
    from bot.services import discussions as discussions_service
    from storage.models import Discussion

    columns = _cols("discussion:int question:long status:code:discussion_status participants:int statement:int "
                    "text:long from:code:author group:code:group people:int votes:int agree:int disagree:int "
                    "pass:int agree_percent:percent common_ground:bool divisive:bool")
    rows: list[list[Any]] = []
    dates: list[datetime | None] = []
    for discussion in await session.scalars(select(Discussion).order_by(Discussion.id)):
        analysis = await discussions_service.results(session, discussion, min_group)
        dates += [discussion.created_at, discussion.closes_at]
        base = [discussion.id, _pick(discussion.question, locale, discussion.default_locale), discussion.status,
                analysis.participants]
        for s in sorted(analysis.statements, key=lambda s: s.id):
            slices = [("all", analysis.participants, s.tally)] + [
                (chr(ord("A") + n), g.size, s.by_group[n]) for n, g in enumerate(analysis.groups)]
            for group, people, t in slices:
                rows.append([*base, s.id, s.text, "organizer" if s.seed else "resident", group, people, t.votes,
                             t.agree, t.disagree, t.passed, round(100 * t.agree / t.votes, 1) if t.votes else None,
                             bool(s.consensus), bool(s.divisive)])
    return Table("discussion results", columns, rows, _period(dates))


async def recommendations(session: AsyncSession, community: Community, tz: ZoneInfo, locale: str) -> Table:
    """Every recommendation to the council: where it stands, whom it is addressed to, who stands
    behind it (organisations by name, residents as a count), the council's answer and progress."""
    from storage.models import Recommendation, RecommendationEndorsement, RecommendationEvidence

    items = list(await session.scalars(select(Recommendation).order_by(Recommendation.id)))
    orgs = {o.id: o for o in await session.scalars(select(Organisation))}
    endorsed: dict[int, list[str]] = {}
    for rec_id, org_id in await session.execute(
            select(RecommendationEndorsement.recommendation_id, RecommendationEndorsement.org_id)
            .order_by(RecommendationEndorsement.created_at)):
        if (org := orgs.get(org_id)) is not None:
            endorsed.setdefault(rec_id, []).append(_pick(org.name, locale, ""))
    evidence = dict((await session.execute(
        select(RecommendationEvidence.recommendation_id, func.count())
        .group_by(RecommendationEvidence.recommendation_id))).all())
    columns = _cols("number:int title status:code:recommendation_status district:machine district_name "
                    "body:machine body_name problem:long proposal:long endorsing_organisations:long "
                    "endorsements:int supporters:int evidence:int created:datetime open_until:datetime "
                    "submitted:datetime submitted_how:code:recommendation_how answered:datetime "
                    "answer:code:recommendation_answer answer_text:long progress:percent closed:datetime "
                    "reason:long")
    rows = []
    for r in items:
        body = community.body(r.body)
        names = endorsed.get(r.id, [])
        rows.append([r.id, _pick(r.title, locale, r.default_locale), r.status, r.district,
                     community.district_name(r.district, locale) if r.district else None, r.body,
                     body.name(locale) if body else r.body, r.problem or None, r.proposal or None,
                     ", ".join(names) or None, len(names), r.supporters, evidence.get(r.id, 0), r.created_at,
                     r.open_until, r.submitted_at, r.submitted_how, r.answered_at, r.answer, r.answer_text,
                     r.progress if r.status in ("in_progress", "implemented") else None, r.closed_at, r.reason])
    return Table("recommendations", columns, rows, _period([r.created_at for r in items]))


# the tables /export offers (and the dashboard's Impact page), by the name their buttons and links use
TABLE_KINDS = ("reports", "proposals", "events", "polls", "discussions", "offline", "recommendations")


async def table(session: AsyncSession, what: str, community: Community, tz: ZoneInfo, locale: str, *,
                personal: bool, now: datetime, poll_min_group: int, discussion_min_group: int) -> Table:
    """One of TABLE_KINDS as a Table (``personal``: an admin's file, with names where allowed)."""
    if what == "reports":
        return await reports(session, community, tz, locale, personal)
    if what == "proposals":
        return await proposals(session, community, tz, locale, personal)
    if what == "events":
        return await events(session, tz, locale, now)
    if what == "polls":
        return await poll_results(session, community, locale, poll_min_group)
    if what == "discussions":
        return await discussion_results(session, locale, discussion_min_group)
    if what == "offline":
        return await offline_residents(session, community, tz, locale)
    if what == "recommendations":
        return await recommendations(session, community, tz, locale)
    raise ValueError(f"no such table: {what}")


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
    columns = _cols("code district:machine district_name language:code:language registered:date linked:bool "
                    "assisted_actions:int")
    rows = [[u.code, u.district, community.district_name(u.district, locale) if u.district else None, u.language,
             _aware(u.registered_at).astimezone(tz).date() if u.registered_at else None,
             u.telegram_id is not None or u.linked_at is not None, actions.get(u.id, 0)] for u in people]
    return Table("offline residents", columns, rows, _period([u.registered_at for u in people]))


def _pick(texts: dict[str, Any], locale: str, default: str) -> str:
    return texts.get(locale) or texts.get(default) or next(iter(texts.values()), "")


OPEN311_TEXT_MAX = 4000  # the spec: description is plain text of at most 4,000 characters
_TAG = re.compile(r"<[^>]{0,2000}>")


def plain_text(text: str | None, limit: int = OPEN311_TEXT_MAX) -> str | None:
    """Plain text as GeoReport v2 asks: no HTML tags, entities read, at most ``limit`` characters."""
    if not text:
        return None
    text = html.unescape(_TAG.sub("", text)).strip()
    if len(text) > limit:
        text = text[:limit - 1].rstrip() + "…"
    return text or None


def open311_services(community: Community, locale: str, describe: Callable[[str, str], str] | None = None
                     ) -> list[dict[str, Any]]:
    """GeoReport v2 service list: one service per report category. ``type`` is ``blackbox``: this
    is a file, not an endpoint that takes requests (residents report in the bot), so nobody may
    expect a request id back from submitting one. ``keywords`` are the category's names in the
    other languages; ``describe(name, community)`` gives the description (default: English)."""
    place = community.name(locale)
    out = []
    for c in community.categories:
        name = c.name(locale)
        others = sorted({n for n in c.names.values() if n != name})
        service: dict[str, Any] = {
            "service_code": c.code, "service_name": name,
            "description": describe(name, place) if describe else f"{name}: problems residents of {place} report",
            "metadata": False, "type": "blackbox"}
        if others:
            service["keywords"] = ", ".join(others)
        out.append(service)
    return out


async def open311_requests(session: AsyncSession, community: Community, tz: ZoneInfo, locale: str,
                           notes: Callable[[Report], str | None] | None = None) -> list[dict[str, Any]]:
    """GeoReport v2 service requests (withdrawn reports are not requests any more). What is unknown
    is left out (never ""). ``notes(report)`` gives the localized ``status_notes``. The district is
    part of ``address``. No media_url yet: a Telegram file link would carry the bot's token (a
    signed link from the bot's own web server comes with the dashboard). No names: Open311 has no
    place for them."""
    out = []
    for r in await session.scalars(select(Report).where(Report.status != "withdrawn").order_by(Report.id)):
        category = community.category(r.category)
        district = community.district_name(r.district, locale) if r.district else None
        address = ", ".join(part for part in (plain_text(r.address, 255), district) if part) or None
        item: dict[str, Any] = {
            "service_request_id": str(r.id),
            "status": "open" if r.status in OPEN311_OPEN else "closed",
            "status_notes": notes(r) if notes else None,
            "service_name": category.name(locale) if category else r.category,
            "service_code": r.category,
            "description": plain_text(r.description),
            "agency_responsible": plain_text(r.routed_to, 255),
            "requested_datetime": local(r.created_at, tz),
            "updated_datetime": local(r.updated_at, tz),
            "address": address,
            "lat": r.latitude,
            "long": r.longitude,
        }
        out.append({k: v for k, v in item.items() if v is not None and v != ""})
    return out
