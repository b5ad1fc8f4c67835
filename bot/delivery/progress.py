"""The organizer's view of a campaign: one progress message edited in place, then a summary.

Kinds may register their own ``progress``/``summary`` renderers; these are the defaults.
They run inside ``i18n.use_locale(organizer's language)``.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.delivery.kinds import Outgoing, ProgressContext
from bot.i18n import fmt_moment, fmt_number, fmt_time


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


def _counts(ctx: ProgressContext) -> list[str]:
    s, n = ctx.stats, (lambda v: fmt_number(v, ctx.locale))
    lines = [_("✅ Sent: {count}").format(count=n(s.sent))]
    if ctx.phase in ("running", "scheduled"):
        lines.append(_("⏳ Waiting: {count}").format(count=n(s.waiting)))
    lines.append(_("🚫 Unreachable: {count}").format(count=n(s.blocked)))
    lines.append(_("⚠️ Failed: {count}").format(count=n(s.failed)))
    if ctx.phase == "cancelled":
        lines.append(_("✖ Not sent: {count}").format(count=n(s.cancelled)))
    return lines


def progress(ctx: ProgressContext) -> Outgoing:
    c, s = ctx.campaign, ctx.stats
    if ctx.phase == "scheduled":
        text = _("🕒 <b>Campaign #{id}</b> is scheduled for {time}.").format(
            id=c.id, time=_when(ctx, c.send_at) if c.send_at else "—"
        )
        return Outgoing(text, reply_markup=cancel_markup(c.id))
    if ctx.phase == "done":
        return Outgoing("\n".join([_("✅ <b>Campaign #{id}</b> is finished.").format(id=c.id), *_counts(ctx)]))
    if ctx.phase == "cancelled":
        return Outgoing("\n".join([_("✖ <b>Campaign #{id}</b> was cancelled.").format(id=c.id), *_counts(ctx)]))
    lines = [_("📤 <b>Campaign #{id}</b> is being sent.").format(id=c.id), *_counts(ctx)]
    if s.quiet_until is not None:
        lines.append(_("🌙 Quiet hours: sending resumes at {time}.").format(time=_when(ctx, s.quiet_until)))
    elif s.rate > 0:
        lines.append(_("Speed: {rate} messages per second").format(rate=fmt_number(round(s.rate, 1), ctx.locale)))
        if s.eta is not None:
            lines.append(_("Expected finish: {time}").format(time=_when(ctx, s.eta)))
    return Outgoing("\n".join(lines), reply_markup=cancel_markup(c.id))


def summary(ctx: ProgressContext) -> Outgoing:
    c, s = ctx.campaign, ctx.stats
    n = (lambda v: fmt_number(v, ctx.locale))
    if ctx.phase == "cancelled":
        lines = [
            ngettext(
                "Campaign #{id} was cancelled after reaching {count} recipient.",
                "Campaign #{id} was cancelled after reaching {count} recipients.",
                s.sent,
            ).format(id=c.id, count=n(s.sent))
        ]
    else:
        lines = [
            ngettext(
                "Campaign #{id} is finished: delivered to {count} recipient.",
                "Campaign #{id} is finished: delivered to {count} recipients.",
                s.sent,
            ).format(id=c.id, count=n(s.sent))
        ]
    if s.blocked:
        lines.append(
            ngettext(
                "{count} resident could not be reached (blocked the bot or left Telegram).",
                "{count} residents could not be reached (blocked the bot or left Telegram).",
                s.blocked,
            ).format(count=n(s.blocked))
        )
    if s.failed:
        lines.append(
            ngettext("{count} message could not be sent.", "{count} messages could not be sent.", s.failed)
            .format(count=n(s.failed))
        )
    return Outgoing("\n".join(lines))
