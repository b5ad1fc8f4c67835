"""Events: organizers publish them with /newevent and follow them with /events; residents answer
Going / Maybe / Can't go (a waitlist when full), get a calendar file, ask the speakers, are
reminded, check in with the venue's code, and rate the event afterwards.

Reminders, the speakers' questions and the feedback question are due by the database
(``check_due``, run periodically and at start-up), so nothing is sent twice or lost to a restart.

The package is split by who acts: ``residents``, ``staff`` (/events and changes), ``wizard``
(/newevent), ``jobs`` (what is due); ``texts`` and ``keyboards`` are shared.
"""
from __future__ import annotations

from bot.commands import ORGANIZING, CommandSpec, register
from bot.i18n import N_

register(
    CommandSpec("events", N_("Upcoming events")),
    CommandSpec("newevent", N_("Create an event"), ORGANIZING, purpose="create"),
)

from handlers.events import residents as _residents  # noqa: E402,F401 - registers the handlers
from handlers.events import staff as _staff  # noqa: E402,F401
from handlers.events import wizard as _wizard  # noqa: E402,F401
from handlers.events.base import router  # noqa: E402
from handlers.events.jobs import check_due  # noqa: E402
from handlers.events.staff import events_command  # noqa: E402

__all__ = ["router", "check_due", "events_command"]
