"""Per-process memory of what never changes once made (a poll's questions, a discussion's
question and audience), kept per database engine: a process has one, the tests make one for
each bot they start. Whether the thing is still open is never kept here; the writes check it."""
from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy.ext.asyncio import AsyncSession

MAX_ITEMS = 512
_CACHES: WeakKeyDictionary[Any, dict[tuple[str, int], Any]] = WeakKeyDictionary()


def _of(session: AsyncSession) -> dict[tuple[str, int], Any]:
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    cache = _CACHES.get(engine)
    if cache is None:
        cache = _CACHES[engine] = {}
    return cache


def get(session: AsyncSession, kind: str, item_id: int) -> Any:
    return _of(session).get((kind, item_id))


def put(session: AsyncSession, kind: str, item_id: int, value: Any) -> Any:
    cache = _of(session)
    if len(cache) >= MAX_ITEMS:
        cache.pop(next(iter(cache)))  # the oldest
    cache[(kind, item_id)] = value
    return value


def drop(session: AsyncSession, kind: str, item_id: int) -> None:
    _of(session).pop((kind, item_id), None)
