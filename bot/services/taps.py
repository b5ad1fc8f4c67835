"""Helpers of the residents' taps (votes, RSVPs): the audience from the user row, upserts."""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.campaigns import Audience
from storage.models import User


def audience_admits(audience_json: dict[str, Any] | None, user: User) -> bool | None:
    """Whether the resident is in the audience, from their row (and roles) alone, as
    campaigns.resolve_audience(reachable=False) would answer; None when only the database can
    say (working groups)."""
    audience = Audience.from_json(audience_json)
    if not audience.residents or not user.is_registered:
        return False
    if audience.user_ids is not None and user.id not in audience.user_ids:
        return False
    if audience.districts and user.district not in audience.districts:
        return False
    if audience.languages and user.language not in audience.languages:
        return False
    if audience.topics and not set(audience.topics).intersection(user.topics or ()):
        return False
    if audience.roles and not set(audience.roles).intersection(user.role_names):
        return False
    if audience.groups:
        return None
    return True


def insert_for(session: AsyncSession, table: Any) -> Any:
    """An INSERT with ``on_conflict_do_update`` / ``on_conflict_do_nothing`` for the session's
    database (SQLite and PostgreSQL both have them)."""
    return _insert(session.get_bind().dialect.name)(table)


def _insert(dialect: str) -> Callable[[Any], Any]:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


_PREPARED: dict[tuple[str, Hashable], Any] = {}


def prepared(session: AsyncSession, shape: Hashable, build: Callable[[Callable[[Any], Any]], Any]) -> Any:
    """A statement of the residents' hot path, built once per database and ``shape`` with
    ``bindparam`` placeholders and reused: SQLAlchemy then skips building the statement and its
    cache key on every tap (most of a tap's CPU). ``build`` gets the dialect's ``insert``."""
    dialect = session.get_bind().dialect.name
    key = (dialect, shape)
    stmt = _PREPARED.get(key)
    if stmt is None:
        stmt = _PREPARED[key] = build(_insert(dialect))
    return stmt
