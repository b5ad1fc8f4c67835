"""Events: drafts, answers with a waitlist, check-in, questions for speakers, feedback, and the
reminders and notices that are due. No aiogram here.

What is due is read from the database every time (``queue_due``) and queued as campaigns whose
keys name the event and its start time, so a reminder is sent once, a missed one is sent after
a restart only if the event has not started, and a changed start time gets its own reminders.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.campaigns import Audience, cancel_campaign, create_campaign, in_audience, parse_when
from bot.services.errors import DomainError
from bot.services.taps import audience_admits
from storage.models import Campaign, Event, EventQuestion, EventRsvp, User

KINDS = ("workshop", "discussion", "lecture", "meeting", "training")
ANSWERS = ("going", "maybe", "no")
ANSWERED = ("going", "maybe", "waitlist")  # who hears of changes
TITLE_MAX = 150
DESCRIPTION_MAX = 1500
VENUE_MAX = 255
SPEAKERS_MAX = 255
URL_MAX = 512
QUESTION_MAX = 500
COMMENT_MAX = 1000
CAPACITY_MAX = 100_000
MAX_LENGTH = timedelta(days=14)
DEFAULT_REMINDERS = (timedelta(hours=24), timedelta(hours=2))
QUESTIONS_BEFORE = timedelta(hours=1)  # the speakers' questions reach the organizers then
QUESTIONS_PER_MESSAGE = 7  # of at most 500 characters each: one message stays within Telegram's limit
CHECKIN_EARLY = timedelta(hours=2)  # check-in opens this long before the start
CHECKIN_LATE = timedelta(hours=2)  # and closes this long after the end
_URL = re.compile(r"^https?://[^\s<>\"]+$", re.IGNORECASE)


# ------------------------------------------------------------------ drafts and input

@dataclass
class EventDraft:
    kind: str = "workshop"
    title: dict[str, str] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    venue: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    online_url: str | None = None
    capacity: int | None = None
    speakers: str | None = None
    audience: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("starts_at", "ends_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> EventDraft:
        data = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        for key in ("starts_at", "ends_at"):
            if data.get(key):
                data[key] = datetime.fromisoformat(data[key])
        return cls(**data)


def parse_title(text: str) -> tuple[str, str]:
    """The title on the first line, an optional description below.
    Raises DomainError: empty, title_too_long (limit), description_too_long (limit)."""
    lines = (text or "").strip().splitlines()
    title = " ".join(lines[0].split()) if lines else ""
    description = "\n".join(lines[1:]).strip()
    if not title:
        raise DomainError("empty")
    if len(title) > TITLE_MAX:
        raise DomainError("title_too_long", limit=TITLE_MAX)
    if len(description) > DESCRIPTION_MAX:
        raise DomainError("description_too_long", limit=DESCRIPTION_MAX)
    return title, description


def parse_end(text: str, starts_at: datetime, tz: ZoneInfo) -> datetime:
    """'20:00' (the day it starts) or '26.12 11:00'. Raises DomainError: time_format,
    end_before_start, too_long (days)."""
    text = (text or "").strip()
    if re.fullmatch(r"\d{1,2}:\d{2}", text):
        local = starts_at.astimezone(tz)
        hour, minute = (int(x) for x in text.split(":"))
        try:
            ends = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        except ValueError:
            raise DomainError("time_format") from None
        ends = ends.replace(tzinfo=None).replace(tzinfo=tz).astimezone(starts_at.tzinfo)
    else:
        try:
            ends = parse_when(text, starts_at - timedelta(days=1), tz)
        except DomainError as exc:
            raise DomainError("time_format" if exc.code == "time_format" else "end_before_start") from None
    if ends <= starts_at:
        raise DomainError("end_before_start")
    if ends - starts_at > MAX_LENGTH:
        raise DomainError("too_long", days=MAX_LENGTH.days)
    return ends


def parse_capacity(text: str) -> int:
    """A number of places, 1 to 100,000. Raises DomainError: capacity."""
    text = (text or "").strip().replace(" ", "").replace("\u00a0", "")
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise DomainError("capacity", max=CAPACITY_MAX)
    value = int(text)
    if not 0 < value <= CAPACITY_MAX:
        raise DomainError("capacity", max=CAPACITY_MAX)
    return value


def parse_place(text: str) -> tuple[str | None, str | None]:
    """(venue, online link): a https link is the online link, anything else the address.
    Raises DomainError: empty, too_long (limit)."""
    text = " ".join((text or "").split())
    if not text:
        raise DomainError("empty")
    if _URL.match(text):
        if len(text) > URL_MAX:
            raise DomainError("too_long", limit=URL_MAX)
        return None, text
    if len(text) > VENUE_MAX:
        raise DomainError("too_long", limit=VENUE_MAX)
    return text, None


def check_draft(draft: EventDraft, now: datetime) -> None:
    """Raises DomainError: incomplete, time_past, end_before_start."""
    if not draft.title or draft.starts_at is None or draft.ends_at is None:
        raise DomainError("incomplete")
    if not (draft.venue or draft.online_url or draft.latitude is not None):
        raise DomainError("incomplete")
    if draft.starts_at <= now:
        raise DomainError("time_past", when=draft.starts_at)
    if draft.ends_at <= draft.starts_at:
        raise DomainError("end_before_start")


# ------------------------------------------------------------------ events

async def create_event(
    session: AsyncSession, draft: EventDraft, *, default_locale: str, created_by: int | None, now: datetime
) -> Event:
    check_draft(draft, now)
    assert draft.starts_at is not None and draft.ends_at is not None
    event = Event(
        kind=draft.kind, title=draft.title, description=draft.description, starts_at=draft.starts_at,
        ends_at=draft.ends_at, venue=draft.venue, latitude=draft.latitude, longitude=draft.longitude,
        online_url=draft.online_url, capacity=draft.capacity, speakers=draft.speakers, audience=draft.audience,
        default_locale=default_locale, status="scheduled", version=1, checkin_token=secrets.token_urlsafe(12),
        created_by=created_by, created_at=now, updated_at=now,
    )
    session.add(event)
    await session.flush()
    return event


async def get_event(session: AsyncSession, event_id: int) -> Event | None:
    return await session.get(Event, event_id)


def event_json(event: Event) -> dict[str, Any]:
    """An event's content for campaign payloads (rendered per resident at send time)."""
    return {
        "id": event.id, "kind": event.kind, "title": event.title, "description": event.description,
        "starts_at": event.starts_at.isoformat(), "ends_at": event.ends_at.isoformat(), "venue": event.venue,
        "latitude": event.latitude, "longitude": event.longitude, "online_url": event.online_url,
        "capacity": event.capacity, "speakers": event.speakers, "default_locale": event.default_locale,
        "status": event.status, "version": event.version,
        "org": dict(event.org.name) if event.org_id is not None and event.org is not None else None,
    }


@dataclass
class Tally:
    going: int = 0
    maybe: int = 0
    no: int = 0
    waitlist: int = 0
    walkin: int = 0  # came without having answered (takes no place)
    attended: int = 0
    feedback: int = 0
    score_sum: int = 0

    @property
    def score(self) -> float | None:
        return self.score_sum / self.feedback if self.feedback else None


async def tallies(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, Tally]:
    out = {event_id: Tally() for event_id in event_ids}
    if not event_ids:
        return out
    rows = await session.execute(
        select(EventRsvp.event_id, EventRsvp.status, func.count(), func.count(EventRsvp.attended_at),
               func.count(EventRsvp.feedback_score), func.coalesce(func.sum(EventRsvp.feedback_score), 0))
        .where(EventRsvp.event_id.in_(event_ids)).group_by(EventRsvp.event_id, EventRsvp.status)
    )
    for event_id, status, n, attended, feedback, score_sum in rows:
        tally = out[event_id]
        setattr(tally, status, getattr(tally, status) + n)
        tally.attended += attended
        tally.feedback += feedback
        tally.score_sum += int(score_sum)
    return out


def places_left(event: Event, tally: Tally) -> int | None:
    return None if event.capacity is None else max(event.capacity - tally.going, 0)


async def score_counts(session: AsyncSession, event_id: int) -> list[int]:
    """How many rated the event 1, 2, 3, 4 and 5 (the feedback's distribution)."""
    rows = await session.execute(
        select(EventRsvp.feedback_score, func.count()).where(
            EventRsvp.event_id == event_id, EventRsvp.feedback_score.is_not(None))
        .group_by(EventRsvp.feedback_score))
    found = {int(score): n for score, n in rows}
    return [found.get(score, 0) for score in (1, 2, 3, 4, 5)]


def checkin_link(bot_username: str, event: Event) -> str:
    """The venue's check-in deep link (what its QR code holds): opens the bot, which checks the
    resident in (``/start checkin_<token>``)."""
    return f"https://t.me/{bot_username}?start=checkin_{event.checkin_token}"


async def rsvp_of(session: AsyncSession, event_id: int, user_id: int) -> EventRsvp | None:
    return await session.scalar(select(EventRsvp).where(EventRsvp.event_id == event_id, EventRsvp.user_id == user_id))


def _open(event: Event | None, now: datetime) -> Event:
    if event is None:
        raise DomainError("unknown_event")
    if event.status == "cancelled":
        raise DomainError("cancelled")
    if now >= event.starts_at:
        raise DomainError("started")
    return event


@dataclass
class Answer:
    status: str  # the resident's answer now: going | maybe | no | waitlist
    changed: bool
    promoted: list[int] = field(default_factory=list)  # users.id moved from the waitlist to going


async def _lock(session: AsyncSession, event: Event) -> None:
    """Serialise answers to one event (PostgreSQL; SQLite serialises writers anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(Event.id).where(Event.id == event.id).with_for_update())


async def may_see(session: AsyncSession, event: Event, user: User) -> bool:
    """Every action on an event (its card, the .ics file, a question, an answer) is for its audience,
    or for someone who already answered it or came (ids are sequential: buttons can be forged)."""
    return await rsvp_of(session, event.id, user.id) is not None or await in_audience(session, event.audience, user)


async def answer(session: AsyncSession, event: Event | None, user: User, choice: str, now: datetime) -> Answer:
    """Going / maybe / can't go. "Going" when the event is full puts the resident on the waitlist;
    a place freed by "maybe"/"can't go" goes to the first one waiting.
    Raises DomainError: unknown_event, cancelled, started, bad_choice, not_for_you."""
    event = _open(event, now)
    if choice not in ANSWERS:
        raise DomainError("bad_choice")
    await _lock(session, event)
    row = await rsvp_of(session, event.id, user.id)
    if row is None:
        if audience_admits(event.audience, user) is not True and not await in_audience(session, event.audience, user):
            raise DomainError("not_for_you")
        row = EventRsvp(event_id=event.id, user_id=user.id, status="no", created_at=now, updated_at=now)
        session.add(row)
        previous = None
    else:
        previous = row.status
    if choice == "going" and previous in ("going", "waitlist"):
        return Answer(previous, False)
    if choice == previous:
        return Answer(previous, False)
    if choice == "going":
        going = await session.scalar(select(func.count()).where(
            EventRsvp.event_id == event.id, EventRsvp.status == "going")) if event.capacity is not None else 0
        if event.capacity is not None and (going or 0) >= event.capacity:
            row.status, row.waitlisted_at = "waitlist", now
        else:
            row.status, row.waitlisted_at = "going", None
    else:
        row.status, row.waitlisted_at = choice, None
    row.updated_at = now
    await session.flush()
    promoted = await _promote(session, event, now) if previous == "going" else []
    return Answer(row.status, True, promoted)


async def _promote(session: AsyncSession, event: Event, now: datetime) -> list[int]:
    """Move the first ones waiting to "going" while there are places."""
    if event.capacity is None:
        return []
    going = await session.scalar(select(func.count()).where(EventRsvp.event_id == event.id,
                                                            EventRsvp.status == "going")) or 0
    free = event.capacity - going
    if free <= 0:
        return []
    waiting = list(await session.scalars(
        select(EventRsvp).where(EventRsvp.event_id == event.id, EventRsvp.status == "waitlist")
        .order_by(EventRsvp.waitlisted_at, EventRsvp.id).limit(free)
    ))
    for row in waiting:
        row.status, row.waitlisted_at, row.updated_at = "going", None, now
    await session.flush()
    return [row.user_id for row in waiting]


async def check_in(session: AsyncSession, token: str, user: User, now: datetime) -> tuple[Event, bool]:
    """The venue's link: marks the resident as attended (once). Returns (event, first time).
    Raises DomainError: unknown_event, cancelled, too_early (when), over."""
    event = await session.scalar(select(Event).where(Event.checkin_token == token)) if token else None
    if event is None:
        raise DomainError("unknown_event")
    if event.status == "cancelled":
        raise DomainError("cancelled")
    if now < event.starts_at - CHECKIN_EARLY:
        raise DomainError("too_early", when=event.starts_at - CHECKIN_EARLY)
    if now > event.ends_at + CHECKIN_LATE:
        raise DomainError("over")
    row = await rsvp_of(session, event.id, user.id)
    if row is None:  # came without answering: counted as attended, takes nobody's place
        row = EventRsvp(event_id=event.id, user_id=user.id, status="walkin", created_at=now, updated_at=now)
        session.add(row)
    if row.attended_at is not None:
        return event, False
    row.attended_at, row.checked_in_by, row.updated_at = now, "link", now
    await session.flush()
    return event, True


async def mark_attended(session: AsyncSession, event: Event, user_id: int, now: datetime) -> bool:
    """The organizer marks (or unmarks) attendance by hand; returns whether they attended now."""
    row = await rsvp_of(session, event.id, user_id)
    if row is None:
        raise DomainError("unknown_person")
    if row.attended_at is None:
        row.attended_at, row.checked_in_by = now, "organizer"
    else:
        row.attended_at, row.checked_in_by = None, None
    row.updated_at = now
    await session.flush()
    return row.attended_at is not None


async def attendees(session: AsyncSession, event_id: int, limit: int = 98) -> list[tuple[int, str, bool]]:
    """(users.id, display name, attended) of those going or who came, by name (as many as one
    keyboard holds)."""
    rows = await session.execute(
        select(User.id, User.display_name, EventRsvp.attended_at)
        .join(EventRsvp, EventRsvp.user_id == User.id)
        .where(EventRsvp.event_id == event_id, User.deleted_at.is_(None),
               (EventRsvp.status == "going") | EventRsvp.attended_at.is_not(None))
        .order_by(User.display_name, User.id).limit(limit)
    )
    return [(uid, name or "", attended is not None) for uid, name, attended in rows]


def questions_open(event: Event | None, now: datetime) -> Event:
    """The event, if it takes questions for the speakers now (until an hour before the start,
    when they go to the organizers). Raises DomainError: unknown_event, cancelled, started,
    questions_closed."""
    event = _open(event, now)
    if now >= event.starts_at - QUESTIONS_BEFORE:
        raise DomainError("questions_closed")
    return event


async def ask(session: AsyncSession, event: Event | None, user: User, text: str, now: datetime) -> EventQuestion:
    """A question for the speakers, until an hour before the start (when they go to the
    organizers). Raises DomainError: unknown_event, cancelled, started, questions_closed, empty,
    too_long (limit)."""
    event = questions_open(event, now)
    text = (text or "").strip()
    if not text:
        raise DomainError("empty")
    if len(text) > QUESTION_MAX:
        raise DomainError("too_long", limit=QUESTION_MAX)
    question = EventQuestion(event_id=event.id, user_id=user.id, text=text, created_at=now)
    session.add(question)
    await session.flush()
    return question


async def question_count(session: AsyncSession, event_id: int) -> int:
    return await session.scalar(select(func.count()).where(EventQuestion.event_id == event_id)) or 0


async def feedback(session: AsyncSession, event: Event | None, user: User, *, score: int | None = None,
                   comment: str | None = None, voice_file_id: str | None = None, now: datetime) -> None:
    """The rating, and a comment: written, or a voice note (kept by its Telegram ``file_id``).
    Raises DomainError: unknown_event, not_attended, bad_choice, too_long (limit)."""
    if event is None:
        raise DomainError("unknown_event")
    row = await rsvp_of(session, event.id, user.id)
    if row is None or row.attended_at is None:
        raise DomainError("not_attended")
    if score is not None:
        if score not in (1, 2, 3, 4, 5):
            raise DomainError("bad_choice")
        row.feedback_score = score
    if comment is not None:
        comment = comment.strip()
        if len(comment) > COMMENT_MAX:
            raise DomainError("too_long", limit=COMMENT_MAX)
        row.feedback_comment = comment or None
    if voice_file_id is not None:
        row.feedback_voice_file_id = voice_file_id[:255] or None
    row.updated_at = now
    await session.flush()


@dataclass
class Comment:
    """A feedback comment as organizers see it: without the name."""

    score: int | None
    text: str | None
    voice_file_id: str | None


COMMENTED = (EventRsvp.feedback_comment.is_not(None) | EventRsvp.feedback_voice_file_id.is_not(None))


async def comment_count(session: AsyncSession, event_id: int) -> int:
    """How many who came left a comment or a voice note."""
    return await session.scalar(select(func.count()).select_from(EventRsvp).where(
        EventRsvp.event_id == event_id, COMMENTED)) or 0


async def comments(session: AsyncSession, event_id: int, limit: int = 50) -> list[Comment]:
    """The latest feedback comments and voice notes of an event, newest first."""
    rows = await session.execute(
        select(EventRsvp.feedback_score, EventRsvp.feedback_comment, EventRsvp.feedback_voice_file_id)
        .where(EventRsvp.event_id == event_id, COMMENTED)
        .order_by(EventRsvp.updated_at.desc(), EventRsvp.id.desc()).limit(limit))
    return [Comment(score, text, voice) for score, text, voice in rows]


# ------------------------------------------------------------------ personal data

async def export_for(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """The resident's answers to events, attendance, feedback and questions (for /mydata)."""
    out = []
    for row, title in await session.execute(
        select(EventRsvp, Event.title).join(Event, Event.id == EventRsvp.event_id)
        .where(EventRsvp.user_id == user_id).order_by(EventRsvp.event_id)
    ):
        out.append({"event": row.event_id, "title": title, "answer": row.status,
                    "attended_at": row.attended_at.isoformat() if row.attended_at else None,
                    "feedback_score": row.feedback_score, "feedback_comment": row.feedback_comment,
                    "feedback_voice_note": row.feedback_voice_file_id is not None})
    for event_id, text in await session.execute(
        select(EventQuestion.event_id, EventQuestion.text).where(EventQuestion.user_id == user_id)
    ):
        out.append({"event": event_id, "question_for_speakers": text})
    return out


async def forget(session: AsyncSession, user_id: int, now: datetime) -> None:
    """On /deleteme: attendance and past answers stay in the counts (the name is gone with the
    profile); a place held for a coming event is freed (the next one waiting gets it); their
    questions for speakers and feedback comments (written or voice notes), which they made, are
    deleted."""
    await session.execute(delete(EventQuestion).where(EventQuestion.user_id == user_id))
    await session.execute(update(EventRsvp).where(EventRsvp.user_id == user_id).values(
        feedback_comment=None, feedback_voice_file_id=None))
    rows = list(await session.scalars(
        select(EventRsvp).join(Event, Event.id == EventRsvp.event_id).where(
            EventRsvp.user_id == user_id, EventRsvp.status.in_(("going", "waitlist", "maybe")),
            Event.status == "scheduled", Event.starts_at > now)))
    for row in rows:
        was_going = row.status == "going"
        row.status, row.waitlisted_at, row.updated_at = "no", None, now
        await session.flush()
        event = await session.get(Event, row.event_id)
        if was_going and event is not None:
            await tell_promoted(session, event, await _promote(session, event, now), now)


# ------------------------------------------------------------------ lists

async def upcoming(session: AsyncSession, now: datetime, limit: int = 15, orgs: set[int] | None = None) -> list[Event]:
    """For organizers: events not over yet, soonest first, then the last few that are over (only
    those made for the organisations ``orgs`` when given: a representative's)."""
    mine = [Event.org_id.in_(orgs)] if orgs is not None else []
    coming = list(await session.scalars(
        select(Event).where(Event.ends_at > now, *mine).order_by(Event.starts_at, Event.id).limit(limit)))
    past = list(await session.scalars(
        select(Event).where(Event.ends_at <= now, *mine).order_by(Event.starts_at.desc()).limit(3)))
    return coming + past


async def upcoming_for(
    session: AsyncSession, user: User, now: datetime, limit: int = 10
) -> list[tuple[Event, str | None]]:
    """For a resident: scheduled events not started yet that are meant for them, with their answer."""
    events = list(await session.scalars(
        select(Event).where(Event.status == "scheduled", Event.starts_at > now).order_by(Event.starts_at)))
    answers = {
        event_id: status for event_id, status in await session.execute(
            select(EventRsvp.event_id, EventRsvp.status).where(EventRsvp.user_id == user.id))
    }
    out = []
    for event in events:
        if event.id not in answers and not await in_audience(session, event.audience, user):
            continue
        out.append((event, answers.get(event.id)))
        if len(out) == limit:
            break
    return out


async def answered_user_ids(session: AsyncSession, event_id: int) -> list[int]:
    return list(await session.scalars(
        select(EventRsvp.user_id).where(EventRsvp.event_id == event_id, EventRsvp.status.in_(ANSWERED))
        .order_by(EventRsvp.user_id)))


# ------------------------------------------------------------------ changes

def _notice(event: Event, what: str, now: datetime, changes: list[str]) -> dict[str, Any]:
    return {"event": event_json(event), "what": what, "changes": changes, "at": now.isoformat()}


async def change(session: AsyncSession, event: Event, now: datetime, *, starts_at: datetime | None = None,
                 venue: str | None = None, online_url: str | None = None,
                 title: tuple[str, str, str] | None = None) -> list[str]:
    """Move the event (its length stays), change its place, or its title and description in one
    language (``title``: locale, title, description); everyone who answered is told.
    Returns what changed ("time", "place", "details"). Raises DomainError: cancelled, started,
    time_past."""
    _open(event, now)
    changes = []
    if starts_at is not None and starts_at != event.starts_at:
        if starts_at <= now:
            raise DomainError("time_past", when=starts_at)
        length = event.ends_at - event.starts_at
        event.starts_at, event.ends_at = starts_at, starts_at + length
        changes.append("time")
    if (venue, online_url) != (None, None) and (venue, online_url) != (event.venue, event.online_url):
        event.venue, event.online_url = venue, online_url
        event.latitude = event.longitude = None
        changes.append("place")
    if title is not None:
        locale, new_title, new_description = title
        if (event.title.get(locale), (event.description or {}).get(locale, "")) != (new_title, new_description):
            event.title = {**event.title, locale: new_title}
            description = {**(event.description or {}), locale: new_description}
            event.description = {k: v for k, v in description.items() if v}
            changes.append("details")
    if not changes:
        return []
    event.version += 1
    event.updated_at = now
    await session.flush()
    await _tell_answered(session, event, "changed", now, changes, key=f"event:{event.id}:v{event.version}")
    return changes


async def set_capacity(session: AsyncSession, event: Event, capacity: int | None, now: datetime) -> list[int]:
    """Change the number of places (None: no limit). Places added go to those waiting, who are
    told; with fewer places nobody already going loses theirs. Returns who got a place.
    Raises DomainError: cancelled, started."""
    _open(event, now)
    await _lock(session, event)
    event.capacity = capacity
    event.updated_at = now
    await session.flush()
    if capacity is None:  # everyone waiting gets in
        waiting = list(await session.scalars(select(EventRsvp).where(
            EventRsvp.event_id == event.id, EventRsvp.status == "waitlist")))
        for row in waiting:
            row.status, row.waitlisted_at, row.updated_at = "going", None, now
        await session.flush()
        promoted = [row.user_id for row in waiting]
    else:
        promoted = await _promote(session, event, now)
    await tell_promoted(session, event, promoted, now)
    return promoted


async def cancel(session: AsyncSession, event: Event, now: datetime) -> bool:
    """Cancel the event and tell everyone who answered; False if it was cancelled already."""
    if event.status == "cancelled":
        return False
    if now >= event.ends_at:
        raise DomainError("over")
    event.status = "cancelled"
    event.version += 1
    event.updated_at = now
    await session.flush()
    # nobody else gets the announcement, and no reminder still queued goes out
    for campaign_id in await queued_campaigns(session, event):
        await cancel_campaign(session, campaign_id, now)
    await _tell_answered(session, event, "cancelled", now, [], key=f"event:{event.id}:cancelled")
    return True


async def queued_campaigns(session: AsyncSession, event: Event) -> list[int]:
    """The event's campaigns that may still be going out (to stop them in the engine too)."""
    return list(await session.scalars(select(Campaign.id).where(
        (Campaign.id == event.campaign_id) | Campaign.key.like(f"event:{event.id}:reminder:%"))))


async def _tell_answered(session: AsyncSession, event: Event, what: str, now: datetime, changes: list[str],
                         *, key: str) -> None:
    user_ids = await answered_user_ids(session, event.id)
    if user_ids:
        await create_campaign(session, kind="event-notice", key=key, urgent=True, now=now,
                              payload=_notice(event, what, now, changes), audience=Audience(user_ids=user_ids))


async def tell_promoted(session: AsyncSession, event: Event, user_ids: list[int], now: datetime) -> None:
    """Those who got a place from the waitlist are told (each in their language)."""
    if user_ids:
        await create_campaign(session, kind="event-notice", urgent=True, now=now,
                              key=f"event:{event.id}:promoted:{min(user_ids)}:{now.timestamp():.0f}",
                              payload=_notice(event, "promoted", now, []), audience=Audience(user_ids=user_ids))


# ------------------------------------------------------------------ what is due

def current_reminder(event: Event, now: datetime, offsets: Sequence[timedelta]) -> timedelta | None:
    """The reminder due now: the one with the latest due time that has passed, if the event has
    not started. (An earlier one missed meanwhile is skipped: one reminder, the most recent.)"""
    if event.status != "scheduled" or now >= event.starts_at:
        return None
    due = [o for o in offsets if event.starts_at - o <= now]
    return min(due) if due else None


async def queue_due(session: AsyncSession, now: datetime, *, offsets: Sequence[timedelta],
                    organizers_chat_id: int | None) -> int:
    """Queue the reminders, speakers' questions and feedback questions that are due (each once:
    campaign keys). Returns how many campaigns were created; the caller commits and wakes the
    delivery engine."""
    created = 0
    horizon = max(offsets, default=timedelta(0))
    events = list(await session.scalars(
        select(Event).where(Event.status == "scheduled", Event.starts_at <= now + max(horizon, QUESTIONS_BEFORE),
                            Event.ends_at >= now - timedelta(days=2))
    ))
    for event in events:
        stamp = f"{event.starts_at.timestamp():.0f}"
        offset = current_reminder(event, now, offsets)
        if offset is not None:
            going = list(await session.scalars(select(EventRsvp.user_id).where(
                EventRsvp.event_id == event.id, EventRsvp.status == "going")))
            key = f"event:{event.id}:reminder:{int(offset.total_seconds() // 60)}:{stamp}"
            created += await _once(session, key, "event-reminder", _notice(event, "reminder", now, []),
                                   Audience(user_ids=going), now, bool(going))
        if event.starts_at - QUESTIONS_BEFORE <= now < event.starts_at:
            texts = list(await session.scalars(select(EventQuestion.text).where(
                EventQuestion.event_id == event.id).order_by(EventQuestion.id)))
            # to the organizers' chat, or to whoever created the event; a few per message
            audience = (Audience(residents=False, chat_ids=[organizers_chat_id]) if organizers_chat_id is not None
                        else Audience(user_ids=[event.created_by] if event.created_by else []))
            for part, start in enumerate(range(0, max(len(texts), 1), QUESTIONS_PER_MESSAGE)):
                chunk = texts[start:start + QUESTIONS_PER_MESSAGE]
                payload = {**_notice(event, "questions", now, []), "questions": chunk, "first": start + 1}
                created += await _once(session, f"event:{event.id}:questions:{stamp}:{part}", "event-questions",
                                       payload, audience, now, bool(chunk))
        if now >= event.ends_at + CHECKIN_LATE:  # once check-in has closed: everyone who came
            came = list(await session.scalars(select(EventRsvp.user_id).where(
                EventRsvp.event_id == event.id, EventRsvp.attended_at.is_not(None))))
            created += await _once(session, f"event:{event.id}:feedback", "event-feedback",
                                   _notice(event, "feedback", now, []), Audience(user_ids=came), now, bool(came))
    return created


async def _once(session: AsyncSession, key: str, kind: str, payload: dict[str, Any], audience: Audience,
                now: datetime, anyone: bool) -> int:
    """Create the campaign unless it exists; with nobody to send to, a cancelled one marks it done."""
    from storage.models import Campaign

    if await session.scalar(select(Campaign.id).where(Campaign.key == key)) is not None:
        return 0
    campaign = await create_campaign(session, kind=kind, key=key, payload=payload, audience=audience, now=now,
                                     urgent=kind != "event-feedback")
    if not anyone:
        campaign.status, campaign.cancelled_at = "cancelled", now
        return 0
    return 1
