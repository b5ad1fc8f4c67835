"""Recommendations to the council: from residents' evidence to the council's answer and what was
done. No aiogram here.

A recommendation is drafted by an organizer with evidence chosen from what the bot holds (a
discussion's common ground, a closed poll's result, report counts for a period, proposals with
their support, events with attendance). Each piece keeps the figures of the moment it was attached
(``snapshot``) and a reference, so the figures as they are now can be recomputed beside them.

Lifecycle: draft -> open (for support, until a date) -> adopted -> submitted (when, to whom, how)
-> answered (accepted | partly | rejected, the answer's text) -> in_progress (milestones with a
percentage) -> implemented, or not_implemented (with the reason). As for proposals, every step is
a conditional UPDATE on the status the organizer saw, so a stale or doubled tap changes nothing
(DomainError ``rec_changed``), and a step that is not a next one is refused (``rec_not_allowed``).

Organisations endorse through a confirmed representative (one endorsement per organisation) and
residents of its district (everyone for the whole community) support it once; both can be taken
back until it is submitted.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import discussions as discussions_service
from bot.services import events as events_service
from bot.services import orgs as orgs_service
from bot.services import polls as polls_service
from bot.services.campaigns import Audience, create_campaign, forget_finished_recipients, start_campaign
from bot.services.errors import DomainError
from bot.services.text import shorten
from storage.models import (
    Campaign,
    DiscussionParticipant,
    Event,
    EventRsvp,
    Organisation,
    Poll,
    PollResponse,
    Proposal,
    ProposalSupport,
    Recommendation,
    RecommendationEndorsement,
    RecommendationEvidence,
    RecommendationStep,
    RecommendationSupport,
    Report,
    ReportEvent,
    User,
    iso,
    utcnow,
)

STATUSES = ("draft", "open", "adopted", "submitted", "answered", "in_progress", "implemented", "not_implemented")
FINAL = ("implemented", "not_implemented")
SUPPORTABLE = ("open",)
REVOCABLE = ("open", "adopted")  # support and endorsements can be taken back until submission
ENDORSABLE = ("open", "adopted")
ANSWERS = ("accepted", "partly", "rejected")
HOW = ("letter", "session", "meeting")
EVIDENCE_KINDS = ("discussion", "poll", "reports", "proposal", "event")
REPORT_DAYS = (30, 90, 365)
LIMITS = {"title": 160, "text": 2000, "problem": 1500, "proposal": 1500}
NOTE_MAX = 1500
OPEN_DAYS = (7, 14, 30)
COMMON_MAX = 5  # common-ground statements kept in a discussion's snapshot
EVIDENCE_MAX = 10  # pieces of evidence per recommendation
# action -> (statuses it may start from, the status it leads to)
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "open": (("draft",), "open"),
    "adopt": (("open",), "adopted"),
    "submit": (("adopted",), "submitted"),
    "answer": (("submitted",), "answered"),
    "start": (("answered",), "in_progress"),
    "milestone": (("in_progress",), "in_progress"),
    "implement": (("answered", "in_progress"), "implemented"),
    "fail": (("answered", "in_progress"), "not_implemented"),
}
# the steps residents and the endorsing organisations are told of
NEWS = ("submitted", "answered", "implemented", "not_implemented")
NEWS_KIND = "recommendation-news"
OPEN_KIND = "recommendation"


def next_actions(rec: Recommendation) -> list[str]:
    """The steps an organizer may take now, in the order the buttons show them."""
    out = [a for a, (starts, _target) in ACTIONS.items() if rec.status in starts]
    if rec.answer == "rejected":
        out = [a for a in out if a not in ("start", "implement")]
    return out


# -- input checks --------------------------------------------------------------------------------


def clean_text(name: str, text: str | None) -> str:
    value = (text or "").strip()
    if name == "title":
        value = " ".join(value.split())
    if len(value) < 3:
        raise DomainError("rec_too_short", min=3)
    if len(value) > LIMITS[name]:
        raise DomainError("rec_too_long", max=LIMITS[name], length=len(value))
    return value


def clean_note(text: str | None) -> str:
    value = (text or "").strip()
    if not value:
        raise DomainError("rec_too_short", min=3)
    if len(value) > NOTE_MAX:
        raise DomainError("rec_too_long", max=NOTE_MAX, length=len(value))
    return value


def parse_progress(text: str | None) -> tuple[int, str | None]:
    """'40', '40% the tender is announced' -> (40, 'the tender is announced')."""
    match = re.match(r"\s*(\d{1,3})\s*%?\s*[-—:,.]?\s*(.*)", text or "", re.DOTALL)
    if match is None or int(match.group(1)) > 100:
        raise DomainError("rec_progress")
    note = match.group(2).strip()
    return int(match.group(1)), clean_note(note) if note else None


# -- reading -------------------------------------------------------------------------------------


async def get(session: AsyncSession, rec_id: int) -> Recommendation | None:
    return await session.get(Recommendation, rec_id, populate_existing=True)


async def listing(session: AsyncSession, statuses: tuple[str, ...] | None = None, limit: int = 20
                  ) -> list[Recommendation]:
    """The latest first (those still moving before the finished ones)."""
    where = [Recommendation.status.in_(statuses)] if statuses else []
    rows = await session.scalars(select(Recommendation).where(*where).order_by(
        Recommendation.status.in_(FINAL), Recommendation.id.desc()).limit(limit))
    return list(rows)


async def board(session: AsyncSession, *, org_ids: set[int] | None = None, per_status: int = 30,
                ) -> dict[str, tuple[list[Recommendation], int]]:
    """Every recommendation by status (STATUSES order), the latest first, at most ``per_status`` of
    each, and how many there are. ``org_ids`` (a representative's organisations): only those they
    may endorse now and those these organisations endorsed (drafts never)."""
    where: list[Any] = []
    if org_ids is not None:
        endorsed = select(RecommendationEndorsement.recommendation_id).where(
            RecommendationEndorsement.org_id.in_(org_ids))
        where.append(Recommendation.status.in_(ENDORSABLE) | Recommendation.id.in_(endorsed))
    totals = dict((await session.execute(select(Recommendation.status, func.count()).where(*where)
                                         .group_by(Recommendation.status))).all())
    out: dict[str, tuple[list[Recommendation], int]] = {}
    for status in STATUSES:
        rows: list[Recommendation] = []
        if totals.get(status):
            rows = list(await session.scalars(select(Recommendation).where(*where, Recommendation.status == status)
                                              .order_by(Recommendation.id.desc()).limit(per_status)))
        out[status] = (rows, int(totals.get(status) or 0))
    return out


async def board_details(session: AsyncSession, rec_ids: list[int]
                        ) -> tuple[dict[int, list[RecommendationStep]], dict[int, list[Organisation]]]:
    """The steps and the endorsing organisations of each of these recommendations (two queries)."""
    steps_of: dict[int, list[RecommendationStep]] = {rid: [] for rid in rec_ids}
    orgs_of: dict[int, list[Organisation]] = {rid: [] for rid in rec_ids}
    if rec_ids:
        for step in await session.scalars(select(RecommendationStep).where(
                RecommendationStep.recommendation_id.in_(rec_ids)).order_by(RecommendationStep.id)):
            steps_of[step.recommendation_id].append(step)
        for endorsement, org in await session.execute(
                select(RecommendationEndorsement, Organisation)
                .join(Organisation, Organisation.id == RecommendationEndorsement.org_id)
                .where(RecommendationEndorsement.recommendation_id.in_(rec_ids))
                .order_by(RecommendationEndorsement.created_at)):
            orgs_of[endorsement.recommendation_id].append(org)
    return steps_of, orgs_of


async def evidence(session: AsyncSession, rec_id: int) -> list[RecommendationEvidence]:
    rows = await session.scalars(select(RecommendationEvidence).where(
        RecommendationEvidence.recommendation_id == rec_id).order_by(RecommendationEvidence.id))
    return list(rows)


async def steps(session: AsyncSession, rec_id: int) -> list[RecommendationStep]:
    rows = await session.scalars(select(RecommendationStep).where(
        RecommendationStep.recommendation_id == rec_id).order_by(RecommendationStep.id))
    return list(rows)


async def endorsements(session: AsyncSession, rec_id: int) -> list[tuple[RecommendationEndorsement, Organisation]]:
    rows = await session.execute(
        select(RecommendationEndorsement, Organisation)
        .join(Organisation, Organisation.id == RecommendationEndorsement.org_id)
        .where(RecommendationEndorsement.recommendation_id == rec_id).order_by(RecommendationEndorsement.created_at))
    return [(e, o) for e, o in rows]


async def supports(session: AsyncSession, rec_id: int, user_id: int) -> bool:
    return await session.get(RecommendationSupport, (rec_id, user_id)) is not None


async def supporter_ids(session: AsyncSession, rec_id: int) -> list[int]:
    return list(await session.scalars(select(RecommendationSupport.user_id).where(
        RecommendationSupport.recommendation_id == rec_id).order_by(RecommendationSupport.created_at)))


async def open_for(session: AsyncSession, user: User, now: datetime, limit: int = 10) -> list[Recommendation]:
    """Recommendations open for this resident's support (their district's and the community's)."""
    rows = await session.scalars(select(Recommendation).where(
        Recommendation.status == "open",
        (Recommendation.open_until.is_(None)) | (Recommendation.open_until > now),
        (Recommendation.district.is_(None)) | (Recommendation.district == user.district),
    ).order_by(Recommendation.id.desc()).limit(limit))
    return list(rows)


# -- evidence ------------------------------------------------------------------------------------


def _names(value: dict[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


async def _discussion_figures(session: AsyncSession, discussion_id: int, min_group: int,
                              only: list[int] | None = None) -> dict[str, Any]:
    discussion = await discussions_service.get(session, discussion_id)
    if discussion is None:
        raise DomainError("rec_evidence_missing")
    analysis = await discussions_service.results(session, discussion, min_group)
    chosen = ([s for s in analysis.statements if s.id in only] if only is not None
              else analysis.consensus[:COMMON_MAX])
    return {"question": _names(discussion.question), "default_locale": discussion.default_locale,
            "participants": analysis.participants, "status": discussion.status,
            "statements": [{"id": s.id, "text": s.text, "agree": s.tally.agree, "votes": s.tally.votes}
                           for s in chosen]}


async def _poll_figures(session: AsyncSession, poll_id: int, min_group: int) -> dict[str, Any]:
    poll = await polls_service.get_poll(session, poll_id)
    if poll is None:
        raise DomainError("rec_evidence_missing")
    results = await polls_service.results(session, poll, min_group)
    questions = [{"text": _names(q.text), "kind": q.kind, "options": [_names(o) for o in q.options],
                  "counts": list(q.counts), "answered": q.answered,
                  "mean": round(q.mean, 2) if q.mean is not None else None}
                 for q in results.questions if q.kind != "text"]  # free texts stay in the bot
    return {"title": _names(poll.title), "default_locale": poll.default_locale, "status": poll.status,
            "participants": results.participants, "questions": questions}


async def _report_figures(session: AsyncSession, params: dict[str, Any]) -> dict[str, Any]:
    since, until = datetime.fromisoformat(params["since"]), datetime.fromisoformat(params["until"])
    where = [Report.created_at >= since, Report.created_at < until, Report.status != "withdrawn"]
    if params.get("district"):
        where.append(Report.district == params["district"])
    by_category = Counter({c: int(n) for c, n in await session.execute(
        select(Report.category, func.count()).where(*where).group_by(Report.category))})
    resolved = await session.scalar(select(func.count(func.distinct(Report.id))).select_from(Report).join(
        ReportEvent, ReportEvent.report_id == Report.id).where(*where, ReportEvent.action == "resolve")) or 0
    return {"received": sum(by_category.values()), "resolved": int(resolved),
            "by_category": sorted(([c, n] for c, n in by_category.items()), key=lambda r: (-r[1], r[0]))}


async def _proposal_figures(session: AsyncSession, proposal_id: int) -> dict[str, Any]:
    proposal = await session.get(Proposal, proposal_id, populate_existing=True)
    if proposal is None or proposal.published_at is None:
        raise DomainError("rec_evidence_missing")
    return {"title": proposal.title, "supporters": proposal.supporters, "status": proposal.status}


async def _event_figures(session: AsyncSession, event_id: int) -> dict[str, Any]:
    event = await events_service.get_event(session, event_id)
    if event is None:
        raise DomainError("rec_evidence_missing")
    tally = (await events_service.tallies(session, [event_id]))[event_id]
    return {"title": _names(event.title), "default_locale": event.default_locale, "kind": event.kind,
            "starts_at": iso(event.starts_at), "going": tally.going, "attended": tally.attended}


async def figures(session: AsyncSession, item: RecommendationEvidence, min_group: int,
                  discussion_min_group: int | None = None) -> dict[str, Any] | None:
    """The evidence's figures as they are now (same shape as its snapshot); None when the thing
    it points to is gone. ``min_group``: of polls' breakdowns; ``discussion_min_group``: of
    discussions' (default the same)."""
    try:
        if item.kind == "discussion":
            only = [s["id"] for s in item.snapshot.get("statements", [])]
            return await _discussion_figures(session, item.ref_id or 0, discussion_min_group or min_group, only)
        if item.kind == "poll":
            return await _poll_figures(session, item.ref_id or 0, min_group)
        if item.kind == "reports":
            return await _report_figures(session, item.params)
        if item.kind == "proposal":
            return await _proposal_figures(session, item.ref_id or 0)
        if item.kind == "event":
            return await _event_figures(session, item.ref_id or 0)
    except DomainError:
        return None
    return None


async def candidates(session: AsyncSession, kind: str, now: datetime, limit: int = 8) -> list[tuple[int, Any]]:
    """What can be attached, as (id, the thing): closed polls, discussions, published proposals
    (most supported first), events that have started; for reports, the periods in days."""
    if kind == "poll":
        rows = await session.scalars(select(Poll).where(Poll.status == "closed")
                                     .order_by(Poll.closed_at.desc(), Poll.id.desc()).limit(limit))
        return [(p.id, p) for p in rows]
    if kind == "discussion":
        return [(d.id, d) for d in await discussions_service.recent(session, limit)]
    if kind == "proposal":
        rows = await session.scalars(select(Proposal).where(Proposal.published_at.is_not(None),
                                                            Proposal.status.notin_(("duplicate", "withdrawn")))
                                     .order_by(Proposal.supporters.desc(), Proposal.id.desc()).limit(limit))
        return [(p.id, p) for p in rows]
    if kind == "event":
        rows = await session.scalars(select(Event).where(Event.status != "cancelled", Event.starts_at <= now)
                                     .order_by(Event.starts_at.desc(), Event.id.desc()).limit(limit))
        return [(e.id, e) for e in rows]
    if kind == "reports":
        return [(days, days) for days in REPORT_DAYS]
    raise DomainError("rec_not_allowed")


async def attach(session: AsyncSession, rec: Recommendation, kind: str, ref_id: int, min_group: int,
                 now: datetime | None = None, discussion_min_group: int | None = None) -> RecommendationEvidence:
    """Attach a piece of evidence with its figures as they are now. For ``reports`` ``ref_id`` is
    the number of days before now (the recommendation's district, or all).
    Raises DomainError: rec_not_allowed (not a draft, unknown kind), rec_evidence_full, rec_evidence_missing,
    rec_poll_open (only a closed poll's result is evidence), rec_evidence_twice."""
    now = now or utcnow()
    if rec.status != "draft":
        raise DomainError("rec_not_allowed")
    if len(await evidence(session, rec.id)) >= EVIDENCE_MAX:
        raise DomainError("rec_evidence_full", max=EVIDENCE_MAX)
    params: dict[str, Any] = {}
    if kind == "discussion":
        snapshot = await _discussion_figures(session, ref_id, discussion_min_group or min_group)
        ref = f"discussion:{ref_id}"
    elif kind == "poll":
        poll = await polls_service.get_poll(session, ref_id)
        if poll is None:
            raise DomainError("rec_evidence_missing")
        if poll.status != "closed":
            raise DomainError("rec_poll_open")
        snapshot = await _poll_figures(session, ref_id, min_group)
        ref = f"poll:{ref_id}"
    elif kind == "reports":
        if ref_id not in REPORT_DAYS:
            raise DomainError("rec_evidence_missing")
        params = {"days": ref_id, "district": rec.district, "since": (now - timedelta(days=ref_id)).isoformat(),
                  "until": now.isoformat()}
        snapshot = await _report_figures(session, params)
        ref, ref_id = f"reports:{ref_id}", None  # type: ignore[assignment]
    elif kind == "proposal":
        snapshot = await _proposal_figures(session, ref_id)
        ref = f"proposal:{ref_id}"
    elif kind == "event":
        snapshot = await _event_figures(session, ref_id)
        ref = f"event:{ref_id}"
    else:
        raise DomainError("rec_not_allowed")
    item = RecommendationEvidence(recommendation_id=rec.id, kind=kind, ref=ref, ref_id=ref_id, params=params,
                                  snapshot=snapshot, created_at=now)
    try:
        async with session.begin_nested():
            session.add(item)
    except IntegrityError:
        raise DomainError("rec_evidence_twice") from None
    return item


DISCUSSABLE = ("draft", "open")


def discussion_key(rec_id: int) -> str:
    """The campaign key of the discussion opened from a recommendation (one per recommendation)."""
    return f"discussion:rec:{rec_id}"


async def discuss(session: AsyncSession, rec: Recommendation, question: dict[str, str], created_by: int | None,
                  now: datetime, min_group: int) -> Any:
    """Open a discussion seeded from the recommendation (its proposal and its problem as the first
    statements, its district as the audience), where residents comment on it anonymously with
    their own statements and votes; it is attached as evidence, so the card shows its common
    ground as it grows. Once per recommendation. Raises DomainError rec_not_allowed, rec_discussed."""
    if rec.status not in DISCUSSABLE:
        raise DomainError("rec_not_allowed")
    if await session.scalar(select(Campaign.id).where(Campaign.key == discussion_key(rec.id))) is not None:
        raise DomainError("rec_discussed")
    seeds: list[str] = []
    for text in (rec.proposal, rec.problem):
        if text and text.strip():
            try:
                discussions_service.add_seed(seeds, shorten(" ".join(text.split()), discussions_service.STATEMENT_MAX))
            except DomainError:
                pass  # (the same text twice)
    audience = Audience(districts=[rec.district] if rec.district else [])
    discussion = await discussions_service.create(
        session, question, seeds, audience.to_json(), now + discussions_service.DEFAULT_DURATION,
        rec.default_locale, created_by, now)
    session.add(RecommendationEvidence(
        recommendation_id=rec.id, kind="discussion", ref=f"discussion:{discussion.id}", ref_id=discussion.id,
        params={}, snapshot=await _discussion_figures(session, discussion.id, min_group), created_at=now))
    await session.flush()
    return discussion


async def detach(session: AsyncSession, rec: Recommendation, evidence_id: int) -> bool:
    if rec.status != "draft":
        raise DomainError("rec_not_allowed")
    result = await session.execute(delete(RecommendationEvidence).where(
        RecommendationEvidence.id == evidence_id, RecommendationEvidence.recommendation_id == rec.id))
    return bool(result.rowcount)


# -- writing -------------------------------------------------------------------------------------


@dataclass
class Draft:
    """What the organizer has entered so far in /newrec (kept in the conversation state as JSON)."""

    title: dict[str, str] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    problem: str = ""
    proposal: str = ""
    body: str = ""
    district: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Draft:
        data = dict(data or {})
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


async def _step(session: AsyncSession, rec_id: int, actor_id: int | None, old: str | None, new: str, now: datetime,
                *, note: str | None = None, progress: int | None = None,
                detail: dict[str, Any] | None = None) -> RecommendationStep:
    step = RecommendationStep(recommendation_id=rec_id, actor_id=actor_id, old_status=old, new_status=new,
                              note=note, progress=progress, detail=detail or {}, created_at=now)
    session.add(step)
    await session.flush()
    return step


async def create(session: AsyncSession, draft: Draft, created_by: int | None, default_locale: str,
                 bodies: list[str], now: datetime | None = None) -> Recommendation:
    """A new draft. Raises DomainError: rec_incomplete (a part missing, a body not in the list)."""
    now = now or utcnow()
    if not draft.title or not draft.text or not draft.problem or not draft.proposal or draft.body not in bodies:
        raise DomainError("rec_incomplete")
    rec = Recommendation(title=draft.title, text=draft.text, problem=draft.problem, proposal=draft.proposal,
                         district=draft.district, body=draft.body, default_locale=default_locale, status="draft",
                         created_by=created_by, created_at=now, updated_at=now)
    session.add(rec)
    await session.flush()
    await _step(session, rec.id, created_by, None, "draft", now)
    return rec


async def act(
    session: AsyncSession, rec_id: int, action: str, actor_id: int | None, *, expected: str,
    now: datetime | None = None, until: datetime | None = None, to: str | None = None, how: str | None = None,
    answer: str | None = None, text: str | None = None, document: str | None = None,
) -> tuple[Recommendation, RecommendationStep]:
    """An organizer moves a recommendation that still has status ``expected``:

    * ``open`` (``until``: the end of support), ``adopt``,
    * ``submit`` (``to``: a body's code, ``how``: letter | session | meeting),
    * ``answer`` (``answer``: accepted | partly | rejected, ``text``: the council's answer,
      ``document``: optionally its document, a Telegram file id),
    * ``start`` and ``milestone`` (``text``: ``40 the tender is announced``),
    * ``implement``, ``fail`` (``text``: why it was not implemented).

    Raises DomainError: rec_missing, rec_changed (someone else was first; a stale tap),
    rec_not_allowed (not a next step), and the input errors."""
    now = now or utcnow()
    if action not in ACTIONS:
        raise DomainError("rec_not_allowed")
    rec = await get(session, rec_id)
    if rec is None:
        raise DomainError("rec_missing", number=rec_id)
    if rec.status != expected:
        raise DomainError("rec_changed")
    if action not in next_actions(rec):
        raise DomainError("rec_not_allowed")
    target = ACTIONS[action][1]
    values: dict[str, Any] = {"status": target, "updated_at": now}
    note: str | None = None
    progress: int | None = None
    detail: dict[str, Any] = {}
    if action == "open":
        if until is None or until <= now:
            raise DomainError("rec_until")
        values["open_until"] = until
        detail["until"] = iso(until)
    elif action == "submit":
        if not to or how not in HOW:
            raise DomainError("rec_incomplete")
        values.update(submitted_at=now, submitted_to=to, submitted_how=how)
        detail.update(to=to, how=how)
    elif action == "answer":
        if answer not in ANSWERS:
            raise DomainError("rec_incomplete")
        note = clean_note(text)
        values.update(answer=answer, answer_text=note, answered_at=now, answer_file_id=document)
        detail["answer"] = answer
        if document:
            detail["document"] = True
    elif action in ("start", "milestone"):
        progress, note = parse_progress(text)
        values["progress"] = progress
    elif action == "implement":
        values.update(progress=100, closed_at=now)
        progress = 100
    elif action == "fail":
        note = values["reason"] = clean_note(text)
        values["closed_at"] = now
    result = await session.execute(
        update(Recommendation)
        .where(Recommendation.id == rec_id, Recommendation.status == expected,
               Recommendation.updated_at == rec.updated_at)
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise DomainError("rec_changed")
    step = await _step(session, rec_id, actor_id, expected, target, now, note=note, progress=progress, detail=detail)
    fresh = await get(session, rec_id)
    assert fresh is not None
    return fresh, step


# -- residents' support and the organisations' endorsements ------------------------------------------


def in_audience(rec: Recommendation, user: User) -> bool:
    return user.is_registered and (rec.district is None or rec.district == user.district)


async def _recount(session: AsyncSession, rec_id: int) -> int:
    count = await session.scalar(select(func.count()).select_from(RecommendationSupport).where(
        RecommendationSupport.recommendation_id == rec_id)) or 0
    await session.execute(update(Recommendation).where(Recommendation.id == rec_id).values(supporters=count)
                          .execution_options(synchronize_session=False))
    return count


async def support(session: AsyncSession, rec_id: int, user: User, now: datetime | None = None) -> int:
    """Support once; returns the number of supporters.
    Raises DomainError: rec_missing, rec_closed (not open for support), rec_not_audience, rec_support_twice."""
    now = now or utcnow()
    rec = await get(session, rec_id)
    if rec is None or rec.status == "draft":
        raise DomainError("rec_missing", number=rec_id)
    if rec.status not in SUPPORTABLE or (rec.open_until is not None and rec.open_until <= now):
        raise DomainError("rec_closed")
    if not in_audience(rec, user):
        raise DomainError("rec_not_audience")
    if await supports(session, rec_id, user.id):
        raise DomainError("rec_support_twice")
    try:
        async with session.begin_nested():
            session.add(RecommendationSupport(recommendation_id=rec_id, user_id=user.id, created_at=now))
    except IntegrityError:
        raise DomainError("rec_support_twice") from None
    return await _recount(session, rec_id)


async def unsupport(session: AsyncSession, rec_id: int, user: User) -> int:
    """Raises DomainError: rec_missing, rec_submitted (too late), rec_not_supported."""
    rec = await get(session, rec_id)
    if rec is None or rec.status == "draft":
        raise DomainError("rec_missing", number=rec_id)
    if rec.status not in REVOCABLE:
        raise DomainError("rec_submitted")
    result = await session.execute(delete(RecommendationSupport).where(
        RecommendationSupport.recommendation_id == rec_id, RecommendationSupport.user_id == user.id))
    if result.rowcount != 1:
        raise DomainError("rec_not_supported")
    return await _recount(session, rec_id)


async def _representative(session: AsyncSession, org_id: int, user: User) -> Organisation:
    org = await orgs_service.live(session, org_id)
    member = await orgs_service.membership(session, org_id, user.id) if org is not None else None
    if org is None or member is None or member.role != orgs_service.REPRESENTATIVE or member.status != "confirmed":
        raise DomainError("rec_not_representative")
    return org


async def endorse(session: AsyncSession, rec_id: int, org_id: int, user: User, now: datetime | None = None
                  ) -> Organisation:
    """A representative endorses the recommendation for their organisation (once per organisation).
    Raises DomainError: rec_missing, rec_not_representative, rec_closed, rec_endorsed_twice."""
    rec = await get(session, rec_id)
    if rec is None or rec.status == "draft":
        raise DomainError("rec_missing", number=rec_id)
    org = await _representative(session, org_id, user)
    if rec.status not in ENDORSABLE:
        raise DomainError("rec_closed")
    if await session.get(RecommendationEndorsement, (rec_id, org_id)) is not None:
        raise DomainError("rec_endorsed_twice")
    try:
        async with session.begin_nested():
            session.add(RecommendationEndorsement(recommendation_id=rec_id, org_id=org_id, user_id=user.id,
                                                  created_at=now or utcnow()))
    except IntegrityError:
        raise DomainError("rec_endorsed_twice") from None
    return org


async def unendorse(session: AsyncSession, rec_id: int, org_id: int, user: User) -> Organisation:
    """Any representative of the organisation takes its endorsement back, until submission.
    Raises DomainError: rec_missing, rec_not_representative, rec_submitted, rec_not_endorsed."""
    rec = await get(session, rec_id)
    if rec is None or rec.status == "draft":
        raise DomainError("rec_missing", number=rec_id)
    org = await _representative(session, org_id, user)
    if rec.status not in REVOCABLE:
        raise DomainError("rec_submitted")
    result = await session.execute(delete(RecommendationEndorsement).where(
        RecommendationEndorsement.recommendation_id == rec_id, RecommendationEndorsement.org_id == org_id))
    if result.rowcount != 1:
        raise DomainError("rec_not_endorsed")
    return org


# -- telling people ------------------------------------------------------------------------------


# The steps published to the public channel, once each (ChannelPost's kind for the recommendation)
CHANNEL_KINDS = {"submitted": "rec_submitted", "answered": "rec_answered", "in_progress": "rec_answered",
                 "implemented": "rec_implemented", "not_implemented": "rec_closed"}


def channel_kind(rec: Recommendation) -> str | None:
    """What of the recommendation the public channel can get now: its latest public step."""
    return CHANNEL_KINDS.get(rec.status)


def payload(rec: Recommendation) -> dict[str, Any]:
    """What a message about the recommendation needs (rendered in each reader's language)."""
    return {"id": rec.id, "title": _names(rec.title), "text": _names(rec.text), "problem": rec.problem,
            "proposal": rec.proposal, "district": rec.district, "body": rec.body,
            "default_locale": rec.default_locale, "status": rec.status, "open_until": iso(rec.open_until),
            "submitted_at": iso(rec.submitted_at), "submitted_to": rec.submitted_to, "submitted_how": rec.submitted_how, "answer": rec.answer,
            "answer_text": rec.answer_text, "progress": rec.progress, "reason": rec.reason,
            "supporters": rec.supporters}


async def publish(session: AsyncSession, rec: Recommendation, created_by: int | None, now: datetime | None = None
                  ) -> int:
    """Queue the recommendation, open for support, to the residents of its district (everyone for
    the whole community), once. Returns the campaign's id; the caller commits and wakes the engine."""
    audience = Audience(districts=[rec.district] if rec.district else [])
    campaign = await create_campaign(session, kind=OPEN_KIND, key=f"rec:{rec.id}:open", payload=payload(rec),
                                     audience=audience, created_by=created_by, now=now)
    return campaign.id


async def participants(session: AsyncSession, rec_id: int, secret: bytes) -> set[int]:
    """Everyone who took part in the recommendation's evidence: a poll's or a discussion's
    participants (found by hashing the residents with the key, as their anonymity requires: who
    they are is not stored anywhere), those who came to an event, a proposal's supporters."""
    found: set[int] = set()
    items = await evidence(session, rec_id)
    hashed = [i for i in items if i.kind in ("poll", "discussion") and i.ref_id is not None]
    if hashed:
        people = list(await session.scalars(select(User.id).where(
            User.deleted_at.is_(None), User.registered_at.is_not(None))))
        for item in hashed:
            assert item.ref_id is not None
            if item.kind == "poll":
                keys = set(await session.scalars(select(PollResponse.participant).where(
                    PollResponse.poll_id == item.ref_id)))
                found.update(uid for uid in people if polls_service.participant_key(secret, item.ref_id, uid) in keys)
            else:
                keys = set(await session.scalars(select(DiscussionParticipant.participant).where(
                    DiscussionParticipant.discussion_id == item.ref_id)))
                found.update(uid for uid in people
                             if discussions_service.participant_key(secret, item.ref_id, uid) in keys)
    for item in items:
        if item.kind == "event" and item.ref_id is not None:
            found.update(await session.scalars(select(EventRsvp.user_id).where(
                EventRsvp.event_id == item.ref_id, EventRsvp.attended_at.is_not(None))))
        elif item.kind == "proposal" and item.ref_id is not None:
            found.update(await session.scalars(select(ProposalSupport.user_id).where(
                ProposalSupport.proposal_id == item.ref_id)))
    return found


async def tell(session: AsyncSession, rec: Recommendation, secret: bytes, now: datetime | None = None) -> int | None:
    """Queue the news of the step the recommendation has just reached (submitted, answered,
    implemented or not) for its supporters, the representatives who endorsed it and everyone who
    took part in its evidence: once per step and once per person, each in their language.

    As for a poll's results, the campaign goes straight into the outbox and keeps no list of who
    gets it (for an anonymous poll's participants that list would say who took part), and the
    outbox rows go once they are sent (``forget_news_recipients``). Returns the campaign's id
    (None: not such a step, or nobody to tell)."""
    if rec.status not in NEWS:
        return None
    key = f"rec:{rec.id}:{rec.status}"
    if (existing := await session.scalar(select(Campaign.id).where(Campaign.key == key))) is not None:
        return existing
    reps = [uid for uid in await session.scalars(select(RecommendationEndorsement.user_id).where(
        RecommendationEndorsement.recommendation_id == rec.id)) if uid is not None]
    ids = sorted(set(await supporter_ids(session, rec.id)) | set(reps) | await participants(session, rec.id, secret))
    if not ids:
        return None
    campaign = await create_campaign(session, kind=NEWS_KIND, key=key, payload=payload(rec),
                                     audience=Audience(user_ids=ids), now=now)
    await start_campaign(session, campaign.id, now)
    campaign.audience = Audience(user_ids=[]).to_json()
    await session.flush()
    return campaign.id


async def forget_news_recipients(session: AsyncSession) -> int:
    """The outbox rows of finished news campaigns that are done are deleted (kept, they would say
    who took part in an anonymous poll or discussion)."""
    return await forget_finished_recipients(session, NEWS_KIND)


# -- the council document ------------------------------------------------------------------------


@dataclass
class CouncilItem:
    rec: Recommendation
    evidence: list[tuple[RecommendationEvidence, dict[str, Any] | None]]  # (snapshot holder, figures now)
    orgs: list[Organisation]
    steps: list[RecommendationStep]


async def for_council(session: AsyncSession, start: datetime, end: datetime, min_group: int,
                      discussion_min_group: int | None = None) -> list[CouncilItem]:
    """The recommendations the document for [start, end) reports on: every one that was no longer
    a draft before the end and was not finished before the start (earlier ones with their answer
    and progress, so the document also follows up on the last period's)."""
    opened = select(RecommendationStep.recommendation_id).where(
        RecommendationStep.new_status == "open", RecommendationStep.created_at < end)
    rows = await session.scalars(select(Recommendation).where(
        Recommendation.id.in_(opened), Recommendation.status != "draft",
        (Recommendation.closed_at.is_(None)) | (Recommendation.closed_at >= start),
    ).order_by(Recommendation.id))
    out = []
    for rec in rows:
        items = [(item, await figures(session, item, min_group, discussion_min_group))
                 for item in await evidence(session, rec.id)]
        orgs = [org for _e, org in await endorsements(session, rec.id)]
        out.append(CouncilItem(rec, items, orgs, await steps(session, rec.id)))
    return out


# -- figures for /stats and the digest -------------------------------------------------------------


@dataclass
class Counts:
    """Recommendations submitted, answered, accepted (fully or partly), implemented in a period,
    the median time from submission to the answer of those answered in it, and the ones still
    waiting for an answer, longest first (for the digest)."""

    submitted: int = 0
    answered: int = 0
    accepted: int = 0
    implemented: int = 0
    median_to_answer: timedelta | None = None
    waiting: list[Recommendation] = field(default_factory=list)


async def counts(session: AsyncSession, start: datetime, end: datetime, limit: int = 5) -> Counts:
    out = Counts()
    out.submitted = await session.scalar(select(func.count()).select_from(Recommendation).where(
        Recommendation.submitted_at >= start, Recommendation.submitted_at < end)) or 0
    answered = list(await session.execute(select(Recommendation.submitted_at, Recommendation.answered_at,
                                                 Recommendation.answer).where(
        Recommendation.answered_at >= start, Recommendation.answered_at < end)))
    out.answered = len(answered)
    out.accepted = sum(1 for _s, _a, answer in answered if answer in ("accepted", "partly"))
    times = sorted(a - s for s, a, _answer in answered if s is not None and a is not None)
    if times:
        middle = len(times) // 2
        out.median_to_answer = times[middle] if len(times) % 2 else (times[middle - 1] + times[middle]) / 2
    out.implemented = await session.scalar(select(func.count()).select_from(Recommendation).where(
        Recommendation.status == "implemented", Recommendation.closed_at >= start,
        Recommendation.closed_at < end)) or 0
    out.waiting = [] if limit <= 0 else list(await session.scalars(select(Recommendation).where(
        Recommendation.status == "submitted", Recommendation.submitted_at < end)
        .order_by(Recommendation.submitted_at, Recommendation.id).limit(limit)))
    return out


# -- the person's own data -----------------------------------------------------------------------


async def export_for(session: AsyncSession, user_id: int) -> dict[str, Any]:
    """For /mydata: the recommendations they support, and those they endorsed for an organisation."""
    supported = [{"recommendation": rid, "since": iso(at)} for rid, at in await session.execute(
        select(RecommendationSupport.recommendation_id, RecommendationSupport.created_at)
        .where(RecommendationSupport.user_id == user_id).order_by(RecommendationSupport.created_at))]
    endorsed = [{"recommendation": rid, "organisation_id": org_id, "since": iso(at)}
                for rid, org_id, at in await session.execute(
        select(RecommendationEndorsement.recommendation_id, RecommendationEndorsement.org_id,
               RecommendationEndorsement.created_at)
        .where(RecommendationEndorsement.user_id == user_id).order_by(RecommendationEndorsement.created_at))]
    return {"supported_recommendations": supported, "endorsed_recommendations": endorsed}


async def forget(session: AsyncSession, user_id: int) -> None:
    """Part of /deleteme: their supports go (the counts follow); an endorsement stays, as the
    organisation's, without the representative's name; the steps they took lose their name."""
    supported = list(await session.scalars(select(RecommendationSupport.recommendation_id).where(
        RecommendationSupport.user_id == user_id)))
    await session.execute(delete(RecommendationSupport).where(RecommendationSupport.user_id == user_id))
    for rec_id in supported:
        await _recount(session, rec_id)
    for model, column in ((RecommendationEndorsement, RecommendationEndorsement.user_id),
                          (RecommendationStep, RecommendationStep.actor_id),
                          (Recommendation, Recommendation.created_by)):
        await session.execute(update(model).where(column == user_id).values({column.key: None})
                              .execution_options(synchronize_session=False))
