"""Texts of events: the announcement as residents see it, notices, the organizer's wizard and lists.

Event content comes as the JSON of ``events_service.event_json`` (also the campaign payload), so
the same functions render a preview, a campaign message and a live edit.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.i18n import N_, esc, fmt_day, fmt_moment, fmt_number, fmt_time, shorten
from bot.services.errors import DomainError
from handlers import langs
from handlers.acting import from_line
from handlers.polls.texts import pick

KIND_NAMES = {
    "workshop": N_("Workshop"),
    "discussion": N_("Public discussion"),
    "lecture": N_("Open lecture"),
    "meeting": N_("Working meeting"),
    "training": N_("Training"),
}
ANSWER_NAMES = {
    "going": N_("✅ Going"),
    "maybe": N_("🤔 Maybe"),
    "no": N_("❌ Can't go"),
    "waitlist": N_("⏳ On the waitlist"),
}


def when(event: dict[str, Any], locale: str, tz: ZoneInfo) -> str:
    """"Thursday, December 10, 2026, 18:30–20:00" in the reader's language (the end's day too
    when it ends on another day): bot.i18n's day and time."""
    starts = datetime.fromisoformat(event["starts_at"])
    ends = datetime.fromisoformat(event["ends_at"])
    start, end = fmt_time(starts, locale, tz), fmt_time(ends, locale, tz)
    if ends.astimezone(tz).date() != starts.astimezone(tz).date():
        return f"{fmt_moment(starts, locale, tz, weekday=True)} – {fmt_moment(ends, locale, tz, weekday=True)}"
    return f"{fmt_day(starts, locale, tz, weekday=True)}, {start}–{end}"


def moment(value: datetime, locale: str, tz: ZoneInfo) -> str:
    """"Thursday, December 10, 2026, 18:30" in the reader's language."""
    return fmt_moment(value, locale, tz, weekday=True)


def when_line(event: dict[str, Any], locale: str, tz: ZoneInfo, zone: bool = False) -> str:
    """The 🕒 line; ``zone``: with the time zone's name, for organizers (residents live in it)."""
    if zone:
        return _("🕒 {when} ({zone})").format(when=when(event, locale, tz), zone=tz.key)
    return "🕒 " + when(event, locale, tz)


def place(event: dict[str, Any]) -> str:
    if event.get("online_url"):
        return _("online: {link}").format(link=esc(event["online_url"]))
    if event.get("venue"):
        return esc(event["venue"])
    return _("the place is shown on the map")


def card(event: dict[str, Any], locale: str, tz: ZoneInfo, *, status: str | None = None,
         places: int | None = None, zone: bool = False) -> str:
    """The event as residents see it; ``status`` is the resident's answer, ``places`` left (None:
    not counted, as in the announcement, sent before anyone answered); ``zone``: the time zone's
    name after the time, for organizers."""
    default = event["default_locale"]
    lines = [f"📅 <b>{esc(pick(event['title'], locale, default))}</b>",
             f"<i>{_(KIND_NAMES.get(event['kind'], KIND_NAMES['workshop']))}</i>", ""]
    if event.get("org"):
        lines.insert(2, from_line(event["org"], locale).rstrip("\n"))
    description = pick(event.get("description") or {}, locale, default)
    if description:
        lines += [esc(description), ""]
    lines.append(when_line(event, locale, tz, zone))
    lines.append(_("📍 {place}").format(place=place(event)))
    if event.get("speakers"):
        lines.append(_("🎤 {speakers}").format(speakers=esc(event["speakers"])))
    if event.get("status") == "cancelled":
        lines += ["", _("❌ <b>This event is cancelled.</b>")]
        return "\n".join(lines)
    if event.get("capacity"):
        lines.append(places_line(int(event["capacity"]), places, status, locale))
    if status:
        lines += ["", answer_line(status)]
    return "\n".join(lines)


def places_line(capacity: int, places: int | None, status: str | None, locale: str) -> str:
    """How many places, and what "Going" does once they are taken, said before anyone taps."""
    going = _(ANSWER_NAMES["going"])
    rule = _("When they are all taken, “{button}” puts you on the waitlist.").format(button=going)
    if places is None:
        return " ".join([ngettext("🪑 {count} place.", "🪑 {count} places.", capacity).format(
            count=fmt_number(capacity, locale)), rule])
    if places == 0:
        if status in ("going", "waitlist"):
            return _("🪑 All places are taken.")
        return _("🪑 All places are taken: “{button}” puts you on the waitlist, and we will tell you if a place "
                 "frees up.").format(button=going)
    left = ngettext("🪑 {count} place left of {capacity}.", "🪑 {count} places left of {capacity}.", places).format(
        count=fmt_number(places, locale), capacity=fmt_number(capacity, locale))
    return left if status == "going" else " ".join([left, rule])


def answer_line(status: str) -> str:
    """The resident's own answer under the card."""
    if status == "going":
        return _("✅ You're going.")
    if status == "waitlist":
        return _("⏳ You are on the waitlist: we will tell you as soon as a place frees up.")
    return _("Your answer: {answer}").format(answer=_(ANSWER_NAMES[status]))


def answer_saved(status: str) -> str:
    if status == "going":
        return _("✅ You're going.")
    if status == "waitlist":
        return _("The event is full: you are on the waitlist. We will tell you if a place frees up.")
    return _("Saved: {answer}").format(answer=_(ANSWER_NAMES[status]))


def refusal(code: str) -> str:
    return {
        "cancelled": _("This event is cancelled."),
        "started": _("This event has already started, answers are closed."),
        "unknown_event": _("This event no longer exists."),
        "not_for_you": _("Sorry, this event is for other residents (another district or group)."),
        "too_early": _("Check-in opens two hours before the start."),
        "over": _("This event is over."),
        "not_attended": _("Feedback is for those who came — thank you anyway!"),
        "changed": _("This event was changed — here it is as it is now."),
        "questions_closed": _("Questions for this event have already gone to the speakers."),
    }.get(code, _("This button is no longer active."))


def notice(payload: dict[str, Any], locale: str, tz: ZoneInfo) -> str:
    event = payload["event"]
    what = payload["what"]
    title = esc(pick(event["title"], locale, event["default_locale"]))
    if what == "cancelled":
        head = _("❌ <b>Cancelled:</b> {title}").format(title=title)
        return f"{head}\n\n" + _("We are sorry. It was planned for {when}.").format(when=when(event, locale, tz))
    if what == "promoted":
        head = _("🎉 A place freed up: you are now going to <b>{title}</b>!").format(title=title)
    elif what == "reminder":
        head = _("⏰ <b>Reminder:</b> {title}").format(title=title)
    elif what == "feedback":
        return _("🙏 Thank you for coming to <b>{title}</b>! How was it? Rate it from 1 to 5.").format(title=title)
    else:
        names = {"time": _("the time"), "place": _("the place"), "details": _("the title and description")}
        changed = [names.get(c, c) for c in payload.get("changes", [])]
        head = _("✏️ <b>Changed:</b> {what} of {title}").format(what=", ".join(changed), title=title)
    lines = [head, "", when_line(event, locale, tz),
             _("📍 {place}").format(place=place(event))]
    if what == "reminder":
        lines += ["", _("Are you still coming?")]
    elif what == "promoted":
        lines += ["", _("Cannot come after all? Tap “{button}” and the place goes to the next one waiting.").format(
            button=_(ANSWER_NAMES["no"]))]
    return "\n".join(lines)


def ask_question() -> str:
    return _("❓ Write your question for the speakers in one message (or /cancel). "
             "The organizers get all questions before the event.")


def question_saved() -> str:
    return _("✅ Your question was sent to the organizers. Thank you!")


def text_error(exc: DomainError) -> str:
    if exc.code == "too_long":
        return _("That is too long: at most {limit} characters, please shorten it.").format(limit=exc.params["limit"])
    return _("Please write it as text.")


def ask_comment() -> str:
    return "\n".join([_("Thank you! Anything to add? Write a comment, or tap “Skip”."),
                      _("🎤 You can also record a voice note: the organizers listen to it.")])


def comment_expected() -> str:
    return _("Please write your comment as text or record a voice note (or tap “Skip”).")


def comment_saved() -> str:
    return _("✅ Thank you for your feedback!")


def questions_for_speakers(payload: dict[str, Any], locale: str, tz: ZoneInfo) -> str:
    event = payload["event"]
    title = esc(pick(event["title"], locale, event["default_locale"]))
    lines = [_("❓ <b>Questions for the speakers</b> of {title} ({when})").format(
        title=title, when=when(event, locale, tz)), ""]
    first = int(payload.get("first", 1))
    lines += [f"{n}. {esc(q)}" for n, q in enumerate(payload.get("questions", []), first)]
    return "\n".join(lines)


def checked_in(title: str, first: bool) -> str:
    if first:
        return _("✅ Welcome to <b>{title}</b>! You are checked in.").format(title=esc(title))
    return _("You are already checked in to <b>{title}</b>.").format(title=esc(title))


def resident_list(items: list[str]) -> str:
    if not items:
        return _("There are no upcoming events for you right now.")
    return "\n".join([_("<b>Upcoming events:</b>"), "", *items])


def resident_item(n: int, event: dict[str, Any], status: str | None, locale: str, tz: ZoneInfo,
                  places: int | None = None) -> str:
    """One line of /events; ``places`` left (None: no limit)."""
    title = esc(pick(event["title"], locale, event["default_locale"]))
    line = f"{n}. <b>{title}</b>\n   {when(event, locale, tz)}"
    if places is not None and event.get("capacity"):
        line += "\n   " + (ngettext("🪑 {count} place left of {capacity}.", "🪑 {count} places left of {capacity}.",
                                     places).format(count=fmt_number(places, locale),
                                                    capacity=fmt_number(event["capacity"], locale))
                             if places else _("🪑 All places are taken."))
    if status:
        line += "\n   " + _(ANSWER_NAMES[status])
    return line


# ------------------------------------------------------------------ organizers

def organizer_list(items: list[str]) -> str:
    if not items:
        return _("No events yet. Create one with /newevent.")
    return "\n".join([_("<b>Events</b> (tap one for details):"), "", *items])


def organizer_item(event: dict[str, Any], tally: Any, locale: str, tz: ZoneInfo) -> str:
    status = _("cancelled") if event["status"] == "cancelled" else ""
    title = esc(shorten(pick(event["title"], locale, event["default_locale"]), 60))
    line = f"#{event['id']} · <b>{title}</b> {status}\n   {when(event, locale, tz)}\n   " + counts(tally, event)
    return line


def counts(tally: Any, event: dict[str, Any]) -> str:
    text = _("going {going}, maybe {maybe}, waitlist {waitlist}, came {attended}").format(
        going=tally.going, maybe=tally.maybe, waitlist=tally.waitlist, attended=tally.attended)
    if event.get("capacity"):
        text += " · " + _("places {capacity}").format(capacity=event["capacity"])
    return text


def details(event: dict[str, Any], tally: Any, questions: int, locale: str, tz: ZoneInfo, comments: int = 0) -> str:
    lines = [card(event, locale, tz, zone=True), "", _("<b>Answers:</b> {counts}").format(counts=counts(tally, event))]
    if tally.feedback:
        lines.append(_("Feedback: {score} of 5 from {count}").format(
            score=fmt_number(round(tally.score, 1), locale), count=tally.feedback))
    if comments:
        lines.append(_("Comments (written or voice notes): {count}").format(count=comments))
    if questions:
        lines.append(_("Questions for the speakers so far: {count}").format(count=questions))
    return "\n".join(lines)


COMMENT_SHOWN = 300  # characters of a written comment in the organizers' list


def comments_button(count: int) -> str:
    return _("💬 Comments ({count})").format(count=count)


def comments_list(title: str, items: list[Any], voices_sent: int) -> str:
    """The feedback comments, newest first, without names; voice notes follow as voice messages
    (``voices_sent`` of them)."""
    lines = [_("💬 <b>Comments</b> on {title}, newest first (names are not shown):").format(title=esc(title)), ""]
    voices = 0
    for item in items:
        score = f"⭐ {item.score}/5 · " if item.score else ""
        if item.text:
            lines.append("• " + score + "«" + esc(shorten(" ".join(item.text.split()), COMMENT_SHOWN)) + "»")
        if item.voice_file_id:
            voices += 1
            lines.append("• " + score + (_("🎤 a voice note (below)") if voices <= voices_sent else
                                         _("🎤 a voice note (not sent here: too many)")))
    if len(lines) == 2:
        lines.append(_("No comments yet."))
    return "\n".join(lines)


def voice_caption(title: str, score: int | None) -> str:
    if score:
        return _("🎤 Feedback on {title}, rated {score} of 5").format(title=esc(title), score=score)
    return _("🎤 Feedback on {title}").format(title=esc(title))


def checkin_caption(link: str) -> str:
    return _("Show this code at the entrance: residents scan it (or open the link) to check in.\n{link}").format(
        link=esc(link))


def attendance_menu(title: str) -> str:
    return _("Tap a name to mark who came to <b>{title}</b> (tap again to undo).").format(title=esc(title))


def nobody_going() -> str:
    return _("Nobody has said they are going yet.")


def ask_cancel(event_id: int, title: str) -> str:
    return _("Cancel event #{id} now?\n<b>{title}</b>\nEveryone who answered will be told.").format(
        id=event_id, title=esc(title))


def cancel_yes() -> str:
    return _("✖ Yes, cancel it")


def cancel_no() -> str:
    return _("No, keep it")


def kept(event_id: int) -> str:
    return _("Event #{id} is not cancelled; nothing changed.").format(id=event_id)


def cancelled_done() -> str:
    return _("The event is cancelled; everyone who answered is being told.")


def changed_done() -> str:
    return _("Saved; everyone who answered is being told.")


def nothing_changed() -> str:
    return _("That is the same as before; nothing changed.")


def ask_new_time(tz: ZoneInfo, example: str) -> str:
    return _("Send the new start like <code>{example}</code> (time zone {zone}); the length stays the same.").format(
        example=example, zone=tz.key)


def places_changed(promoted: int) -> str:
    return ngettext("Saved. {count} resident from the waitlist got a place and is being told.",
                    "Saved. {count} residents from the waitlist got a place and are being told.",
                    promoted).format(count=promoted) if promoted else _("Saved.")


def ask_new_place() -> str:
    return _("Send the new address, or an https:// link for an online event.")


# ------------------------------------------------------------------ the /newevent wizard

def ask_kind() -> str:
    return _("<b>New event</b>\nWhat kind of event is it?")


def ask_title(lang: str, *, first: bool = False) -> str:
    ask = _("Send the title on the first line; a description can follow on the next lines.")
    return langs.prompt(lang, f"{langs.choose_hint()}\n\n{ask}" if first else ask)


def title_error(exc: DomainError) -> str:
    if exc.code == "title_too_long":
        return _("The title is too long: at most {limit} characters.").format(limit=exc.params["limit"])
    if exc.code == "description_too_long":
        return _("The description is too long: at most {limit} characters.").format(limit=exc.params["limit"])
    return _("Please send the title as text.")


def ask_start(tz: ZoneInfo, example: str) -> str:
    return _("When does it start? Send the date and time like <code>{example}</code> (time zone {zone}).").format(
        example=example, zone=tz.key)


def ask_end(start: str) -> str:
    return _("It starts {start}. When does it end? Send a time like <code>20:00</code>, "
             "or a date and time like <code>26.12 11:00</code>.").format(start=start)


def end_error(exc: DomainError) -> str:
    if exc.code == "end_before_start":
        return _("The end must be after the start. Please send the end again.")
    if exc.code == "too_long":
        return _("An event can last at most {days} days.").format(days=exc.params["days"])
    return _("I could not read that time. Please write it like <code>20:00</code> or <code>26.12 11:00</code>.")


def ask_place() -> str:
    return _("Where is it? Send the address, a location (📎 → Location), or an https:// link for an online event.")


def place_error(exc: DomainError) -> str:
    if exc.code == "too_long":
        return _("That is too long: at most {limit} characters.").format(limit=exc.params["limit"])
    return _("Please send the address as text, a location, or a link.")


def ask_capacity() -> str:
    return _("How many places are there? Send a number, or tap “No limit”.")


def capacity_error(exc: DomainError) -> str:
    return _("Please send a whole number of places from 1 to {max}, or tap “No limit”.").format(max=exc.params["max"])


def ask_speakers() -> str:
    return _("Who speaks or leads it? Send names (one message), or tap “Skip”.")


def speakers_error() -> str:
    return _("Please keep the names under 255 characters.")


def panel(event: dict[str, Any], audience: str, count: int, languages: str, locale: str, tz: ZoneInfo) -> str:
    from handlers.audience import residents

    lines = [_("<b>Ready to publish?</b>"), "",
             card(event, locale, tz, zone=True), "",
             _("Places: {capacity}").format(capacity=event["capacity"] or _("no limit")),
             _("Audience: {audience}").format(audience=audience),
             _("Recipients: {residents}").format(residents=residents(count, locale)),
             _("Languages: {languages}").format(languages=languages)]
    return "\n".join(lines)


def ask_translation(lang: str) -> str:
    return langs.ask_translation(lang, _("Send the title on the first line, the description below."))


def created(event_id: int) -> str:
    return _("Event #{id} published. Follow the answers with /events.").format(id=event_id)


def draft_dropped() -> str:
    return _("Event discarded. Nothing was sent.")


def draft_expired() -> str:
    return _("This draft is no longer there. Start again with /newevent.")


def start_passed() -> str:
    return _("The start time has already passed. Please start again with /newevent.")
