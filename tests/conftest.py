"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL: a fresh database per test session, created next to HROMADA_TEST_PG (default
postgresql://postgres@127.0.0.1:5432/test) and dropped at the end. When PostgreSQL is not
reachable its tests are skipped, unless CI or HROMADA_REQUIRE_POSTGRES=1 is set: then they fail.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.migrate import upgrade_sync
from storage.models import Base

PG_ADMIN_DSN = os.environ.get("HROMADA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = bool(os.environ.get("CI")) or os.environ.get("HROMADA_REQUIRE_POSTGRES") == "1"
ROOT = Path(__file__).resolve().parent.parent


def _in_thread(func, *args):  # type: ignore[no-untyped-def]
    """Run blocking set-up that calls asyncio.run() (Alembic's env, asyncpg admin) off the loop:
    the session fixtures are first requested from inside an async fixture."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(func, *args).result()


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    _in_thread(upgrade_sync, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    name = f"hromada_t_{uuid.uuid4().hex[:10]}"
    try:
        _in_thread(asyncio.run, _pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "no PostgreSQL"
        message = f"PostgreSQL not reachable at {PG_ADMIN_DSN}: {exc}"
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    url = f"{base}/{name}"
    _in_thread(upgrade_sync, url)
    yield url
    _in_thread(asyncio.run, _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "hromada.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url = request.getfixturevalue("pg_url")
    from storage.db import create_engine

    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()
    yield url


pytest_plugins = ["tests.harness"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres_only: the test needs several processes on one database (PostgreSQL)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A ``postgres_only`` test does not run on SQLite at all (it is not a skip: SQLite serves one
    process by design)."""
    keep, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if item.get_closest_marker("postgres_only") and callspec and callspec.params.get("database_url") == "sqlite":
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
