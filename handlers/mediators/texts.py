"""What mediators read (and read aloud). Built per request: the mediator's language."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.community import Community
from bot.i18n import LANGUAGE_NAMES, esc, fmt_day
from bot.services.errors import DomainError
from storage.models import User


def not_mediator() -> str:
    return _("Sorry, only community mediators can do this. An admin can make you one with /grant.")


def error(exc: DomainError) -> str:
    ref = str(exc.params.get("ref") or "—")
    return {
        "unknown_code": _("There is no resident with the code {code}. Check the code, or search by name in /residents."),
        "not_yours": _("{code} was registered by another mediator. You can act only for the residents you registered."),
        "linked": _("{code} now uses the bot themselves, so nobody acts for them any more."),
        "phone_invalid": _("That does not look like a phone number. Type digits (6 to 15, + and spaces are fine), "
                           "or tap Skip."),
        "name_empty": _("Please type the resident's name or nickname."),
        "name_too_long": _("That is too long: at most {max} characters, please."),
        "link_used": _("This link was already used. Ask your mediator for a new one."),
    }.get(exc.code, _("That did not work. Please try again.")).format(code=esc(ref), **{
        k: v for k, v in exc.params.items() if k != "ref"})


def district_name(community: Community, code: str | None, locale: str) -> str:
    found = community.district(code) if code else None
    return found.name(locale) if found else "—"


def item(user: User, community: Community, locale: str) -> str:
    return _("{code} · {name}, {district}").format(
        code=user.code, name=esc(user.display_name or "—"), district=district_name(community, user.district, locale))


def listing(items: list[str], total: int, query: str | None) -> str:
    if not total:
        if query:
            return _("Nobody matches “{query}”. Try part of the name or the code (M-4821).").format(query=esc(query))
        return _("<b>🤝 Your residents</b>\n\nNobody yet. Tap ➕ to register a resident who has no smartphone.")
    head = ngettext("<b>🤝 Your residents</b>: {n} person", "<b>🤝 Your residents</b>: {n} people", total).format(n=total)
    if query:
        head += "\n" + _("Matching “{query}”").format(query=esc(query))
    return head + "\n\n" + "\n".join(items) + "\n\n" + _("Tap a name, or type a code or part of a name to find someone.")


def card(user: User, community: Community, locale: str, tz: ZoneInfo, mediator: str | None) -> str:
    lines = [
        f"<b>{user.code}</b> · {esc(user.display_name or '—')}",
        _("District: {district}").format(district=district_name(community, user.district, locale)),
        _("Language: {language}").format(language=LANGUAGE_NAMES.get(user.language, user.language)),
        _("Phone: {phone}").format(phone=esc(user.phone or "—")),
        _("Registered on {date}").format(date=fmt_day(user.registered_at, locale, tz) if user.registered_at else "—"),
    ]
    if mediator:
        lines.append(_("Mediator: {name}").format(name=mediator))
    return "\n".join(lines)


def acting_started(user: User) -> str:
    return _(
        "🤝 <b>You are acting for {code}</b> ({name}).\n\n"
        "Use the menu as they would: report a problem, answer polls, say you will come to an event, "
        "support a project. Everything is saved for them and marked as done with a mediator's help.\n\n"
        "Tap ⏹ at the top of the menu to stop."
    ).format(code=user.code, name=esc(user.display_name or "—"))


def acting_stopped(code: str | None) -> str:
    if code is None:
        return _("You are not acting for anyone. /residents lists the people you registered.")
    return _("⏹ You stopped acting for {code}. You are yourself again.").format(code=code)


# ------------------------------------------------------------------ registering
def ask_name() -> str:
    return _("<b>➕ New resident</b> (1/5)\n\nWhat is their name or nickname? "
             "Type what they want to be called.\n\n/cancel stops.")


def ask_district() -> str:
    return _("(2/5) Which district do they live in?")


def duplicates(found: list[User], community: Community, locale: str) -> str:
    names = "\n".join("• " + item(u, community, locale) for u in found)
    return _("⚠️ Someone with this name in this district is already registered:\n{names}\n\n"
             "Is it the same person? Then there is no need to register them again.").format(names=names)


def ask_language() -> str:
    return _("(3/5) Which language do they prefer?")


def ask_phone() -> str:
    return _("(4/5) A phone number, if they want you to be able to call them back. Only you and the "
             "admins see it. Type it, or tap Skip.")


def consent_heading() -> str:
    return _("(5/5) <b>Read this aloud to them</b> (in their language):")


def consent_aloud() -> str:
    """Called in the resident's language."""
    return _(
        "“We will keep your name, district, language and, if you gave it, your phone number, so that "
        "I can report problems, answer polls and sign you up for events for you. Organizers see only "
        "figures, not your name. You can ask me at any time to show you or delete everything we keep.”"
    )


def consent_question() -> str:
    return _("Did you read it to them, and do they agree?")


def registered(user: User) -> str:
    return _(
        "✅ Registered: <b>{code}</b> · {name}.\n\n"
        "Write the code down for them: with it you find them quickly next time."
    ).format(code=user.code, name=esc(user.display_name or "—"))


def declined() -> str:
    return _("Nothing was saved. Without their agreement we keep nothing about them.")


def step_waits() -> str:
    return _("Please use the buttons above, or /cancel.")


# ------------------------------------------------------------------ data, linking
def export_caption(code: str | None) -> str:
    return _("Everything we store about {code}. To delete it, use 🗑 on their card.").format(code=code)


def confirm_delete(code: str | None) -> str:
    return _("Delete everything we store about {code}? Their name, phone and what links their reports, "
             "answers and RSVPs to them are erased. This cannot be undone.").format(code=code)


def deleted(code: str | None) -> str:
    return _("🗑 {code}: their personal data were deleted.").format(code=code)


def link_instructions(code: str | None, url: str) -> str:
    return _(
        "🔗 <b>Link {code} to their own Telegram</b>\n\n"
        "Ask them to open this link on their phone (or scan the code):\n{url}\n\n"
        "They will be asked to confirm. Their reports, answers and RSVPs then stay with their account. "
        "The link works once."
    ).format(code=code, url=url)


def link_question(user: User, community: Community, locale: str) -> str:
    return _(
        "🔗 A community mediator registered you as <b>{code}</b> · {name}, {district}.\n\n"
        "Link this Telegram account to it? Your reports, answers and event sign-ups stay with you, "
        "and from now on I write to you here."
    ).format(code=user.code, name=esc(user.display_name or "—"),
             district=district_name(community, user.district, locale))


def link_expired() -> str:
    return _("This link is not valid any more: it was used, or a newer one was made. "
             "Ask your mediator for a new one.")


def link_own_account() -> str:
    return _("This is the mediator's own account. The resident opens the link in their own Telegram.")


def linked(name: str | None) -> str:
    return _("✅ Done, {name}! Your history is with you now. Use the menu below or /help.").format(
        name=esc(name or ""))


def link_declined() -> str:
    return _("Nothing was linked. If this was a mistake, ask your mediator for a new link.")


def mediator_told_linked(code: str | None) -> str:
    return _("🔗 {code} linked their own Telegram account: they use the bot themselves now, "
             "and what you did for them stays with them.").format(code=code)


def for_resident(code: str, name: str | None, answerable: bool) -> str:
    """The line above news for an offline resident that reaches their mediator (HTML-escaped)."""
    who = _("🤝 <b>For {code}</b> ({name}), whom you registered:").format(code=esc(code), name=esc(name or "—")) \
        if name else _("🤝 <b>For {code}</b>, whom you registered:").format(code=esc(code))
    if answerable:
        who += "\n" + _("<i>Please tell them. To answer with the buttons for them, first /act {code}.</i>").format(
            code=esc(code))
    else:
        who += "\n" + _("<i>Please tell them.</i>")
    return who
