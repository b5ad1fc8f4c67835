"""Texts of the profile, help and privacy screens."""
from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.commands import commands_for
from bot.community import Community
from bot.i18n import LANGUAGE_NAMES, esc, fmt_day
from handlers.shared import topics_text
from storage.models import User


def profile(user: User, community: Community, locale: str, tz) -> str:  # type: ignore[no-untyped-def]
    registered = fmt_day(user.registered_at, locale, tz) if user.registered_at else "—"
    return _(
        "<b>Your profile</b>\n\n"
        "Name: {name}\n"
        "District: {district}\n"
        "Language: {language}\n"
        "Topics: {topics}\n"
        "Registered: {registered}"
    ).format(
        name=esc(user.display_name or "—"),
        district=esc(community.district_name(user.district, locale)),
        language=LANGUAGE_NAMES.get(user.language, user.language),
        topics=topics_text(list(user.topics or [])),
        registered=registered,
    )


def help_text(roles: set[str], registered: bool) -> str:
    lines = [_("<b>What I can do</b>"), ""]
    for spec in commands_for(roles):
        lines.append(f"/{spec.name} — {_(spec.description)}")
    if not registered:
        lines += ["", _("You are not registered yet: type /start to begin.")]
    return "\n".join(lines)


def privacy() -> str:
    return _(
        "<b>Your data and privacy</b>\n\n"
        "<b>What we store:</b> the name you gave, your district, language and topics of "
        "interest, your Telegram id and username (so we can write to you), and when you agreed; "
        "your reports, your answers to polls and events, the projects you propose or support and "
        "the organisations you say you belong to.\n"
        "<b>Why:</b> to send you what you asked for and to count, anonymously, what residents "
        "of each district need.\n"
        "<b>Who sees it:</b> moderators see reports under a pseudonym unless you allow your "
        "name; organizers see totals — your name only with answers to polls marked “not "
        "anonymous”, and on the list of those going to an event (to mark who came). Anonymous "
        "poll answers are stored without your name.\n"
        "<b>Your rights:</b> /mydata sends you everything we store about you as a file; "
        "/deleteme erases your personal data. Totals such as \"a resident of your district "
        "registered\" stay, without your name; published proposals stay public without your name."
    ) + "\n" + _(
        "<b>Pseudonyms:</b> each report and each proposal has its own (such as R-K7P2Q), so one where you "
        "showed your name does not reveal your other ones; a proposal from an organisation shows only the "
        "organisation. /deleteme also deletes what the bot passed on from you to the moderators' chat and "
        "the answers you wrote in your own words in polls.\n"
        "<b>Poll results sent to participants:</b> the list of who got them is not kept: it is worked out "
        "from the anonymous poll's hashes when they are sent, and each one is forgotten once sent. An "
        "anonymous poll keeps only a keyed hash of each participant, never their name."
    )
