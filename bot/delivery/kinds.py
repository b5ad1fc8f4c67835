"""What a campaign sends: per-kind renderers registered by the features.

A feature registers its kind once, at import time::

    from aiogram.utils.i18n import gettext as _
    from bot.delivery import Outgoing, RenderContext, register_kind

    def render_poll(ctx: RenderContext) -> Outgoing | None:   # may also be async
        poll = ctx.payload
        return Outgoing(text=_("New poll: {question}").format(question=esc(poll["question"])),
                        reply_markup=vote_keyboard(poll["id"]))

    register_kind("poll", render_poll)

The renderer runs at send time, once per recipient, inside ``i18n.use_locale(ctx.locale)``, so
``_()`` translates into the recipient's language (``ctx.gettext`` does the same, but Babel does
not extract its msgids). Return None to skip the recipient. ``ctx.user`` is a detached snapshot
(its roles are not loaded) and None for a group chat recipient.
"""
from __future__ import annotations

import hashlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from aiogram.types import InlineKeyboardMarkup

if TYPE_CHECKING:
    from aiogram.utils.i18n import I18n

    from bot.community import Community
    from bot.config import Settings
    from storage.models import User

MediaKind = Literal["photo", "document"]


@dataclass(frozen=True)
class Media:
    """A photo or document. Give a Telegram ``file_id``, or the bytes: bytes are uploaded once
    per ``key`` (default: their SHA-256) and every later send, even after a restart, reuses the
    file_id Telegram returned."""

    kind: MediaKind
    file_id: str | None = None
    data: bytes | None = None
    filename: str | None = None
    key: str | None = None

    def cache_key(self) -> str:
        if self.key:
            return f"{self.kind}:{self.key}"
        return f"{self.kind}:sha256:{hashlib.sha256(self.data or b'').hexdigest()}"


@dataclass
class Outgoing:
    """One message as it goes out: HTML ``text`` (the caption when there is media).

    With ``edit_message_id`` the recipient's earlier message is edited instead (its text, or with
    ``markup_only`` just its buttons), e.g. to take the buttons off a closed poll.
    """

    text: str = ""
    media: Media | None = None
    reply_markup: InlineKeyboardMarkup | None = None
    disable_notification: bool = False
    edit_message_id: int | None = None
    markup_only: bool = False


@dataclass(frozen=True)
class CampaignInfo:
    """The immutable part of a campaign, cached by the engine."""

    id: int
    kind: str
    payload: dict[str, Any]
    urgent: bool
    created_by: int | None
    send_at: datetime | None = None


@dataclass
class RenderContext:
    campaign: CampaignInfo
    user: User | None  # None for a group chat recipient
    chat_id: int
    locale: str
    i18n: I18n
    settings: Settings | None = None
    community: Community | None = None

    @property
    def payload(self) -> dict[str, Any]:
        return self.campaign.payload

    def gettext(self, singular: str, plural: str | None = None, n: int = 1) -> str:
        return self.i18n.gettext(singular, plural, n, locale=self.locale)


@dataclass
class Stats:
    """Counts of one campaign's deliveries, plus the engine's live view of it."""

    total: int = 0
    pending: int = 0
    sending: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    cancelled: int = 0
    rate: float = 0.0  # messages per second over the last seconds
    eta: datetime | None = None  # expected finish (UTC)
    quiet_until: datetime | None = None  # waiting for the end of quiet hours (UTC)

    @property
    def waiting(self) -> int:
        return self.pending + self.sending

    @classmethod
    def from_counts(cls, counts: dict[str, int]) -> Stats:
        stats = cls(**{k: v for k, v in counts.items() if k in
                       ("pending", "sending", "sent", "blocked", "failed", "cancelled")})
        stats.total = sum(counts.values())
        return stats


@dataclass
class ProgressContext:
    """What a progress renderer gets: phase is scheduled | running | done | cancelled."""

    campaign: CampaignInfo
    phase: str
    stats: Stats
    locale: str
    i18n: I18n
    settings: Settings | None = None
    now: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Renderer = Callable[[RenderContext], "Outgoing | None | Awaitable[Outgoing | None]"]
ProgressRenderer = Callable[[ProgressContext], "Outgoing | None"]
# what the organizer sent, in their language ("Poll #3"), from a CampaignInfo or a Campaign row
# (only ``id`` and ``payload`` are read)
Title = Callable[[Any], str]


@dataclass(frozen=True)
class CampaignKind:
    name: str
    render: Renderer
    progress: ProgressRenderer | None = None  # None: the default (bot.delivery.progress)
    title: Title | None = None  # None: "Campaign #<id>"


_KINDS: dict[str, CampaignKind] = {}


def register_kind(
    name: str,
    render: Renderer,
    *,
    progress: ProgressRenderer | None = None,
    title: Title | None = None,
) -> CampaignKind:
    """Register (or replace) the renderer of a campaign kind; call at import time. ``title`` names
    what is sent in the organizer's progress message and its outcome (called in their language)."""
    if not name or len(name) > 32:
        raise ValueError("a campaign kind is 1..32 characters")
    kind = CampaignKind(name, render, progress, title)
    _KINDS[name] = kind
    return kind


def get_kind(name: str) -> CampaignKind | None:
    return _KINDS.get(name)


async def maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value
