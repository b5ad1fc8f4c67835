"""Community mediators and the offline residents they register and act for. No aiogram here.

An offline resident is a ``User`` with a short ``code`` (``M-4821``), the mediator's id and no
Telegram account. While a mediator acts for one, their row's ``acting_for_id`` points at the
resident; the update's session then carries ``assisted_by`` and every row it writes is marked
(storage/db.py). A resident who starts the bot later opens a one-time link the mediator shows
them and, once they confirm, their Telegram account takes the history over.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import discussions as discussions_service
from bot.services import polls as polls_service
from bot.services.errors import DomainError
from bot.services.users import TOPICS, clean_name, erase_user
from storage.models import (
    Discussion,
    DiscussionParticipant,
    DiscussionStatement,
    DiscussionVote,
    EventQuestion,
    EventRsvp,
    GroupMember,
    Poll,
    PollResponse,
    Proposal,
    ProposalSupport,
    Report,
    User,
)

ROLE = "mediator"
PAGE = 8
PHONE_DIGITS = (6, 15)
_CODE = re.compile(r"^\s*[MmМм]?\s*-?\s*(\d{4,6})\s*$")  # M-4821, m4821, М-4821 (Cyrillic), 4821


def can_manage(actor: User | None, roles: set[str], resident: User) -> bool:
    """Admins manage every offline resident; a mediator only the ones they registered."""
    if "admin" in roles:
        return True
    return actor is not None and ROLE in roles and resident.mediator_id == actor.id


def clean_phone(text: str | None) -> str | None:
    """An optional phone number: digits with +, spaces, dashes or brackets; None when skipped."""
    if text is None or not text.strip():
        return None
    text = " ".join(text.split())
    digits = re.sub(r"\D", "", text)
    if re.search(r"[^\d+\-() ]", text) or not PHONE_DIGITS[0] <= len(digits) <= PHONE_DIGITS[1]:
        raise DomainError("phone_invalid")
    return text


def _same_name(name: str) -> str:
    return " ".join(name.casefold().replace("ё", "е").split())


def normal_code(text: str) -> str | None:
    found = _CODE.match(text or "")
    return f"M-{found.group(1)}" if found else None


async def _new_code(session: AsyncSession) -> str:
    digits = 4
    while True:
        for _attempt in range(20):
            code = f"M-{secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1)}"
            if await session.scalar(select(User.id).where(User.code == code)) is None:
                return code
        digits += 1  # four digits are getting crowded


async def likely_duplicates(session: AsyncSession, name: str, district: str) -> list[User]:
    """Offline residents of the district with the same name (case and spacing ignored)."""
    wanted = _same_name(name)
    rows = await session.scalars(
        select(User).where(User.code.is_not(None), User.deleted_at.is_(None), User.district == district)
    )
    return [u for u in rows if u.display_name and _same_name(u.display_name) == wanted]


async def register(
    session: AsyncSession, mediator: User, *, name: str, district: str, language: str,
    phone: str | None, now: datetime,
) -> User:
    """A resident registered in person; the mediator read the consent text aloud (the caller asks)."""
    resident = User(
        telegram_id=None, display_name=clean_name(name), district=district, language=language,
        topics=list(TOPICS), phone=clean_phone(phone), consent_at=now, registered_at=now,
        code=await _new_code(session), mediator_id=mediator.id,
    )
    session.add(resident)
    await session.flush()
    return resident


def _managed(actor: User, roles: set[str]):  # type: ignore[no-untyped-def]
    where = [User.code.is_not(None), User.telegram_id.is_(None), User.deleted_at.is_(None)]
    if "admin" not in roles:
        where.append(User.mediator_id == actor.id)
    return where


async def residents(
    session: AsyncSession, actor: User, roles: set[str], query: str | None = None, offset: int = 0,
) -> tuple[list[User], int]:
    """The offline residents the actor manages (newest first), optionally matching a name or code:
    one page and the total. A page or a code is found by the database; a part of a name is
    compared here (SQLite's lower() knows only ASCII, and names are Cyrillic)."""
    where = _managed(actor, roles)
    if not query:
        total = await session.scalar(select(func.count()).select_from(User).where(*where)) or 0
        page = await session.scalars(select(User).where(*where).order_by(User.id.desc()).offset(offset).limit(PAGE))
        return list(page), total
    code = normal_code(query)
    if code:
        rows = list(await session.scalars(select(User).where(*where, User.code == code)))
    else:
        wanted = _same_name(query)
        rows = [u for u in await session.scalars(select(User).where(*where).order_by(User.id.desc()))
                if wanted in _same_name(u.display_name or "")]
    return rows[offset:offset + PAGE], len(rows)


async def resident(session: AsyncSession, actor: User, roles: set[str], ref: str | int) -> User:
    """One offline resident by code or id, checked: unknown_code, linked, not_yours."""
    if isinstance(ref, int):
        found = await session.get(User, ref)
    else:
        code = normal_code(ref)
        found = await session.scalar(select(User).where(User.code == code)) if code else None
    if found is None or found.code is None or found.deleted_at is not None:
        raise DomainError("unknown_code", ref=ref if isinstance(ref, str) else "")
    if not can_manage(actor, roles, found):
        raise DomainError("not_yours", ref=found.code)
    if found.telegram_id is not None:
        raise DomainError("linked", ref=found.code)
    return found


async def start_acting(session: AsyncSession, mediator: User, target: User) -> None:
    mediator.acting_for_id = target.id
    await session.flush()


async def stop_acting(session: AsyncSession, mediator: User) -> User | None:
    """Stop; returns the resident they were acting for, if any."""
    target = await session.get(User, mediator.acting_for_id) if mediator.acting_for_id else None
    mediator.acting_for_id = None
    await session.flush()
    return target


@dataclass(frozen=True)
class Acting:
    resident: User | None  # who the mediator acts for now; None when it just ended
    ended: str | None = None  # why it ended: "revoked" (no longer a mediator) | "gone" (linked or deleted)
    code: str | None = None


async def acting(session: AsyncSession, mediator: User, roles: set[str]) -> Acting | None:
    """Is this person acting for someone? Checked on every update: a revoked role, a deleted or
    linked resident end it (and say so once)."""
    if mediator.acting_for_id is None:
        return None
    target = await session.get(User, mediator.acting_for_id)
    code = target.code if target is not None else None
    if ROLE not in roles and "admin" not in roles:
        mediator.acting_for_id = None
        return Acting(None, "revoked", code)
    if target is None or not target.is_offline or not can_manage(mediator, roles, target):
        mediator.acting_for_id = None
        return Acting(None, "gone", code)
    return Acting(target)


async def erase(session: AsyncSession, target: User, poll_secret: bytes) -> list[Report]:
    """On the resident's request: everything personal goes, as with /deleteme. Returns the
    reports whose moderators' cards showed the name (to be re-rendered)."""
    named = await erase_user(session, target, poll_secret)
    await session.execute(update(User).where(User.acting_for_id == target.id).values(acting_for_id=None)
                          .execution_options(synchronize_session="fetch"))
    await session.flush()
    return named


# ------------------------------------------------------------------ linking a Telegram account

async def link_token(session: AsyncSession, target: User) -> str:
    """A one-time token for the link ``t.me/<bot>?start=link_<token>`` (a new one each time)."""
    target.link_token = secrets.token_urlsafe(12)
    await session.flush()
    return target.link_token


async def by_link_token(session: AsyncSession, token: str) -> User | None:
    if not token or len(token) > 32:
        return None
    found = await session.scalar(select(User).where(User.link_token == token))
    return found if found is not None and found.is_offline else None


async def link(
    session: AsyncSession, target: User, telegram_id: int, username: str | None, existing: User | None,
    secret: bytes, now: datetime,
) -> User:
    """The resident confirmed: their Telegram account takes over the offline resident's history.

    Someone new (no registered row) becomes the offline row itself. Someone already registered
    keeps their account and gets the reports, proposals, answers, RSVPs, supports and working
    groups; where both took part in the same poll, event or proposal, their own choice stays."""
    if not target.is_offline:
        raise DomainError("link_used")
    target.link_token = None
    target.linked_at = now
    if existing is None or not existing.is_registered:
        if existing is not None:  # the bare row made at their first /start
            await session.delete(existing)
            await session.flush()
        target.telegram_id, target.username = telegram_id, username
        await session.flush()
        return target
    await _merge(session, target, existing, secret)
    target.telegram_id = None
    target.display_name = None
    target.phone = None
    target.deleted_at = now  # the person is counted once, as the account they use
    await session.flush()
    return existing


async def _merge(session: AsyncSession, old: User, new: User, secret: bytes) -> None:
    for model in (Report, Proposal):
        await session.execute(update(model).where(model.user_id == old.id).values(user_id=new.id))
    # one RSVP, support and membership each: theirs stays, the mediator's goes
    theirs = select(EventRsvp.event_id).where(EventRsvp.user_id == new.id)
    await session.execute(delete(EventRsvp).where(EventRsvp.user_id == old.id, EventRsvp.event_id.in_(theirs)))
    await session.execute(update(EventRsvp).where(EventRsvp.user_id == old.id).values(user_id=new.id))
    both = list(await session.scalars(select(ProposalSupport.proposal_id).where(
        ProposalSupport.user_id == old.id,
        ProposalSupport.proposal_id.in_(select(ProposalSupport.proposal_id).where(ProposalSupport.user_id == new.id)))))
    if both:
        await session.execute(delete(ProposalSupport).where(
            ProposalSupport.user_id == old.id, ProposalSupport.proposal_id.in_(both)))
        await session.execute(update(Proposal).where(Proposal.id.in_(both))
                              .values(supporters=Proposal.supporters - 1).execution_options(synchronize_session=False))
    await session.execute(update(ProposalSupport).where(ProposalSupport.user_id == old.id).values(user_id=new.id))
    groups = select(GroupMember.group_id).where(GroupMember.user_id == new.id)
    await session.execute(delete(GroupMember).where(GroupMember.user_id == old.id, GroupMember.group_id.in_(groups)))
    await session.execute(update(GroupMember).where(GroupMember.user_id == old.id).values(user_id=new.id))
    await session.execute(update(EventQuestion).where(EventQuestion.user_id == old.id).values(user_id=new.id))
    await session.execute(update(DiscussionStatement).where(DiscussionStatement.author_id == old.id)
                          .values(author_id=new.id))
    # discussion votes and poll answers are found by a keyed hash of the person: re-key them
    discussion_ids = list(await session.scalars(select(Discussion.id))) or [0]
    new_dkeys = {did: discussions_service.participant_key(secret, did, new.id) for did in discussion_ids}
    joined = set(await session.scalars(select(DiscussionParticipant.discussion_id).where(
        DiscussionParticipant.participant.in_(list(new_dkeys.values())))))
    old_dkeys = [discussions_service.participant_key(secret, did, old.id) for did in discussion_ids]
    for participant in list(await session.scalars(select(DiscussionParticipant).where(
            DiscussionParticipant.participant.in_(old_dkeys)))):
        if participant.discussion_id in joined:
            # they voted themselves too: their own votes stay, the mediator's go (and leave the counts)
            for statement_id in await session.scalars(select(DiscussionVote.statement_id).where(
                    DiscussionVote.participant_id == participant.id)):
                await session.execute(update(DiscussionStatement).where(DiscussionStatement.id == statement_id)
                                      .values(votes=DiscussionStatement.votes - 1))
            await session.delete(participant)
            continue
        participant.participant = new_dkeys[participant.discussion_id]
    poll_ids = list(await session.scalars(select(Poll.id)))
    old_keys = [polls_service.participant_key(secret, pid, old.id) for pid in poll_ids]
    new_keys = {pid: polls_service.participant_key(secret, pid, new.id) for pid in poll_ids}
    answered = set(await session.scalars(select(PollResponse.poll_id).where(
        PollResponse.participant.in_(list(new_keys.values()))))) if poll_ids else set()
    found = await session.scalars(select(PollResponse).where(PollResponse.participant.in_(old_keys))) \
        if poll_ids else []
    for response in list(found):
        if response.poll_id in answered:
            await session.delete(response)  # they answered it themselves too
            continue
        response.participant = new_keys[response.poll_id]
        if response.user_id is not None:
            response.user_id = new.id
    await session.flush()
