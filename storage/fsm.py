"""aiogram FSM storage kept in the project's database, so conversations survive restarts.

Inside an update the storage uses that update's session (set by DbSessionMiddleware through
``update_session``), so the conversation state and the update's other changes commit together,
and SQLite never sees two writers in one update. Outside an update it opens its own session.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import FsmRecord

update_session: ContextVar[AsyncSession | None] = ContextVar("update_session", default=None)


class DatabaseStorage(BaseStorage):
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], key_builder: KeyBuilder | None = None
    ) -> None:
        self.sessionmaker = sessionmaker
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)

    @asynccontextmanager
    async def _session(self, write: bool) -> AsyncIterator[AsyncSession]:
        shared = update_session.get()
        if shared is not None:
            yield shared
            if write:
                await shared.flush()
            return
        async with self.sessionmaker() as session:
            yield session
            if write:
                await session.commit()

    async def _update(self, key: StorageKey, **fields: Any) -> None:
        k = self.key_builder.build(key)
        async with self._session(write=True) as session:
            row = await session.get(FsmRecord, k)
            if row is None:
                row = FsmRecord(key=k, state=None, data={})
                session.add(row)
            for name, value in fields.items():
                setattr(row, name, value)
            if row.state is None and not row.data:
                if row in session.new:
                    session.expunge(row)
                else:
                    await session.delete(row)

    async def _get(self, key: StorageKey) -> FsmRecord | None:
        async with self._session(write=False) as session:
            return await session.get(FsmRecord, self.key_builder.build(key))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._update(key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        row = await self._get(key)
        return row.state if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._update(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = await self._get(key)
        return dict(row.data) if row and row.data else {}

    async def close(self) -> None:  # the engine is owned and disposed by the app
        return None


# --------------------------------------------------------------------------- a store outside the database

_writes: ContextVar[dict[StorageKey, dict[str, Any]] | None] = ContextVar("hromada_fsm_writes", default=None)


class CommittedStorage(BaseStorage):
    """Conversation state kept outside the database (Redis, for several workers) that changes only
    when the update's transaction commits: inside an update the writes are kept aside (reads see
    them), written after the commit (``commit_writes``) and forgotten when the update is rolled
    back or run again. So a retried update finds the state it started from, as with the
    database's own storage. (A process that dies between the commit and these writes leaves the
    person one step back: the step is asked again, nothing is applied twice.)"""

    def __init__(self, inner: BaseStorage) -> None:
        self.inner = inner

    @staticmethod
    def begin() -> Any:
        return _writes.set({})

    @staticmethod
    def end(token: Any) -> dict[StorageKey, dict[str, Any]]:
        writes = _writes.get() or {}
        _writes.reset(token)
        return writes

    async def commit_writes(self, writes: dict[StorageKey, dict[str, Any]]) -> None:
        for key, fields in writes.items():
            if "state" in fields:
                await self.inner.set_state(key, fields["state"])
            if "data" in fields:
                await self.inner.set_data(key, fields["data"])

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        pending = _writes.get()
        if pending is None:
            await self.inner.set_state(key, state)
        else:
            pending.setdefault(key, {})["state"] = state.state if isinstance(state, State) else state

    async def get_state(self, key: StorageKey) -> str | None:
        pending = _writes.get()
        if pending is not None and "state" in pending.get(key, {}):
            return pending[key]["state"]
        return await self.inner.get_state(key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        pending = _writes.get()
        if pending is None:
            await self.inner.set_data(key, data)
        else:
            pending.setdefault(key, {})["data"] = dict(data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        pending = _writes.get()
        if pending is not None and "data" in pending.get(key, {}):
            return dict(pending[key]["data"])
        return await self.inner.get_data(key)

    async def close(self) -> None:
        await self.inner.close()
