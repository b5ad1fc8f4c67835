"""Texts of working groups (built per request, in the reader's language)."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.i18n import esc, fmt_moment, shorten
from bot.services.errors import DomainError
from handlers import langs
from handlers.orgs import texts as orgs_texts
from handlers.polls.texts import pick
from storage.models import Event, WorkingGroup

BUTTON_NAME = 24
DESCRIPTION_SHOWN = 200  # in the list; six groups of the longest names and these stay within 4096


def name(names: dict[str, Any] | None, locale: str) -> str:
    return pick(names or {}, locale, "en") if names else ""


def listing(groups: list[tuple[WorkingGroup, int]], mine: set[int], meetings: dict[int, Event], locale: str,
            tz: ZoneInfo, page: int = 0, pages: int = 1) -> str:
    if not groups:
        return _("👥 <b>Working groups</b>\n\nThere are no working groups yet.")
    lines = [_("👥 <b>Working groups</b>: residents, organisations and the municipality working on one topic "
               "together. Join one to hear of its meetings, polls and news.")]
    for group, members in groups:
        lines.append("")
        mark = " ✅" if group.id in mine else ""
        lines.append(f"<b>{esc(name(group.name, locale))}</b>{mark}")
        about = name(group.description, locale)
        if about:
            lines.append(esc(shorten(about, DESCRIPTION_SHOWN)))
        line = ngettext("{count} member", "{count} members", members).format(count=members)
        if (event := meetings.get(group.id)) is not None:
            line += " · " + _("next meeting: {when}, «{title}»").format(
                when=fmt_moment(event.starts_at, locale, tz),
                title=esc(pick(event.title, locale, event.default_locale)))
        lines.append(line)
    if pages > 1:
        lines += ["", _("Page {page} of {pages}.").format(page=page + 1, pages=pages)]
    return "\n".join(lines)


def join_button(title: str) -> str:
    return _("➕ Join «{name}»").format(name=shorten(title, BUTTON_NAME))


def leave_button(title: str) -> str:
    return _("🚪 Leave «{name}»").format(name=shorten(title, BUTTON_NAME))


def message_button(title: str) -> str:
    return _("✉️ Write to «{name}»").format(name=shorten(title, BUTTON_NAME))


def joined(title: str) -> str:  # an alert: plain text, not HTML
    return _("You joined «{name}». You will hear of its meetings and news here.").format(name=title)


def left(title: str) -> str:
    return _("You left «{name}». You will not get its messages any more.").format(name=title)


def register_first() -> str:
    return _("Please register first (/start): then you can join working groups.")


def closed() -> str:
    return _("This working group is closed.")


def not_allowed() -> str:
    return _("Only the group's coordinator and organizers can write to it.")


def ask_name(lang: str) -> str:
    return "\n\n".join([
        _("New working group. What is its topic, in a few words?"),
        langs.line(lang) + "\n" + langs.choose_hint(),
        _("Translations are added with the ➕ buttons after the description. /cancel stops."),
    ])


def ask_description() -> str:
    return _("What will the group do? A few sentences. /cancel stops.")


def ask_translation(lang: str) -> str:
    return langs.ask_translation(lang, _("Send the topic on the first line, and what the group does on the next "
                                         "lines (optional)."))


def ask_coordinator() -> str:
    return _("Who coordinates it? Send their @username or Telegram id (they must have started the bot), "
             "or press Skip: organizers can write to the group in any case.")


def skip() -> str:
    return _("Skip")


def no_such_person() -> str:
    return _("I do not know this person: they have to start the bot first. Send another @username or id, or Skip.")


def created(title: str, coordinator: str | None) -> str:
    text = _("✅ Working group «{name}» is open. Residents find it in /groups; choose it as the audience "
             "of announcements, polls and events.").format(name=esc(title))
    if coordinator:
        text += "\n" + _("Coordinator: {person}").format(person=esc(coordinator))
    return text


def you_coordinate(title: str) -> str:
    return _("👥 You now coordinate the working group «{name}». Write to its members from /groups.").format(
        name=esc(title))


def ask_message(title: str, members: int) -> str:
    return ngettext(
        "✉️ Your message to «{name}» ({count} member). Type it; /cancel stops.",
        "✉️ Your message to «{name}» ({count} members). Type it; /cancel stops.", members).format(
        name=esc(title), count=members)


def preview(title: str) -> str:
    return _("This is how members will see it. Send it to «{name}»?").format(name=esc(title))


def send_button(members: int) -> str:
    return ngettext("✅ Send to {count} member", "✅ Send to {count} members", members).format(count=members)


def cancel_button() -> str:
    return _("✖ Cancel")


def cancelled() -> str:
    return _("Cancelled; nothing was sent.")


def sending(members: int) -> str:
    return ngettext("Sending to {count} member.", "Sending to {count} members.", members).format(count=members)


def nobody() -> str:
    return _("The group has no members yet: nobody to write to.")


def group_message(payload: dict[str, Any], locale: str) -> str:
    head = _("👥 <b>{name}</b> · message to the working group").format(name=esc(name(payload["group"], locale)))
    return f"{head}\n\n{esc(payload['text'])}"


def text_expected() -> str:
    return _("Please answer with text, or /cancel.")


def error_text(exc: DomainError) -> str:
    """Names and texts are read as the organisations' are (bot.services.orgs.parse_texts)."""
    if exc.code == "group_closed":
        return closed()
    return orgs_texts.error_text(exc)
