"""Texts of polls and surveys: the poll as residents see it, results, and the organizer's wizard.

Poll content comes as the JSON of ``polls_service.poll_json`` (also the campaign payload), so the
same functions render a preview, a campaign message and a live edit.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.numbers import format_percent

from bot.community import Community
from bot.i18n import N_, esc, fmt_moment, fmt_number, pgettext, shorten
from bot.services.errors import DomainError
from bot.services.polls import SCALE, Group, QuestionResult, Results
from handlers.acting import from_line
from handlers import langs
from handlers.audience import language_name

KIND_NAMES = {
    "single": N_("One choice"),
    "multi": N_("Several choices"),
    "scale": N_("Scale 1–5"),
    "text": N_("Free-text answer"),
}
BUTTON_MAX = 28  # longer options are listed in the message and shortened on their buttons
TEXT_LIMIT = 4096
TEXT_ANSWER_SHOWN = 600  # a free-text answer in the results (a line never nears Telegram's limit)


def pick(texts: dict[str, str], locale: str, default_locale: str) -> str:
    """A text in the reader's language, else the poll's default language, else any."""
    return texts.get(locale) or texts.get(default_locale) or next(iter(texts.values()), "")


def needs_listing(options: Sequence[str]) -> bool:
    return any(len(o) > BUTTON_MAX for o in options)


def pct(part: int, whole: int, locale: str) -> str:
    return format_percent(part / whole if whole else 0, locale=locale)


# ------------------------------------------------------------------ the poll as residents see it

def header(poll: dict[str, Any], position: int, locale: str) -> str:
    title = pick(poll["title"], locale, poll["default_locale"]) if poll.get("title") else ""
    total = len(poll["questions"])
    if total == 1 and not title:
        return _("📊 <b>Poll</b>")
    lines = [_("📝 <b>Survey: {title}</b>").format(title=esc(title)) if title else _("📝 <b>Survey</b>")]
    lines.append(_("Question {n} of {total}").format(n=position + 1, total=total))
    return "\n".join(lines)


def option_texts(question: dict[str, Any], locale: str, default_locale: str) -> list[str]:
    return [pick(o, locale, default_locale) for o in question["options"]]


def answer_label(question: dict[str, Any], mine: Sequence[int | str], locale: str, default_locale: str) -> str:
    if question["kind"] == "text":
        return esc(str(mine[0])) if mine else ""
    if question["kind"] == "scale":
        return ", ".join(str(m) for m in mine)
    options = option_texts(question, locale, default_locale)
    return ", ".join(esc(options[m]) for m in mine if isinstance(m, int) and 0 <= m < len(options))


def hint(kind: str) -> str:
    return {
        "single": _("Choose one answer."),
        "multi": _("Choose all that apply."),
        "scale": _("1 — not at all, 5 — very much."),
        "text": _("Write your answer in a message."),
    }[kind]


def privacy_line(anonymous: bool) -> str:
    if anonymous:
        return _("🕶 Anonymous: nobody can see who answered what.")
    return _("👤 Not anonymous: your answers are kept with your name, for the organizers.")


def closes_line(closes_at: str | None, tz: ZoneInfo, locale: str) -> str | None:
    if not closes_at:
        return None
    return _("Open until {time}.").format(time=fmt_moment(datetime.fromisoformat(closes_at), locale, tz))


def question_text(
    poll: dict[str, Any], position: int, locale: str, tz: ZoneInfo, mine: Sequence[int | str] = (),
    *, closed: bool = False,
) -> str:
    question = poll["questions"][position]
    default = poll["default_locale"]
    lines = [header(poll, position, locale), "", f"<b>{esc(pick(question['text'], locale, default))}</b>"]
    if position == 0 and poll.get("org"):
        lines.insert(0, from_line(poll["org"], locale).rstrip("\n"))
    options = option_texts(question, locale, default)
    if question["kind"] in ("single", "multi") and needs_listing(options):
        lines.append("")
        lines.extend(f"{n}. {esc(o)}" for n, o in enumerate(options, 1))
    lines.append("")
    if closed:
        lines.append(_("🔒 This poll is closed."))
    else:
        lines.append(hint(question["kind"]))
    if mine:
        lines.append(_("Your answer: <b>{answer}</b>").format(answer=answer_label(question, mine, locale, default)))
    if position == 0 and not closed:
        lines.append(privacy_line(poll["anonymous"]))
        closes = closes_line(poll.get("closes_at"), tz, locale)
        if closes:
            lines.append(closes)
    return "\n".join(lines)


def survey_intro(poll: dict[str, Any], locale: str, tz: ZoneInfo, step: int | None = None) -> str:
    title = pick(poll["title"], locale, poll["default_locale"])
    total = len(poll["questions"])
    lines = [
        _("📝 <b>Survey: {title}</b>").format(title=esc(title)),
        from_line(poll.get("org"), locale)[:-1],  # "" or "🏢 From: ..." and a blank line
        ngettext("{count} question, answered one at a time. You can stop and continue later.",
                 "{count} questions, answered one at a time. You can stop and continue later.",
                 total).format(count=total),
        privacy_line(poll["anonymous"]),
    ]
    closes = closes_line(poll.get("closes_at"), tz, locale)
    if closes:
        lines.append(closes)
    if step:
        lines.append(_("You stopped at question {n}.").format(n=step + 1))
    return "\n".join(lines)


def survey_done() -> str:
    return _("🙏 <b>Thank you!</b> Your answers are saved. You can change them until the survey closes.")


def saved() -> str:
    return _("Saved ✅")


def ask_text_answer(question: str) -> str:
    return _("✍️ Write your answer to “{question}” in one message (or /cancel).").format(question=esc(question))


def text_answer_error(exc: DomainError) -> str:
    if exc.code == "too_long":
        return _("That is too long: at most {limit} characters, please shorten it.").format(limit=exc.params["limit"])
    return _("Please write your answer as text.")


def vote_error(code: str) -> str:
    return {
        "closed": _("This poll is closed."),
        "unknown_poll": _("This poll no longer exists."),
        "preview": _("This is only a preview."),
        "not_for_you": _("Sorry, this poll is for other residents (another district or group)."),
    }.get(code, _("This button is no longer active."))


def register_first() -> str:
    return _("To answer, please register first — it takes a minute. Your answer will be kept.")


def resident_list(items: list[str]) -> str:
    if not items:
        return _("There are no open polls for you right now. Thank you for taking part!")
    return "\n".join([_("<b>Open polls and surveys for you:</b>"), "", *items])


def resident_item(poll: dict[str, Any], step: int | None, locale: str) -> str:
    default = poll["default_locale"]
    name = pick(poll["title"], locale, default) if poll.get("title") else pick(
        poll["questions"][0]["text"], locale, default)
    line = f"• {esc(shorten(name, 80))}"
    if step:
        line += " — " + _("continue at question {n} of {total}").format(n=step + 1, total=len(poll["questions"]))
    return line


def open_button(step: int | None) -> str:
    return _("▶️ Continue") if step else _("▶️ Answer")


def closed_button() -> str:
    return _("🔒 Poll closed")


# ------------------------------------------------------------------ results

def poll_name(title: dict[str, str], first_question: dict[str, str], locale: str, default: str) -> str:
    return pick(title, locale, default) if title else pick(first_question, locale, default)


def breakdown_group(group: Group, by: str, community: Community, locale: str) -> str:
    if group.code is None:
        return _("other districts") if by == "district" else _("other languages")
    if by == "district":
        return community.district_name(group.code, locale)
    return language_name(group.code)


def _distribution(labels: Sequence[str], counts: Sequence[int], whole: int, locale: str) -> str:
    return "; ".join(f"{esc(label)} {pct(n, whole, locale)}" for label, n in zip(labels, counts, strict=True))


def question_labels(q: QuestionResult, locale: str, default: str) -> list[str]:
    if q.kind == "scale":
        return [str(v) for v in SCALE]
    return [pick(o, locale, default) for o in q.options]


def question_results(
    q: QuestionResult, n: int, locale: str, default: str, community: Community, *, breakdowns: bool = True,
    free_texts: bool | None = None,
) -> list[str]:
    """A question's totals; ``breakdowns``: with its slices by district and language;
    ``free_texts`` (default: as ``breakdowns``): with the free-text answers, by district."""
    lines = [f"<b>{n}. {esc(pick(q.text, locale, default))}</b>",
             ngettext("{count} answered", "{count} answered", q.answered).format(count=fmt_number(q.answered, locale))]
    if q.kind == "text":
        if not (breakdowns if free_texts is None else free_texts):
            return lines
        current: object = ...
        for district, text, author in q.texts:
            if district != current:
                current = district
                name = community.district_name(district, locale) if district else _("other districts")
                lines.append(f"<i>{esc(name)}</i>")
            lines.append(f"• {esc(shorten(text, TEXT_ANSWER_SHOWN))}" + (f" — {esc(author)}" if author else ""))
        return lines
    labels = question_labels(q, locale, default)
    # multiple choice: shares of the people who answered (they add up to more than 100%)
    whole = q.answered if q.kind == "multi" else sum(q.counts)
    for label, count in zip(labels, q.counts, strict=True):
        lines.append(f"{esc(label)} — {fmt_number(count, locale)} ({pct(count, whole, locale)})")
    if q.mean is not None:
        lines.append(_("Average: {mean} of 5").format(mean=fmt_number(round(q.mean, 1), locale)))
    if breakdowns:
        lines += breakdown_lines(q, locale, default, community)
    return lines


def breakdown_lines(q: QuestionResult, locale: str, default: str, community: Community) -> list[str]:
    """A question's slices by district and by language (none when no slice may be shown)."""
    if q.kind == "text":
        return []
    labels = question_labels(q, locale, default)
    lines = []
    for by, groups in (("district", q.by_district), ("language", q.by_language)):
        if len(groups) < 2:
            continue
        lines.append(_("<i>By district:</i>") if by == "district" else _("<i>By language:</i>"))
        for g in groups:
            g_whole = g.answered if q.kind == "multi" else sum(g.counts)
            lines.append(f"· {esc(breakdown_group(g, by, community, locale))} ({fmt_number(g.answered, locale)}): "
                         + _distribution(labels, g.counts, g_whole, locale))
    return lines


def breakdowns_text(results: Results, locale: str, default: str, community: Community) -> str:
    """What "📊 Charts and breakdowns" adds to the results: the slices of each question, or why
    there are none."""
    name = poll_name(results.title, results.questions[0].text, locale, default)
    lines = [_("📊 <b>Breakdowns</b> · #{id}").format(id=results.poll_id), f"<b>{esc(name)}</b>"]
    found = False
    for n, q in enumerate(results.questions, 1):
        part = breakdown_lines(q, locale, default, community)
        if part:
            found = True
            lines += ["", f"<b>{n}. {esc(pick(q.text, locale, default))}</b>", *part]
    if not found:
        lines += ["", no_breakdowns(results)]
    elif results.anonymous and results.min_group > 1:
        lines += ["", small_groups(results.min_group)]
    return "\n".join(lines)


def breakdowns_shown() -> str:
    return _("The charts and breakdowns are below these results already.")


def no_breakdowns(results: Results) -> str:
    if not results.participants:
        return _("Nobody has answered yet, so there is nothing to break down.")
    if all(q.kind == "text" for q in results.questions):
        return _("Free-text answers have no breakdown: they are listed by district in the results above.")
    if results.min_group > 1:
        return _("No breakdown by district or language yet: a group is shown apart only when it has at least {n} "
                 "participants and the others together have that many too (POLL_MIN_GROUP = {n}), so that no one "
                 "can be singled out.").format(n=results.min_group)
    return _("No breakdown: everyone who answered lives in one district and uses one language.")


def results_text(
    results: Results, status: str, locale: str, default: str, community: Community, *, breakdowns: bool = True,
    free_texts: bool | None = None,
) -> str:
    name = poll_name(results.title, results.questions[0].text, locale, default)
    shown = state("closed" if status == "closed" else "open", None)
    lines = [
        _("📊 <b>Results</b> · #{id} · {state}").format(id=results.poll_id, state=shown),
        f"<b>{esc(name)}</b>",
        ngettext("{count} participant", "{count} participants", results.participants).format(
            count=fmt_number(results.participants, locale)),
    ]
    if len(results.questions) > 1:
        lines[-1] += " · " + _("{count} completed").format(count=fmt_number(results.completed, locale))
    if breakdowns and results.anonymous and results.min_group > 1:
        lines.append(small_groups(results.min_group))
    for n, q in enumerate(results.questions, 1):
        lines.append("")
        lines.extend(question_results(q, n, locale, default, community, breakdowns=breakdowns, free_texts=free_texts))
    return "\n".join(lines)


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split a long text on line ends into messages within Telegram's limit."""
    parts, current = [], ""
    for line in text.split("\n"):  # lines are short (answers are shortened), so never cut inside
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            candidate = line
        current = candidate
    if current:
        parts.append(current)
    return parts


def more_with_polls() -> str:
    return _("… The full results, with every answer and the charts: /polls")


def chart_title(n: int, question: str) -> str:
    return f"{n}. {question}"


def chart_subtitle(answered: int, locale: str) -> str:
    return ngettext("{count} answered", "{count} answered", answered).format(count=fmt_number(answered, locale))


def chart_caption(n: int) -> str:
    return _("Chart for question {n} (the figures are in the text above).").format(n=n)


def published_intro() -> str:
    return _("📣 <b>Poll results</b> — thank you for taking part!")


# ------------------------------------------------------------------ organizer: lists and actions

def state(status: str, closes: str | None) -> str:
    """A poll's state ("open until …", "closed"), in the gender of the word for a poll."""
    if status != "open":
        return pgettext("poll status", "closed")
    return pgettext("poll status", "open until {time}").format(time=closes) if closes else pgettext("poll status", "open")


def anonymity(anonymous: bool) -> str:
    return _("Anonymous: {answer}").format(answer=_("yes") if anonymous else _("no, organizers see names"))


def small_groups(min_group: int) -> str:
    return _("Groups smaller than {n} are shown together, so no one can be singled out.").format(n=min_group)


def organizer_item(poll_id: int, name: str, status: str, people: int, closes: str | None, locale: str) -> str:
    who = ngettext("{count} participant", "{count} participants", people).format(count=fmt_number(people, locale))
    return f"#{poll_id} · {esc(shorten(name, 60))}\n   {state(status, closes)} · {who}"


def organizer_list(items: list[str]) -> str:
    if not items:
        return _("No polls yet. Create one with /newpoll.")
    return "\n".join([_("<b>Polls and surveys</b> (tap one for results):"), "", *items])


def poll_number(poll_id: int, *, survey: bool) -> str:
    return _("Survey #{id}").format(id=poll_id) if survey else _("Poll #{id}").format(id=poll_id)


def ask_close(poll_id: int, name: str) -> str:
    return _("Close poll #{id} now?\n<b>{name}</b>\nResidents can no longer answer it; the results are final.").format(
        id=poll_id, name=esc(shorten(name, 80)))


def close_yes() -> str:
    return _("⏹ Yes, close")


def kept_open(poll_id: int) -> str:
    return _("Poll #{id} stays open.").format(id=poll_id)


def closed_now(poll_id: int) -> str:
    return _("Poll #{id} is closed. The results go to the organizers' chat.").format(id=poll_id)


def already_closed(poll_id: int) -> str:
    return _("Poll #{id} was already closed.").format(id=poll_id)


def publishing(count: int, locale: str) -> str:
    return ngettext("Sending the results to {count} participant.", "Sending the results to {count} participants.",
                    count).format(count=fmt_number(count, locale))


def already_published() -> str:
    return _("The results were already sent to the participants.")


def nobody_took_part() -> str:
    return _("Nobody took part, so there is nobody to send the results to.")


def only_organizers() -> str:
    return _("Sorry, only organizers can do this.")


def no_such_poll() -> str:
    return _("This poll no longer exists.")


# ------------------------------------------------------------------ organizer: the /newpoll wizard

def ask_kind(first: bool) -> str:
    if first:
        return _("<b>New poll</b>\nWhat kind of question? You can add more questions later to make a survey, "
                 "or send a survey file (YAML or JSON).")
    return _("What kind is the next question?")


def ask_question(kind: str, lang: str, *, first: bool = False) -> str:
    """The question's prompt, naming the language it is taken in (the first one can change it)."""
    if kind in ("single", "multi"):
        ask = _("Send the question on the first line, and each option on its own line "
                "(from 2 to 10 options). For example:\n\n<i>Where should the next meeting be?\nSchool No. 12\n"
                "Library\nOnline</i>")
    else:
        ask = _("Send the question.")
    return langs.prompt(lang, f"{langs.choose_hint()}\n\n{ask}" if first else ask)


def question_error(exc: DomainError) -> str:
    p = exc.params
    return {
        "empty": _("Please send the question as text."),
        "question_too_long": _("The question is too long: at most {limit} characters.").format(limit=p.get("limit")),
        "options_count": _("Please give from {min} to {max} options, each on its own line (you gave {count}).").format(
            min=p.get("min"), max=p.get("max"), count=p.get("count")),
        "option_too_long": _("This option is too long (at most {limit} characters): {option}").format(
            limit=p.get("limit"), option=esc(p.get("option"))),
        "duplicate_option": _("This option is there twice: {option}").format(option=esc(p.get("option"))),
        "options_mismatch": _("The translation needs the same number of options ({count}), in the same order.").format(
            count=p.get("count")),
    }.get(exc.code, _("Please send the question as text."))


def ask_title(lang: str) -> str:
    return langs.prompt(lang, _("A survey needs a short title (for example, “Needs of our district”). Send it now."))


def title_error() -> str:
    return _("Please send a title of at most 200 characters.")


def what_question(n: int) -> str:
    return _("Question {n}").format(n=n)


def what_title() -> str:
    return _("Title")


def ask_translation(locale: str, with_options: bool) -> str:
    if with_options:
        return langs.ask_translation(locale, _("Send the question on the first line and the options below, "
                                               "in the same order."))
    return langs.ask_translation(locale)


def panel(
    draft_questions: list[dict[str, Any]], title: str, anonymous: bool, closes: str, audience: str, count: int,
    languages: Sequence[str], default_locale: str, locale: str,
) -> str:
    from handlers.audience import residents

    lines = [_("<b>Ready to send?</b>")]
    if title:
        lines.append(_("Survey: {title}").format(title=esc(title)))
    for n, q in enumerate(draft_questions, 1):
        text = pick(q["text"], locale, default_locale)
        lines.append(f"{n}. {esc(shorten(text, 80))} <i>({_(KIND_NAMES[q['kind']])})</i>")
    lines += [
        anonymity(anonymous),
        _("Closes: {time}").format(time=closes),
        _("Audience: {audience}").format(audience=audience),
        _("Recipients: {residents}").format(residents=residents(count, locale)),
        _("Languages: {languages}").format(languages=", ".join(language_name(c) for c in languages)),
    ]
    return "\n".join(lines)


def preview_intro() -> str:
    return _("<b>Preview</b> — the first question as residents will see it:")


def ask_closes(tz: ZoneInfo, example: str) -> str:
    return _("When should the poll close? Send a date and time in {zone}, for example <code>{example}</code>.").format(
        zone=tz.key, example=example)


def bad_file(exc: DomainError) -> str:
    p = exc.params
    problem = str(p.get("problem"))
    if problem in ("options_count", "option_too_long", "duplicate_option"):
        detail = question_error(DomainError(problem, **p))
    else:
        detail = {
            "encoding": _("it is not UTF-8 text."),
            "syntax": _("it is not valid YAML or JSON (line {line}).").format(line=p.get("line")),
            "no_questions": _("it needs a list of questions under “questions:”."),
            "too_many_questions": _("a survey can have at most {max} questions.").format(max=p.get("max")),
            "not_mapping": _("a question needs “kind”, “text” and, for choices, “options”."),
            "kind": _("“kind” must be single, multi, scale or text."),
            "text_needed": _("a text is needed, or a list of texts by language (uk, ru, bg, en)."),
            "language": _("unknown language “{lang}” (use uk, ru, bg or en).").format(lang=esc(p.get("lang"))),
            "empty_text": _("a text is empty."),
            "too_long": _("a text is longer than {limit} characters.").format(limit=p.get("limit")),
            "default_missing": _("a text is missing in the file's language ({language}); name the language "
                                 "with “language:”, or the community's is taken.").format(
                language=language_name(str(p.get("language")))),
            "options_list": _("“options” must be a list."),
            "closes_in_days": _("“closes_in_days” must be a number of days from 1 to {max}.").format(max=p.get("max")),
            "title_needed": _("a survey of several questions needs a “title”."),
        }.get(problem, _("it is not valid YAML or JSON (line {line}).").format(line=1))
    q, o = int(p.get("q") or 0), int(p.get("o") or 0)
    if q and o:
        where = _("question {n}, option {m}: ").format(n=q, m=o)
    elif q:
        where = _("question {n}: ").format(n=q)
    else:
        where = ""
    return _("I could not read this survey file — {problem}").format(problem=where + detail)


def file_only_at_start() -> str:
    return _("A survey file replaces the whole draft: send it right after /newpoll.")


def file_too_big() -> str:
    return _("This file is too big for a survey (at most 100 KB).")


def too_many_questions(limit: int) -> str:
    return _("A survey can have at most {limit} questions.").format(limit=limit)


def draft_dropped() -> str:
    return _("Poll discarded. Nothing was sent.")


def draft_expired() -> str:
    return _("This draft is no longer there. Start again with /newpoll.")


def closes_passed() -> str:
    return _("The closing time has already passed. Please choose a new one.")


def created(poll_id: int) -> str:
    return _("Poll #{id} created. See the answers coming in with /polls.").format(id=poll_id)


def results_published() -> str:
    return _("✅ Results sent to the participants")


def link_choice(option: str) -> str:
    return _("The link chose «{option}» for you. Nothing is recorded yet: press «✅ Confirm my vote», "
             "or choose another answer.").format(option=esc(option))


def link_choice_kept(option: str) -> str:
    return _("«{option}» is already your answer.").format(option=esc(option))
