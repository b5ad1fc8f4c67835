"""Localized texts for domain error codes raised by services."""
from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.services.errors import DomainError


def error_text(exc: DomainError) -> str:
    p = exc.params
    match exc.code:
        case "name_empty":
            return _("The name cannot be empty. Please type a name or a nickname.")
        case "name_too_long":
            return _("That is too long: at most {max} characters, please.").format(max=p["max"])
        case "unknown_role":
            return _("Unknown role. Use organizer or moderator.")
    return _("Sorry, that did not work. Please try again.")
