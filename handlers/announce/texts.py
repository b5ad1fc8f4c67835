"""Texts of the announcement wizard, and the announcement as residents see it (the renderer)."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.config import SUPPORTED_LOCALES
from bot.delivery import Media, Outgoing, RenderContext
from bot.i18n import N_, esc, fmt_number
from handlers import langs
from handlers.audience import language_name, residents
from handlers.when import fmt_when

KIND = "announcement"
HEADER = N_("📢 <b>Announcement</b>")
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
_TAG = re.compile(r"<[^>]+>")


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


# ------------------------------------------------------------------ the announcement itself

FROM = N_("🏢 From: {organisation}")
ORG_LINE_MAX = 140  # that line, with an organisation's name of up to 120 characters


def render(payload: dict[str, Any], locale: str, i18n: I18n) -> Outgoing:
    """The message a resident reading ``locale`` gets (the preview uses the same function)."""
    texts: dict[str, str] = payload.get("texts") or {}
    body = texts.get(locale)
    if body is None:
        body = texts.get(payload.get("default_locale", ""), "")
    header = i18n.gettext(HEADER, locale=locale)
    names = payload.get("org")
    if names:  # sent by a representative: whose it is, in the reader's language
        name = names.get(locale) or names.get("en") or next(iter(names.values()), "")
        header += "\n" + i18n.gettext(FROM, locale=locale).format(organisation=esc(name))
    text = f"{header}\n\n{esc(body)}" if body else header
    media = None
    if payload.get("media"):
        m = payload["media"]
        media = Media(kind=m["kind"], file_id=m["file_id"], filename=m.get("filename"))
    return Outgoing(text=text, media=media)


def render_announcement(ctx: RenderContext) -> Outgoing:
    """The delivery engine's renderer for kind "announcement"."""
    return render(ctx.payload, ctx.locale, ctx.i18n)


def body_limit(i18n: I18n, with_media: bool) -> int:
    """How long the organizer's text may be: Telegram's limit minus our header, in any language."""
    header = max(utf16_len(_TAG.sub("", i18n.gettext(HEADER, locale=loc))) for loc in SUPPORTED_LOCALES)
    return (CAPTION_LIMIT if with_media else TEXT_LIMIT) - header - 2


# ------------------------------------------------------------------ wizard

def ask_text(lang: str) -> str:
    return "\n\n".join([
        _("<b>New announcement</b>"),
        langs.line(lang) + "\n" + langs.choose_hint(),
        _("Send the text. You can also send one photo or document with the text as its caption.\n"
          "Residents will get it as plain text, exactly as you type it."),
        _("Type /cancel to stop."),
    ])


def not_text() -> str:
    return _("Please send the announcement as text, or as a photo or document with a caption.")


def too_long(limit: int, length: int) -> str:
    return _(
        "This text is too long: at most {limit} characters, and it has {length}. Please shorten it and send it again."
    ).format(limit=limit, length=length)


def caption_too_long(limit: int, length: int) -> str:
    return _(
        "With a photo or document the text can have at most {limit} characters, and it has {length}. "
        "Please shorten it, or send the text without the file."
    ).format(limit=limit, length=length)


def translation_as_text() -> str:
    return _("Please send the translation as text.")


def preview_intro(count: int) -> str:
    return ngettext(
        "<b>Preview</b> — this is exactly what residents will see (one message per language version):",
        "<b>Preview</b> — this is exactly what residents will see ({count} language versions):",
        count,
    ).format(count=count)


def preview_label(locale: str, is_default: bool) -> str:
    if is_default:
        return langs.line(locale) + " · " + _("also for everyone without a translation:")
    return langs.line(locale) + ":"


def confirm_panel(
    *, audience: str, count: int, languages: list[str], send_at: datetime | None, urgent: bool,
    tz: ZoneInfo, locale: str, quiet: str,
) -> str:
    lines = [
        _("<b>Ready to send?</b>"),
        _("Audience: {audience}").format(audience=audience),
        _("Recipients: {residents}").format(residents=residents(count, locale)),
        _("Languages: {languages}").format(languages=", ".join(language_name(c) for c in languages)),
    ]
    if send_at is None:
        lines.append(_("When: now"))
    else:
        lines.append(_("When: {time} ({zone})").format(time=fmt_when(send_at, tz, locale), zone=tz.key))
    if urgent:
        lines.append(_("Urgent: yes, it is sent even during quiet hours"))
    elif quiet:
        lines.append(_("Urgent: no, it waits while quiet hours ({hours}) last").format(hours=quiet))
    else:
        lines.append(_("Urgent: no"))
    return "\n".join(lines)


def ask_when(tz: ZoneInfo, example: str) -> str:
    return _(
        "When should it go out? Send the date and time like <code>{example}</code> "
        "(time zone {zone}), or just a time like <code>18:30</code> for today."
    ).format(example=example, zone=tz.key)


def expired() -> str:
    return _("This announcement draft has expired. Type /announce to start again.")


def scheduled_time_passed() -> str:
    return _("The chosen time has passed in the meantime. Please choose a new time or send it now.")


def created(campaign_id: int, scheduled: bool) -> str:
    if scheduled:
        return _("Announcement #{id} is scheduled. You can cancel it below or with /campaigns.").format(id=campaign_id)
    return _("Announcement #{id} is on its way. I will keep the message below up to date.").format(id=campaign_id)


def title(campaign_id: int) -> str:
    """An announcement is known by its campaign's number."""
    return _("Announcement #{id}").format(id=campaign_id)


def cancelled_draft() -> str:
    return _("The announcement was not sent.")


def campaigns_list(items: list[tuple[int, str, str]]) -> str:
    """items: (id, status line, snippet), in the order they were made."""
    if not items:
        return _("No announcements yet. Send one with /announce.")
    lines = [_("<b>Announcements</b> (scheduled, going out, and the latest finished)")]
    for campaign_id, status, snippet in items:
        lines.append(f"\n<b>{esc(title(campaign_id))}</b> · {status}\n{snippet}")
    return "\n".join(lines)


def status_scheduled(send_at: datetime, tz: ZoneInfo, locale: str) -> str:
    return _("scheduled for {time}").format(time=fmt_when(send_at, tz, locale))


def status_running(sent: int, total: int, locale: str) -> str:
    return _("sending: {sent} of {total} sent").format(sent=fmt_number(sent, locale), total=fmt_number(total, locale))


def status_finished(status: str, counts: dict[str, int], locale: str) -> str:
    """A finished campaign's outcome: delivered, unreachable, failed (and, cancelled, not sent)."""
    n = {key: fmt_number(counts.get(key, 0), locale) for key in ("sent", "blocked", "failed", "cancelled")}
    if status == "cancelled":
        return _("cancelled · delivered: {delivered} · unreachable: {unreachable} · failed: {failed} · "
                 "not sent: {not_sent}").format(delivered=n["sent"], unreachable=n["blocked"], failed=n["failed"],
                                                not_sent=n["cancelled"])
    return _("finished · delivered: {delivered} · unreachable: {unreachable} · failed: {failed}").format(
        delivered=n["sent"], unreachable=n["blocked"], failed=n["failed"])


def snippet(payload: dict[str, Any]) -> str:
    texts = payload.get("texts") or {}
    body = texts.get(payload.get("default_locale", ""), "") or next(iter(texts.values()), "")
    body = " ".join(body.split())
    return esc(body[:80] + ("…" if len(body) > 80 else ""))


def campaign_cancelled(name: str) -> str:
    """A button's alert (plain text): ``name`` as the campaign's kind names it ("Poll #3")."""
    return _("{title}: sending cancelled. Messages already sent stay delivered.").format(title=name)


def campaign_not_active(name: str) -> str:
    return _("{title}: sending has already finished or was cancelled.").format(title=name)


def only_organizers() -> str:
    return _("Sorry, this is only for organizers.")
