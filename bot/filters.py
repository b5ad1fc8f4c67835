"""Server-side role checks used by every restricted handler."""
from __future__ import annotations

from aiogram.filters import BaseFilter
from aiogram.types import TelegramObject


class HasRole(BaseFilter):
    """Passes when the sender holds any of the roles (admins pass everything)."""

    def __init__(self, *roles: str) -> None:
        self.roles = set(roles)

    async def __call__(self, event: TelegramObject, roles: set[str] | None = None) -> bool:
        roles = roles or set()
        return "admin" in roles or bool(self.roles & roles)

