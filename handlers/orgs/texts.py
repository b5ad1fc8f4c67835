"""Texts of the organisations network (built per request, in the reader's language)."""
from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.community import Community
from bot.i18n import esc
from bot.services.errors import DomainError
from bot.services.orgs import name_of
from handlers import langs
from storage.models import Organisation, OrgMember


def org_name(org: Organisation | None, locale: str) -> str:
    return esc(name_of(org, locale))


def listing(total: int, page: int, pages: int, locale: str) -> str:
    if total == 0:
        return _("🏢 <b>Organisations of the network</b>\n\nNo organisations yet.")
    head = ngettext("🏢 <b>Organisations of the network</b>: {count} organisation",
                    "🏢 <b>Organisations of the network</b>: {count} organisations", total).format(count=total)
    more = _("Page {page} of {pages}.").format(page=page + 1, pages=pages) if pages > 1 else ""
    return "\n".join(p for p in (head, _("Tap one to see what it does and how to reach it."), more) if p)


def card(org: Organisation, community: Community, locale: str, members: int, reps: int,
         mine: OrgMember | None) -> str:
    lines = [f"🏢 <b>{org_name(org, locale)}</b>"]
    about = org.description.get(locale) or next(iter(org.description.values()), "") if org.description else ""
    if about:
        lines.append(esc(about))
    where = ", ".join(community.district_name(d, locale) for d in org.districts) or _("the whole community")
    lines.append(_("Works in: {districts}").format(districts=esc(where)))
    if org.contact:
        lines.append(_("Contact: {contact}").format(contact=esc(org.contact)))
    lines.append(ngettext("{count} member in the bot", "{count} members in the bot", members).format(count=members)
                 + " · " + ngettext("{count} representative", "{count} representatives", reps).format(count=reps))
    if mine is not None:
        lines.append("")
        lines.append(you_are(mine))
    return "\n".join(lines)


def you_are(mine: OrgMember) -> str:
    if mine.role == "representative":
        return {
            "confirmed": _("✅ You represent this organisation."),
            "pending": _("⏳ You asked to represent this organisation; an admin will confirm it."),
            "declined": _("Your request to represent this organisation was declined."),
        }.get(mine.status, "")
    return _("🤝 You are a member.")


def ask_name(lang: str) -> str:
    return "\n\n".join([
        _("New organisation. What is its name?"),
        langs.line(lang) + "\n" + langs.choose_hint(),
        _("Translations are added with the ➕ buttons after the description. /cancel stops."),
    ])


def ask_description() -> str:
    return _("A short description: what does the organisation do?")


def ask_translation(lang: str) -> str:
    return langs.ask_translation(lang, _("Send the name on the first line, and the description on the next lines "
                                         "(optional)."))


def ask_contact() -> str:
    return _("How can residents reach it? A phone, an e-mail, a website or an address.")


def ask_districts() -> str:
    return _("Which districts does it work in? Tap them, then Done (none: the whole community).")


def created(org: Organisation, locale: str) -> str:
    return _("Organisation «{name}» is in the network now (#{number}). Residents find it with /orgs.").format(
        name=org_name(org, locale), number=org.id)


def request_sent(org: Organisation, locale: str) -> str:
    """A button's alert: plain text (not HTML)."""
    return _("Thank you. An admin will confirm that you represent «{name}»; I will tell you.").format(
        name=name_of(org, locale))


def member_saved(org: Organisation, locale: str) -> str:
    """A button's alert: plain text (not HTML)."""
    return _("Saved: you are a member of «{name}».").format(name=name_of(org, locale))


def left(org: Organisation, locale: str) -> str:
    """A button's alert: plain text (not HTML)."""
    return _("You are no longer listed with «{name}».").format(name=name_of(org, locale))


def request_for_admin(who: str, org: Organisation, locale: str) -> str:
    return _("🎙 {who} says they represent «{name}». Confirm? A representative can send polls, events and "
             "announcements on its behalf.").format(who=who, name=org_name(org, locale))


def decided(confirmed: bool, who: str, org: Organisation, locale: str) -> str:
    text = _("✅ {who} now represents «{name}».") if confirmed else _("❌ {who} does not represent «{name}».")
    return text.format(who=who, name=org_name(org, locale))


def notice(event: str, name: str) -> str:
    """To the person concerned, in their language (a delivery campaign)."""
    match event:
        case "confirmed":
            text = _("✅ You are now a confirmed representative of «{name}». You can send polls (/newpoll), "
                     "events (/newevent) and announcements (/announce) on its behalf.")
        case "declined":
            text = _("Your request to represent «{name}» was not confirmed. If this is a mistake, please "
                     "contact the organizers.")
        case _:
            text = _("«{name}» was removed from the network. You can no longer act on its behalf.")
    return text.format(name=esc(name))


def confirm_remove(org: Organisation, locale: str) -> str:
    return _("Remove «{name}» from the network? Its representatives can no longer act for it; its "
             "proposals and figures stay.").format(name=org_name(org, locale))


def removed(org: Organisation, locale: str) -> str:
    """A button's alert: plain text (not HTML)."""
    return _("«{name}» was removed from the network.").format(name=name_of(org, locale))


def no_requests() -> str:
    return _("No requests are waiting.")


def error_text(exc: DomainError) -> str:
    p = exc.params
    match exc.code:
        case "org_empty":
            return _("That is empty. Please type it, or /cancel.")
        case "org_too_long":
            return _("That is too long: at most {max} characters, please (you sent {length}).").format(
                max=p["max"], length=p["length"])
        case "org_missing":
            return _("This organisation is no longer in the network.")
        case "org_already":
            return (_("You have already asked; an admin will confirm it.") if p.get("status") == "pending"
                    else _("That is already saved."))
        case "org_declined":
            return _("Your request to represent this organisation was declined. Please contact the organizers.")
        case "org_decided":
            return _("Already decided by another admin.")
        case "org_request_gone":
            return _("This request is no longer there (the person left or deleted their data).")
        case "org_not_represented" if p.get("alert"):
            return _("You no longer represent «{name}».").format(name=str(p.get("name", ""))[:120])
        case "org_not_represented":
            return _("You no longer represent «{name}» (it left the network, or an admin changed it). "
                     "Your draft is kept: choose who it is from, or /cancel.").format(name=esc(p.get("name", "")))
    return _("Sorry, that did not work. Please try again.")
