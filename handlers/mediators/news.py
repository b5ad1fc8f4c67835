"""News for offline residents reaches the mediator who registered them.

``bot.services.campaigns.tell_people`` queues a campaign of kind ``mediated`` for the mediator
whenever an offline resident (no Telegram of their own) is told the outcome of their report or
proposal; its payload carries the news's own kind and payload. This renderer runs the news's own
renderer in the mediator's language and puts a line above it naming the resident's code, so what
the bot promised the resident ("I will tell you") is said to the person who can tell them.
"""
from __future__ import annotations

import dataclasses

from bot.delivery import Outgoing, RenderContext, register_kind
from bot.delivery.kinds import get_kind, maybe_await
from bot.services.campaigns import MEDIATED_KIND
from handlers.mediators import texts

CAPTION_MAX = 1024


async def render_mediated(ctx: RenderContext) -> Outgoing | None:
    wrapped = ctx.payload
    inner = get_kind(str(wrapped.get("kind") or ""))
    if inner is None:
        return None
    info = dataclasses.replace(ctx.campaign, kind=inner.name, payload=dict(wrapped.get("payload") or {}))
    out = await maybe_await(inner.render(dataclasses.replace(ctx, campaign=info)))
    if out is None or out.edit_message_id is not None:  # (an edit of a message the resident never had)
        return None
    header = texts.for_resident(str(wrapped.get("code") or "—"), wrapped.get("name"), out.reply_markup is not None)
    text = f"{header}\n\n{out.text}"
    if out.media is not None and len(text) > CAPTION_MAX:
        text = out.text  # a caption has no room for both: the news itself matters more
    return dataclasses.replace(out, text=text)


register_kind(MEDIATED_KIND, render_mediated)
