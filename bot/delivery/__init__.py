"""The one delivery engine every feature uses to message many people.

Public API::

    from bot.delivery import Outgoing, Media, RenderContext, register_kind
    from bot.services.campaigns import Audience, create_campaign

    register_kind("event", render_event)          # at import time of the feature
    campaign = await create_campaign(session, kind="event", payload={...}, audience=Audience(districts=[...]),
                                     send_at=None, urgent=False, created_by=user.id, key="event:42:reminder")
    await session.commit()
    engine.wake()                                   # engine = app.delivery (handlers: `delivery` argument)

* ``key`` makes creation idempotent (a scheduled job or a double tap cannot create two);
  ``send_at`` (UTC) schedules it; ``urgent`` lets it through quiet hours.
* ``progress_chat_id``/``progress_message_id``: a message the engine keeps edited with the
  progress (throttled), then a summary; kinds may register their own ``progress``/``summary``.
* Cancel: ``campaigns.cancel_campaign(session, id)``, commit, then ``engine.cancelled(id)``.
* Audience(user_ids=[...]) targets given residents, Audience(residents=False, chat_ids=[...]) groups.

See :mod:`bot.delivery.engine` for the guarantees (limits, retries, crash safety, quiet hours).
"""
from bot.delivery.engine import DeliveryConfig, DeliveryEngine, send_outgoing
from bot.delivery.kinds import (
    CampaignInfo,
    Media,
    Outgoing,
    ProgressContext,
    RenderContext,
    Stats,
    get_kind,
    register_kind,
)
from bot.delivery.progress import CampaignCb

__all__ = [
    "CampaignCb",
    "CampaignInfo",
    "DeliveryConfig",
    "DeliveryEngine",
    "Media",
    "Outgoing",
    "ProgressContext",
    "RenderContext",
    "Stats",
    "get_kind",
    "register_kind",
    "send_outgoing",
]
