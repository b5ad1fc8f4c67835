"""Polls and surveys.

Residents answer with buttons on the poll message (their answer is marked and can be changed
until the poll closes); a survey is answered one question per message and resumes where the
resident stopped. Organizers build polls with /newpoll (or send a survey file), follow them with
/polls, close them, and send the results to everyone who took part. Closing at the set time is
done by the periodic check (``close_due``), from the database, so a restart loses nothing.

The package is split by who acts: ``residents`` (taps, typed answers, links), ``staff`` (/polls,
results, closing), ``wizard`` (/newpoll), ``jobs`` (closing at the set time), ``typed`` (a typed message as the
answer to the free-text question in front of the resident: a router tried just before the
fallback); ``texts`` and ``keyboards`` are shared.
"""
from __future__ import annotations

from bot.commands import ORGANIZING, CommandSpec, register
from bot.i18n import N_

register(
    CommandSpec("polls", N_("Polls and surveys")),
    CommandSpec("newpoll", N_("Create a poll or a survey"), ORGANIZING, purpose="create"),
)


from handlers.polls import residents as _residents  # noqa: E402,F401 - registers the handlers
from handlers.polls import staff as _staff  # noqa: E402,F401
from handlers.polls import wizard as _wizard  # noqa: E402,F401
from handlers.polls.base import router, valid_id  # noqa: E402
from handlers.polls.jobs import close_due  # noqa: E402
from handlers.polls.staff import polls_command, send_results  # noqa: E402
from handlers.polls.typed import router as typed_router  # noqa: E402

__all__ = ["router", "typed_router", "valid_id", "close_due", "polls_command", "send_results"]
