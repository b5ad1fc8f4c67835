"""Inline keyboards of events (built per request, in the reader's language)."""
from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.events import texts
from handlers.shared import grid


class EvCb(CallbackData, prefix="ev"):
    """A resident's button. a: going | maybe | no | ics (calendar file) | ask (a question for the
    speakers) | yes / off (a reminder's "still coming?") | f (feedback, o = 1..5) | open.
    ``v`` is the event's version on the message, so a button of an older version is recognised."""

    e: int
    a: str
    v: int = 0
    o: int = 0


class EvOrgCb(CallbackData, prefix="eo"):
    """An organizer's button: d details | qr check-in code | att who came | m mark (u = users.id) |
    fb feedback comments (voice notes as voice) | t change time | p change place | n change title |
    k change places | c cancel (asks first) | cy cancel, confirmed | cn not cancelled after all."""

    action: str
    id: int
    u: int = 0


class NewEvCb(CallbackData, prefix="ne"):
    """A /newevent wizard button. step: kind | cap (capacity) | sp (speakers) | cf (the panel) | tr."""

    step: str
    action: str
    value: str = ""


def event(event_id: int, version: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for answer in ("going", "maybe", "no"):
        kb.button(text=_(texts.ANSWER_NAMES[answer]), callback_data=EvCb(e=event_id, a=answer, v=version))
    kb.button(text=_("📅 Add to calendar"), callback_data=EvCb(e=event_id, a="ics", v=version))
    kb.button(text=_("❓ Ask the speakers"), callback_data=EvCb(e=event_id, a="ask", v=version))
    kb.adjust(3, 2)
    return kb.as_markup()


def reminder(event_id: int, version: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Yes, I'm coming"), callback_data=EvCb(e=event_id, a="yes", v=version))
    kb.button(text=_("❌ No, free my place"), callback_data=EvCb(e=event_id, a="off", v=version))
    kb.adjust(1)
    return kb.as_markup()


def feedback(event_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for score in range(1, 6):
        kb.button(text="⭐" * score if score == 5 else str(score), callback_data=EvCb(e=event_id, a="f", o=score))
    kb.adjust(5)
    return kb.as_markup()


def skip_comment(event_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Skip"), callback_data=EvCb(e=event_id, a="skip"))
    return kb.as_markup()


def open_events(ids: Sequence[int]) -> InlineKeyboardMarkup | None:
    return grid([(f"{n}. 📅", EvCb(e=event_id, a="open")) for n, event_id in enumerate(ids, 1)], 5)


# ------------------------------------------------------------------ organizers

def organizer_list(ids: Sequence[int]) -> InlineKeyboardMarkup | None:
    return grid([(f"📋 #{event_id}", EvOrgCb(action="d", id=event_id)) for event_id in ids], 4)


def details(event_id: int, cancelled: bool, channel: InlineKeyboardButton | None = None,
            comments: int = 0) -> InlineKeyboardMarkup:
    """``channel``: the button that publishes a summary to the public channel (after the start);
    ``comments``: how many feedback comments there are to read (and listen to)."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📷 Check-in code"), callback_data=EvOrgCb(action="qr", id=event_id))
    kb.button(text=_("✅ Who came"), callback_data=EvOrgCb(action="att", id=event_id))
    if not cancelled:
        kb.button(text=_("🕒 Change time"), callback_data=EvOrgCb(action="t", id=event_id))
        kb.button(text=_("📍 Change place"), callback_data=EvOrgCb(action="p", id=event_id))
        kb.button(text=_("✏️ Change title"), callback_data=EvOrgCb(action="n", id=event_id))
        kb.button(text=_("🪑 Change places"), callback_data=EvOrgCb(action="k", id=event_id))
        kb.button(text=_("✖ Cancel the event"), callback_data=EvOrgCb(action="c", id=event_id))
    if channel is not None and not cancelled:
        kb.add(channel)
    if comments:
        kb.button(text=texts.comments_button(comments), callback_data=EvOrgCb(action="fb", id=event_id))
    kb.adjust(2, 2, 2, 1, 1)
    return kb.as_markup()


def attendance(event_id: int, people: Sequence[tuple[int, str, bool]]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for user_id, name, came in people:
        kb.button(text=("☑️ " if came else "⬜ ") + (name or f"#{user_id}")[:40],
                  callback_data=EvOrgCb(action="m", id=event_id, u=user_id))
    kb.adjust(2)
    return kb.as_markup()


def kinds() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for kind, name in texts.KIND_NAMES.items():
        kb.button(text=_(name), callback_data=NewEvCb(step="kind", action=kind))
    kb.adjust(1)  # one per row: the kinds' names are long in uk and ru
    return kb.as_markup()


def no_limit(step: str = "cap") -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("No limit"), callback_data=NewEvCb(step=step, action="none"))
    return kb.as_markup()


def skip() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Skip"), callback_data=NewEvCb(step="sp", action="skip"))
    return kb.as_markup()


def panel(count: int, translations: Sequence[InlineKeyboardButton], locale: str) -> InlineKeyboardMarkup:
    """``translations``: the shared ➕ buttons (handlers.langs.add_buttons)."""
    from handlers.audience import residents

    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Publish to {residents}").format(residents=residents(count, locale)),
              callback_data=NewEvCb(step="cf", action="send"))
    for button in translations:
        kb.add(button)
    kb.button(text=_("👥 Change audience"), callback_data=NewEvCb(step="cf", action="audience"))
    kb.button(text=_("✖ Don't send"), callback_data=NewEvCb(step="cf", action="drop"))
    kb.adjust(1, len(translations), 2)
    return kb.as_markup()
