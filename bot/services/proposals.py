"""Residents' project proposals: from idea to realisation. No aiogram here.

Like reports, every status change is a conditional UPDATE on the status the moderator saw, so of
two presses at once exactly one wins (the other gets ``proposal_changed``), and each change is
written to the proposal's history with its date. Supporting is one row per (proposal, resident).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from bot.services.text import new_alias
from storage.models import (
    Organisation,
    Proposal,
    ProposalEvent,
    ProposalSupport,
    User,
    iso,
    utcnow,
)

CATEGORIES = ("infrastructure", "environment", "education", "culture", "social", "safety", "other")
LIMITS = {"title": (5, 120), "problem": (10, 1500), "solution": (10, 1500)}
NOTE_MAX = 500
BUDGET_MAX = 10**12
PER_DAY = 5
PAGE = 5

PUBLIC = ("published", "review", "accepted", "in_progress", "realised")
SUPPORTABLE = ("published", "review", "accepted", "in_progress")
FINAL = ("realised", "rejected", "duplicate", "withdrawn")
# moderator action -> (statuses it may start from, the status it leads to)
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "publish": (("submitted",), "published"),
    "changes": (("submitted",), "changes"),
    "duplicate": (("submitted", "published"), "duplicate"),
    "review": (("published",), "review"),
    "accept": (("published", "review"), "accepted"),
    "start": (("accepted",), "in_progress"),
    "progress": (("in_progress",), "in_progress"),
    "realise": (("accepted", "in_progress"), "realised"),
    "reject": (("submitted", "published", "review", "accepted", "in_progress"), "rejected"),
}
NEEDS_TEXT = ("changes", "reject", "duplicate", "progress")


@dataclass
class ProposalDraft:
    """What the resident has entered so far (kept in the conversation state as JSON).
    ``proposal_id`` is set when they rework a proposal the moderators sent back."""

    title: str = ""
    problem: str = ""
    solution: str = ""
    district: str | None = None
    category: str = ""
    budget: int | None = None
    photo: str | None = None
    org_id: int | None = None
    proposal_id: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ProposalDraft:
        data = dict(data or {})
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def of(cls, proposal: Proposal) -> ProposalDraft:
        return cls(title=proposal.title, problem=proposal.problem, solution=proposal.solution,
                   district=proposal.district, category=proposal.category, budget=proposal.budget,
                   photo=proposal.photo_file_id, org_id=proposal.org_id, proposal_id=proposal.id)


# -- input checks --------------------------------------------------------------------------------


def clean_field(name: str, text: str | None) -> str:
    """A title (one line) or the problem / solution (may have several lines)."""
    low, high = LIMITS[name]
    value = (text or "").strip()
    if name == "title":
        value = " ".join(value.split())
    if not value:
        raise DomainError("proposal_empty")
    if len(value) < low:
        raise DomainError("proposal_too_short", min=low)
    if len(value) > high:
        raise DomainError("proposal_too_long", max=high, length=len(value))
    return value


def clean_note(text: str | None, limit: int = NOTE_MAX) -> str:
    value = " ".join((text or "").split())
    if not value:
        raise DomainError("proposal_empty")
    if len(value) > limit:
        raise DomainError("proposal_too_long", max=limit, length=len(value))
    return value


_CURRENCY = re.compile(r"(грн\.?|гривень|гривен|гривні|uah|лв\.?|лева|лев|bgn|eur|euro|євро|евро|[€$₴])", re.IGNORECASE)


def parse_budget(text: str | None) -> int:
    """'15000', '15 000', '15,000 грн', '2.500 лв' -> whole currency units."""
    value = _CURRENCY.sub("", (text or "").strip()).replace("\u00a0", "").replace(" ", "").replace("_", "")
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", value):
        value = value.replace(",", "").replace(".", "")
    if not value.isascii() or not value.isdigit():
        raise DomainError("proposal_budget")
    amount = int(value)
    if not 0 < amount <= BUDGET_MAX:
        raise DomainError("proposal_budget")
    return amount


def parse_progress(text: str | None) -> tuple[int, str | None]:
    """'40', '40% the walls are up' -> (40, 'the walls are up')."""
    match = re.match(r"\s*(\d{1,3})\s*%?\s*[-—:,.]?\s*(.*)", text or "", re.DOTALL)
    if match is None or int(match.group(1)) > 100:
        raise DomainError("proposal_progress")
    note = match.group(2).strip()
    return int(match.group(1)), clean_note(note) if note else None


def parse_number(text: str | None) -> int:
    digits = (text or "").strip().lstrip("#№ ").strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 9:
        raise DomainError("proposal_number")
    return int(digits)


# -- reading -------------------------------------------------------------------------------------


async def get(session: AsyncSession, proposal_id: int) -> Proposal | None:
    return await session.get(Proposal, proposal_id, populate_existing=True)


async def history(session: AsyncSession, proposal_id: int) -> list[ProposalEvent]:
    rows = await session.scalars(
        select(ProposalEvent).where(ProposalEvent.proposal_id == proposal_id).order_by(ProposalEvent.id))
    return list(rows)


async def supports(session: AsyncSession, proposal_id: int, user_id: int) -> bool:
    return await session.get(ProposalSupport, (proposal_id, user_id)) is not None


async def supporter_ids(session: AsyncSession, proposal_id: int) -> list[int]:
    rows = await session.scalars(
        select(ProposalSupport.user_id).where(ProposalSupport.proposal_id == proposal_id)
        .order_by(ProposalSupport.created_at))
    return list(rows)


async def public(
    session: AsyncSession, *, district: str | None = None, status: str | None = None, page: int = 0,
    per_page: int = PAGE,
) -> tuple[list[Proposal], int]:
    """Published proposals, most supported first, one page; and how many match.
    ``status`` narrows to one status (``rejected``: those rejected after publication)."""
    # every status in PUBLIC implies publication; a rejected one may never have been published
    where: list[Any] = [Proposal.status == status] if status else [Proposal.status.in_(PUBLIC)]
    if status not in (None, *PUBLIC):
        where.append(Proposal.published_at.is_not(None))
    if district:
        where.append(Proposal.district == district)
    total = await session.scalar(select(func.count()).select_from(Proposal).where(*where)) or 0
    rows = await session.scalars(
        select(Proposal).where(*where).order_by(Proposal.supporters.desc(), Proposal.id.desc())
        .offset(page * per_page).limit(per_page))
    return list(rows), total


# every status in the order of the lifecycle (a board's columns)
STATUSES = ("submitted", "changes", "published", "review", "accepted", "in_progress", "realised", "rejected",
            "duplicate", "withdrawn")


async def board(session: AsyncSession, *, org_ids: set[int] | None = None, per_status: int = 30,
                ) -> dict[str, tuple[list[Proposal], int]]:
    """Every proposal by status (STATUSES order): the most supported first, at most ``per_status``
    of each, and how many there are; ``org_ids``: only those made for these organisations."""
    where: list[Any] = [Proposal.org_id.in_(org_ids)] if org_ids is not None else []
    totals = dict((await session.execute(select(Proposal.status, func.count()).where(*where)
                                         .group_by(Proposal.status))).all())
    out: dict[str, tuple[list[Proposal], int]] = {}
    for status in STATUSES:
        if not totals.get(status):
            out[status] = ([], 0)
            continue
        rows = await session.scalars(select(Proposal).where(*where, Proposal.status == status)
                                     .order_by(Proposal.supporters.desc(), Proposal.id.desc()).limit(per_status))
        out[status] = (list(rows), int(totals[status]))
    return out


async def histories(session: AsyncSession, proposal_ids: list[int]) -> dict[int, list[ProposalEvent]]:
    """The history of each of these proposals (one query)."""
    out: dict[int, list[ProposalEvent]] = {pid: [] for pid in proposal_ids}
    if proposal_ids:
        for event in await session.scalars(select(ProposalEvent).where(ProposalEvent.proposal_id.in_(proposal_ids))
                                           .order_by(ProposalEvent.id)):
            out[event.proposal_id].append(event)
    return out


async def for_user(session: AsyncSession, user_id: int, limit: int = 10) -> list[Proposal]:
    rows = await session.scalars(
        select(Proposal).where(Proposal.user_id == user_id).order_by(Proposal.id.desc()).limit(limit))
    return list(rows)


async def without_card(session: AsyncSession, now: datetime | None = None, limit: int = 5) -> list[Proposal]:
    """Submitted proposals whose card could not be posted yet (tried again by the periodic check)."""
    now = now or utcnow()
    return list(await session.scalars(
        select(Proposal).where(Proposal.status == "submitted", Proposal.card_message_id.is_(None),
                               Proposal.updated_at <= now - timedelta(minutes=1))
        .order_by(Proposal.id).limit(limit)))


@dataclass
class Counts:
    proposed: int = 0
    published: int = 0
    accepted: int = 0
    realised: int = 0


async def counts(session: AsyncSession, since: datetime | None = None, until: datetime | None = None,
                 ) -> tuple[Counts, dict[str | None, Counts], dict[int, tuple[str, Counts]]]:
    """What the impact figures need: proposed (not withdrawn), published, accepted (ever
    accepted, also if rejected later) and realised; in all, per district (None: the whole community) and per organisation
    (id -> (its names {locale: name}, counts)). With ``since``/``until``: each step counted when
    it happened in [since, until) (proposed in it, accepted in it...)."""

    def within(column: Any) -> Any:
        when = [column.is_not(None)]
        if since is not None:
            when.append(column >= since)
        if until is not None:
            when.append(column < until)
        return func.sum(case((and_(*when), 1), else_=0))

    columns = (within(Proposal.created_at), within(Proposal.published_at), within(Proposal.accepted_at),
               within(Proposal.realised_at))
    mine = Proposal.status != "withdrawn"

    def row(values: Any) -> Counts:
        return Counts(*(int(v or 0) for v in values))

    total = row((await session.execute(select(*columns).where(mine))).one())
    by_district = {r[0]: row(r[1:]) for r in await session.execute(
        select(Proposal.district, *columns).where(mine).group_by(Proposal.district)) if any(r[1:])}
    per_org = {r[0]: row(r[1:]) for r in await session.execute(
        select(Proposal.org_id, *columns).where(mine, Proposal.org_id.is_not(None)).group_by(Proposal.org_id))
        if any(r[1:])}
    names = {r[0]: r[1] for r in await session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(per_org)))}
    by_org = {org_id: (names.get(org_id, {}), c) for org_id, c in per_org.items()}
    return total, by_district, by_org


# -- writing -------------------------------------------------------------------------------------


@dataclass
class Actor:
    user_id: int | None = None
    name: str | None = None


async def _history(session: AsyncSession, proposal_id: int, actor: Actor, old: str | None, new: str,
                   now: datetime, note: str | None = None, progress: int | None = None) -> ProposalEvent:
    event = ProposalEvent(proposal_id=proposal_id, actor_id=actor.user_id, actor_name=(actor.name or "")[:128] or None,
                          old_status=old, new_status=new, note=note, progress=progress, created_at=now)
    session.add(event)
    await session.flush()
    return event


def _check_complete(draft: ProposalDraft) -> None:
    for name in LIMITS:
        clean_field(name, getattr(draft, name))
    if draft.category not in CATEGORIES:
        raise DomainError("proposal_incomplete")


async def submit(session: AsyncSession, user: User, draft: ProposalDraft, org: Organisation | None,
                 now: datetime | None = None) -> Proposal:
    """A new proposal, or a reworked one sent back for changes (then it is submitted again)."""
    now = now or utcnow()
    _check_complete(draft)
    values = {"title": draft.title, "problem": draft.problem, "solution": draft.solution, "district": draft.district,
                  "category": draft.category, "budget": draft.budget, "photo_file_id": draft.photo,
                  "org_id": org.id if org else None, "updated_at": now}
    if draft.proposal_id is not None:
        proposal = await get(session, draft.proposal_id)
        if proposal is None or proposal.user_id != user.id:
            raise DomainError("proposal_missing", number=draft.proposal_id)
        result = await session.execute(
            update(Proposal).where(Proposal.id == proposal.id, Proposal.status == "changes")
            .values(status="submitted", reason=None, **values).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise DomainError("proposal_changed")
        await _history(session, proposal.id, Actor(user.id), "changes", "submitted", now)
        fresh = await get(session, proposal.id)
        assert fresh is not None
        return fresh
    recent = await session.scalar(select(func.count()).select_from(Proposal).where(
        Proposal.user_id == user.id, Proposal.created_at > now - timedelta(days=1))) or 0
    if recent >= PER_DAY:
        raise DomainError("proposal_rate", limit=PER_DAY)
    proposal = Proposal(user_id=user.id, language=user.language, status="submitted", created_at=now,
                        alias=new_alias(), **values)
    session.add(proposal)
    await session.flush()
    await _history(session, proposal.id, Actor(user.id), None, "submitted", now)
    return proposal


async def act(
    session: AsyncSession, proposal_id: int, action: str, actor: Actor, *, expected: str,
    text: str | None = None, now: datetime | None = None,
) -> tuple[Proposal, ProposalEvent]:
    """A moderator moves a proposal that still has status ``expected``.

    Raises DomainError: proposal_missing, proposal_changed (someone else was first),
    proposal_not_allowed, and the input errors of the typed reason / number / progress.
    """
    now = now or utcnow()
    if action not in ACTIONS:
        raise DomainError("proposal_not_allowed")
    starts, target = ACTIONS[action]
    proposal = await get(session, proposal_id)
    if proposal is None:
        raise DomainError("proposal_missing", number=proposal_id)
    if proposal.status != expected:
        raise DomainError("proposal_changed")
    if expected not in starts:
        raise DomainError("proposal_not_allowed")
    values: dict[str, Any] = {"status": target, "updated_at": now}
    note: str | None = None
    progress: int | None = None
    if action in ("changes", "reject"):
        note = values["reason"] = clean_note(text)
    elif action == "duplicate":
        other_id = parse_number(text)
        other = await get(session, other_id) if other_id != proposal_id else None
        if other_id == proposal_id:
            raise DomainError("proposal_duplicate_self")
        if other is None or other.status in ("duplicate", "withdrawn"):
            raise DomainError("proposal_missing", number=other_id)
        if other.status not in SUPPORTABLE:  # its supporters could not follow it there
            raise DomainError("proposal_merge_target", number=other_id)
        values["duplicate_of"] = other_id
        note = f"#{other_id}"
    elif action == "progress":
        progress, note = parse_progress(text)
        values["progress"] = progress
    elif action == "publish":
        values["published_at"] = now
    elif action == "accept":
        values["accepted_at"] = now
    elif action == "realise":
        values["realised_at"], values["progress"] = now, 100
        if proposal.accepted_at is None:
            values["accepted_at"] = now
    result = await session.execute(
        update(Proposal)
        .where(Proposal.id == proposal_id, Proposal.status == expected, Proposal.updated_at == proposal.updated_at)
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise DomainError("proposal_changed")
    if action == "duplicate":
        await _merge_supports(session, proposal_id, values["duplicate_of"])
    event = await _history(session, proposal_id, actor, expected, target, now, note, progress)
    fresh = await get(session, proposal_id)
    assert fresh is not None
    return fresh, event


async def _merge_supports(session: AsyncSession, from_id: int, into_id: int) -> None:
    """The duplicate's author and supporters support the proposal it was merged into (once each;
    that proposal's own author is not made their own supporter)."""
    into, dup = await get(session, into_id), await get(session, from_id)
    assert into is not None and dup is not None
    have = set(await supporter_ids(session, into_id)) | {into.user_id}
    coming = [dup.user_id, *await supporter_ids(session, from_id)]
    moving = [uid for uid in dict.fromkeys(coming) if uid is not None and uid not in have]
    if moving and into.status in SUPPORTABLE:
        await session.execute(insert(ProposalSupport), [
            {"proposal_id": into_id, "user_id": uid, "created_at": utcnow()} for uid in moving])
        await _recount(session, into_id)


async def _recount(session: AsyncSession, proposal_id: int) -> int:
    count = await session.scalar(select(func.count()).select_from(ProposalSupport)
                                 .where(ProposalSupport.proposal_id == proposal_id)) or 0
    await session.execute(update(Proposal).where(Proposal.id == proposal_id).values(supporters=count)
                          .execution_options(synchronize_session=False))
    return count


async def support(session: AsyncSession, proposal_id: int, user: User, now: datetime | None = None) -> int:
    """Support a published proposal once. Returns the number of supporters.
    Raises DomainError: proposal_missing, proposal_own, proposal_support_twice, proposal_closed."""
    proposal = await get(session, proposal_id)
    if proposal is None or proposal.published_at is None:
        raise DomainError("proposal_missing", number=proposal_id)
    if proposal.status not in SUPPORTABLE:
        raise DomainError("proposal_closed", status=proposal.status)
    if proposal.user_id == user.id:
        raise DomainError("proposal_own")
    if await supports(session, proposal_id, user.id):
        raise DomainError("proposal_support_twice")
    try:
        async with session.begin_nested():  # a double tap handled at the same moment
            session.add(ProposalSupport(proposal_id=proposal_id, user_id=user.id, created_at=now or utcnow()))
    except IntegrityError:
        raise DomainError("proposal_support_twice") from None
    return await _add_supporters(session, proposal_id, 1)


async def _add_supporters(session: AsyncSession, proposal_id: int, delta: int) -> int:
    """One atomic UPDATE (two residents supporting at once both count)."""
    await session.execute(update(Proposal).where(Proposal.id == proposal_id)
                          .values(supporters=Proposal.supporters + delta).execution_options(synchronize_session=False))
    return await session.scalar(select(Proposal.supporters).where(Proposal.id == proposal_id)) or 0


async def unsupport(session: AsyncSession, proposal_id: int, user: User) -> int:
    proposal = await get(session, proposal_id)
    if proposal is None:
        raise DomainError("proposal_missing", number=proposal_id)
    result = await session.execute(delete(ProposalSupport).where(
        ProposalSupport.proposal_id == proposal_id, ProposalSupport.user_id == user.id))
    if result.rowcount != 1:
        raise DomainError("proposal_not_supported")
    return await _add_supporters(session, proposal_id, -1)


async def withdraw(session: AsyncSession, proposal_id: int, user: User, now: datetime | None = None) -> Proposal:
    """The author takes back a proposal not yet published."""
    now = now or utcnow()
    proposal = await get(session, proposal_id)
    if proposal is None or proposal.user_id != user.id:
        raise DomainError("proposal_missing", number=proposal_id)
    result = await session.execute(
        update(Proposal).where(Proposal.id == proposal_id, Proposal.status.in_(("submitted", "changes")))
        .values(status="withdrawn", updated_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise DomainError("proposal_not_allowed")
    await _history(session, proposal_id, Actor(user.id), proposal.status, "withdrawn", now)
    fresh = await get(session, proposal_id)
    assert fresh is not None
    return fresh


async def set_card(session: AsyncSession, proposal: Proposal, chat_id: int, message_id: int) -> None:
    proposal.card_chat_id, proposal.card_message_id = chat_id, message_id
    await session.flush()


async def by_card(session: AsyncSession, chat_id: int, message_id: int) -> Proposal | None:
    return await session.scalar(select(Proposal).where(
        Proposal.card_chat_id == chat_id, Proposal.card_message_id == message_id))


# -- the person's own data -----------------------------------------------------------------------


async def export_for(session: AsyncSession, user_id: int) -> dict[str, Any]:
    mine = [
        {"number": p.id, "title": p.title, "problem": p.problem, "solution": p.solution, "district": p.district,
         "category": p.category, "budget": p.budget, "photo": p.photo_file_id is not None, "status": p.status,
         "organisation_id": p.org_id, "submitted_at": iso(p.created_at)}
        for p in await session.scalars(select(Proposal).where(Proposal.user_id == user_id).order_by(Proposal.id))
    ]
    supported = [
        {"proposal": s.proposal_id, "since": iso(s.created_at)}
        for s in await session.scalars(select(ProposalSupport).where(ProposalSupport.user_id == user_id))
    ]
    return {"proposals": mine, "supported_proposals": supported}


async def forget(session: AsyncSession, user_id: int) -> None:
    """Part of /deleteme. Published proposals are public and stay, without their author; what was
    never published goes. Their supports are taken back (the counts follow)."""
    await session.execute(delete(Proposal).where(Proposal.user_id == user_id, Proposal.published_at.is_(None)))
    await session.execute(update(Proposal).where(Proposal.user_id == user_id).values(user_id=None)
                          .execution_options(synchronize_session=False))
    supported = list(await session.scalars(
        select(ProposalSupport.proposal_id).where(ProposalSupport.user_id == user_id)))
    await session.execute(delete(ProposalSupport).where(ProposalSupport.user_id == user_id))
    for proposal_id in supported:
        await _recount(session, proposal_id)
    await session.execute(update(ProposalEvent).where(ProposalEvent.actor_id == user_id)
                          .values(actor_id=None, actor_name=None).execution_options(synchronize_session=False))
