"""What the delivery engine sends for polls, rendered per recipient in their language:

* ``poll``: the poll (its question with buttons) or the survey's invitation with "Answer";
* ``poll-closed``: takes the buttons off each resident's poll message when it closes;
* ``poll-results-org``: the results for the organizers' chat when a poll closes;
* ``poll-results``: the results for everyone who took part (totals only).
"""
from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot import jobs
from bot.delivery import CampaignInfo, Outgoing, RenderContext, register_kind
from bot.services import polls as polls_service
from bot.services.polls import Results
from handlers.polls import keyboards, texts
from handlers.shared import publish_button


def render_poll(ctx: RenderContext) -> Outgoing:
    poll = ctx.payload["poll"]
    tz = ctx.settings.tz if ctx.settings else None
    assert tz is not None
    if len(poll["questions"]) == 1 and not poll.get("title"):
        return Outgoing(text=texts.question_text(poll, 0, ctx.locale, tz),
                        reply_markup=keyboards.question(poll, 0, ctx.locale))
    return Outgoing(text=texts.survey_intro(poll, ctx.locale, tz), reply_markup=keyboards.start(poll["id"], None))


def render_closed(ctx: RenderContext) -> Outgoing | None:
    if ctx.user is None:
        return None
    message_id = ctx.payload["messages"].get(str(ctx.user.id))
    if message_id is None:
        return None
    return Outgoing(edit_message_id=message_id, markup_only=True, reply_markup=keyboards.closed(ctx.payload["poll_id"]))


def results_message(ctx: RenderContext, *, breakdowns: bool, markup: InlineKeyboardMarkup | None,
                    free_texts: bool = False) -> Outgoing:
    """Participants get the totals; the organizers' chat also the free-text answers, with
    "📊 Charts and breakdowns" below."""
    results = Results.from_json(ctx.payload["results"])
    assert ctx.community is not None
    text = texts.results_text(results, "closed", ctx.locale, ctx.payload["default_locale"], ctx.community,
                              breakdowns=breakdowns, free_texts=free_texts)
    if not free_texts:
        text = texts.published_intro() + "\n\n" + text
    parts = texts.split(text, texts.TEXT_LIMIT - 200)
    if len(parts) > 1:  # a long survey: the rest is one tap away
        return Outgoing(text=parts[0] + "\n\n" + texts.more_with_polls(), reply_markup=markup)
    return Outgoing(text=parts[0], reply_markup=markup)


def render_results_org(ctx: RenderContext) -> Outgoing:
    poll_id = ctx.payload["poll_id"]
    channel = publish_button(ctx.settings, "poll", poll_id) if ctx.settings else None
    return results_message(ctx, breakdowns=False, free_texts=True,
                           markup=keyboards.results(poll_id, "closed", published=False, channel=channel))


def render_results(ctx: RenderContext) -> Outgoing:
    return results_message(ctx, breakdowns=False, markup=None)


def title(campaign: CampaignInfo) -> str:
    """The poll in the organizer's progress message: "Poll #3" or "Survey #3" (its own number,
    as /polls shows it, not the campaign's)."""
    poll = campaign.payload["poll"]
    return texts.poll_number(poll["id"], survey=len(poll["questions"]) > 1 or bool(poll.get("title")))


register_kind("poll", render_poll, title=title)
register_kind("poll-closed", render_closed)
register_kind("poll-results-org", render_results_org)
register_kind("poll-results", render_results)


@jobs.job("poll-results-forget", seconds=60, at_start=True)
async def forget_results_recipients(ctx: jobs.JobContext) -> int:
    """Who got a poll's results is who took part: once sent, those outbox rows go (see
    polls_service.forget_results_recipients)."""
    async with ctx.sessionmaker() as session:
        gone = await polls_service.forget_results_recipients(session)
        await session.commit()
    return gone
