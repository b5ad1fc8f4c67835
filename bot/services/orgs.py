"""The organisations network: organisations, their members and confirmed representatives.
No aiogram here.

A confirmed representative holds the role ``representative`` (a row in user_roles, so role
checks need no extra query); it is taken back when they represent no organisation any more,
e.g. when an admin removes the organisation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from storage.models import Organisation, OrgMember, User, UserRole, iso, utcnow

REPRESENTATIVE = "representative"
NAME_MAX = 120
DESCRIPTION_MAX = 1000
CONTACT_MAX = 200
PAGE = 8
REQUEST_AGAIN = timedelta(days=1)


@dataclass
class OrgDraft:
    """An organisation being registered by an admin (kept in the conversation state as JSON)."""

    name: dict[str, str] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)
    contact: str | None = None
    districts: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> OrgDraft:
        data = dict(data or {})
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def parse_texts(text: str | None, default_locale: str, locales: tuple[str, ...], limit: int) -> dict[str, str]:
    """``Name`` or several lines ``uk: Назва`` / ``bg: Име``: a text per language. A line without
    a language code is in the default language; a line that does not start with a code continues
    the text before it (for a description of several lines)."""
    texts: dict[str, list[str]] = {}
    current = default_locale
    for line in (text or "").strip().splitlines():
        code, sep, rest = line.partition(":")
        if sep and code.strip().lower() in locales:
            current = code.strip().lower()
            line = rest
        texts.setdefault(current, []).append(line.strip())
    out = {code: "\n".join(lines).strip() for code, lines in texts.items()}
    out = {code: value for code, value in out.items() if value}
    if not out:
        raise DomainError("org_empty")
    if default_locale not in out:
        out[default_locale] = next(iter(out.values()))
    for value in out.values():
        if len(value) > limit:
            raise DomainError("org_too_long", max=limit, length=len(value))
    return out


def clean_contact(text: str | None) -> str:
    value = " ".join((text or "").split())
    if not value:
        raise DomainError("org_empty")
    if len(value) > CONTACT_MAX:
        raise DomainError("org_too_long", max=CONTACT_MAX, length=len(value))
    return value


def name_of(org: Organisation | None, locale: str) -> str:
    return name_in(org.name if org is not None else None, locale)


def name_in(names: dict[str, str] | None, locale: str) -> str:
    """A name kept as ``{locale: text}`` (an organisation's, also copied into a payload)."""
    if not names:
        return ""
    return names.get(locale) or names.get("en") or next(iter(names.values()), "")


# -- reading -------------------------------------------------------------------------------------


async def get(session: AsyncSession, org_id: int) -> Organisation | None:
    return await session.get(Organisation, org_id, populate_existing=True)


async def live(session: AsyncSession, org_id: int | None) -> Organisation | None:
    """The organisation when it is still in the network."""
    org = await get(session, org_id) if org_id else None
    return org if org is not None and org.removed_at is None else None


async def listing(session: AsyncSession, page: int = 0, per_page: int = PAGE) -> tuple[list[Organisation], int]:
    """Organisations in the network, oldest first, one page; and how many there are."""
    where = Organisation.removed_at.is_(None)
    total = await session.scalar(select(func.count()).select_from(Organisation).where(where)) or 0
    rows = await session.scalars(
        select(Organisation).where(where).order_by(Organisation.id).offset(page * per_page).limit(per_page))
    return list(rows), total


async def member_counts(session: AsyncSession, org_id: int) -> tuple[int, int]:
    """(members, confirmed representatives) of an organisation."""
    rows = await session.execute(
        select(OrgMember.role, func.count()).where(OrgMember.org_id == org_id, OrgMember.status == "confirmed")
        .group_by(OrgMember.role))
    counts = dict(rows.all())
    return counts.get("member", 0), counts.get(REPRESENTATIVE, 0)


async def membership(session: AsyncSession, org_id: int, user_id: int) -> OrgMember | None:
    return await session.get(OrgMember, (org_id, user_id), populate_existing=True)


async def represented(session: AsyncSession, user_id: int) -> list[Organisation]:
    """The organisations in the network this person is a confirmed representative of."""
    rows = await session.scalars(
        select(Organisation).join(OrgMember, OrgMember.org_id == Organisation.id).where(
            OrgMember.user_id == user_id, OrgMember.role == REPRESENTATIVE, OrgMember.status == "confirmed",
            Organisation.removed_at.is_(None),
        ).order_by(Organisation.id))
    return list(rows)


async def representatives(session: AsyncSession, org_id: int) -> list[User]:
    """The confirmed representatives of an organisation who still have an account, oldest first
    (whether the bot can write to them is for the caller: ``telegram_id``, ``unreachable_at``)."""
    rows = await session.scalars(
        select(User).join(OrgMember, OrgMember.user_id == User.id).where(
            OrgMember.org_id == org_id, OrgMember.role == REPRESENTATIVE, OrgMember.status == "confirmed",
            User.deleted_at.is_(None),
        ).order_by(OrgMember.created_at, User.id))
    return list(rows)


async def pending(session: AsyncSession) -> list[tuple[OrgMember, Organisation, User]]:
    rows = await session.execute(
        select(OrgMember, Organisation, User)
        .join(Organisation, Organisation.id == OrgMember.org_id).join(User, User.id == OrgMember.user_id)
        .where(OrgMember.status == "pending", Organisation.removed_at.is_(None), User.deleted_at.is_(None))
        .order_by(OrgMember.created_at))
    return [(m, o, u) for m, o, u in rows.all()]


# -- writing -------------------------------------------------------------------------------------


async def create(session: AsyncSession, draft: OrgDraft, created_by: int | None,
                 now: datetime | None = None) -> Organisation:
    if not draft.name:
        raise DomainError("org_empty")
    org = Organisation(name=draft.name, description=draft.description, contact=draft.contact,
                       districts=list(draft.districts), created_by=created_by, created_at=now or utcnow())
    session.add(org)
    await session.flush()
    return org


async def remove(session: AsyncSession, org_id: int, now: datetime | None = None) -> tuple[Organisation, list[User]]:
    """Take an organisation out of the network. Returns it and the people who, with it, lost the
    representative role (their personal menus change)."""
    org = await live(session, org_id)
    if org is None:
        raise DomainError("org_missing")
    org.removed_at = now or utcnow()
    await session.flush()
    reps = await session.scalars(
        select(User).join(OrgMember, OrgMember.user_id == User.id).where(
            OrgMember.org_id == org_id, OrgMember.role == REPRESENTATIVE, OrgMember.status == "confirmed"))
    lost = [user for user in list(reps) if await _sync_role(session, user)]
    return org, lost


async def join(session: AsyncSession, org_id: int, user: User, role: str,
               now: datetime | None = None) -> tuple[OrgMember, bool]:
    """A resident says they are a member (confirmed at once) or a representative (pending until an
    admin decides). Saying it again changes nothing; a member may ask to represent. Returns the row
    and whether the admins should be asked: not again for a request withdrawn and renewed within
    a day (asking, leaving and asking again does not flood the admins)."""
    if role not in ("member", REPRESENTATIVE):
        raise DomainError("org_missing")
    if await live(session, org_id) is None:
        raise DomainError("org_missing")
    now = now or utcnow()
    row = await membership(session, org_id, user.id)
    if row is not None and row.status != "withdrawn":
        if row.status == "declined":  # an admin decided; saying it again does not reopen it
            raise DomainError("org_declined")
        if row.role == REPRESENTATIVE and row.status in ("confirmed", "pending"):
            raise DomainError("org_already", status=row.status)
        if role == "member" and row.role == "member":
            raise DomainError("org_already", status=row.status)
    ask = role == REPRESENTATIVE and (
        row is None or row.status != "withdrawn" or row.created_at <= now - REQUEST_AGAIN)
    if row is None:
        row = OrgMember(org_id=org_id, user_id=user.id, role=role, created_at=now)
        session.add(row)
    row.role = role
    row.status = "confirmed" if role == "member" else "pending"
    if role == "member" or ask:
        row.created_at = now
    row.decided_at, row.decided_by = None, None
    await session.flush()
    return row, ask


async def leave(session: AsyncSession, org_id: int, user: User) -> bool:
    row = await membership(session, org_id, user.id)
    if row is None or row.status in ("declined", "withdrawn"):
        return False
    if row.role == REPRESENTATIVE and row.status == "pending":
        row.status = "withdrawn"  # kept: a renewed request within a day does not ask the admins again
    else:
        await session.delete(row)
    await session.flush()
    await _sync_role(session, user)
    return True


async def decide(session: AsyncSession, org_id: int, user_id: int, confirm: bool, by: int | None,
                 now: datetime | None = None) -> tuple[OrgMember, User]:
    """An admin confirms or declines a pending representative (once: a second press is told)."""
    row = await membership(session, org_id, user_id)
    user = await session.get(User, user_id)
    if row is None or user is None or user.deleted_at is not None or row.role != REPRESENTATIVE:
        raise DomainError("org_request_gone")
    if await live(session, org_id) is None:
        raise DomainError("org_missing")
    if row.status == "withdrawn":
        raise DomainError("org_request_gone")
    if row.status != "pending":
        raise DomainError("org_decided", status=row.status)
    row.status = "confirmed" if confirm else "declined"
    row.decided_at, row.decided_by = now or utcnow(), by
    await session.flush()
    await _sync_role(session, user)
    return row, user


async def _sync_role(session: AsyncSession, user: User) -> bool:
    """Give or take the representative role so it matches what the person represents.
    True when it changed."""
    await session.refresh(user, ["roles"])
    has = REPRESENTATIVE in user.role_names
    should = bool(await represented(session, user.id))
    if has == should:
        return False
    if should:
        user.roles.append(UserRole(role=REPRESENTATIVE))
    else:
        for item in list(user.roles):
            if item.role == REPRESENTATIVE:
                user.roles.remove(item)
    await session.flush()
    return True


async def acting_for(session: AsyncSession, user: User | None, org_id: int | None) -> Organisation | None:
    """The organisation a draft was made for, checked again when it is sent: still in the network
    and still represented by this person. Raises DomainError("org_not_represented")."""
    if org_id is None:
        return None
    org = await live(session, org_id)
    if org is None or user is None or org.id not in {o.id for o in await represented(session, user.id)}:
        raise DomainError("org_not_represented", name=name_of(await get(session, org_id), user.language if user else "en"))
    return org


def in_scope(item_org_id: int | None, scope: set[int] | None) -> bool:
    """May someone whose organisations are ``scope`` (None: a platform organizer) manage an item?"""
    return scope is None or (item_org_id is not None and item_org_id in scope)


PLATFORM_ROLES = frozenset({"organizer", "admin"})


async def scope_of(session: AsyncSession, user: User | None, roles: set[str],
                   sees_all: frozenset[str] = PLATFORM_ROLES) -> set[int] | None:
    """None for people with one of ``sees_all`` (platform organizers and admins: everything);
    else the ids of the organisations the person represents (their polls, events and
    announcements; the reports passed on to them)."""
    if roles & sees_all:
        return None
    return {o.id for o in await represented(session, user.id)} if user is not None else set()


# -- the person's own data -----------------------------------------------------------------------


async def export_for(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(OrgMember, Organisation).join(Organisation, Organisation.id == OrgMember.org_id)
        .where(OrgMember.user_id == user_id).order_by(OrgMember.org_id))
    return [{"organisation": o.name, "role": m.role, "status": m.status, "since": iso(m.created_at)}
            for m, o in rows.all()]


async def forget(session: AsyncSession, user_id: int) -> None:
    for row in await session.scalars(select(OrgMember).where(OrgMember.user_id == user_id)):
        await session.delete(row)
    await session.flush()
