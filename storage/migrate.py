"""Run Alembic migrations programmatically (used by `hromada run`, `hromada migrate` and tests)."""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Alembic's env.py runs its own event loop, so it always gets a thread of its own
    (this also works when called from inside a running loop)."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            command.upgrade(alembic_config(url), revision)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=work, name="alembic-upgrade")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


async def upgrade(url: str, revision: str = "head") -> None:
    """Apply pending migrations. Alembic's env runs its own loop, so it goes to a thread."""
    await asyncio.to_thread(upgrade_sync, url, revision)


def revision(url: str, message: str) -> None:
    command.revision(alembic_config(url), message=message, autogenerate=True)
