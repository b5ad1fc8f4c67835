"""Texts of the profile, help and privacy screens."""
from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.commands import PURPOSES, commands_for
from bot.community import Community
from bot.i18n import LANGUAGE_NAMES, N_, esc, fmt_day
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


SECTIONS = {
    "take_part": N_("🙋 <b>Take part</b>"),
    "mine": N_("👤 <b>You and your data</b>"),
    "create": N_("✏️ <b>Create</b>"),
    "follow": N_("📈 <b>Follow</b>"),
    "manage": N_("🛠 <b>Manage</b>"),
}


def help_text(roles: set[str], registered: bool) -> str:
    """The commands this person may use, grouped by purpose (bot.commands.PURPOSES): residents'
    first, then their role's. /start only before registration; /help itself is not listed."""
    specs = commands_for(roles)
    lines = [_("<b>What I can do</b>")]
    if not registered:
        lines += ["", _("You are not registered yet: type /start to begin.")]
    for purpose in PURPOSES:
        found = [spec for spec in specs if spec.section == purpose]
        if found:
            lines += ["", _(SECTIONS[purpose]), *(f"/{spec.name} — {_(spec.description)}" for spec in found)]
    if any(spec.name == "cancel" for spec in specs):
        lines += ["", _("/cancel stops the step you are in.")]
    return "\n".join(lines)


def privacy(user: User | None = None) -> str:
    """What is kept, as registration keeps it (storage.models.User); the phone number only for
    someone a community mediator registered (the only way one is ever asked for)."""
    lines = [_(
        "<b>Your data and privacy</b>\n\n"
        "<b>What we store:</b> the name you gave, your district, language and topics of "
        "interest, your Telegram id (so we can write to you) and your username if you have one "
        "(so an admin can find you to give you a role), and when you agreed; your reports, your "
        "answers to polls and events, the projects you propose or support and the organisations "
        "you say you belong to.")]
    if user is not None and user.mediator_id is not None:
        lines.append(_("<b>Registered by a community mediator:</b> we also keep the phone number you gave "
                       "them, if you did; only your mediator and the admins see it."))
    return "\n".join(lines) + "\n" + _(
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
