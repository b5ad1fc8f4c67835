"""Texts of online discussions: the statements as residents see them, the moderators' card, the
organizer's wizard and the results (only totals; what residents typed is always escaped)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.i18n import N_, esc, fmt_number, pgettext, shorten
from bot.services.discussions import (
    PENDING_MAX,
    SEEDS_MAX,
    STATEMENT_MAX,
    STATEMENT_MIN,
)
from bot.services.errors import DomainError
from bot.services.opinions import Analysis, StatementResult, Tally
from handlers import langs
from handlers.polls.texts import closes_line, pct, pick, saved  # noqa: F401 - saved: the same words

REASON_NAMES = {
    "offtopic": N_("Not about the question"),
    "repeat": N_("Says the same as another statement"),
    "personal": N_("Names a person or has personal data"),
    "unclear": N_("Not a clear statement to agree or disagree with"),
    "rude": N_("Rude or offensive"),
}
SHOWN = 10  # statements listed by agreement in the results
QUOTED = 120  # a statement quoted in a list
PANEL_SHOWN = 80  # a seed statement in the wizard's panel


def reason(code: str | None) -> str:
    return _(REASON_NAMES[code]) if code in REASON_NAMES else "—"


def quote(text: str, limit: int = QUOTED) -> str:
    return "«" + esc(shorten(text, limit)) + "»"


def group_name(n: int) -> str:
    return _("Group {letter}").format(letter=chr(ord("A") + n))


# -- residents -------------------------------------------------------------------------------------

def closes_at_line(closes_at: datetime | None, locale: str, tz: ZoneInfo) -> str | None:
    """"Open until …", as polls say it."""
    return closes_line(closes_at.isoformat() if closes_at else None, tz, locale)


def invitation(question: dict[str, str], default_locale: str, closes_at: datetime | None, locale: str,
               tz: ZoneInfo) -> str:
    lines = [_("💬 <b>A discussion</b>: {question}").format(question=esc(pick(question, locale, default_locale))),
             "",
             _("Say what you think: agree or disagree with short statements, one at a time, and add your own."),
             _("🔒 Your votes are anonymous: only totals are shown.")]
    closes = closes_at_line(closes_at, locale, tz)
    return "\n".join(lines + ([closes] if closes else []))


def statement_text(question: str, text: str, seen: int, total: int, locale: str) -> str:
    return "\n".join([
        "💬 " + esc(question), "",
        "<b>" + quote(text, STATEMENT_MAX) + "</b>", "",
        _("Statement {n} of {total}. Do you agree?").format(n=fmt_number(seen + 1, locale),
                                                            total=fmt_number(total, locale)),
    ])


def all_seen(question: str, total: int, locale: str) -> str:
    return "\n".join([
        "💬 " + esc(question), "",
        ngettext("✅ You have voted on the {count} statement there is for now.",
                 "✅ You have voted on all {count} statements there are for now.", total).format(
            count=fmt_number(total, locale)),
        _("New statements from other residents appear after a moderator checks them: "
          "press “Show me more” later, or add your own."),
    ])


def later() -> str:
    return _("⏸ Saved. Continue any time with /discussions.")


def vote_error(code: str) -> str:
    return {
        "closed": _("This discussion has closed; votes are no longer taken. Thank you for taking part!"),
        "not_for_you": _("Sorry, this discussion is for other residents."),
        "bad_statement": _("This statement is no longer in the discussion."),
        "preview": _("This is a preview: the buttons work once the discussion is open."),
    }.get(code, _("This discussion does not exist (any more)."))


def register_first() -> str:
    return _("Please register first (it takes a minute): then you can take part.")


def ask_statement(question: str) -> str:
    return "\n".join([
        "💬 " + esc(question), "",
        _("✍️ Write your statement in one sentence (up to {max} characters), something others can agree "
          "or disagree with, e.g. «The park needs more lighting».").format(max=STATEMENT_MAX),
        _("A moderator checks it before others see it; your name is not shown. /cancel stops."),
        voice_too(),
    ])


def voice_too() -> str:
    return _("🎤 Or record a voice note: a moderator writes down what it says.")


def statement_expected() -> str:
    """Neither text nor a voice note."""
    return statement_error(DomainError("empty")) + "\n" + voice_too()


def statement_error(exc: DomainError) -> str:
    code = exc.code
    if code == "empty":
        return _("That is empty. Please write your statement as text.")
    if code == "html":
        return _("Please write plain text, without HTML tags or codes.")
    if code == "too_short":
        return _("That is too short: please write at least {min} characters.").format(min=STATEMENT_MIN)
    if code == "too_long":
        return _("That is too long: {length} characters, the limit is {max}. Please shorten it.").format(
            length=exc.params.get("length", "?"), max=STATEMENT_MAX)
    if code == "duplicate":
        return _("This statement is already in the discussion (or was sent before). You can vote on it, "
                 "or write a different one.")
    if code == "too_many":
        return ngettext("You have {count} statement waiting for a moderator; please wait until it is checked.",
                        "You have {count} statements waiting for a moderator; please wait until they are checked.",
                        PENDING_MAX).format(count=PENDING_MAX)
    return vote_error(code)


def statement_sent(voice: bool = False) -> str:
    if voice:
        return _("Thank you! A moderator will listen to your voice note and write down what it says; "
                 "you will hear when others can vote on it.")
    return _("Thank you! A moderator will check your statement; you will hear when others can vote on it.")


def open_list(items: Sequence[tuple[str, int]], locale: str) -> str:
    """(question, statements waiting) per open discussion."""
    if not items:
        return _("No discussions are open for you right now. You will get a message when one starts.")
    lines = [_("💬 <b>Open discussions</b>")]
    for n, (question, left) in enumerate(items, 1):
        waiting = (ngettext("{count} statement waits for you", "{count} statements wait for you", left).format(
            count=fmt_number(left, locale)) if left else _("you have voted on everything for now"))
        lines.append(f"{n}. {esc(question)} — {waiting}")
    return "\n".join(lines)


def open_button(n: int) -> str:
    return _("💬 {n}").format(n=n)


def news(payload: dict[str, Any], locale: str) -> str:
    question = esc(pick(payload["question"], locale, payload["default_locale"]))
    if payload["approved"]:
        return _("✅ Your statement {statement} is now shown to others in the discussion «{question}».").format(
            statement=quote(payload["text"], STATEMENT_MAX), question=question)
    if payload["text"] or not payload.get("voice"):
        head = _("Your statement {statement} was not added to the discussion «{question}».").format(
            statement=quote(payload["text"], STATEMENT_MAX), question=question)
    else:  # a voice note nobody wrote down
        head = _("Your voice statement was not added to the discussion «{question}».").format(question=question)
    return "\n".join([
        head,
        _("Reason: {reason}").format(reason=reason(payload["reason"])),
        _("You can write another one with /discussions."),
    ])


# -- moderators ------------------------------------------------------------------------------------

VOICE_QUESTION_SHOWN = 200  # the question on a voice card: its caption stays within 1024 characters


def card(discussion_id: int, question: str, text: str, status: str, reason_code: str | None,
         by: str | None, voice: bool = False) -> str:
    """A statement's card; ``voice``: the card is the resident's voice note, with this as its caption."""
    if voice:
        lines = [_("🎤 <b>New voice statement</b> for discussion #{id}").format(id=discussion_id),
                 _("Question: {question}").format(question=esc(shorten(question, VOICE_QUESTION_SHOWN))), ""]
    else:
        lines = [_("💬 <b>New statement</b> for discussion #{id}").format(id=discussion_id),
                 _("Question: {question}").format(question=esc(question)), ""]
    if text:
        lines += ["<b>" + esc(text) + "</b>", ""]
    if status == "approved":
        lines.append(_("✅ Approved by {name}: residents can vote on it.").format(name=esc(by or "—")))
    elif status == "rejected":
        lines.append(_("🚫 Rejected by {name}: {reason}. The author was told.").format(
            name=esc(by or "—"), reason=reason(reason_code)))
    elif voice and not text:
        lines.append(_("Residents vote on text: a moderator listens and writes down what it says, replying to "
                       "this card with the statement in one sentence (up to {max} characters). Then approve it, "
                       "or reject it with a reason (the author is told; their name is not shown here).").format(
            max=STATEMENT_MAX))
    else:
        if voice:
            lines.append(_("🎤 Written down from this voice note (reply to the card again to correct it)."))
        lines.append(_("Approve it to show it to residents, or reject it with a reason (the author is told; "
                       "their name is not shown here)."))
    return "\n".join(lines)


def needs_text() -> str:
    return _("Write down what the voice note says first: reply to the card with the statement as text. "
             "Then approve it.")


def transcript_error(exc: DomainError) -> str:
    """A moderator's written-down statement that cannot be taken (the same checks as a typed one)."""
    if exc.code == "duplicate":
        text = _("This statement is already in the discussion: reject the voice note as a repeat, "
                 "or write it down differently.")
    elif exc.code in ("empty", "html", "too_short", "too_long"):
        text = statement_error(exc)
    else:
        return vote_error(exc.code)
    return text + "\n" + _("Reply to the card again with the text.")


def transcript_expected() -> str:
    return _("Please reply to the card with the statement as text.")


def card_closed() -> str:
    return _("The discussion has closed: statements are no longer added.")


def card_done(status: str) -> str:
    return _("Someone decided already: approved.") if status == "approved" else _(
        "Someone decided already: rejected.")


def not_allowed() -> str:
    return _("Sorry, only moderators can do this.")


# -- organizers ------------------------------------------------------------------------------------

def only_organizers() -> str:
    return _("Sorry, only organizers can do this.")


def ask_question(lang: str) -> str:
    return "\n\n".join([
        _("💬 <b>New discussion</b> (1/3). What is the question? For example: «How should the riverside park "
          "change?»"),
        langs.line(lang) + "\n" + langs.choose_hint(),
        _("Translations are added with the ➕ buttons before it opens. /cancel stops."),
    ])


def ask_translation(lang: str) -> str:
    return langs.ask_translation(lang, _("Send the question."))


def question_error(exc: DomainError) -> str:
    if exc.code == "too_long":
        return _("That is too long: {length} characters, the limit is {max}.").format(
            length=exc.params.get("length", "?"), max=exc.params.get("max", "?"))
    return _("Please write the question as text.")


def ask_seeds() -> str:
    return _("(2/3) Now the first statements residents will vote on, one message each (at least two, up to "
             "{max}). Short and clear, e.g. «More benches along the river». Press “That's all” when done.").format(
        max=SEEDS_MAX)


def seed_added(count: int, locale: str) -> str:
    return ngettext("{count} statement so far. Send another, or press “That's all”.",
                    "{count} statements so far. Send another, or press “That's all”.", count).format(
        count=fmt_number(count, locale))


def seed_error(exc: DomainError) -> str:
    if exc.code == "language_line":
        return _("Residents read a statement as it is written, in one language, so it has no “{code}:” lines: "
                 "send it again without them (one statement per message).").format(code=exc.params.get("lang"))
    if exc.code == "too_many":
        return _("That is the most a discussion starts with ({max}); press “That's all”.").format(max=SEEDS_MAX)
    if exc.code == "duplicate":
        return _("You have sent this statement already.")
    return statement_error(exc)


def closes_passed() -> str:
    return _("The closing time has passed: please choose a later one.")


def seeds_needed() -> str:
    return _("Please send at least two statements first.")


def panel(question: dict[str, str], seeds: Sequence[str], audience: str, closes: str, count: int,
          locale: str, default_locale: str) -> str:
    lines = [_("(3/3) <b>Check and open</b>"), "",
             _("Question: {question}").format(question=esc(pick(question, locale, default_locale)))]
    if len(question) > 1:
        lines.append(_("Languages: {languages}").format(languages=langs.names(question)))
    lines.append(_("Statements:"))
    lines += [f"{n}. {esc(shorten(s, PANEL_SHOWN))}" for n, s in enumerate(seeds, 1)]  # 30 stay within 4096
    lines += ["", _("Audience: {audience}").format(audience=audience),
              ngettext("{count} resident matches now.", "{count} residents match now.", count).format(
                  count=fmt_number(count, locale)),
              _("Closes: {time}").format(time=closes)]
    return "\n".join(lines)


def open_for(count: int) -> str:
    return ngettext("✅ Open it for {count} resident", "✅ Open it for {count} residents", count).format(count=count)


def ask_closes(tz: ZoneInfo, example: str) -> str:
    return _("When should the discussion close? Write a date and time ({tz}), e.g. {example}.").format(
        tz=tz.key, example=example)


def number(discussion_id: int) -> str:
    return _("Discussion #{id}").format(id=discussion_id)


def created(discussion_id: int) -> str:
    return _("💬 Discussion #{id} is open. Follow it with /discussions.").format(id=discussion_id)


def dropped() -> str:
    return _("The draft is dropped.")


def draft_expired() -> str:
    return _("This draft is no longer there. Start again with /newdiscussion.")


def closed_now(discussion_id: int) -> str:
    return _("Discussion #{id} is closed.").format(id=discussion_id)


def already_closed(discussion_id: int) -> str:
    return _("Discussion #{id} was closed already.").format(id=discussion_id)


def state(status: str, closes: str | None) -> str:
    """A discussion's state ("open until …", "closed"), in the gender of the word for a discussion."""
    if status != "open":
        return pgettext("discussion status", "closed")
    return (pgettext("discussion status", "open until {time}").format(time=closes) if closes
            else pgettext("discussion status", "open"))


def organizer_item(discussion_id: int, question: str, status: str, people: int, pending: int,
                   closes: str | None, locale: str) -> str:
    line = f"#{discussion_id} {esc(shorten(question, 80))} — {state(status, closes)}, " + ngettext(
        "{count} participant", "{count} participants", people).format(count=fmt_number(people, locale))
    if pending:
        line += ", " + ngettext("{count} statement waits for moderators", "{count} statements wait for moderators",
                                pending).format(count=fmt_number(pending, locale))
    return line


def organizer_list(items: Sequence[str]) -> str:
    if not items:
        return _("No discussions yet. Open one with /newdiscussion.")
    return "\n".join([_("💬 <b>Discussions</b> (results: the buttons below)"), *items])


# -- results ---------------------------------------------------------------------------------------

def _shares(t: Tally, locale: str) -> str:
    return _("👍 {agree} · 👎 {disagree} · 🤷 {passed}").format(
        agree=pct(t.agree, t.votes, locale), disagree=pct(t.disagree, t.votes, locale),
        passed=pct(t.passed, t.votes, locale))


def votes_line(count: int, locale: str) -> str:
    return ngettext("{count} vote", "{count} votes", count).format(count=fmt_number(count, locale))


def results(discussion_id: int, question: str, status: str, closes_at: datetime | None,
            analysis: Analysis, pending: int, min_group: int, locale: str, tz: ZoneInfo,
            public: bool = False) -> str:
    """The results as organizers see them (``public``: the shorter version for the channel)."""
    by_id = {s.id: s for s in analysis.statements}
    votes = sum(s.tally.votes for s in analysis.statements)
    head = ([_("💬 <b>Residents discussed</b>: {question}").format(question=esc(question))] if public else
            [_("💬 <b>Discussion #{id}</b>: {question}").format(id=discussion_id, question=esc(question)),
             (closes_at_line(closes_at, locale, tz) if status == "open" else _("Closed."))])
    lines = [*filter(None, head),
             ngettext("👥 {count} resident took part", "👥 {count} residents took part", analysis.participants).format(
                 count=fmt_number(analysis.participants, locale)) + " · " + votes_line(votes, locale) + " · " +
             ngettext("{count} statement", "{count} statements", len(analysis.statements)).format(
                 count=fmt_number(len(analysis.statements), locale))]
    if pending and status == "open" and not public:
        lines.append(ngettext("✍️ {count} statement waits for moderators.",
                              "✍️ {count} statements wait for moderators.", pending).format(
            count=fmt_number(pending, locale)))
    if not public:
        lines += ["", _("<b>Agreement</b>, most agreed first:")]
        voted = [s for s in analysis.statements if s.tally.votes]
        for n, s in enumerate(voted[:SHOWN], 1):
            lines.append(f"{n}. {quote(s.text)} — {_shares(s.tally, locale)} ({votes_line(s.tally.votes, locale)})")
        if len(voted) > SHOWN:
            lines.append(_("… and {count} more in the export (/export).").format(count=len(voted) - SHOWN))
        if not voted:
            lines.append(_("No votes yet."))
    lines += ["", _("🤝 <b>Common ground</b>: a majority agrees in every district and every opinion group:")
              if not public else _("🤝 <b>Most agree</b>:")]
    lines += [f"• {quote(s.text)} ({pct(s.tally.agree, s.tally.votes, locale)})"
              for s in analysis.consensus[:SHOWN]] or [_("none yet")]
    lines += ["", _("⚖️ <b>Divisive</b>: the groups disagree:") if not public else _("⚖️ <b>Opinions differ</b>:")]
    lines += [f"• {quote(s.text)}" for s in analysis.divisive[:SHOWN]] or [_("none")]
    if not public and max(len(analysis.consensus), len(analysis.divisive)) > SHOWN:
        lines.append(_("… the full lists are in the export (/export)."))
    if public:
        lines += ["", _("Thank you to everyone who took part!")]
        return "\n".join(lines)
    lines += ["", _("🧩 <b>Opinion groups</b> (people who vote alike):")]
    if analysis.groups_note == "too_few":
        lines.append(_("They are found once at least {needed} people have voted on 3 statements or more "
                       "({count} so far).").format(needed=2 * min_group, count=analysis.grouped))
    elif analysis.groups_note == "no_structure":
        lines.append(_("None stand out: the votes do not split people into clear groups."))
    for n, group in enumerate(analysis.groups):
        lines.append(ngettext("<b>{group}</b> · {count} person", "<b>{group}</b> · {count} people", group.size).format(
            group=group_name(n), count=fmt_number(group.size, locale)))
        for d in group.distinctive:
            s = by_id[d.statement_id]
            line = (_("agrees with {statement}: {share} (the others: {others})") if d.agree else
                    _("disagrees with {statement}: {share} (the others: {others})"))
            lines.append("  – " + line.format(statement=quote(s.text), share=pct(round(d.share * 1000), 1000, locale),
                                               others=pct(round(d.others * 1000), 1000, locale)))
    lines += ["", _("Only totals, and groups of at least {count} people; who voted what is never shown.").format(
        count=min_group)]
    return "\n".join(lines)


def chart_title(question: str) -> str:
    return _("Agreement with each statement: {question}").format(question=question)


def chart_bars(statements: Sequence[StatementResult], locale: str) -> tuple[list[tuple[str, float]], list[str]]:
    voted = [s for s in statements if s.tally.votes][:SHOWN]  # the same statements the text lists, with their figures
    bars = [(s.text, 100 * s.tally.share("agree")) for s in voted]  # whole: the chart wraps, never cuts
    labels = [f"{pct(s.tally.agree, s.tally.votes, locale)} · {s.tally.agree}/{s.tally.votes}" for s in voted]
    return bars, labels


def chart_subtitle() -> str:
    return _("Share of votes that agree (agree / all votes on the statement)")


def results_intro_org() -> str:
    return _("The discussion has closed. Its results:")
