"""Issue reports: drafts become reports; moderators move them through their statuses. No aiogram here.

Every status change is a conditional ``UPDATE reports SET status = new WHERE id = :id AND
status = :expected``: of two moderators pressing at the same moment exactly one wins, the other
gets ``DomainError("report_changed")``. Each change is written to the audit trail (report_events).
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import orgs as orgs_service
from bot.services.campaigns import MEDIATED_KIND
from bot.services.errors import DomainError
from bot.services.text import as_id, new_alias
from storage.models import (
    Campaign,
    Delivery,
    Report,
    ReportEvent,
    ReportMessage,
    ReportPhoto,
    ReportTopic,
    User,
    iso,
    utcnow,
)

MAX_PHOTOS = 5
DESCRIPTION_MIN = 3
DESCRIPTION_MAX = 2000
ADDRESS_MAX = 200
NOTE_MAX = 200  # a reject reason, an organisation's name

OPEN = ("new", "accepted", "in_progress", "reopened")
FINAL = ("resolved", "rejected", "duplicate", "withdrawn")
STATUSES = OPEN + FINAL

# moderator action -> (statuses it may start from, the status it leads to; None: unchanged)
ACTIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "accept": (("new", "reopened"), "accepted"),
    "progress": (("new", "accepted", "reopened"), "in_progress"),
    "resolve": (OPEN, "resolved"),
    "reject": (OPEN, "rejected"),
    "duplicate": (OPEN, "duplicate"),
    "category": (OPEN, None),
    "route": (OPEN, None),
}

DUPLICATE_DAYS = 30
DUPLICATE_METERS = 200.0
DUPLICATE_TEXT_RATIO = 0.6


@dataclass
class Draft:
    """What the resident has entered so far (kept in the conversation state as JSON)."""

    category: str = ""
    description: str = ""
    voice_file_id: str | None = None
    photos: list[str] = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    district: str | None = None
    show_identity: bool = False
    alias: str | None = None  # this report's pseudonym, chosen when the resident is asked about their name

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Draft:
        data = dict(data or {})
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# -- input checks --------------------------------------------------------------------------------


def clean_description(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise DomainError("report_empty")
    if len(text) < DESCRIPTION_MIN:
        raise DomainError("report_too_short", min=DESCRIPTION_MIN)
    if len(text) > DESCRIPTION_MAX:
        raise DomainError("report_too_long", max=DESCRIPTION_MAX, length=len(text))
    return text


def clean_note(text: str | None, limit: int = NOTE_MAX) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise DomainError("report_empty")
    if len(text) > limit:
        raise DomainError("report_too_long", max=limit, length=len(text))
    return text


def parse_number(text: str | None) -> int:
    """'#12', '12', 'R12' -> 12."""
    number = as_id((text or "").strip().lstrip("#№ "))
    if number is None:
        raise DomainError("report_number")
    return number


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def outside_area(lat: float, lon: float, center: tuple[float, float] | None, radius_km: float | None) -> float | None:
    """Distance in km from the community's centre when beyond its radius, else None."""
    if center is None or radius_km is None:
        return None
    km = haversine_m(lat, lon, center[0], center[1]) / 1000
    return km if km > radius_km else None


# -- reading -------------------------------------------------------------------------------------


async def get(session: AsyncSession, report_id: int) -> Report | None:
    return await session.get(Report, report_id, populate_existing=True)


async def photos(session: AsyncSession, report_id: int) -> list[str]:
    rows = await session.scalars(
        select(ReportPhoto.file_id).where(ReportPhoto.report_id == report_id).order_by(ReportPhoto.position)
    )
    return list(rows)


async def photo_counts(session: AsyncSession, report_ids: list[int]) -> dict[int, int]:
    """How many photos each of these reports has (one query for a whole list)."""
    if not report_ids:
        return {}
    rows = await session.execute(
        select(ReportPhoto.report_id, func.count()).where(ReportPhoto.report_id.in_(report_ids))
        .group_by(ReportPhoto.report_id)
    )
    found = {report_id: count for report_id, count in rows.all()}
    return {report_id: found.get(report_id, 0) for report_id in report_ids}


async def events(session: AsyncSession, report_id: int) -> list[ReportEvent]:
    rows = await session.scalars(
        select(ReportEvent).where(ReportEvent.report_id == report_id).order_by(ReportEvent.id)
    )
    return list(rows)


async def last_status_event(session: AsyncSession, report_id: int) -> ReportEvent | None:
    """The audit entry of the report's latest status change (who, when) for its card."""
    return await session.scalar(
        select(ReportEvent)
        .where(ReportEvent.report_id == report_id, ReportEvent.new_status.is_not(None))
        .order_by(ReportEvent.id.desc())
        .limit(1)
    )


async def for_user(session: AsyncSession, user_id: int, limit: int = 10) -> list[Report]:
    rows = await session.scalars(
        select(Report).where(Report.user_id == user_id).order_by(Report.id.desc()).limit(limit)
    )
    return list(rows)


async def open_reports(session: AsyncSession, limit: int = 30) -> list[Report]:
    rows = await session.scalars(
        select(Report).where(Report.status.in_(OPEN)).order_by(Report.created_at, Report.id).limit(limit)
    )
    return list(rows)


AGES = (1, 3, 7)  # the queue's "older than N days" filter


async def queue(session: AsyncSession, *, status: str | None = None, category: str | None = None,
                district: str | None = None, older_than_days: int | None = None, org_id: int | None = None,
                orgs: set[int] | None = None, limit: int = 100, now: datetime | None = None) -> list[Report]:
    """The reports queue, oldest first: the open ones, or those in ``status``; by category and
    district when given, filed more than ``older_than_days`` ago, passed on to organisation
    ``org_id`` (the dashboard's filters). ``orgs``: only those passed on to one of these
    organisations (a representative's view; an empty set shows nothing)."""
    query = select(Report)
    query = query.where(Report.status == status) if status in STATUSES else query.where(Report.status.in_(OPEN))
    if category:
        query = query.where(Report.category == category)
    if district:
        query = query.where(Report.district == district)
    if older_than_days:
        query = query.where(Report.created_at <= (now or utcnow()) - timedelta(days=older_than_days))
    if org_id is not None:
        query = query.where(Report.routed_org_id == org_id)
    if orgs is not None:
        query = query.where(Report.routed_org_id.in_(orgs or {-1}))
    rows = await session.scalars(query.order_by(Report.created_at, Report.id).limit(limit))
    return list(rows)


async def count_open(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Report).where(Report.status.in_(OPEN))) or 0


async def recent_count(session: AsyncSession, user_id: int, now: datetime | None = None) -> int:
    now = now or utcnow()
    return await session.scalar(
        select(func.count()).select_from(Report).where(
            Report.user_id == user_id, Report.created_at > now - timedelta(hours=1)
        )
    ) or 0


async def check_rate(session: AsyncSession, user_id: int, per_hour: int, now: datetime | None = None) -> None:
    if await recent_count(session, user_id, now) >= per_hour:
        raise DomainError("report_rate", limit=per_hour)


async def possible_duplicates(session: AsyncSession, report: Report) -> list[int]:
    """Earlier reports of the 30 days before it: same category within ~200 m, or same district and
    a similar description."""
    rows = await session.scalars(
        select(Report).where(
            Report.id < report.id,
            Report.created_at >= report.created_at - timedelta(days=DUPLICATE_DAYS),
            Report.status != "withdrawn",
        ).order_by(Report.id)
    )
    found = []
    text = report.description.lower().strip()
    for other in rows:
        near = (
            other.category == report.category
            and None not in (report.latitude, report.longitude, other.latitude, other.longitude)
            and haversine_m(report.latitude, report.longitude, other.latitude, other.longitude)  # type: ignore[arg-type]
            <= DUPLICATE_METERS
        )
        similar = (
            bool(text) and report.district is not None and other.district == report.district
            and difflib.SequenceMatcher(None, text, other.description.lower().strip()).ratio()
            >= DUPLICATE_TEXT_RATIO
        )
        if near or similar:
            found.append(other.id)
    return found[-5:]


# -- writing -------------------------------------------------------------------------------------


async def create(
    session: AsyncSession, user: User, draft: Draft, *, per_hour: int, now: datetime | None = None
) -> Report:
    now = now or utcnow()
    await check_rate(session, user.id, per_hour, now)
    if not draft.category or (not draft.description and not draft.voice_file_id):
        raise DomainError("report_incomplete")
    report = Report(
        user_id=user.id,
        alias=draft.alias or new_alias(),
        category=draft.category,
        district=draft.district or user.district,
        description=draft.description,
        voice_file_id=draft.voice_file_id,
        latitude=draft.latitude,
        longitude=draft.longitude,
        address=draft.address,
        show_identity=draft.show_identity,
        status="new",
        created_at=now,
        updated_at=now,
    )
    session.add(report)
    await session.flush()
    for position, file_id in enumerate(draft.photos[:MAX_PHOTOS]):
        session.add(ReportPhoto(report_id=report.id, position=position, file_id=file_id))
    session.add(ReportEvent(report_id=report.id, actor_id=user.id, action="created", new_status="new",
                            created_at=now))
    await session.flush()
    return report


@dataclass
class Actor:
    """Who acts on a report: a resident or a moderator (maybe only a Telegram group admin)."""

    user_id: int | None = None
    telegram_id: int | None = None
    name: str | None = None


async def _event(
    session: AsyncSession, report_id: int, actor: Actor, action: str, old: str | None, new: str | None,
    detail: str | None, now: datetime,
) -> ReportEvent:
    event = ReportEvent(
        report_id=report_id, actor_id=actor.user_id, actor_telegram_id=actor.telegram_id,
        actor_name=(actor.name or "")[:128] or None, action=action, old_status=old, new_status=new,
        detail=detail, created_at=now,
    )
    session.add(event)
    await session.flush()
    return event


async def act(
    session: AsyncSession,
    report_id: int,
    action: str,
    actor: Actor,
    *,
    expected: str,
    detail: str | None = None,
    followup_days: int = 3,
    label_locale: str = "en",
    now: datetime | None = None,
) -> tuple[Report, ReportEvent]:
    """Apply a moderator's action to a report that is still in status ``expected``.

    ``route``: ``detail`` is the id of an organisation in the network (``org_missing`` when it is
    not, or no longer); its name in ``label_locale`` is kept as ``routed_to``.

    Raises DomainError: report_missing, report_final (it was closed meanwhile), report_changed
    (someone else changed it first), report_not_allowed (the action does not apply to the
    status), report_duplicate_self / report_missing (duplicate of an unknown report).
    """
    now = now or utcnow()
    if action not in ACTIONS:
        raise DomainError("report_not_allowed")
    starts, target = ACTIONS[action]
    report = await get(session, report_id)
    if report is None:
        raise DomainError("report_missing", number=report_id)
    if expected in FINAL or report.status in FINAL:
        raise DomainError("report_final", status=report.status)
    if report.status != expected:
        raise DomainError("report_changed")
    if expected not in starts:
        raise DomainError("report_not_allowed")
    values: dict[str, Any] = {"updated_at": now}
    if target is not None:
        values["status"] = target
    if action == "reject":
        values["reason"] = clean_note(detail)
    elif action == "route":
        org = await orgs_service.live(session, as_id(detail))
        if org is None:
            raise DomainError("org_missing")
        detail = clean_note(orgs_service.name_of(org, label_locale), 255)
        values["routed_to"], values["routed_org_id"] = detail, org.id
    elif action == "category":
        values["category"] = detail
    elif action == "duplicate":
        other_id = parse_number(detail)
        if other_id == report_id:
            raise DomainError("report_duplicate_self")
        if await session.get(Report, other_id) is None:
            raise DomainError("report_missing", number=other_id)
        values["duplicate_of"] = other_id
    if action == "resolve":  # asked again after every resolution, also after a reopening
        values["followup_due_at"] = now + timedelta(days=followup_days)
        values["followup_sent_at"] = None
    old_category = report.category
    result = await session.execute(  # one outcome of two presses at once, also for category/route
        update(Report)
        .where(Report.id == report_id, Report.status == expected, Report.updated_at == report.updated_at)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError("report_changed")
    if action == "category":
        detail = f"{old_category} -> {detail}"
    event = await _event(session, report_id, actor, action, expected, target or expected, detail, now)
    report = await get(session, report_id)
    assert report is not None
    return report, event


async def routed_for(session: AsyncSession, report_id: int, org_id: int, user: User | None) -> Report:
    """A representative acts on a report passed on to their organisation: checked again on every
    press. Raises DomainError: report_missing, report_not_routed (passed on elsewhere, given
    back, or the person no longer represents the organisation), report_final."""
    report = await get(session, report_id)
    if report is None:
        raise DomainError("report_missing", number=report_id)
    mine = {o.id for o in await orgs_service.represented(session, user.id)} if user is not None else set()
    if report.routed_org_id != org_id or org_id not in mine:
        raise DomainError("report_not_routed", number=report_id)
    if report.status in FINAL:
        raise DomainError("report_final", status=report.status)
    return report


async def give_back(session: AsyncSession, report_id: int, org_id: int, actor: Actor,
                    now: datetime | None = None) -> tuple[Report, ReportEvent]:
    """The organisation says the report is not theirs: it is no longer passed on (the moderators
    pass it on elsewhere). Conditional on it still being theirs and open."""
    now = now or utcnow()
    report = await get(session, report_id)
    if report is None:
        raise DomainError("report_missing", number=report_id)
    name = report.routed_to
    result = await session.execute(
        update(Report).where(Report.id == report_id, Report.routed_org_id == org_id, Report.status.in_(OPEN))
        .values(routed_org_id=None, routed_to=None, updated_at=now).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError("report_not_routed", number=report_id)
    event = await _event(session, report_id, actor, "route_declined", report.status, report.status, name, now)
    report = await get(session, report_id)
    assert report is not None
    return report, event


async def withdraw(session: AsyncSession, report_id: int, user: User, now: datetime | None = None) -> Report:
    now = now or utcnow()
    report = await get(session, report_id)
    if report is None or report.user_id != user.id:
        raise DomainError("report_missing", number=report_id)
    if report.status in FINAL:
        raise DomainError("report_final", status=report.status)
    result = await session.execute(
        update(Report)
        .where(Report.id == report_id, Report.status.in_(OPEN))
        .values(status="withdrawn", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError("report_final", status="?")
    await _event(session, report_id, Actor(user.id, user.telegram_id), "withdrawn", report.status, "withdrawn",
                 None, now)
    report = await get(session, report_id)
    assert report is not None
    return report


async def note(
    session: AsyncSession, report_id: int, actor: Actor, action: str, text: str, now: datetime | None = None
) -> ReportEvent:
    """An audit entry that does not change the status: info added, a relayed message."""
    now = now or utcnow()
    await session.execute(
        update(Report).where(Report.id == report_id).values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return await _event(session, report_id, actor, action, None, None, text, now)


async def add_info(session: AsyncSession, report_id: int, user: User, text: str, now: datetime | None = None) -> Report:
    report = await get(session, report_id)
    if report is None or report.user_id != user.id:
        raise DomainError("report_missing", number=report_id)
    if report.status in FINAL:
        raise DomainError("report_final", status=report.status)
    await note(session, report_id, Actor(user.id, user.telegram_id), "info", clean_description(text), now)
    return report


async def set_card(
    session: AsyncSession, report: Report, chat_id: int, message_id: int, thread_id: int | None = None
) -> None:
    report.card_chat_id, report.card_message_id, report.card_thread_id = chat_id, message_id, thread_id
    await link_message(session, report.id, chat_id, message_id)


async def link_message(session: AsyncSession, report_id: int, chat_id: int, message_id: int,
                       author_id: int | None = None) -> None:
    """``author_id``: the resident whose words or name the message carries (erased on /deleteme)."""
    if await session.get(ReportMessage, (chat_id, message_id)) is None:
        session.add(ReportMessage(chat_id=chat_id, message_id=message_id, report_id=report_id, author_id=author_id))
        await session.flush()


async def take_authored_messages(session: AsyncSession, user_id: int) -> list[tuple[int, int]]:
    """Part of /deleteme: the (chat, message) ids of what the bot posted with this person's words
    or name (relayed messages under cards), forgotten here; the caller deletes the messages."""
    rows = list(await session.scalars(select(ReportMessage).where(ReportMessage.author_id == user_id)))
    for row in rows:
        await session.delete(row)
    await session.flush()
    return [(row.chat_id, row.message_id) for row in rows]


async def by_message(session: AsyncSession, chat_id: int, message_id: int) -> Report | None:
    link = await session.get(ReportMessage, (chat_id, message_id))
    return await get(session, link.report_id) if link else None


async def by_notification(
    session: AsyncSession, user_id: int, message_id: int, kinds: tuple[str, ...]
) -> Report | None:
    """The report a message the delivery engine sent to this person was about (a status change)."""
    campaign = await session.scalar(
        select(Campaign).join(Delivery, Delivery.campaign_id == Campaign.id)
        .where(Delivery.user_id == user_id, Delivery.message_id == message_id,
               Campaign.kind.in_((*kinds, MEDIATED_KIND)))
        .limit(1)
    )
    payload = campaign.payload if campaign is not None else {}
    if campaign is not None and campaign.kind == MEDIATED_KIND:  # news of an offline resident, to their mediator
        payload = payload.get("payload") or {} if payload.get("kind") in kinds else {}
    report_id = payload.get("report_id")
    return await get(session, int(report_id)) if report_id else None


async def topic(session: AsyncSession, chat_id: int, category: str) -> int | None:
    row = await session.get(ReportTopic, (chat_id, category))
    return row.thread_id if row else None


async def remember_topic(session: AsyncSession, chat_id: int, category: str, thread_id: int) -> None:
    if await session.get(ReportTopic, (chat_id, category)) is None:
        session.add(ReportTopic(chat_id=chat_id, category=category, thread_id=thread_id))
        await session.flush()


# -- periodic checks (triggered by the scheduler; the database says what is due) ------------------


async def without_card(session: AsyncSession, now: datetime | None = None, limit: int = 5,
                       claim_for: timedelta = timedelta(minutes=2)) -> list[Report]:
    """Open reports whose card could not be posted (the group was unreachable): tried again, a few
    per run, so a backlog after an outage stays within the group's 20 messages a minute.

    Each one is claimed for ``claim_for`` with a conditional UPDATE: two workers running the check
    at once never post the same card twice. Commit before posting; :func:`release_card_claim` when
    the card could not be posted (otherwise the claim expires on its own)."""
    now = now or utcnow()
    due = (
        Report.status.in_(OPEN), Report.card_message_id.is_(None),
        Report.created_at <= now - timedelta(minutes=1),
        or_(Report.card_claimed_until.is_(None), Report.card_claimed_until <= now),
    )
    claimed: list[int] = []
    for report_id in list(await session.scalars(select(Report.id).where(*due).order_by(Report.id).limit(limit))):
        result = await session.execute(
            update(Report).where(Report.id == report_id, *due).values(card_claimed_until=now + claim_for)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:
            claimed.append(report_id)
    if not claimed:
        return []
    return list(await session.scalars(
        select(Report).where(Report.id.in_(claimed)).order_by(Report.id).execution_options(populate_existing=True)
    ))


async def claim_card(session: AsyncSession, report_id: int, now: datetime | None = None,
                     claim_for: timedelta = timedelta(minutes=2)) -> bool:
    """A moderator asked for the card of an open report that has none: claimed as
    :func:`without_card` claims late cards, so it is posted once. False when it has a card or is
    claimed already."""
    now = now or utcnow()
    result = await session.execute(
        update(Report).where(
            Report.id == report_id, Report.status.in_(OPEN), Report.card_message_id.is_(None),
            or_(Report.card_claimed_until.is_(None), Report.card_claimed_until <= now),
        ).values(card_claimed_until=now + claim_for).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def release_card_claim(session: AsyncSession, report_id: int) -> None:
    """The late card could not be posted: the next check may try again."""
    await session.execute(
        update(Report).where(Report.id == report_id, Report.card_message_id.is_(None))
        .values(card_claimed_until=None).execution_options(synchronize_session=False)
    )


async def claim_stale(session: AsyncSession, hours: int, now: datetime | None = None) -> list[Report]:
    """Open reports untouched for ``hours`` and not raised in the last ``hours``; marks them.

    A report nobody acts on is raised again every ``hours``; the conditional UPDATE makes two
    checkers running at once raise it only once.
    """
    now = now or utcnow()
    cutoff = now - timedelta(hours=hours)
    due = (
        Report.status.in_(OPEN),
        Report.updated_at <= cutoff,
        or_(Report.stale_notified_at.is_(None), Report.stale_notified_at <= cutoff),
    )
    claimed = []
    for report in list(await session.scalars(select(Report).where(*due).order_by(Report.id))):
        result = await session.execute(
            update(Report)
            .where(Report.id == report.id, *due)
            .values(stale_notified_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(report)
    return claimed


async def claim_followups(session: AsyncSession, now: datetime | None = None) -> list[Report]:
    """Resolved reports whose "is it fixed?" question is due; each is claimed once, ever."""
    now = now or utcnow()
    rows = await session.scalars(
        select(Report).where(
            Report.status == "resolved",
            Report.followup_due_at <= now,
            Report.followup_sent_at.is_(None),
        ).order_by(Report.id)
    )
    claimed = []
    for report in list(rows):
        result = await session.execute(
            update(Report)
            .where(Report.id == report.id, Report.followup_sent_at.is_(None))
            .values(followup_sent_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(report)
    return claimed


async def followup_answer(
    session: AsyncSession, report_id: int, user: User, fixed: bool, now: datetime | None = None
) -> Report:
    """The reporter answers "is it fixed?": no reopens a resolved report."""
    now = now or utcnow()
    report = await get(session, report_id)
    if report is None or report.user_id != user.id:
        raise DomainError("report_missing", number=report_id)
    if report.status != "resolved":
        raise DomainError("report_changed")
    actor = Actor(user.id, user.telegram_id)
    if fixed:
        await _event(session, report_id, actor, "confirmed_fixed", "resolved", "resolved", None, now)
        return report
    result = await session.execute(
        update(Report)
        .where(Report.id == report_id, Report.status == "resolved")
        .values(status="reopened", updated_at=now, followup_due_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError("report_changed")
    await _event(session, report_id, actor, "reopened", "resolved", "reopened", None, now)
    report = await get(session, report_id)
    assert report is not None
    return report


# -- the reporter's own data (/mydata, /deleteme) -------------------------------------------------

WRITTEN_BY_ACTOR = ("info", "from_reporter", "to_reporter")  # audit entries whose detail is their text



def _by_person(user: User) -> Any:
    """Audit entries of this person: by account, or by Telegram id (a group admin acting on a card
    before having an account, or someone whose unfinished registration was dropped)."""
    if user.telegram_id is None:
        return ReportEvent.actor_id == user.id
    return or_(ReportEvent.actor_id == user.id, ReportEvent.actor_telegram_id == user.telegram_id)


async def export_for(session: AsyncSession, user: User) -> dict[str, Any]:
    """The reports a person filed and every audit entry they made, as plain JSON-able data."""
    filed = []
    for report in await session.scalars(select(Report).where(Report.user_id == user.id).order_by(Report.id)):
        filed.append({
            "number": report.id, "category": report.category, "district": report.district,
            "status": report.status, "description": report.description,
            "voice_note": report.voice_file_id is not None, "photos": len(await photos(session, report.id)),
            "latitude": report.latitude, "longitude": report.longitude, "address": report.address,
            "moderators_may_see_your_name": report.show_identity, "reason": report.reason,
            "created_at": iso(report.created_at), "updated_at": iso(report.updated_at),
        })
    actions = [
        {"report": e.report_id, "action": e.action, "status": e.new_status, "text": e.detail,
         "at": iso(e.created_at)}
        for e in await session.scalars(
            select(ReportEvent).where(_by_person(user)).order_by(ReportEvent.id)
        )
    ]
    return {"reports": filed, "report_history": actions}


async def forget_person(session: AsyncSession, user: User) -> list[Report]:
    """Part of /deleteme. Reports stay, as they describe public places that still need fixing, but
    nothing in them leads back to the person: their voice, what they wrote to or as a moderator,
    their name and Telegram id in the audit trail, and the links to messages in their chat go.
    Returns the reports whose cards showed the person's name (to be shown again without it)."""
    named = list(await session.scalars(
        select(Report).where(Report.user_id == user.id, Report.show_identity.is_(True),
                             Report.card_message_id.is_not(None))
    ))
    mine = _by_person(user)
    await session.execute(
        update(ReportEvent).where(mine, ReportEvent.action.in_(WRITTEN_BY_ACTOR))
        .values(detail=None).execution_options(synchronize_session=False)
    )
    await session.execute(
        update(ReportEvent).where(mine)
        .values(actor_telegram_id=None, actor_name=None).execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Report).where(Report.user_id == user.id)
        .values(voice_file_id=None, show_identity=False).execution_options(synchronize_session=False)
    )
    if user.telegram_id is not None:
        await session.execute(delete(ReportMessage).where(ReportMessage.chat_id == user.telegram_id))
    for report in named:
        await session.refresh(report)
    return named
