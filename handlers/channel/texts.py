"""Texts of posts to the public channel and of the publishing buttons."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.community import Community
from bot.i18n import esc, fmt_day, fmt_number, shorten
from handlers.polls.texts import pick
from handlers.proposals.texts import district_name
from storage.models import Event, Proposal

SOLUTION_SHOWN = 400
SEPARATOR = "\n\n— — —\n\n"


def join_line(link: str, username: str) -> str:
    return _("👉 Have your say too: {link}").format(link=f'<a href="{esc(link)}">t.me/{esc(username)}</a>')


def realised(p: Proposal, community: Community, locale: str) -> str:
    solution = shorten(p.solution, SOLUTION_SHOWN)
    lines = [_("🎉 <b>Realised</b>: a residents' proposal came true"), f"<b>{esc(p.title)}</b> (#{p.id})",
             esc(district_name(community, p.district, locale)), "", esc(solution)]
    if p.supporters:
        lines += ["", ngettext("👍 {count} resident supported it.", "👍 {count} residents supported it.",
                               p.supporters).format(count=fmt_number(p.supporters, locale))]
    return "\n".join(lines)


def event_summary(event: Event, came: int, going: int, feedback: int, score: float | None, locale: str,
                  tz: ZoneInfo) -> str:
    """``came``: checked in; without check-ins, those who said they would come are counted."""
    title = esc(pick(event.title, locale, event.default_locale))
    lines = [_("✅ <b>{title}</b> took place on {day}.").format(title=title, day=fmt_day(event.starts_at, locale, tz))]
    if came:
        lines.append(ngettext("{count} person came.", "{count} people came.", came).format(
            count=fmt_number(came, locale)))
    elif going:
        lines.append(ngettext("{count} person signed up.", "{count} people signed up.", going).format(
            count=fmt_number(going, locale)))
    if score is not None:
        lines.append(ngettext("They rated it {score} of 5 ({count} rating).", "They rated it {score} of 5 ({count} ratings).",
                              feedback).format(score=fmt_number(round(score, 1), locale), count=fmt_number(feedback, locale)))
    lines.append(_("Thank you to everyone who took part! The next events are in the bot."))
    return "\n".join(lines)


def ask_photo() -> str:
    return _("Send a photo of the event for the post, or press Skip to post without one. /cancel stops.")


def photo_expected() -> str:
    return _("Please send a photo, or press Skip.")


def skip() -> str:
    return _("Skip")


def published() -> str:
    return _("📢 Published in the public channel.")


def already() -> str:
    return _("This is already in the public channel.")


def failed() -> str:
    return _("I could not post to the public channel. Make the bot an admin of the channel who may post "
             "messages, then press the button again; nothing was lost.")


def not_yet() -> str:
    return _("The summary can be published once the event has started.")


def not_allowed() -> str:
    return _("Sorry, only organizers can publish to the public channel.")


def gone() -> str:
    return _("This is no longer there.")


def blocks(parts: list[str]) -> str:
    return SEPARATOR.join(parts)


