"""Queries several services share."""
from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


async def close_if_open(session: AsyncSession, model: type[T], row_id: int, now: datetime) -> T | None:
    """Close an open poll or discussion (``status``, ``closed_at``) once: of two taps or runs,
    one wins. The row, refreshed; None if it was not open."""
    table: Any = model
    result = await session.execute(
        update(table).where(table.id == row_id, table.status == "open").values(status="closed", closed_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    found = await session.get(model, row_id)
    assert found is not None
    await session.refresh(found)
    return found
