"""Alembic migrations: up, down and up again on SQLite and PostgreSQL, and no drift from the models."""
from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.db import create_engine
from storage.migrate import alembic_config, upgrade_sync
from storage.models import Base
from tests.conftest import PG_ADMIN_DSN, REQUIRE_PG, _pg_admin


def _in_thread(fn, *args) -> None:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn(*args)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if errors:
        raise errors[0]


async def _drift(url: str) -> list:  # type: ignore[type-arg]
    engine = create_engine(url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    await engine.dispose()
    return diff


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/m.db"
        return
    name = f"hromada_m_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        (pytest.fail if REQUIRE_PG else pytest.skip)(f"PostgreSQL not reachable at {PG_ADMIN_DSN}: {exc}")
    yield PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_upgrade_downgrade_upgrade_without_drift(scratch_url: str) -> None:
    upgrade_sync(scratch_url)
    assert asyncio.run(_drift(scratch_url)) == []
    _in_thread(command.downgrade, alembic_config(scratch_url), "base")
    upgrade_sync(scratch_url)
    assert asyncio.run(_drift(scratch_url)) == []


def test_adding_and_removing_columns_keeps_every_row(scratch_url: str) -> None:
    """SQLite rebuilds a table to drop a column; the rows pointing at it (a resident's role) stay."""
    from sqlalchemy import text

    async def rows(sql: str) -> int:
        engine = create_engine(scratch_url)
        async with engine.begin() as conn:
            found = (await conn.execute(text(sql))).scalar_one()
        await engine.dispose()
        return int(found)

    async def seed() -> None:
        engine = create_engine(scratch_url)
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO users (id, telegram_id, language, topics, created_at, updated_at) "
                                    "VALUES (1, 111, 'en', '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            await conn.execute(text("INSERT INTO user_roles (user_id, role, granted_at) "
                                    "VALUES (1, 'organizer', CURRENT_TIMESTAMP)"))
        await engine.dispose()

    cfg = alembic_config(scratch_url)
    _in_thread(upgrade_sync, scratch_url, "0010")
    asyncio.run(seed())
    _in_thread(upgrade_sync, scratch_url, "head")
    _in_thread(command.downgrade, cfg, "0010")
    assert asyncio.run(rows("SELECT count(*) FROM user_roles")) == 1
