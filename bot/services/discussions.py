"""Online discussions: a question, statements, and residents' agree / disagree / pass. No aiogram.

Who voted what is never kept by name: a participant is a keyed hash of (discussion, resident), as
in anonymous polls, with only their district beside it. Residents' own statements wait for a
moderator (``pending``) before anyone else sees them; the author is known to the bot (to tell them
the decision, and for /mydata), never shown to moderators or organizers. The analysis of the votes
(consensus, divisive statements, opinion groups) is in ``bot.services.opinions``.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from dataclasses import dataclass

from sqlalchemy import Integer, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.services import cache
from bot.services.campaigns import cancel_campaign, in_audience
from bot.services.taps import audience_admits, prepared
from bot.services.errors import DomainError
from bot.services.opinions import Analysis, analyse
from bot.services.orgs import parse_texts
from bot.services.text import language_code
from storage.models import (
    Campaign,
    Discussion,
    DiscussionParticipant,
    DiscussionStatement,
    DiscussionVote,
    User,
)
from storage.queries import close_if_open

QUESTION_MAX = 300
STATEMENT_MIN = 5
STATEMENT_MAX = 280
SEEDS_MAX = 30
PENDING_MAX = 3  # a resident's statements waiting for a moderator, per discussion
DEFAULT_DURATION = timedelta(days=14)
VOTES = {"a": 1, "d": -1, "p": 0}
CARD_GRACE = timedelta(minutes=3)
REASONS = ("offtopic", "repeat", "personal", "unclear", "rude")

_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(\s+[a-zA-Z-]+\s*=\s*[^<>]*)?\s*/?>")  # <b>, </i>, <a href=…>
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


# -- input checks --------------------------------------------------------------------------------

def clean_question(text: str | None, default_locale: str, locales: tuple[str, ...]) -> dict[str, str]:
    """The question, one line per language (``uk: …``) as for organisations and working groups."""
    try:
        return parse_texts(text, default_locale, locales, QUESTION_MAX)
    except DomainError as exc:
        raise DomainError("empty" if exc.code == "org_empty" else "too_long", **exc.params) from None


def clean_statement(text: str | None) -> str:
    """One line of plain text, 5-280 characters. Raises DomainError: empty, too_short, too_long,
    html (tags or entities: residents write plain text; what they write is shown escaped)."""
    value = " ".join((text or "").split())
    if not value:
        raise DomainError("empty")
    if _TAG.search(value) or len(_ENTITY.findall(value)) > 1:
        raise DomainError("html")
    if len(value) < STATEMENT_MIN:
        raise DomainError("too_short", min=STATEMENT_MIN)
    if len(value) > STATEMENT_MAX:
        raise DomainError("too_long", max=STATEMENT_MAX, length=len(value))
    return value


def fold(text: str) -> str:
    """A statement as compared for duplicates: case, punctuation and spacing do not count."""
    words = re.findall(r"\w+", text.casefold().replace("ё", "е").replace("ʼ", "'"))
    return " ".join(words)[:300]


def participant_key(secret: bytes, discussion_id: int, user_id: int) -> str:
    return hmac.new(secret, f"discussion:{discussion_id}:{user_id}".encode(), hashlib.sha256).hexdigest()


# -- creating and reading ------------------------------------------------------------------------

async def create(session: AsyncSession, question: dict[str, str], seeds: Sequence[str], audience: dict[str, Any],
                 closes_at: datetime | None, default_locale: str, created_by: int | None,
                 now: datetime) -> Discussion:
    if not seeds:
        raise DomainError("no_statements")
    if closes_at is not None and closes_at <= now:
        raise DomainError("closes_passed")
    discussion = Discussion(question=question, default_locale=default_locale, status="open", audience=audience,
                            closes_at=closes_at, created_by=created_by, created_at=now)
    session.add(discussion)
    await session.flush()
    for text in seeds:
        session.add(DiscussionStatement(discussion_id=discussion.id, text=text, norm=fold(text), status="approved",
                                        seed=True, created_at=now, moderated_at=now))
    await session.flush()
    return discussion


def add_seed(seeds: list[str], text: str | None) -> str:
    """A seed statement for the wizard's draft. Raises DomainError as clean_statement, and
    duplicate, too_many, language_line (code): a statement is read as written, in one language,
    so a line naming a language ("uk: …") is never glued into it; a single such line is taken
    without its code."""
    lines = (text or "").strip().splitlines()
    codes = [language_code(line) for line in lines]
    if len(lines) == 1 and codes[0]:
        text = lines[0].partition(":")[2]
    elif any(codes):
        raise DomainError("language_line", lang=next(c for c in codes if c))
    value = clean_statement(text)
    if fold(value) in {fold(s) for s in seeds}:
        raise DomainError("duplicate")
    if len(seeds) >= SEEDS_MAX:
        raise DomainError("too_many", max=SEEDS_MAX)
    seeds.append(value)
    return value


async def get(session: AsyncSession, discussion_id: int) -> Discussion | None:
    return await session.get(Discussion, discussion_id)


async def statement(session: AsyncSession, statement_id: int) -> DiscussionStatement | None:
    return await session.get(DiscussionStatement, statement_id)


def is_open(discussion: Discussion | None, now: datetime) -> bool:
    return discussion is not None and discussion.status == "open" and (
        discussion.closes_at is None or discussion.closes_at > now)


def check_open(discussion: Discussion | None, now: datetime) -> Discussion:
    """Raises DomainError: unknown, closed."""
    if discussion is None:
        raise DomainError("unknown")
    if not is_open(discussion, now):
        raise DomainError("closed")
    return discussion


async def _participant(session: AsyncSession, discussion_id: int, key: str) -> DiscussionParticipant | None:
    return await session.scalar(select(DiscussionParticipant).where(
        DiscussionParticipant.discussion_id == discussion_id, DiscussionParticipant.participant == key))


async def may_take_part(session: AsyncSession, discussion: Discussion, user: User, key: str) -> bool:
    """Those the discussion was meant for (its audience as it is now), and whoever already voted."""
    return (await _participant(session, discussion.id, key) is not None
            or await in_audience(session, discussion.audience, user))


@dataclass(frozen=True)
class Shown:
    """The statement a resident is shown (only what the message needs)."""

    id: int
    text: str


async def next_statement(session: AsyncSession, discussion: Discussion | CachedDiscussion, user: User,
                         key: str, participant_id: int | None = None) -> tuple[Shown | None, int, int]:
    """The statement to show this resident next (fewest votes first; never one they voted on,
    nor their own), with how many they voted on and how many there are for them: one query
    while there is one to show (``participant_id``: when the caller knows it)."""
    if participant_id is None:
        participant = await _participant(session, discussion.id, key)
        participant_id = participant.id if participant is not None else -1
    theirs = (DiscussionStatement.discussion_id == discussion.id, DiscussionStatement.status == "approved",
              DiscussionStatement.author_id.is_(None) | (DiscussionStatement.author_id != user.id))
    voted = select(DiscussionVote.statement_id).where(DiscussionVote.participant_id == participant_id)
    other = aliased(DiscussionStatement)  # the counts are of all their statements, not of the one found
    counted = (other.discussion_id == discussion.id, other.status == "approved",
               other.author_id.is_(None) | (other.author_id != user.id))
    total_q = select(func.count()).select_from(other).where(*counted).correlate_except(other)
    seen_q = (select(func.count()).select_from(other).where(*counted, other.id.in_(voted))
              .correlate_except(other, DiscussionVote))
    row = (await session.execute(
        select(DiscussionStatement.id, DiscussionStatement.text, total_q.scalar_subquery(), seen_q.scalar_subquery())
        .where(*theirs, DiscussionStatement.id.not_in(voted))
        .order_by(DiscussionStatement.votes, DiscussionStatement.id).limit(1)
    )).first()
    if row is not None:
        return Shown(row[0], row[1]), int(row[3] or 0), int(row[2] or 0)
    total, seen = (await session.execute(select(total_q.scalar_subquery(), seen_q.scalar_subquery()))).one()
    return None, int(seen or 0), int(total or 0)


# ------------------------------------------------------------------ the hot path: a vote tap

@dataclass(frozen=True)
class CachedDiscussion:
    """What never changes once a discussion is opened, kept per process (bot/services/cache.py);
    whether it is still open is checked by each vote's write."""

    id: int
    question: dict[str, Any]
    default_locale: str
    audience: dict[str, Any]
    closes_at: datetime | None


async def cached(session: AsyncSession, discussion_id: int) -> CachedDiscussion | None:
    hit = cache.get(session, "discussion", discussion_id)
    if hit is not None:
        return hit
    found = await get(session, discussion_id)
    if found is None:
        return None
    return cache.put(session, "discussion", discussion_id, CachedDiscussion(
        found.id, dict(found.question), found.default_locale, dict(found.audience or {}), found.closes_at))


async def tap_vote(session: AsyncSession, discussion: CachedDiscussion | None, statement_id: int, choice: str,
                   user: User, key: str, now: datetime) -> tuple[int, bool]:
    """vote() in few statements: the participant made (or found) only while the discussion is
    open (``INSERT … SELECT … WHERE EXISTS … ON CONFLICT … RETURNING``), the vote inserted only on
    an approved statement of this discussion that is not the resident's own, else changed; the
    statement's counter raised with a first vote. Returns (participant id, changed). Raises
    DomainError as vote()."""
    if discussion is None:
        raise DomainError("unknown")
    if discussion.closes_at is not None and discussion.closes_at <= now:
        raise DomainError("closed")
    if choice not in VOTES:
        raise DomainError("bad_statement")
    if audience_admits(discussion.audience, user) is not True:
        if await _participant(session, discussion.id, key) is None:
            if not await in_audience(session, discussion.audience, user):
                raise DomainError("not_for_you")
    conn = await session.connection()
    params = {"did": discussion.id, "key": key, "district": user.district, "now": now, "sid": statement_id,
              "uid": user.id}
    participant_id = (await conn.execute(prepared(session, "discussion-participant", _participant_upsert), params)
                      ).scalar()
    if participant_id is None:  # closed, or not a statement they may vote on (only now is it asked which)
        if (await conn.execute(prepared(session, "discussion-open", lambda _: select(_is_open())), params)).scalar():
            raise DomainError("bad_statement")
        cache.drop(session, "discussion", discussion.id)
        raise DomainError("closed")
    params = {"pid": participant_id, "sid": statement_id, "vote": VOTES[choice], "now": now}
    if (await conn.execute(prepared(session, "discussion-vote", _first_vote), params)).first() is not None:
        await conn.execute(prepared(session, "discussion-counted", lambda _: update(DiscussionStatement.__table__).where(
            DiscussionStatement.id == bindparam("sid")).values(votes=DiscussionStatement.votes + 1)), params)
        return participant_id, True
    votes = DiscussionVote.__table__.c
    await conn.execute(prepared(session, "discussion-revote", lambda _: update(DiscussionVote.__table__).where(
        votes.participant_id == bindparam("pid"), votes.statement_id == bindparam("sid")).values(
        vote=bindparam("vote"), created_at=bindparam("now", type_=votes.created_at.type))), params)
    return participant_id, True


# The statements of a discussion vote, built once (bot.services.taps.prepared) with placeholders.

def _is_open() -> Any:
    return exists().where(Discussion.id == bindparam("did"), Discussion.status == "open", or_(
        Discussion.closes_at.is_(None), Discussion.closes_at > bindparam("now", type_=Discussion.closes_at.type)))


def _participant_upsert(insert: Any) -> Any:
    """The resident's participant row, made (or found) only while the discussion is open and the
    statement is one they may vote on."""
    table = DiscussionParticipant.__table__.c
    valid = exists().where(DiscussionStatement.id == bindparam("sid"),
                           DiscussionStatement.discussion_id == bindparam("did"),
                           DiscussionStatement.status == "approved",
                           or_(DiscussionStatement.author_id.is_(None), DiscussionStatement.author_id != bindparam("uid")))
    made = insert(DiscussionParticipant).from_select(
        ["discussion_id", "participant", "district", "created_at"],
        select(bindparam("did", type_=Integer), bindparam("key", type_=table.participant.type),
               bindparam("district", type_=table.district.type), bindparam("now", type_=table.created_at.type),
               ).where(_is_open(), valid))
    return made.on_conflict_do_update(index_elements=["discussion_id", "participant"],
                                      set_={"district": table.district}).returning(table.id)


def _first_vote(insert: Any) -> Any:
    votes = DiscussionVote.__table__.c
    return insert(DiscussionVote).values(
        participant_id=bindparam("pid"), statement_id=bindparam("sid"), vote=bindparam("vote"),
        created_at=bindparam("now", type_=votes.created_at.type),
    ).on_conflict_do_nothing(index_elements=["participant_id", "statement_id"]).returning(votes.statement_id)


async def vote(session: AsyncSession, discussion: Discussion | None, statement_id: int, choice: str, user: User,
               key: str, now: datetime) -> bool:
    """Agree (a), disagree (d) or pass (p); a second vote on the same statement replaces the first.
    Returns whether it changed anything. Raises DomainError: unknown, closed, not_for_you,
    bad_statement."""
    discussion = check_open(discussion, now)
    if choice not in VOTES:
        raise DomainError("bad_statement")
    found = await session.get(DiscussionStatement, statement_id)
    if (found is None or found.discussion_id != discussion.id or found.status != "approved"
            or found.author_id == user.id):
        raise DomainError("bad_statement")
    participant = await _participant(session, discussion.id, key)
    if participant is None:
        if not await in_audience(session, discussion.audience, user):
            raise DomainError("not_for_you")
        try:
            async with session.begin_nested():
                participant = DiscussionParticipant(discussion_id=discussion.id, participant=key,
                                                    district=user.district, created_at=now)
                session.add(participant)
        except IntegrityError:  # a double tap: the other one made it
            participant = await _participant(session, discussion.id, key)
            assert participant is not None
    value = VOTES[choice]
    current = await session.get(DiscussionVote, (participant.id, statement_id))
    if current is not None:
        changed = current.vote != value
        current.vote, current.created_at = value, now
    else:
        try:
            async with session.begin_nested():
                session.add(DiscussionVote(participant_id=participant.id, statement_id=statement_id, vote=value,
                                           created_at=now))
            changed = True
        except IntegrityError:  # a double tap: the other one counted it
            changed = False
        else:
            await session.execute(update(DiscussionStatement).where(DiscussionStatement.id == statement_id)
                                  .values(votes=DiscussionStatement.votes + 1).execution_options(synchronize_session=False))
    await session.flush()
    return changed


def voice_norm() -> str:
    """The ``norm`` of a voice statement not yet written down: unique, and never that of a text
    (``fold`` keeps words and spaces only), so it is no one's duplicate."""
    return "voice:" + secrets.token_hex(8)


async def _is_duplicate(session: AsyncSession, discussion_id: int, norm: str, but: int | None = None) -> bool:
    query = select(DiscussionStatement.id).where(DiscussionStatement.discussion_id == discussion_id,
                                                 DiscussionStatement.norm == norm)
    if but is not None:
        query = query.where(DiscussionStatement.id != but)
    return await session.scalar(query.limit(1)) is not None


async def submit(session: AsyncSession, discussion: Discussion | None, text: str | None, user: User, key: str,
                 now: datetime, voice_file_id: str | None = None) -> DiscussionStatement:
    """A resident's own statement, pending until a moderator approves it: text, or a voice note
    (``voice_file_id``; its text stays empty until a moderator writes down what it says, see
    ``transcribe``). Raises DomainError: unknown, closed, not_for_you, as clean_statement,
    duplicate, too_many."""
    discussion = check_open(discussion, now)
    if not await may_take_part(session, discussion, user, key):
        raise DomainError("not_for_you")
    if voice_file_id:
        value, norm, voice_file_id = "", voice_norm(), voice_file_id[:255]
    else:
        value = clean_statement(text)
        norm = fold(value)
        voice_file_id = None
    if await _is_duplicate(session, discussion.id, norm):
        raise DomainError("duplicate")
    pending = await session.scalar(select(func.count()).select_from(DiscussionStatement).where(
        DiscussionStatement.discussion_id == discussion.id, DiscussionStatement.author_id == user.id,
        DiscussionStatement.status == "pending")) or 0
    if pending >= PENDING_MAX:
        raise DomainError("too_many", max=PENDING_MAX)
    found = DiscussionStatement(discussion_id=discussion.id, text=value, norm=norm, status="pending",
                                author_id=user.id, created_at=now, voice_file_id=voice_file_id)
    try:
        async with session.begin_nested():
            session.add(found)
    except IntegrityError:  # the same statement, sent at the same moment by someone else
        raise DomainError("duplicate") from None
    return found


def needs_text(found: DiscussionStatement) -> bool:
    """A voice statement whose words nobody has written down yet (others vote on text)."""
    return bool(found.voice_file_id) and not found.text


async def moderate(session: AsyncSession, statement_id: int, approve: bool, reason: str | None, by: int,
                   now: datetime) -> DiscussionStatement:
    """Approve or reject (with a reason code) a pending statement of an open discussion; of two
    presses at once one wins. A voice statement is approved only once it has its text. Raises
    DomainError: bad_statement, statement_done, closed, needs_text."""
    if not approve and reason not in REASONS:
        raise DomainError("bad_statement")
    pending = await session.get(DiscussionStatement, statement_id)
    if pending is not None and not is_open(await session.get(Discussion, pending.discussion_id), now):
        raise DomainError("closed")
    if approve and pending is not None and pending.status == "pending" and needs_text(pending):
        raise DomainError("needs_text")
    conditions = [DiscussionStatement.id == statement_id, DiscussionStatement.status == "pending"]
    if approve:  # never an empty statement, even if its text is being changed at this moment
        conditions.append(DiscussionStatement.text != "")
    result = await session.execute(
        update(DiscussionStatement).where(*conditions)
        .values(status="approved" if approve else "rejected", reason=None if approve else reason,
                moderated_at=now, moderated_by=by)
        .execution_options(synchronize_session=False))
    found = await session.get(DiscussionStatement, statement_id)
    if found is None:
        raise DomainError("bad_statement")
    await session.refresh(found)
    if result.rowcount != 1:
        if found.status == "pending":
            raise DomainError("needs_text")
        raise DomainError("statement_done", status=found.status)
    return found


async def transcribe(session: AsyncSession, statement_id: int, text: str | None, now: datetime) -> DiscussionStatement:
    """What a moderator wrote down of a pending voice statement becomes its text (the same checks
    as a typed statement; written again, it replaces the first). Raises DomainError:
    bad_statement, statement_done, closed, as clean_statement, duplicate."""
    found = await session.get(DiscussionStatement, statement_id)
    if found is None or not found.voice_file_id:
        raise DomainError("bad_statement")
    if found.status != "pending":
        raise DomainError("statement_done", status=found.status)
    if not is_open(await session.get(Discussion, found.discussion_id), now):
        raise DomainError("closed")
    value = clean_statement(text)
    norm = fold(value)
    if await _is_duplicate(session, found.discussion_id, norm, but=found.id):
        raise DomainError("duplicate")
    try:
        async with session.begin_nested():
            result = await session.execute(
                update(DiscussionStatement)
                .where(DiscussionStatement.id == statement_id, DiscussionStatement.status == "pending")
                .values(text=value, norm=norm).execution_options(synchronize_session=False))
    except IntegrityError:  # the same words, saved at this moment for another statement
        raise DomainError("duplicate") from None
    await session.refresh(found)
    if result.rowcount != 1:  # decided meanwhile
        raise DomainError("statement_done", status=found.status)
    return found


async def by_card(session: AsyncSession, chat_id: int, message_id: int) -> DiscussionStatement | None:
    """The statement whose moderators' card this message is."""
    return await session.scalar(select(DiscussionStatement).where(
        DiscussionStatement.card_chat_id == chat_id, DiscussionStatement.card_message_id == message_id).limit(1))


async def pending_without_card(session: AsyncSession, now: datetime) -> list[DiscussionStatement]:
    """Statements whose card could not be posted (older than a few minutes: a card on its way is
    not posted twice)."""
    return list(await session.scalars(select(DiscussionStatement).where(
        DiscussionStatement.status == "pending", DiscussionStatement.card_message_id.is_(None),
        DiscussionStatement.created_at < now - CARD_GRACE).order_by(DiscussionStatement.id).limit(50)))


# -- lists and closing ---------------------------------------------------------------------------

async def participants(session: AsyncSession, discussion_ids: Sequence[int]) -> dict[int, int]:
    if not discussion_ids:
        return {}
    rows = await session.execute(
        select(DiscussionParticipant.discussion_id, func.count())
        .where(DiscussionParticipant.discussion_id.in_(discussion_ids)).group_by(DiscussionParticipant.discussion_id))
    return {did: n for did, n in rows}


async def pending_counts(session: AsyncSession, discussion_ids: Sequence[int]) -> dict[int, int]:
    if not discussion_ids:
        return {}
    rows = await session.execute(
        select(DiscussionStatement.discussion_id, func.count())
        .where(DiscussionStatement.discussion_id.in_(discussion_ids), DiscussionStatement.status == "pending")
        .group_by(DiscussionStatement.discussion_id))
    return {did: n for did, n in rows}


async def recent(session: AsyncSession, limit: int = 10) -> list[Discussion]:
    """Open discussions first (closing soonest first), then the latest closed ones."""
    open_ = list(await session.scalars(
        select(Discussion).where(Discussion.status == "open")
        .order_by(Discussion.closes_at.is_(None), Discussion.closes_at, Discussion.id).limit(limit)))
    closed = list(await session.scalars(
        select(Discussion).where(Discussion.status == "closed")
        .order_by(Discussion.closed_at.desc(), Discussion.id.desc()).limit(max(limit - len(open_), 3))))
    return open_ + closed


async def open_for(session: AsyncSession, user: User, secret: bytes, now: datetime,
                   limit: int = 10) -> list[tuple[Discussion, int]]:
    """Open discussions this resident may take part in, with how many statements await them."""
    out = []
    for discussion in await session.scalars(
            select(Discussion).where(Discussion.status == "open")
            .where(Discussion.closes_at.is_(None) | (Discussion.closes_at > now)).order_by(Discussion.id)):
        key = participant_key(secret, discussion.id, user.id)
        if not await may_take_part(session, discussion, user, key):
            continue
        _next, seen, total = await next_statement(session, discussion, user, key)
        out.append((discussion, total - seen))
        if len(out) == limit:
            break
    return out


async def due(session: AsyncSession, now: datetime) -> list[int]:
    return list(await session.scalars(select(Discussion.id).where(
        Discussion.status == "open", Discussion.closes_at.is_not(None), Discussion.closes_at <= now)))


async def close(session: AsyncSession, discussion_id: int, now: datetime) -> Discussion | None:
    """Close an open discussion; None if it was not open (closed by a tap or another run)."""
    return await close_if_open(session, Discussion, discussion_id, now)


# -- results -------------------------------------------------------------------------------------

async def results(session: AsyncSession, discussion: Discussion, min_group: int) -> Analysis:
    statements = list(await session.execute(
        select(DiscussionStatement.id, DiscussionStatement.text, DiscussionStatement.seed)
        .where(DiscussionStatement.discussion_id == discussion.id, DiscussionStatement.status == "approved")
        .order_by(DiscussionStatement.id)))
    people = list(await session.execute(
        select(DiscussionParticipant.id, DiscussionParticipant.district)
        .where(DiscussionParticipant.discussion_id == discussion.id).order_by(DiscussionParticipant.id)))
    index = {pid: n for n, (pid, _district) in enumerate(people)}
    votes = [(index[pid], sid, vote) for pid, sid, vote in await session.execute(
        select(DiscussionVote.participant_id, DiscussionVote.statement_id, DiscussionVote.vote)
        .join(DiscussionParticipant, DiscussionParticipant.id == DiscussionVote.participant_id)
        .where(DiscussionParticipant.discussion_id == discussion.id))
        if pid in index]  # someone's first vote committed between the two reads: next time
    # the analysis is CPU work (about a second for 5,000 people): off the event loop
    return await asyncio.to_thread(analyse, [tuple(s) for s in statements],  # type: ignore[misc]
                                   [d for _pid, d in people], votes, min_group)


# -- personal data -------------------------------------------------------------------------------

async def export_for(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """The statements this person wrote (their votes are not linked to them: see forget)."""
    rows = await session.execute(
        select(DiscussionStatement.discussion_id, DiscussionStatement.text, DiscussionStatement.status,
               DiscussionStatement.voice_file_id)
        .where(DiscussionStatement.author_id == user_id).order_by(DiscussionStatement.id))
    return [{"discussion": did, "statement": text, "status": status, "voice_note": voice is not None}
            for did, text, status, voice in rows]


def news_key(statement_id: int) -> str:
    """The campaign that tells the author of a moderator's decision."""
    return f"statement:{statement_id}:decided"


async def forget(session: AsyncSession, user_id: int, secret: bytes) -> None:
    """On /deleteme: statements still waiting or rejected go; approved ones stay (others voted on
    them) without their author and without their voice note (the written-down text stays); the
    messages that told them of a decision lose the text and the recipient; every participant hash
    becomes a random one (the counts stay)."""
    mine = list(await session.scalars(select(DiscussionStatement.id).where(DiscussionStatement.author_id == user_id)))
    for campaign_id in await session.scalars(select(Campaign.id).where(Campaign.key.in_([news_key(i) for i in mine]))):
        await cancel_campaign(session, campaign_id)
        await session.execute(update(Campaign).where(Campaign.id == campaign_id).values(
            payload={"question": {}, "default_locale": "en", "text": "", "approved": True, "reason": None},
            audience={"user_ids": []}).execution_options(synchronize_session=False))
    await session.execute(delete(DiscussionStatement).where(
        DiscussionStatement.author_id == user_id, DiscussionStatement.status != "approved"))
    await session.execute(update(DiscussionStatement).where(DiscussionStatement.author_id == user_id)
                          .values(author_id=None, voice_file_id=None).execution_options(synchronize_session=False))
    ids = list(await session.scalars(select(Discussion.id)))
    keys = [participant_key(secret, did, user_id) for did in ids]
    for pid in (await session.scalars(select(DiscussionParticipant.id).where(
            DiscussionParticipant.participant.in_(keys)))) if keys else []:
        await session.execute(update(DiscussionParticipant).where(DiscussionParticipant.id == pid)
                              .values(participant="gone:" + secrets.token_hex(16)))
