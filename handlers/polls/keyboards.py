"""Inline keyboards of polls (built per request, in the reader's language)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import shorten
from bot.services.polls import SCALE
from handlers.polls import texts
from handlers.shared import grid


class VoteCb(CallbackData, prefix="pv"):
    """A resident's button. a: v vote (o = option index or scale value) | + / - choose / take off
    an option of a multiple-choice question (what the button does is in it, so a tap delivered
    twice does the same) | n next (after a multiple-choice question of a survey) | s start or
    continue | t write a text answer | x closed. p = 0 is the organizer's preview."""

    p: int
    q: int = 0
    a: str = "v"
    o: int = 0


class PollCb(CallbackData, prefix="pl"):
    """An organizer's button on /polls and on results: r results | b charts and breakdowns (below
    the results) | c close (asks first) | cy close, confirmed | cn not closed after all | pub
    publish | list."""

    action: str
    id: int = 0


class NewPollCb(CallbackData, prefix="np"):
    """A /newpoll wizard button. step: kind | tr (translations) | cf (the panel)."""

    step: str
    action: str
    value: str = ""


def confirm_choice(poll_id: int, position: int, choice: int) -> InlineKeyboardButton:
    """Under a poll opened from a link: the link's choice, recorded only when pressed (the same
    button as the option's own)."""
    return InlineKeyboardButton(text=_("✅ Confirm my vote"),
                                callback_data=VoteCb(p=poll_id, q=position, o=choice).pack())


def question(poll: dict[str, Any], position: int, locale: str, mine: Sequence[int | str] = (),
             *, survey_next: bool = False) -> InlineKeyboardMarkup:
    """The answer buttons; the resident's current answer is marked."""
    q = poll["questions"][position]
    pid = poll["id"]
    rows: list[list[InlineKeyboardButton]] = []  # (made directly: the builder copies every button)

    def button(text: str, cb: VoteCb) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=text, callback_data=cb.pack())

    if q["kind"] in ("single", "multi"):
        options = texts.option_texts(q, locale, poll["default_locale"])
        numbered = texts.needs_listing(options)
        for i, option in enumerate(options):
            label = f"{i + 1}. {shorten(option, 20)}" if numbered else option
            action = "v"
            if q["kind"] == "multi":
                label = ("☑️ " if i in mine else "⬜ ") + label
                action = "-" if i in mine else "+"
            elif i in mine:
                label = "✅ " + label
            rows.append([button(label, VoteCb(p=pid, q=position, a=action, o=i))])
        if q["kind"] == "multi" and survey_next:
            rows.append([button(_("Next ➡️"), VoteCb(p=pid, q=position, a="n"))])
    elif q["kind"] == "scale":
        rows.append([button(f"✅{value}" if value in mine else str(value), VoteCb(p=pid, q=position, o=value))
                     for value in SCALE])
    else:
        label = _("✍️ Change my answer") if mine else _("✍️ Write my answer")
        rows.append([button(label, VoteCb(p=pid, q=position, a="t"))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def start(poll_id: int, step: int | None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=texts.open_button(step), callback_data=VoteCb(p=poll_id, a="s"))
    return kb.as_markup()


def closed(poll_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=texts.closed_button(), callback_data=VoteCb(p=poll_id, a="x"))
    return kb.as_markup()


def open_polls(items: list[tuple[int, int | None]]) -> InlineKeyboardMarkup | None:
    return grid([(f"{n}. {texts.open_button(step)}", VoteCb(p=poll_id, a="s"))
                 for n, (poll_id, step) in enumerate(items, 1)], 2)


# ------------------------------------------------------------------ organizer

def organizer_list(ids: list[int]) -> InlineKeyboardMarkup | None:
    return grid([(f"📊 #{poll_id}", PollCb(action="r", id=poll_id)) for poll_id in ids], 4)


def results(poll_id: int, status: str, published: bool, channel: InlineKeyboardButton | None = None,
            *, charts: bool = True) -> InlineKeyboardMarkup:
    """``channel``: the button that publishes closed results to the public channel, if configured;
    ``charts``: whether "Charts and breakdowns" is still to be pressed on this message (once
    pressed, it goes: they follow the message, and pressing again would only repeat them)."""
    kb = InlineKeyboardBuilder()
    if status == "open":
        kb.button(text=_("⏹ Close now"), callback_data=PollCb(action="c", id=poll_id))
    elif not published:
        kb.button(text=_("📣 Send the results to participants"), callback_data=PollCb(action="pub", id=poll_id))
    if charts:
        kb.button(text=_("📊 Charts and breakdowns"), callback_data=PollCb(action="b", id=poll_id))
    if channel is not None and status != "open":
        kb.add(channel)
    kb.adjust(1)
    return kb.as_markup()


def kinds() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for kind, name in texts.KIND_NAMES.items():
        kb.button(text=_(name), callback_data=NewPollCb(step="kind", action=kind))
    kb.adjust(2)
    return kb.as_markup()


def panel(count: int, anonymous: bool, can_add: bool, locale: str) -> InlineKeyboardMarkup:
    from handlers.audience import residents

    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Send to {residents}").format(residents=residents(count, locale)),
              callback_data=NewPollCb(step="cf", action="send"))
    if can_add:
        kb.button(text=_("➕ Add a question"), callback_data=NewPollCb(step="cf", action="add"))
    kb.button(text=_("🕶 Anonymous: on") if anonymous else _("👤 Anonymous: off"),
              callback_data=NewPollCb(step="cf", action="anon"))
    kb.button(text=_("🕒 Closing time"), callback_data=NewPollCb(step="cf", action="closes"))
    kb.button(text=_("👥 Change audience"), callback_data=NewPollCb(step="cf", action="audience"))
    kb.button(text=_("✖ Don't send"), callback_data=NewPollCb(step="cf", action="drop"))
    kb.adjust(1, 1, 2, 2) if can_add else kb.adjust(1, 2, 2)
    return kb.as_markup()
