"""Engine and session factory. SQLite gets WAL, foreign keys and a busy timeout."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from storage.models import Assisted


def create_engine(url: str, **kwargs: object) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@event.listens_for(Session, "before_flush")
def _stamp_assisted(session: Session, _context: object, _instances: object) -> None:
    """While a mediator acts for an offline resident (``session.info["assisted_by"]`` is set by
    bot.middlewares.ActingMiddleware), every report, poll answer, RSVP, proposal or support the
    session creates is marked as assisted by that mediator, and so is a change to the resident's
    own rows (an RSVP changed); a proposal whose supporter count moves is not theirs to mark."""
    mediator = session.info.get("assisted_by")
    if mediator is None:
        return
    resident = session.info.get("acting_for")
    for obj in session.new:
        if isinstance(obj, Assisted):
            obj.assisted_by = mediator
    for obj in session.dirty:
        if isinstance(obj, Assisted) and getattr(obj, "user_id", None) == resident:
            obj.assisted_by = mediator
