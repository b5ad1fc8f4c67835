"""Campaigns and their outbox: create, target, start, cancel, count. No aiogram here.

A campaign is created ``scheduled`` (``send_at`` = now for "send now"). When it is due the
delivery engine starts it: the audience is resolved into one ``deliveries`` row per recipient
(insert-ignore, so starting twice adds nobody twice) and the campaign becomes ``running``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from storage.models import Campaign, Delivery, GroupMember, User, UserRole, utcnow

ACTIVE = ("scheduled", "running")
FINAL = ("done", "cancelled")
DELIVERY_STATUSES = ("pending", "sending", "sent", "blocked", "failed", "cancelled")
_CHUNK = 500


@dataclass
class Audience:
    """Who gets a campaign. Empty lists mean "any"; the lists are ANDed, values within one are ORed.

    Only registered, reachable residents are targeted. ``user_ids`` (users.id) narrows to given
    residents; ``chat_ids`` adds group chats (e.g. the organizers' chat) as recipients.
    """

    districts: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)  # members of any of these working groups
    user_ids: list[int] | None = None
    chat_ids: list[int] = field(default_factory=list)
    residents: bool = True  # False: only the chats in chat_ids

    @property
    def is_everyone(self) -> bool:
        return self.residents and not (self.districts or self.languages or self.topics or self.roles
                                       or self.groups) and self.user_ids is None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Audience:
        data = dict(data or {})
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


async def resolve_audience(session: AsyncSession, audience: Audience, *, reachable: bool = True) -> list[int]:
    """users.id of the residents the audience targets, in id order: those we can write to, or
    (``reachable=False``) also offline residents, for whom a mediator acts."""
    if not audience.residents:
        return []
    query = select(User.id, User.topics).where(User.registered_at.is_not(None), User.deleted_at.is_(None))
    if reachable:
        query = query.where(User.telegram_id.is_not(None), User.unreachable_at.is_(None))
    if audience.districts:
        query = query.where(User.district.in_(audience.districts))
    if audience.languages:
        query = query.where(User.language.in_(audience.languages))
    if audience.roles:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(audience.roles))))
    if audience.groups:
        query = query.where(User.id.in_(select(GroupMember.user_id).where(GroupMember.group_id.in_(audience.groups))))
    wanted = set(audience.user_ids) if audience.user_ids is not None else None
    if wanted is not None and len(wanted) <= _CHUNK:  # a few residents (e.g. "is this one in it?"): ask for them only
        query = query.where(User.id.in_(wanted))
    topics = set(audience.topics)
    ids = []
    for user_id, user_topics in (await session.execute(query.order_by(User.id))).all():
        if wanted is not None and user_id not in wanted:
            continue
        if topics and not topics.intersection(user_topics or ()):
            continue
        ids.append(user_id)
    return ids


async def in_audience(session: AsyncSession, audience_json: dict[str, Any] | None, user: User) -> bool:
    """Whether this resident is in the audience (as it resolves now; whether we can write to them
    or not: an offline resident's mediator opens it for them)."""
    audience = Audience.from_json(audience_json)
    if audience.user_ids is not None and user.id not in audience.user_ids:
        return False
    audience.user_ids = [user.id]
    return bool(await resolve_audience(session, audience, reachable=False))


async def count_audience(session: AsyncSession, audience: Audience) -> int:
    return len(await resolve_audience(session, audience)) + len(audience.chat_ids)


async def create_campaign(
    session: AsyncSession,
    *,
    kind: str,
    payload: dict[str, Any],
    audience: Audience,
    send_at: datetime | None = None,
    urgent: bool = False,
    created_by: int | None = None,
    key: str | None = None,
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
    now: datetime | None = None,
) -> Campaign:
    """A new campaign, due at ``send_at`` (default: now). With ``key``, creating it again returns
    the existing campaign instead (scheduled jobs and double taps cannot create two).
    Call ``engine.wake()`` after the commit so a "send now" campaign starts at once."""
    now = now or utcnow()
    if key is not None:
        existing = await session.scalar(select(Campaign).where(Campaign.key == key))
        if existing is not None:
            return existing
    campaign = Campaign(
        kind=kind,
        key=key,
        payload=payload,
        audience=audience.to_json(),
        status="scheduled",
        urgent=urgent,
        send_at=send_at or now,
        created_by=created_by,
        created_at=now,
        total=0,
        progress_chat_id=progress_chat_id,
        progress_message_id=progress_message_id,
    )
    if key is None:
        session.add(campaign)
        await session.flush()
        return campaign
    try:
        async with session.begin_nested():
            session.add(campaign)
            await session.flush()
    except IntegrityError:
        existing = await session.scalar(select(Campaign).where(Campaign.key == key))
        assert existing is not None
        return existing
    return campaign


MEDIATED_KIND = "mediated"  # news for an offline resident, sent to the mediator who registered them


async def tell_people(
    session: AsyncSession, *, kind: str, payload: dict[str, Any], user_ids: Iterable[int], key: str,
    now: datetime | None = None,
) -> list[Campaign]:
    """News for these people (the outcome of their report, of their proposal). Offline residents
    among them (registered by a mediator, no Telegram of their own) get it through their mediator:
    a campaign of kind ``mediated`` to the mediator's chat, naming the resident's code, whose
    payload carries the news's own kind and payload (the renderer wraps the news's renderer).
    Commit, then wake the engine."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return []
    offline = list(await session.scalars(
        select(User).where(User.id.in_(ids), User.code.is_not(None), User.telegram_id.is_(None),
                           User.deleted_at.is_(None), User.mediator_id.is_not(None)).order_by(User.id)))
    away = {u.id for u in offline}
    made = []
    direct = [i for i in ids if i not in away]
    if direct:
        made.append(await create_campaign(session, kind=kind, payload=payload, audience=Audience(user_ids=direct),
                                          key=key, now=now))
    for resident in offline:
        wrapped = {"kind": kind, "payload": payload, "resident_id": resident.id, "code": resident.code,
                   "name": resident.display_name}
        made.append(await create_campaign(
            session, kind=MEDIATED_KIND, payload=wrapped, audience=Audience(user_ids=[resident.mediator_id]),  # type: ignore[list-item]
            key=f"{key}:via:{resident.id}"[:128], now=now))
    return made


def _insert_ignore(session: AsyncSession):  # type: ignore[no-untyped-def]
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only the two supported backends
        raise RuntimeError(f"unsupported database {name}")
    return insert


async def add_recipients(
    session: AsyncSession,
    campaign_id: int,
    *,
    user_ids: Iterable[int] = (),
    chat_ids: Iterable[int] = (),
    now: datetime | None = None,
) -> int:
    """Queue the campaign for these residents / chats; already queued ones are left alone
    (INSERT ... ON CONFLICT DO NOTHING on both SQLite and PostgreSQL). Returns rows added."""
    now = now or utcnow()
    insert = _insert_ignore(session)
    rows: list[dict[str, Any]] = [
        {"campaign_id": campaign_id, "user_id": uid, "chat_id": None} for uid in dict.fromkeys(user_ids)
    ] + [
        {"campaign_id": campaign_id, "user_id": None, "chat_id": cid} for cid in dict.fromkeys(chat_ids)
    ]
    added = 0
    for start in range(0, len(rows), _CHUNK):
        chunk = [
            {**row, "status": "pending", "attempts": 0, "next_attempt_at": now}
            for row in rows[start : start + _CHUNK]
        ]
        result = await session.execute(insert(Delivery).values(chunk).on_conflict_do_nothing())
        added += max(result.rowcount or 0, 0)
    return added


async def start_campaign(session: AsyncSession, campaign_id: int, now: datetime | None = None) -> bool:
    """Resolve the audience into the outbox and mark the campaign running (idempotent)."""
    now = now or utcnow()
    campaign = await session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None or campaign.status != "scheduled":
        return False
    audience = Audience.from_json(campaign.audience)
    user_ids = await resolve_audience(session, audience)
    await add_recipients(session, campaign.id, user_ids=user_ids, chat_ids=audience.chat_ids, now=now)
    campaign.total = await session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.campaign_id == campaign.id)
    ) or 0
    campaign.status = "running"
    campaign.started_at = now
    await session.flush()
    return True


async def due_campaign_ids(session: AsyncSession, now: datetime) -> list[int]:
    rows = await session.scalars(
        select(Campaign.id).where(Campaign.status == "scheduled", Campaign.send_at <= now).order_by(Campaign.send_at)
    )
    return list(rows)


async def cancel_campaign(session: AsyncSession, campaign_id: int, now: datetime | None = None) -> bool:
    """Stop a scheduled or running campaign: nothing more is sent (what is in flight finishes).
    False when it had already finished or was cancelled."""
    now = now or utcnow()
    result = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(ACTIVE))
        .values(status="cancelled", cancelled_at=now)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        return False
    await session.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign_id, Delivery.status == "pending")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    return True


async def delivery_counts(session: AsyncSession, campaign_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(Delivery.status, func.count()).where(Delivery.campaign_id == campaign_id).group_by(Delivery.status)
    )
    return {status: count for status, count in rows.all()}


async def active_campaigns(
    session: AsyncSession, kinds: Sequence[str] | None = None, orgs: set[int] | None = None
) -> list[Campaign]:
    """Scheduled and running campaigns (only those made for the organisations ``orgs`` if given)."""
    query = select(Campaign).where(Campaign.status.in_(ACTIVE))
    if orgs is not None:
        query = query.where(Campaign.org_id.in_(orgs))
    if kinds:
        query = query.where(Campaign.kind.in_(kinds))
    return list(await session.scalars(query.order_by(Campaign.send_at, Campaign.id)))


async def recent_campaigns(
    session: AsyncSession, kinds: Sequence[str], orgs: set[int] | None = None, finished: int = 5
) -> list[Campaign]:
    """The scheduled and running campaigns of these kinds and the latest ``finished`` ones (done or
    cancelled), in the order they were made (by id: one finishing moves nothing in the list)."""
    mine = [Campaign.kind.in_(kinds), *([Campaign.org_id.in_(orgs)] if orgs is not None else [])]
    fresh = {"populate_existing": True}  # a status just changed by an UPDATE in this session shows
    active = list(await session.scalars(
        select(Campaign).where(Campaign.status.in_(ACTIVE), *mine).execution_options(**fresh)))
    done = list(await session.scalars(
        select(Campaign).where(Campaign.status.in_(FINAL), *mine).order_by(Campaign.id.desc()).limit(finished)
        .execution_options(**fresh)))
    return sorted(active + done, key=lambda c: c.id)


async def get_campaign_by_key(session: AsyncSession, key: str) -> Campaign | None:
    return await session.scalar(select(Campaign).where(Campaign.key == key))


async def get_campaign(session: AsyncSession, campaign_id: int) -> Campaign | None:
    return await session.get(Campaign, campaign_id)


_WHEN = re.compile(
    r"^\s*(?:(?P<d>\d{1,2})[./](?P<m>\d{1,2})(?:[./](?P<y>\d{2}|\d{4}))?\s+)?(?P<H>\d{1,2}):(?P<M>\d{2})\s*$"
)


def parse_when(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """'25.12 18:30', '25.12.2026 18:30' or '18:30' (today) in ``tz`` -> aware UTC datetime.
    A date without a year that is months past means next year's.

    Raises DomainError: time_format, time_past (params: when), time_too_far.
    """
    match = _WHEN.match(text or "")
    if match is None:
        raise DomainError("time_format")
    local_now = now.astimezone(tz)
    year = local_now.year
    if match["y"]:
        year = int(match["y"]) + (2000 if len(match["y"]) == 2 else 0)
    try:
        if match["d"]:
            local = datetime(year, int(match["m"]), int(match["d"]), int(match["H"]), int(match["M"]), tzinfo=tz)
        else:
            local = local_now.replace(hour=int(match["H"]), minute=int(match["M"]), second=0, microsecond=0)
            local = local.replace(tzinfo=None).replace(tzinfo=tz)
    except ValueError:
        raise DomainError("time_format") from None
    when = local.astimezone(UTC)
    if when <= now - timedelta(days=60) and match["d"] and not match["y"]:
        # "05.01" typed in December means next January (a date just passed stays an error)
        try:
            when = local.replace(year=local.year + 1).astimezone(UTC)
        except ValueError:  # 29.02
            raise DomainError("time_format") from None
    if when <= now:
        raise DomainError("time_past", when=when)
    if when - now > timedelta(days=366):
        raise DomainError("time_too_far")
    return when


async def set_progress_message(session: AsyncSession, campaign_id: int, message_id: int) -> None:
    """The organizer's progress message, posted once the campaign was committed."""
    await session.execute(update(Campaign).where(Campaign.id == campaign_id).values(progress_message_id=message_id)
                          .execution_options(synchronize_session=False))


DONE_STATUSES = ("sent", "blocked", "failed", "cancelled")


async def forget_finished_recipients(session: AsyncSession, kind: str) -> int:
    """The outbox rows of finished campaigns of ``kind`` that are done are deleted (kept, they
    would say who took part: campaigns that reach the participants of anonymous polls and
    discussions). Only once a campaign finished (its progress counts them until then); the
    campaign keeps its totals. Returns how many rows went; the caller commits."""
    finished = select(Campaign.id).where(Campaign.kind == kind, Campaign.finished_at.is_not(None))
    result = await session.execute(
        delete(Delivery).where(Delivery.campaign_id.in_(finished), Delivery.status.in_(DONE_STATUSES))
        .execution_options(synchronize_session=False))
    return max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
