"""Counting what an update asks of the database: SQL statements and commits.

    counter = SqlCounter.attach(app.engine, app.dp)   # only what the dispatcher's updates ask
    ...
    counter.statements, counter.commits, counter.log   # since attach() or the last reset()
    counter.per_update                                  # [(statements, commits)] one per update

Used by the hot-path tests (a vote through the real Dispatcher) and by benchmarks/votes.py,
which prints statements and commits per vote. SQLAlchemy's ``before_cursor_execute`` fires once
per statement sent (an ``executemany`` counts once), ``commit`` once per transaction committed;
SQLite's connection PRAGMAs (run on connect, outside SQLAlchemy's execution) are not counted.
"""
from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


_update: ContextVar[list[int] | None] = ContextVar("sqlcount_update", default=None)


@dataclass
class SqlCounter:
    statements: int = 0
    commits: int = 0
    rollbacks: int = 0
    log: list[str] = field(default_factory=list)
    keep_log: bool = True
    per_update: list[tuple[int, int]] = field(default_factory=list)
    scoped: bool = False
    _engine: Any = None

    @classmethod
    def attach(cls, engine: AsyncEngine, dispatcher: Any = None, *, keep_log: bool = True) -> SqlCounter:
        """With ``dispatcher``, only statements made while it handles an update are counted (its
        ``feed_update`` is wrapped: aiogram's own middlewares included, the delivery engine and
        the scheduler left out); without, everything on the engine."""
        counter = cls(keep_log=keep_log, _engine=engine.sync_engine, scoped=dispatcher is not None)
        if dispatcher is not None:
            feed = dispatcher.feed_update

            async def counted_feed_update(*args: Any, **kwargs: Any) -> Any:
                mine = [0, 0]
                token = _update.set(mine)
                try:
                    return await feed(*args, **kwargs)
                finally:
                    _update.reset(token)
                    counter.per_update.append((mine[0], mine[1]))

            dispatcher.feed_update = counted_feed_update
        event.listen(counter._engine, "before_cursor_execute", counter._on_statement)
        event.listen(counter._engine, "commit", counter._on_commit)
        event.listen(counter._engine, "rollback", counter._on_rollback)
        return counter

    def detach(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._on_statement)
        event.remove(self._engine, "commit", self._on_commit)
        event.remove(self._engine, "rollback", self._on_rollback)

    def reset(self) -> None:
        self.statements = self.commits = self.rollbacks = 0
        self.log.clear()
        self.per_update.clear()

    def snapshot(self) -> dict[str, int]:
        return {"statements": self.statements, "commits": self.commits, "rollbacks": self.rollbacks}

    def _on_statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        mine = _update.get()
        if mine is None and self.scoped:
            return
        if mine is not None:
            mine[0] += 1
        self.statements += 1
        if self.keep_log:
            self.log.append(" ".join(statement.split())[:200])

    def _on_commit(self, _conn: Any) -> None:
        mine = _update.get()
        if mine is None and self.scoped:
            return
        if mine is not None:
            mine[1] += 1
        self.commits += 1

    def _on_rollback(self, _conn: Any) -> None:
        if _update.get() is None and self.scoped:
            return
        self.rollbacks += 1

    def __str__(self) -> str:
        lines = [f"{self.statements} statements, {self.commits} commits"]
        lines += [f"  {n}. {s}" for n, s in enumerate(self.log, 1)]
        return "\n".join(lines)
