"""The organizer's view of a campaign: one progress message edited in place, which becomes its
outcome when it ends (delivered, unreachable, failed): one completion message per campaign.

Kinds may register their own ``progress`` renderer and a ``title`` ("Poll #3"); these are the
defaults. They run inside ``i18n.use_locale(organizer's language)``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.delivery.kinds import Outgoing, ProgressContext, get_kind
from bot.i18n import esc, fmt_moment, fmt_number, fmt_time


class CampaignCb(CallbackData, prefix="cmp"):
    """Buttons about one campaign (handled in handlers.announce): action = cancel."""

    action: str
    id: int


def cancel_markup(campaign_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(
            text=_("✖ Cancel sending"), callback_data=CampaignCb(action="cancel", id=campaign_id).pack()
        )]]
    )


def _when(ctx: ProgressContext, value: datetime) -> str:
    """The time alone when it is today, else the moment (bot.i18n's formats)."""
    tz = ctx.extra.get("tz") or ZoneInfo("UTC")
    now = ctx.now
    if now is not None and value.astimezone(tz).date() == now.astimezone(tz).date():
        return fmt_time(value, ctx.locale, tz)
    return fmt_moment(value, ctx.locale, tz)


def title_of(campaign: Any) -> str:
    """What was sent, as its kind names it ("Poll #3", "Announcement #12"), else "Campaign #<id>"
    (a CampaignInfo or a Campaign row; in the current language)."""
    kind = get_kind(campaign.kind)
    if kind is not None and kind.title is not None:
        return kind.title(campaign)
    return _("Campaign #{id}").format(id=campaign.id)


def title(ctx: ProgressContext) -> str:
    return title_of(ctx.campaign)


def _counts(ctx: ProgressContext) -> list[str]:
    s, n = ctx.stats, (lambda v: fmt_number(v, ctx.locale))
    lines = [_("✅ Delivered: {count}").format(count=n(s.sent))]
    if ctx.phase in ("running", "scheduled"):
        lines.append(_("⏳ Waiting: {count}").format(count=n(s.waiting)))
    lines.append(_("🚫 Unreachable: {count}").format(count=n(s.blocked)))
    lines.append(_("⚠️ Failed: {count}").format(count=n(s.failed)))
    if ctx.phase == "cancelled":
        lines.append(_("✖ Not sent: {count}").format(count=n(s.cancelled)))
    return lines


def progress(ctx: ProgressContext) -> Outgoing:
    """The organizer's one message about a campaign: edited while it goes out, and at the end into
    its outcome (no second message)."""
    c, s = ctx.campaign, ctx.stats
    name = esc(title(ctx))
    if ctx.phase == "scheduled":
        text = _("🕒 <b>{title}</b>: scheduled for {time}.").format(
            title=name, time=_when(ctx, c.send_at) if c.send_at else "—"
        )
        return Outgoing(text, reply_markup=cancel_markup(c.id))
    if ctx.phase == "done":
        return Outgoing("\n".join([_("✅ <b>{title}</b>: sending finished.").format(title=name), *_counts(ctx)]))
    if ctx.phase == "cancelled":
        return Outgoing("\n".join([_("✖ <b>{title}</b>: sending cancelled.").format(title=name), *_counts(ctx)]))
    lines = [_("📤 <b>{title}</b>: sending…").format(title=name), *_counts(ctx)]
    if s.quiet_until is not None:
        lines.append(_("🌙 Quiet hours: sending resumes at {time}.").format(time=_when(ctx, s.quiet_until)))
    elif s.rate > 0:
        lines.append(_("Speed: {rate} messages per second").format(rate=fmt_number(round(s.rate, 1), ctx.locale)))
        if s.eta is not None:
            lines.append(_("Expected finish: {time}").format(time=_when(ctx, s.eta)))
    return Outgoing("\n".join(lines), reply_markup=cancel_markup(c.id))
