"""What the delivery engine sends for events, rendered per recipient in their language:

* ``event``: the announcement with Going / Maybe / Can't go;
* ``event-reminder``: "still coming?" to those going;
* ``event-notice``: a change, a cancellation, or a place freed from the waitlist;
* ``event-feedback``: "how was it?" (1-5) to those who came;
* ``event-questions``: the speakers' questions, to the organizers' chat.
"""
from __future__ import annotations

from datetime import datetime

from aiogram.utils.i18n import gettext as _

from bot.delivery import CampaignInfo, Outgoing, RenderContext, register_kind
from handlers.events import keyboards, texts
from storage.models import utcnow


def _tz(ctx: RenderContext):  # type: ignore[no-untyped-def]
    assert ctx.settings is not None
    return ctx.settings.tz


def render_event(ctx: RenderContext) -> Outgoing:
    event = ctx.payload["event"]
    return Outgoing(text=texts.card(event, ctx.locale, _tz(ctx)),
                    reply_markup=keyboards.event(event["id"], event["version"]))


def render_reminder(ctx: RenderContext) -> Outgoing | None:
    event = ctx.payload["event"]
    if utcnow() >= datetime.fromisoformat(event["starts_at"]):  # held up past the start: too late
        return None
    return Outgoing(text=texts.notice(ctx.payload, ctx.locale, _tz(ctx)),
                    reply_markup=keyboards.reminder(event["id"], event["version"]))


def render_notice(ctx: RenderContext) -> Outgoing:
    event = ctx.payload["event"]
    markup = None
    if ctx.payload["what"] in ("changed", "promoted"):  # the event's own buttons, as on its card
        markup = keyboards.event(event["id"], event["version"])
    return Outgoing(text=texts.notice(ctx.payload, ctx.locale, _tz(ctx)), reply_markup=markup)


def render_feedback(ctx: RenderContext) -> Outgoing:
    return Outgoing(text=texts.notice(ctx.payload, ctx.locale, _tz(ctx)),
                    reply_markup=keyboards.feedback(ctx.payload["event"]["id"]))


def render_questions(ctx: RenderContext) -> Outgoing:
    text = texts.questions_for_speakers(ctx.payload, ctx.locale, _tz(ctx))
    from handlers.polls.texts import split

    return Outgoing(text=split(text)[0])


def title(campaign: CampaignInfo) -> str:
    """The event in the organizer's progress message, by its own number (as /events shows it)."""
    return _("Event #{id}").format(id=campaign.payload["event"]["id"])


register_kind("event", render_event, title=title)
register_kind("event-reminder", render_reminder)
register_kind("event-notice", render_notice)
register_kind("event-feedback", render_feedback)
register_kind("event-questions", render_questions)
