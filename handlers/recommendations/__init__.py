"""Recommendations to the council: from residents' evidence to the council's answer.

Organizers draft one with /newrec (title, text, the problem, the proposal, the body it is addressed
to, the district) and attach evidence from what the bot holds; /recommendations lists them, and a
card shows the evidence (figures then and now), who stands behind it and the buttons of its next
step. Opening it sends it to the residents of its district with a Support button; representatives
endorse it for their organisation from its details. Submission, the council's answer and the
outcome reach its supporters and the endorsing representatives in their languages.

``staff`` (the organizers' list, card, steps and wizard), ``residents`` (support, endorsements,
the campaign kinds); ``texts`` and ``keyboards`` are shared.
"""
from __future__ import annotations

from bot.commands import CommandSpec, register
from bot.i18n import N_


register(
    CommandSpec("recommendations", N_("Recommendations to the council"), purpose="take_part"),
    CommandSpec("newrec", N_("Draft a recommendation to the council"), frozenset({"organizer"}), purpose="create"),
)

from handlers.recommendations import residents as _residents  # noqa: E402,F401 - registers the handlers
from handlers.recommendations import staff as _staff  # noqa: E402,F401
from handlers.recommendations.base import router  # noqa: E402

__all__ = ["router"]
