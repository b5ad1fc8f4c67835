"""Aggregated input for organizers: impact figures for a period, the digest and the data of the
recommendations report for the council. No aiogram here: this returns numbers, a web page or a
spreadsheet could show them as well as the bot does.

Definitions (the same in /stats, the digest and the council report):

* residents: people who finished registration and have not deleted their data;
* organisations participating: those in the network at the period's end (not removed), and of
  them the active ones: they made a poll, an event, an announcement or a proposal in the period;
* events held: not cancelled, started in the period (and not in the future); participants are
  the different people checked in at them;
* proposals: proposed in the period (not withdrawn), accepted and realised in the period;
* reports received in the period (not withdrawn) and resolved in it (a report's first
  resolution); resolution time runs from the report to that resolution, first response from
  the report to the first moderator's action or message to the reporter;
* poll participation: people who answered the polls that started in the period, out of those
  the invitation reached and the offline residents a mediator asked in person (their answers are
  marked assisted; they get no invitation, having no Telegram);
* offline residents (registered in person by a community mediator, bot/services/mediators.py) are
  residents like any other and counted in every figure above; ``assisted`` shows them apart:
  how many there are, and what mediators did for them in the period (reports and proposals made
  in it, not withdrawn; poll answers, event answers and supports given in it), by how many
  different mediators (those who acted for someone or registered someone in the period).
"""
from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import campaigns as campaigns_service
from bot.services import events as events_service
from bot.services import polls as polls_service
from bot.services import proposals as proposals_service
from bot.services import recommendations as recommendations_service
from bot.services.errors import DomainError
from storage.models import (
    Campaign,
    Delivery,
    DigestSubscription,
    Event,
    EventRsvp,
    Organisation,
    Poll,
    PollResponse,
    Proposal,
    ProposalSupport,
    Report,
    ReportEvent,
    User,
    UserRole,
)

PRESETS = ("7d", "30d", "month", "prev", "year", "all")
EARLIEST = date(2000, 1, 1)
RESPONSES = ("accept", "progress", "resolve", "reject", "duplicate", "route", "to_reporter")
TOP = 5


# -- periods ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC. ``code`` says how to ask for the same days again (yyyymmdd-yyyymmdd,
    short enough for callback data); ``clamped``: the asked start was before the first data."""

    start: datetime
    end: datetime
    code: str
    clamped: bool = False

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


_DATE = r"(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\.\d{1,2}\.\d{4})"
_RANGE = re.compile(rf"^\s*{_DATE}\s*(?:\.\.|–|—|-|\s)\s*{_DATE}\s*$")
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$|^\s*(\d{1,2})\.(\d{4})\s*$")
_YEAR = re.compile(r"^\s*(\d{4})\s*$")
_CODE = re.compile(r"^(\d{8})-(\d{8})$")


def _day(text: str) -> date:
    if "-" in text:
        y, m, d = (int(p) for p in text.split("-"))
    else:
        d, m, y = (int(p) for p in text.split("."))
    return date(y, m, d)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def parse_period(text: str, now: datetime, tz: ZoneInfo, first: datetime | None = None) -> Period:
    """A preset (7d, 30d, month, prev = last month, year, all), or typed: ``2026-01-01 2026-03-31``,
    ``01.01.2026 - 31.03.2026`` (both days included), a month ``2026-03`` / ``03.2026`` or a year
    ``2026``. The end is cut at ``now`` and the start at ``first`` (the first data), so a huge
    period is simply everything there is.

    Raises DomainError: period_format, period_order (the end before the start), period_future.
    """
    text = (text or "").strip().lower()
    local_now = now.astimezone(tz)
    today = local_now.date()
    start_day: date | None
    try:
        if text in ("", "30d"):
            text, start_day, end_day = "30d", today - timedelta(days=29), today
        elif text == "7d":
            start_day, end_day = today - timedelta(days=6), today
        elif text == "month":
            start_day, end_day = today.replace(day=1), today
        elif text == "prev":
            end_day = today.replace(day=1) - timedelta(days=1)
            start_day = end_day.replace(day=1)
        elif text == "year":
            start_day, end_day = today.replace(month=1, day=1), today
        elif text == "all":
            start_day, end_day = None, today
        elif match := _CODE.match(text):
            start_day = datetime.strptime(match[1], "%Y%m%d").date()
            end_day = datetime.strptime(match[2], "%Y%m%d").date()
        elif match := _RANGE.match(text):
            start_day, end_day = _day(match[1]), _day(match[2])
        elif match := _MONTH.match(text):
            year, month = (int(match[1]), int(match[2])) if match[1] else (int(match[4]), int(match[3]))
            start_day = date(year, month, 1)
            end_day = (start_day + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        elif match := _YEAR.match(text):
            start_day, end_day = date(int(match[1]), 1, 1), date(int(match[1]), 12, 31)
        else:
            raise DomainError("period_format")
    except (ValueError, OverflowError):
        raise DomainError("period_format") from None
    if start_day is not None and end_day < start_day:
        raise DomainError("period_order")
    if start_day is not None and start_day > today:
        raise DomainError("period_future")
    end_day = min(end_day, today)  # a year 9999 or 0001 is just "everything there is"
    start_day = max(start_day, EARLIEST) if start_day is not None else None
    end = min(_local_midnight(end_day + timedelta(days=1), tz), now)
    start = _local_midnight(start_day or (first or now).astimezone(tz).date(), tz)
    clamped = False
    if first is not None and start < first < end:
        clamped = start_day is not None and first - start > timedelta(days=1)
        start = max(start, _local_midnight(first.astimezone(tz).date(), tz))
    # the days themselves, also for a preset: "last month" chosen on 30 November and confirmed
    # on 1 December is still October
    shown_end = (max(end, start) - timedelta(microseconds=1)).astimezone(tz).date()
    code = f"{start.astimezone(tz).date():%Y%m%d}-{max(shown_end, start.astimezone(tz).date()):%Y%m%d}"
    return Period(start, max(end, start), code, clamped)


async def first_data(session: AsyncSession) -> datetime | None:
    """When the platform's first record was made (a registration, a report, an organisation)."""
    found = [await session.scalar(select(func.min(User.created_at))),
             await session.scalar(select(func.min(Report.created_at))),
             await session.scalar(select(func.min(Organisation.created_at)))]
    found = [f for f in found if f is not None]
    return min(found) if found else None


# -- impact figures --------------------------------------------------------------------------------


ASSISTED_COUNTS = ("offline_new", "reports", "poll_answers", "rsvps", "proposals", "supports")


@dataclass
class Assisted:
    """Participation with a community mediator's help (see the definitions above)."""

    offline_total: int = 0  # offline residents registered by mediators, at the period's end
    offline_new: int = 0  # of them registered in the period
    reports: int = 0
    poll_answers: int = 0
    rsvps: int = 0
    proposals: int = 0
    supports: int = 0
    mediators: int = 0  # different mediators active in the period

    @property
    def actions(self) -> int:
        return self.reports + self.poll_answers + self.rsvps + self.proposals + self.supports

    def counts(self) -> dict[str, int]:
        """What was done in the period, by kind (registrations first), as the texts list them."""
        return {name: getattr(self, name) for name in ASSISTED_COUNTS}


@dataclass
class Figures:
    period: Period
    orgs_total: int = 0
    orgs_active: int = 0
    residents_total: int = 0
    residents_new: int = 0
    by_district: list[tuple[str | None, int]] = field(default_factory=list)  # all residents, largest first
    by_language: list[tuple[str, int]] = field(default_factory=list)
    events_held: int = 0
    participants: int = 0  # different people checked in
    attendances: int = 0  # check-ins in all
    proposals: proposals_service.Counts = field(default_factory=proposals_service.Counts)
    reports_received: int = 0
    reports_resolved: int = 0
    reports_by_category: list[tuple[str, int]] = field(default_factory=list)  # received, largest first
    reports_by_district: list[tuple[str | None, int]] = field(default_factory=list)
    median_resolution: timedelta | None = None
    median_first_response: timedelta | None = None
    polls: int = 0
    poll_invited: int = 0
    poll_answered: int = 0
    assisted: Assisted = field(default_factory=Assisted)
    # submitted, answered, accepted, implemented in the period; the median time to an answer
    recommendations: recommendations_service.Counts = field(default_factory=recommendations_service.Counts)

    @property
    def participation(self) -> float | None:
        if not self.poll_invited:
            return None
        return min(self.poll_answered / self.poll_invited, 1.0)

    @property
    def quiet(self) -> bool:
        """Nothing happened in the period (the totals of the network may still be there)."""
        p = self.proposals
        r = self.recommendations
        return not (self.residents_new or self.orgs_active or self.events_held or p.proposed or p.accepted
                    or p.realised or self.reports_received or self.reports_resolved or self.polls
                    or r.submitted or r.answered or r.implemented)


def _ranked(rows: Any) -> list[Any]:
    return sorted(((code, int(n)) for code, n in rows if n), key=lambda r: (-r[1], r[0] or ""))


def _median(values: list[timedelta]) -> timedelta | None:
    return statistics.median(values) if values else None


async def _active_orgs(session: AsyncSession, period: Period) -> set[int]:
    active: set[int] = set()
    for model in (Poll, Event, Campaign, Proposal):
        query = select(model.org_id).where(  # type: ignore[attr-defined]
            model.org_id.is_not(None), model.created_at >= period.start,  # type: ignore[attr-defined]
            model.created_at < period.end).distinct()  # type: ignore[attr-defined]
        if model is Proposal:
            query = query.where(Proposal.status != "withdrawn")
        active.update(await session.scalars(query))
    return active


async def held_events(session: AsyncSession, period: Period, now: datetime) -> list[Event]:
    return list(await session.scalars(
        select(Event).where(Event.status != "cancelled", Event.starts_at >= period.start,
                            Event.starts_at < min(period.end, now)).order_by(Event.starts_at, Event.id)))


async def _report_times(session: AsyncSession, period: Period) -> tuple[list[timedelta], list[timedelta], int]:
    """(resolution times of the reports first resolved in the period, first-response times of
    the reports received in it, how many were resolved)."""
    first_of = func.min(ReportEvent.created_at)  # one aggregate join each (plans well on both databases)
    resolution = [at - created for created, at in await session.execute(
        select(Report.created_at, first_of).join(ReportEvent, ReportEvent.report_id == Report.id)
        .where(ReportEvent.action == "resolve").group_by(Report.id, Report.created_at)
        .having(first_of >= period.start).having(first_of < period.end))]
    first = [at - created for created, at in await session.execute(
        select(Report.created_at, first_of).join(ReportEvent, ReportEvent.report_id == Report.id)
        .where(ReportEvent.action.in_(RESPONSES), Report.created_at >= period.start, Report.created_at < period.end,
               Report.status != "withdrawn").group_by(Report.id, Report.created_at))]
    return resolution, first, len(resolution)


# what a mediator may do for an offline resident, and when each was done
ASSISTED_ROWS: tuple[tuple[str, Any, Any], ...] = (
    ("reports", Report, Report.created_at), ("poll_answers", PollResponse, PollResponse.created_at),
    ("rsvps", EventRsvp, EventRsvp.created_at), ("proposals", Proposal, Proposal.created_at),
    ("supports", ProposalSupport, ProposalSupport.created_at),
)


async def assisted(session: AsyncSession, since: datetime, until: datetime) -> Assisted:
    """Offline residents (at ``until``) and what mediators did for them in [since, until)."""
    out = Assisted()
    offline = (User.mediator_id.is_not(None), User.registered_at.is_not(None), User.deleted_at.is_(None),
               User.registered_at < until)
    out.offline_total = await session.scalar(select(func.count()).select_from(User).where(*offline)) or 0
    registered = list(await session.execute(select(User.mediator_id, func.count()).where(
        *offline, User.registered_at >= since).group_by(User.mediator_id)))
    out.offline_new = sum(int(n) for _m, n in registered)
    mediators = {m for m, _n in registered}
    for name, model, when in ASSISTED_ROWS:
        where = [model.assisted_by.is_not(None), when >= since, when < until]
        if model in (Report, Proposal):
            where.append(model.status != "withdrawn")
        rows = list(await session.execute(select(model.assisted_by, func.count()).where(*where)
                                          .group_by(model.assisted_by)))
        setattr(out, name, sum(int(n) for _m, n in rows))
        mediators.update(m for m, _n in rows)
    out.mediators = len(mediators)
    return out


async def figures(session: AsyncSession, period: Period, now: datetime) -> Figures:
    out = Figures(period)
    start, end = period.start, period.end
    network = set(await session.scalars(select(Organisation.id).where(
        Organisation.created_at < end, (Organisation.removed_at.is_(None)) | (Organisation.removed_at >= end))))
    out.orgs_total = len(network)
    out.orgs_active = len(network & await _active_orgs(session, period))

    resident = (User.registered_at.is_not(None), User.deleted_at.is_(None), User.registered_at < end)
    out.residents_total = await session.scalar(select(func.count()).select_from(User).where(*resident)) or 0
    out.residents_new = await session.scalar(select(func.count()).select_from(User).where(
        *resident, User.registered_at >= start)) or 0
    out.by_district = _ranked(await session.execute(
        select(User.district, func.count()).where(*resident).group_by(User.district)))
    out.by_language = _ranked(await session.execute(
        select(User.language, func.count()).where(*resident).group_by(User.language)))

    held = [e.id for e in await held_events(session, period, now)]
    out.events_held = len(held)
    if held:
        attended = (EventRsvp.event_id.in_(held), EventRsvp.attended_at.is_not(None))
        out.attendances = await session.scalar(select(func.count()).select_from(EventRsvp).where(*attended)) or 0
        out.participants = await session.scalar(
            select(func.count(func.distinct(EventRsvp.user_id))).where(*attended)) or 0

    out.proposals = (await proposals_service.counts(session, since=start, until=end))[0]

    received = (Report.created_at >= start, Report.created_at < end, Report.status != "withdrawn")
    out.reports_received = await session.scalar(select(func.count()).select_from(Report).where(*received)) or 0
    out.reports_by_category = _ranked(await session.execute(
        select(Report.category, func.count()).where(*received).group_by(Report.category)))
    out.reports_by_district = _ranked(await session.execute(
        select(Report.district, func.count()).where(*received).group_by(Report.district)))
    resolution, first, out.reports_resolved = await _report_times(session, period)
    out.median_resolution, out.median_first_response = _median(resolution), _median(first)

    polls = list(await session.execute(select(Poll.id, Poll.campaign_id).where(
        Poll.created_at >= start, Poll.created_at < end)))
    out.polls = len(polls)
    invited = {p: c for p, c in polls if c is not None}  # sent out: the rate is of those the invitation reached
    if invited:
        out.poll_invited = await session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.campaign_id.in_(invited.values()), Delivery.user_id.is_not(None),
            Delivery.status == "sent")) or 0
        out.poll_answered = await session.scalar(select(func.count()).select_from(PollResponse).where(
            PollResponse.poll_id.in_(invited), PollResponse.completed_at.is_not(None))) or 0
        # offline residents get no invitation: the mediator who asked them reached them
        out.poll_invited += await session.scalar(select(func.count()).select_from(PollResponse).where(
            PollResponse.poll_id.in_(invited), PollResponse.completed_at.is_not(None),
            PollResponse.assisted_by.is_not(None))) or 0
    out.assisted = await assisted(session, start, end)
    out.recommendations = await recommendations_service.counts(session, start, end, limit=0)
    return out


# -- the recommendations report --------------------------------------------------------------------


@dataclass
class CouncilData:
    figures: Figures
    hotspots: list[tuple[str, str | None, int]]  # (category, district, reports), most first
    open_reports: int
    polls: list[polls_service.Results]  # polls that ran in the period, closed ones first
    proposals: list[Proposal]  # the most supported public ones
    events: list[tuple[Event, events_service.Tally]]


async def council(session: AsyncSession, period: Period, now: datetime, min_group: int,
                  limit: int = 10) -> CouncilData:
    data = CouncilData(await figures(session, period, now), [], 0, [], [], [])
    received = (Report.created_at >= period.start, Report.created_at < period.end, Report.status != "withdrawn")
    rows = await session.execute(select(Report.category, Report.district, func.count()).where(*received)
                                 .group_by(Report.category, Report.district))
    data.hotspots = sorted(((c, d, int(n)) for c, d, n in rows), key=lambda r: (-r[2], r[0], r[1] or ""))[:limit]
    data.open_reports = await session.scalar(select(func.count()).select_from(Report).where(
        *received, Report.status.in_(("new", "accepted", "in_progress", "reopened")))) or 0
    polls = list(await session.scalars(
        select(Poll).where(Poll.created_at >= period.start, Poll.created_at < period.end)
        .order_by(Poll.closed_at.is_(None), Poll.created_at, Poll.id).limit(limit)))
    data.polls = [await polls_service.results(session, poll, min_group) for poll in polls]
    data.proposals = list(await session.scalars(
        select(Proposal).where(Proposal.status.in_(proposals_service.PUBLIC), Proposal.published_at < period.end)
        .order_by(Proposal.supporters.desc(), Proposal.id).limit(limit)))
    held = await held_events(session, period, now)
    tallies = await events_service.tallies(session, [e.id for e in held])
    data.events = [(e, tallies[e.id]) for e in held]
    return data


# -- the digest ------------------------------------------------------------------------------------

FREQUENCIES = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
CATCH_UP = 4  # after downtime a digest reaches back at most this many periods


def digest_key(frequency: str, now: datetime, tz: ZoneInfo, hour: int, weekday: int
               ) -> tuple[str, datetime, datetime]:
    """The campaign key of the latest digest due by ``now``, its moment and the moment of the one
    before (UTC; a day or a week earlier on the local clock, so a clock change neither repeats
    nor skips an hour): daily at ``hour`` local time, weekly on ``weekday`` (0 = Monday)."""
    local = now.astimezone(tz)
    due = datetime.combine(local.date(), time(hour), tzinfo=tz)
    if frequency == "weekly":
        due -= timedelta(days=(local.weekday() - weekday) % 7)
    if due > local:
        due -= FREQUENCIES[frequency]
    iso = due.isocalendar()
    label = f"{iso.year}-W{iso.week:02d}" if frequency == "weekly" else f"{due:%Y-%m-%d}"
    before = datetime.combine(due.date() - FREQUENCIES[frequency], time(hour), tzinfo=tz)
    return f"digest:{frequency}:{label}", due.astimezone(UTC), before.astimezone(UTC)


def _title(names: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (names or {}).items()}


def _headline(result: polls_service.Results) -> dict[str, Any] | None:
    """The first choice or scale question's leading answer."""
    for q in result.questions:
        if q.kind == "scale" and q.mean is not None:
            return {"question": q.text, "mean": round(q.mean, 1), "answered": q.answered}
        if q.kind in polls_service.CHOICE_KINDS and q.answered and any(q.counts):
            best = max(range(len(q.counts)), key=lambda i: (q.counts[i], -i))
            return {"question": q.text, "option": q.options[best], "share": round(100 * q.counts[best] / q.answered),
                    "answered": q.answered}
    return None


async def digest(session: AsyncSession, since: datetime, until: datetime, now: datetime, min_group: int,
                 limit: int = TOP) -> dict[str, Any]:
    """What the digest says, as JSON (kept in the campaign, rendered in each reader's language).
    Sections with nothing in them are left out."""
    period = Period(since, until, "digest")
    out: dict[str, Any] = {"since": since.isoformat(), "until": until.isoformat()}
    received = (Report.created_at >= since, Report.created_at < until, Report.status != "withdrawn")
    new = list(await session.execute(select(Report.category, Report.district).where(*received)))
    open_rows = list(await session.scalars(select(Report.category).where(
        Report.status.in_(("new", "accepted", "in_progress", "reopened")))))
    resolution, first, resolved = await _report_times(session, period)
    if new or open_rows or resolved:
        out["reports"] = {
            "new": len(new), "resolved": resolved, "open": len(open_rows),
            "new_by_category": Counter(c for c, _d in new).most_common(limit),
            "new_by_district": Counter(d for _c, d in new).most_common(limit),
            "open_by_category": Counter(open_rows).most_common(limit),
            "first_response_h": _hours(_median(first)), "resolution_h": _hours(_median(resolution)),
        }
    closed = list(await session.scalars(select(Poll).where(Poll.closed_at >= since, Poll.closed_at < until)
                                        .order_by(Poll.closed_at, Poll.id).limit(limit)))
    if closed:
        out["polls"] = []
        for poll in closed:
            result = await polls_service.results(session, poll, min_group)
            out["polls"].append({"id": poll.id, "title": _title(poll.title), "participants": result.participants,
                                 "headline": _headline(result)})
    horizon = now + FREQUENCIES["weekly" if until - since > timedelta(days=1) else "daily"] * 2
    upcoming = list(await session.scalars(select(Event).where(
        Event.status != "cancelled", Event.starts_at >= now, Event.starts_at < horizon)
        .order_by(Event.starts_at, Event.id).limit(limit)))
    past = [e for e in await held_events(session, period, now)][-limit:]
    tallies = await events_service.tallies(session, [e.id for e in upcoming + past])
    if upcoming:
        out["upcoming"] = [{"id": e.id, "title": _title(e.title), "starts_at": e.starts_at.isoformat(),
                            "going": tallies[e.id].going, "waitlist": tallies[e.id].waitlist,
                            "capacity": e.capacity} for e in upcoming]
    if past:
        out["held"] = [{"id": e.id, "title": _title(e.title), "starts_at": e.starts_at.isoformat(),
                        "going": tallies[e.id].going, "attended": tallies[e.id].attended,
                        "feedback": tallies[e.id].feedback,
                        "score": round(tallies[e.id].score, 1) if tallies[e.id].score is not None else None}
                       for e in past]
    mine = Proposal.status != "withdrawn"
    new_proposals = list(await session.execute(select(Proposal.id, Proposal.title).where(
        mine, Proposal.created_at >= since, Proposal.created_at < until).order_by(Proposal.id)))
    top = list(await session.execute(select(Proposal.id, Proposal.title, Proposal.supporters).where(
        Proposal.status.in_(proposals_service.SUPPORTABLE), Proposal.supporters > 0)
        .order_by(Proposal.supporters.desc(), Proposal.id).limit(3)))
    if new_proposals or top:
        out["proposals"] = {"new": len(new_proposals), "new_titles": [list(r) for r in new_proposals[:3]],
                            "top": [list(r) for r in top]}
    recs = await recommendations_service.counts(session, since, until, limit=3)
    if recs.submitted or recs.answered or recs.implemented or recs.waiting:
        out["recommendations"] = {
            "submitted": recs.submitted, "answered": recs.answered, "accepted": recs.accepted,
            "implemented": recs.implemented,
            # those waiting for the council's answer longest (since when, and to whom)
            "waiting": [{"id": r.id, "title": _title(r.title), "submitted_at": r.submitted_at.isoformat(),
                         "body": r.body} for r in recs.waiting if r.submitted_at is not None],
        }
    helped = await assisted(session, since, until)
    if helped.offline_new or helped.actions:
        out["assisted"] = {**helped.counts(), "mediators": helped.mediators}
    return out


def _hours(value: timedelta | None) -> float | None:
    return round(value.total_seconds() / 3600, 1) if value is not None else None


async def _since(session: AsyncSession, frequency: str, before: datetime, due: datetime) -> datetime:
    """Where a digest due at ``due`` starts: where the last one of its kind ended (a day the bot
    was down is not lost), at most CATCH_UP periods back; ``before`` when there was none."""
    last = await session.scalar(select(Campaign.payload).where(
        Campaign.kind == DIGEST_KIND, Campaign.key.like(f"digest:{frequency}:%")).order_by(Campaign.id.desc()).limit(1))
    if last and last.get("data", {}).get("until"):
        return min(before, max(datetime.fromisoformat(last["data"]["until"]), due - FREQUENCIES[frequency] * CATCH_UP))
    return before


async def preview_digest(session: AsyncSession, frequency: str, now: datetime, tz: ZoneInfo, *, hour: int,
                         weekday: int, min_group: int) -> dict[str, Any]:
    """The next digest of ``frequency`` as it stands now (the campaign payload it would have, and
    ``next_at``, when it goes): from where the last one ended (or the latest due moment) until now.
    Nothing is queued."""
    if frequency not in FREQUENCIES:
        raise DomainError("digest_frequency")
    _key, due, _before = digest_key(frequency, now, tz, hour, weekday)
    _key, next_at, _before = digest_key(frequency, now + FREQUENCIES[frequency], tz, hour, weekday)
    last = await session.scalar(select(Campaign.payload).where(
        Campaign.kind == DIGEST_KIND, Campaign.key.like(f"digest:{frequency}:%")).order_by(Campaign.id.desc()).limit(1))
    since = datetime.fromisoformat(last["data"]["until"]) if last and last.get("data", {}).get("until") else due
    since = max(min(since, now), due - FREQUENCIES[frequency] * CATCH_UP)
    return {"frequency": frequency, "data": await digest(session, since, now, now, min_group),
            "next_at": next_at.isoformat()}


# -- digest subscriptions and the job that queues the digests --------------------------------------

DIGEST_KIND = "digest"


async def subscription(session: AsyncSession, chat_id: int) -> DigestSubscription | None:
    return await session.get(DigestSubscription, chat_id)


async def subscribe(session: AsyncSession, chat_id: int, user_id: int | None, frequency: str | None,
                    set_by: int | None, now: datetime) -> None:
    """Set how often this chat gets the digest (None: not at all)."""
    if frequency is not None and frequency not in FREQUENCIES:
        raise DomainError("digest_frequency")
    row = await session.get(DigestSubscription, chat_id)
    if frequency is None:
        if row is not None:
            await session.delete(row)
    elif row is None:
        session.add(DigestSubscription(chat_id=chat_id, user_id=user_id, frequency=frequency, since=now,
                                       set_by=set_by))
    elif row.frequency != frequency:
        row.frequency, row.since, row.set_by = frequency, now, set_by
    await session.flush()


async def _readers(session: AsyncSession, frequency: str, due: datetime, admin_ids: list[int],
                   organizers_chat_id: int | None) -> tuple[list[int], list[int]]:
    """(users.id, group chat ids) of those who get this digest: organizers and admins still
    holding the role, and the organizers' chat while it is the configured one."""
    rows = list(await session.execute(
        select(DigestSubscription.chat_id, User).outerjoin(User, User.id == DigestSubscription.user_id)
        .where(DigestSubscription.frequency == frequency, DigestSubscription.since <= due)))
    if not rows:  # the common case on every due check: nobody gets this digest
        return [], []
    organizers = set(await session.scalars(select(UserRole.user_id).where(UserRole.role == "organizer")))
    people, chats = [], []
    for chat_id, user in rows:
        if user is None:
            if chat_id == organizers_chat_id:
                chats.append(chat_id)
        elif user.deleted_at is None and (user.id in organizers or user.telegram_id in admin_ids):
            people.append(user.id)
    return sorted(people), sorted(chats)


async def queue_digests(session: AsyncSession, now: datetime, tz: ZoneInfo, *, hour: int, weekday: int,
                        min_group: int, admin_ids: list[int], organizers_chat_id: int | None,
                        ) -> list[Campaign]:
    """Create the digest campaigns due by ``now`` that are not there yet (the campaign key is
    the period's, e.g. ``digest:weekly:2026-W48``, so a repeated or late run, also after a
    restart, creates nothing twice). Returns the campaigns created now."""
    created = []
    for frequency in FREQUENCIES:
        key, due, before = digest_key(frequency, now, tz, hour, weekday)
        if await campaigns_service.get_campaign_by_key(session, key) is not None:
            continue
        people, chats = await _readers(session, frequency, due, admin_ids, organizers_chat_id)
        if not people and not chats:
            continue
        data = await digest(session, await _since(session, frequency, before, due), due, now, min_group)
        # residents=False: the organizers are not an audience to resolve; they are queued below by
        # users.id, so the engine skips anyone erased or unreachable and writes in their language
        campaign = await campaigns_service.create_campaign(
            session, kind=DIGEST_KIND, payload={"frequency": frequency, "data": data},
            audience=campaigns_service.Audience(residents=False, chat_ids=chats), key=key, now=now)
        if campaign.created_at == now and campaign.status == "scheduled":
            await campaigns_service.add_recipients(session, campaign.id, user_ids=people, now=now)
            created.append(campaign)
    return created
