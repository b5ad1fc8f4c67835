"""Which database errors run an update again (bot.updates.retryable_db_error), from the real
drivers: a connection refused while PostgreSQL does not accept connections is a fault, not a bug."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.updates import retryable_db_error
from storage.db import create_engine
from tests.conftest import PG_ADMIN_DSN, _pg_admin


async def test_refused_connections_are_faults(database_url: str) -> None:
    if database_url.startswith("sqlite"):  # (SQLite has no server to refuse: a locked file instead)
        from sqlalchemy.exc import OperationalError

        assert retryable_db_error(OperationalError("INSERT", None, Exception("database is locked")))
        return
    name = f"hromada_t_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    await _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    engine = create_engine(PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
                           + f"/{name}")
    try:
        with pytest.raises(Exception) as caught:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        assert "not currently accepting connections" in str(caught.value)
        assert retryable_db_error(caught.value)
    finally:
        await engine.dispose()
        await _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await _pg_admin(f'DROP DATABASE "{name}"')


def test_a_bug_is_not_a_fault() -> None:
    assert not retryable_db_error(IntegrityError("INSERT", None, Exception("duplicate key")))
    assert not retryable_db_error(ValueError("a bug"))
