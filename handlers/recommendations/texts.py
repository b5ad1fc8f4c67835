"""Texts of recommendations to the council: the organizers' card and wizard, what residents and
representatives see, the news of each step. User-supplied text is always escaped; the figures of
evidence are written as they were when attached and, where they changed, as they are now."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.community import Community
from bot.i18n import NC_, N_, esc, fmt_date, fmt_number, shorten, tr
from bot.services.errors import DomainError
from handlers.polls.texts import pct, pick

STATUS_NAMES = {
    "draft": NC_("recommendation status", "Draft"),
    "open": NC_("recommendation status", "Open for support"),
    "adopted": NC_("recommendation status", "Adopted by the network"),
    "submitted": NC_("recommendation status", "Submitted"),
    "answered": NC_("recommendation status", "Answered"),
    "in_progress": NC_("recommendation status", "In progress"),
    "implemented": NC_("recommendation status", "Implemented"),
    "not_implemented": NC_("recommendation status", "Not implemented"),
}
STATUS_ICONS = {"draft": "📝", "open": "🗳", "adopted": "🤝", "submitted": "📨", "answered": "🏛",
                "in_progress": "🛠", "implemented": "🎉", "not_implemented": "❌"}
ACTION_NAMES = {
    "open": N_("🗳 Open for support"),
    "adopt": N_("🤝 Adopted by the network"),
    "submit": N_("📨 Submitted"),
    "answer": N_("🏛 The council's answer"),
    "start": N_("🛠 Work started"),
    "milestone": N_("📈 Milestone"),
    "implement": N_("🎉 Implemented"),
    "fail": N_("❌ Not implemented"),
}
HOW_NAMES = {"letter": N_("by letter"), "session": N_("at a council session"), "meeting": N_("at a working meeting")}
ANSWER_NAMES = {"accepted": N_("accepted"), "partly": N_("partly accepted"), "rejected": N_("rejected")}
KIND_NAMES = {
    "discussion": N_("💬 A discussion's common ground"),
    "poll": N_("📊 A closed poll's result"),
    "reports": N_("📝 Report counts"),
    "proposal": N_("💡 A proposal and its support"),
    "event": N_("📅 An event and its attendance"),
}
TEXT_SHOWN = 700
HISTORY_SHOWN = 8


def day_of(value: datetime, locale: str, tz: ZoneInfo) -> str:
    """A day as people read it: the long date, in the community's time zone ("December 15, 2026")."""
    return fmt_date(value, locale, tz)


def status_label(status: str) -> str:
    """The status in words, without its icon (documents)."""
    return tr(STATUS_NAMES[status]) if status in STATUS_NAMES else status


def status_name(status: str) -> str:
    return f"{STATUS_ICONS.get(status, '')} {tr(STATUS_NAMES[status]) if status in STATUS_NAMES else status}".strip()


def title_of(data: dict[str, Any], locale: str) -> str:
    return pick(data.get("title") or {}, locale, data.get("default_locale") or "en")


def body_name(community: Community, code: str | None, locale: str) -> str:
    found = community.body(code)
    return found.name(locale) if found else (code or "—")


def district_name(community: Community, code: str | None, locale: str) -> str:
    return community.district_name(code, locale) if code else _("The whole community")


def only_organizers() -> str:
    return _("Sorry, only organizers can do this.")


def register_first() -> str:
    return _("To support a recommendation, please register first: type /start.")


# -- evidence ------------------------------------------------------------------------------------


def _n(value: int | float, locale: str) -> str:
    return fmt_number(value, locale)


def _figures(kind: str, figs: dict[str, Any], community: Community, locale: str) -> list[str]:
    """The figures of one piece of evidence, one line each (compared between then and now)."""
    if kind == "discussion":
        lines = [ngettext("{count} participant", "{count} participants", figs["participants"]).format(
            count=_n(figs["participants"], locale))]
        for s in figs["statements"]:
            lines.append(ngettext("“{statement}”: {share} agree ({count} vote)",
                                  "“{statement}”: {share} agree ({count} votes)", s["votes"]).format(
                statement=esc(shorten(s["text"], 120)), share=pct(s["agree"], s["votes"], locale),
                count=_n(s["votes"], locale)))
        return lines
    if kind == "poll":
        lines = [ngettext("{count} person took part", "{count} people took part", figs["participants"]).format(
            count=_n(figs["participants"], locale))]
        default = figs.get("default_locale") or "en"
        for q in figs["questions"][:3]:
            question = esc(shorten(pick(q["text"], locale, default), 100))
            if q.get("mean") is not None:
                lines.append(_("{question}: average {mean} of 5").format(question=question,
                                                                         mean=_n(round(q["mean"], 1), locale)))
            elif q["counts"] and any(q["counts"]):
                best = max(range(len(q["counts"])), key=lambda i: (q["counts"][i], -i))
                option = esc(shorten(pick(q["options"][best], locale, default), 60))
                lines.append(_("{question}: “{option}” {share}").format(
                    question=question, option=option, share=pct(q["counts"][best], q["answered"], locale)))
        return lines
    if kind == "reports":
        lines = [_("{received} received, {resolved} resolved").format(
            received=_n(figs["received"], locale), resolved=_n(figs["resolved"], locale))]
        top = ", ".join(f"{esc(community.category(c).name(locale) if community.category(c) else c)} {_n(n, locale)}"
                        for c, n in figs["by_category"][:3])
        if top:
            lines.append(_("most: {list}").format(list=top))
        return lines
    if kind == "proposal":
        return [ngettext("{count} supporter", "{count} supporters", figs["supporters"]).format(
            count=_n(figs["supporters"], locale))]
    if kind == "event":
        return [_("{going} signed up, {came} came").format(going=_n(figs["going"], locale),
                                                             came=_n(figs["attended"], locale))]
    return []


def evidence_name(kind: str, snapshot: dict[str, Any], params: dict[str, Any], ref_id: int | None,
                  community: Community, locale: str, tz: ZoneInfo) -> str:
    default = snapshot.get("default_locale") or "en"
    if kind == "discussion":
        return _("💬 Discussion “{question}”").format(question=esc(shorten(pick(snapshot["question"], locale, default), 100)))
    if kind == "poll":
        name = pick(snapshot["title"], locale, default) if snapshot.get("title") else (
            pick(snapshot["questions"][0]["text"], locale, default) if snapshot.get("questions") else "")
        return _("📊 Poll “{name}”").format(name=esc(shorten(name, 100)))
    if kind == "reports":
        return ngettext("📝 Reports in the {days} day before {day} ({district})",
                        "📝 Reports in the {days} days before {day} ({district})", params["days"]).format(
            days=_n(params["days"], locale), day=day_of(datetime.fromisoformat(params["until"]), locale, tz),
            district=esc(district_name(community, params.get("district"), locale)))
    if kind == "proposal":
        return _("💡 Proposal #{number} “{title}”").format(number=ref_id, title=esc(shorten(snapshot["title"], 100)))
    if kind == "event":
        return _("📅 Event “{title}”, {day}").format(
            title=esc(shorten(pick(snapshot["title"], locale, default), 100)),
            day=day_of(datetime.fromisoformat(snapshot["starts_at"]), locale, tz))
    return kind


def evidence_lines(kind: str, snapshot: dict[str, Any], now: dict[str, Any] | None, community: Community,
                   locale: str) -> list[str]:
    """Each figure as it was when attached, and "→ now …" where it changed since."""
    then = _figures(kind, snapshot, community, locale)
    if now is None:
        return [*then, _("(what this came from is no longer in the bot)")]
    current = _figures(kind, now, community, locale)
    out = []
    for i, line in enumerate(then):
        later = current[i] if i < len(current) else None
        out.append(line if later is None or later == line else _("{then} → now {now}").format(then=line, now=later))
    return out


def evidence_block(items: list[tuple[Any, dict[str, Any] | None]], community: Community, locale: str,
                   tz: ZoneInfo, *, figures: bool = True) -> list[str]:
    if not items:
        return [_("No evidence attached yet.")]
    out = [_("<b>Evidence</b> (figures when attached → now):")]
    for item, now in items:
        out.append("• " + evidence_name(item.kind, item.snapshot, item.params, item.ref_id, community, locale, tz))
        if figures:
            out.extend("   " + line for line in evidence_lines(item.kind, item.snapshot, now, community, locale))
    return out


def candidate_label(kind: str, thing: Any, locale: str) -> str:
    if kind == "reports":
        return ngettext("The last {count} day", "The last {count} days", thing).format(count=_n(thing, locale))
    if kind == "poll":
        name = pick(thing.title, locale, thing.default_locale) if thing.title else pick(
            thing.questions[0].text, locale, thing.default_locale)
        return f"#{thing.id} {shorten(name, 40)}"
    if kind == "discussion":
        return f"#{thing.id} {shorten(pick(thing.question, locale, thing.default_locale), 40)}"
    if kind == "proposal":
        return f"#{thing.id} {shorten(thing.title, 34)} · 👍 {thing.supporters}"
    if kind == "event":
        return f"#{thing.id} {shorten(pick(thing.title, locale, thing.default_locale), 40)}"
    return str(thing)


# -- the organizers' side ------------------------------------------------------------------------


def ask_title(lang: str) -> str:
    from handlers import langs

    return langs.prompt(lang, _("📜 <b>A new recommendation to the council.</b> A few steps; /cancel stops at "
                                "any moment.\n\nIts <b>title</b>?"))


def ask_text() -> str:
    return _("The <b>recommendation</b> itself, in a few sentences? (Translations come next.)")


def ask_translation(locale: str) -> str:
    from handlers import langs

    return langs.ask_translation(locale, _("Send the title on the first line and the recommendation itself "
                                           "under it."))


def translation_needs_both() -> str:
    return _("Please send the title on the first line and the recommendation itself under it, in one message.")


def ask_problem() -> str:
    return _("What is the <b>problem</b>?")


def ask_proposal() -> str:
    return _("What do you <b>propose</b> the council does?")


def ask_body() -> str:
    return _("Whom is it <b>addressed to</b>?")


def ask_district() -> str:
    return _("For which <b>district</b>? (Its residents can support it.)")


def evidence_menu(title: str, count: int) -> str:
    return "\n".join([
        _("📎 <b>Evidence for “{title}”</b>").format(title=esc(title)),
        ngettext("{count} piece attached.", "{count} pieces attached.", count).format(count=count),
        _("Attach what the bot holds: choose a kind, then one of the list. Tap Done when it is enough."),
    ])


def choose_candidate(kind: str) -> str:
    return _("Choose one ({kind}):").format(kind=_(KIND_NAMES[kind]))


def nothing_to_attach() -> str:
    return _("There is nothing of this kind to attach yet.")


def attached() -> str:
    return _("Attached ✅")


def organizer_list(items: list[str]) -> str:
    if not items:
        return _("📜 No recommendations yet. /newrec drafts one.")
    return _("📜 <b>Recommendations to the council</b>") + "\n\n" + "\n".join(items) + "\n\n" + _(
        "/newrec drafts a new one.")


def organizer_item(rec: Any, locale: str) -> str:
    return _("#{number} {title} — {status} · 👍 {supporters}").format(
        number=rec.id, title=esc(shorten(pick(rec.title, locale, rec.default_locale), 60)),
        status=status_name(rec.status), supporters=_n(rec.supporters, locale))


def dated(rec: Any, community: Community, locale: str, tz: ZoneInfo) -> list[str]:
    """The card's dated steps (open until, submitted to whom and how, the answer, progress), HTML."""
    return _dated(rec, community, locale, tz)


def _dated(rec: Any, community: Community, locale: str, tz: ZoneInfo) -> list[str]:
    out = []
    if rec.status == "open" and rec.open_until is not None:
        out.append(_("Open for support until {day}").format(day=day_of(rec.open_until, locale, tz)))
    if rec.submitted_at is not None:
        out.append(_("Submitted on {day} to {body} {how}").format(
            day=day_of(rec.submitted_at, locale, tz), body=esc(body_name(community, rec.submitted_to, locale)),
            how=_(HOW_NAMES.get(rec.submitted_how or "", "by letter"))))
    if rec.answer is not None:
        out.append(_("Answer ({day}): {answer}").format(day=day_of(rec.answered_at, locale, tz),
                                                        answer=_(ANSWER_NAMES[rec.answer])))
        if rec.answer_text:
            out.append(f"<i>{esc(shorten(rec.answer_text, TEXT_SHOWN))}</i>")
    if rec.status == "in_progress" or (rec.status == "implemented" and rec.progress):
        out.append(_("Progress: {percent}%").format(percent=rec.progress))
    if rec.reason:
        out.append(_("Not implemented: {reason}").format(reason=esc(shorten(rec.reason, TEXT_SHOWN))))
    return out


MESSAGE_MAX = 4000  # Telegram takes 4096 characters; the HTML is longer than what it counts


def card(rec: Any, items: list[tuple[Any, dict[str, Any] | None]], orgs: list[str], history: list[Any],
         community: Community, locale: str, tz: ZoneInfo, *, organizer: bool = True) -> str:
    """The card, within one message: long texts are shortened more, then the figures of the
    evidence give way to its names, until it fits."""
    for shown, figures in ((TEXT_SHOWN, True), (300, True), (150, True), (150, False), (60, False)):
        text = _card(rec, items, orgs, history, community, locale, tz, organizer, shown, figures)
        if len(text) <= MESSAGE_MAX:
            return text
    return shorten(text, MESSAGE_MAX)


def _card(rec: Any, items: list[tuple[Any, dict[str, Any] | None]], orgs: list[str], history: list[Any],
          community: Community, locale: str, tz: ZoneInfo, organizer: bool, shown: int, figures: bool) -> str:
    lines = [
        _("📜 <b>Recommendation #{number}: {title}</b>").format(number=rec.id,
                                                             title=esc(pick(rec.title, locale, rec.default_locale))),
        status_name(rec.status),
        _("To: {body} · {district}").format(body=esc(body_name(community, rec.body, locale)),
                                          district=esc(district_name(community, rec.district, locale))),
        *_dated(rec, community, locale, tz),
        "",
        esc(shorten(pick(rec.text, locale, rec.default_locale), shown)),
        "",
        _("<b>The problem:</b> {text}").format(text=esc(shorten(rec.problem, shown))),
        _("<b>What we propose:</b> {text}").format(text=esc(shorten(rec.proposal, shown))),
        "",
        *evidence_block(items, community, locale, tz, figures=figures),
        "",
        ngettext("🏢 {count} organisation stands behind it", "🏢 {count} organisations stand behind it",
                 len(orgs)).format(count=len(orgs)) + (": " + ", ".join(esc(o) for o in orgs) if orgs else ""),
        ngettext("👍 {count} resident supports it", "👍 {count} residents support it", rec.supporters).format(
            count=_n(rec.supporters, locale)),
    ]
    if organizer and history:
        lines += ["", _("<b>Steps:</b>")]
        for step in history[-HISTORY_SHOWN:]:
            line = f"{day_of(step.created_at, locale, tz)} — {status_name(step.new_status)}"
            if step.progress is not None and step.new_status == "in_progress":
                line += f" {step.progress}%"
            if step.note and step.new_status in ("in_progress",):
                line += f": {esc(shorten(step.note, 120))}"
            lines.append(line)
    return "\n".join(lines)


def choose_days() -> str:
    return _("Open for support for how long?")


def choose_how(body: str) -> str:
    return _("How was it submitted to {body}?").format(body=esc(body))


def choose_answer() -> str:
    return _("What did the council answer?")


def ask_answer_text(answer: str) -> str:
    return _("The council's answer ({answer}): please type or paste its text, or send its document with the "
             "text as the caption.").format(answer=_(ANSWER_NAMES[answer]))


def answer_caption(title: str) -> str:
    return _("The council's answer to “{title}”").format(title=esc(shorten(title, 200)))


def ask_progress() -> str:
    return _("The percentage done and, optionally, a note, e.g. <code>40 the tender is announced</code>.")


def ask_reason() -> str:
    return _("Why was it not implemented? Please type the reason.")


def done(status: str) -> str:
    return _("Saved: {status}.").format(status=status_name(status))


def published() -> str:
    return _("It goes to the residents of its district (everyone, for the whole community) with a Support button.")


def told() -> str:
    return _("Its supporters, the endorsing organisations and those who took part in its evidence are told, "
             "each in their language.")


# -- residents and representatives ---------------------------------------------------------------


def public_text(data: dict[str, Any], community: Community, locale: str, tz: ZoneInfo) -> str:
    """The recommendation as residents get it when it opens for support."""
    lines = [
        _("📜 <b>A recommendation to the council: {title}</b>").format(title=esc(title_of(data, locale))),
        _("To: {body} · {district}").format(body=esc(body_name(community, data["body"], locale)),
                                          district=esc(district_name(community, data.get("district"), locale))),
        "",
        esc(shorten(pick(data["text"], locale, data.get("default_locale") or "en"), TEXT_SHOWN)),
        "",
        _("<b>The problem:</b> {text}").format(text=esc(shorten(data["problem"], TEXT_SHOWN))),
        _("<b>What we propose:</b> {text}").format(text=esc(shorten(data["proposal"], TEXT_SHOWN))),
    ]
    if data.get("open_until"):
        lines += ["", _("Support it until {day}: the more residents stand behind it, the stronger it is.").format(
            day=day_of(datetime.fromisoformat(data["open_until"]), locale, tz))]
    return "\n".join(lines)


def resident_list(items: list[str]) -> str:
    if not items:
        return _("📜 No recommendations are open for support right now.")
    return _("📜 <b>Recommendations to the council</b> open for support:") + "\n\n" + "\n".join(items)


def resident_item(n: int, rec: Any, locale: str) -> str:
    return _("{n}. {title} · 👍 {supporters}").format(
        n=n, title=esc(shorten(pick(rec.title, locale, rec.default_locale), 70)), supporters=_n(rec.supporters, locale))


def you_support() -> str:
    return _("✅ You support it.")


def supported(count: int) -> str:
    return ngettext("Thank you for your support! {count} supporter now.",
                    "Thank you for your support! {count} supporters now.", count).format(count=count)


def support_taken_back() -> str:
    return _("Your support is taken back.")


def endorsed(org: str) -> str:
    return _("Endorsed for {org} ✅").format(org=org)


def endorsement_taken_back(org: str) -> str:
    return _("The endorsement of {org} is taken back.").format(org=org)


def news(data: dict[str, Any], community: Community, locale: str, tz: ZoneInfo) -> str:
    title = esc(title_of(data, locale))
    body = esc(body_name(community, data.get("submitted_to") or data["body"], locale))
    status = data["status"]
    if status == "submitted":
        return _("📨 The recommendation “{title}”, which you took part in, was submitted to {body} {how} on {day}."
                 ).format(
            title=title, body=body, how=_(HOW_NAMES.get(data.get("submitted_how") or "", "by letter")),
            day=day_of(datetime.fromisoformat(data["submitted_at"]), locale, tz))
    if status == "answered":
        text = _("🏛 {body} answered the recommendation “{title}”: {answer}.").format(
            body=body, title=title, answer=_(ANSWER_NAMES.get(data.get("answer") or "", "accepted")))
        if data.get("answer_text"):
            text += "\n\n<i>" + esc(shorten(data["answer_text"], TEXT_SHOWN)) + "</i>"
        return text
    if status == "implemented":
        return _("🎉 The recommendation “{title}”, which you took part in, has been implemented. Thank you!"
                 ).format(title=title)
    return _("❌ The recommendation “{title}” was not implemented: {reason}").format(
        title=title, reason=esc(shorten(data.get("reason") or "", TEXT_SHOWN)))


def public_step(data: dict[str, Any], community: Community, locale: str, tz: ZoneInfo, orgs: int) -> str:
    """The step of a recommendation as the public channel tells it (for everyone, not only those
    who took part): submitted, the council's answer, implemented or not."""
    title = esc(title_of(data, locale))
    body = esc(body_name(community, data.get("submitted_to") or data["body"], locale))
    status = data["status"]
    if status == "submitted":
        text = _("📨 The recommendation “{title}” was submitted to {body} {how} on {day}.").format(
            title=title, body=body, how=_(HOW_NAMES.get(data.get("submitted_how") or "", "by letter")),
            day=day_of(datetime.fromisoformat(data["submitted_at"]), locale, tz))
        people = int(data.get("supporters") or 0)
        text += "\n" + _("Behind it: {orgs}, {people}.").format(
            orgs=ngettext("{count} organisation", "{count} organisations", orgs).format(count=fmt_number(orgs, locale)),
            people=ngettext("{count} resident", "{count} residents", people).format(count=fmt_number(people, locale)))
        return text
    if status in ("answered", "in_progress"):
        return news({**data, "status": "answered"}, community, locale, tz)
    if status == "implemented":
        return _("🎉 The recommendation “{title}” has been implemented.").format(title=title)
    return news(data, community, locale, tz)


def discussion_question(title: str) -> str:
    """The question of the discussion opened from a recommendation (plain text, in each language)."""
    return _("What do you think of the recommendation “{title}”? Vote on these statements and add your own.").format(
        title=title)


def discussion_opened() -> str:
    return _("The discussion is open: residents are invited, and its common ground is attached as evidence.")


def error_text(exc: DomainError) -> str:
    p = exc.params
    match exc.code:
        case "rec_too_short":
            return _("A little more, please: at least {min} characters.").format(min=p.get("min", 3))
        case "rec_too_long":
            return _("That is too long: at most {max} characters, please (you sent {length}).").format(
                max=p.get("max"), length=p.get("length"))
        case "rec_progress":
            return _("Please start with a percentage from 0 to 100, e.g. <code>40 the tender is announced</code>.")
        case "rec_changed":
            return _("Someone changed this recommendation meanwhile: here it is as it is now.")
        case "rec_not_allowed":
            return _("That step is not possible at this point.")
        case "rec_discussed":
            return _("A discussion of this recommendation is open already: see /discussions.")
        case "rec_missing":
            return _("This recommendation is not there any more.")
        case "rec_closed":
            return _("This recommendation is no longer open for support.")
        case "rec_submitted":
            return _("It has been submitted already: support and endorsements stay with it now.")
        case "rec_not_audience":
            return _("This recommendation is for the residents of another district.")
        case "rec_support_twice":
            return _("You already support it. Thank you!")
        case "rec_not_supported":
            return _("You do not support it at the moment.")
        case "rec_not_representative":
            return _("Only a confirmed representative of the organisation can do this.")
        case "rec_endorsed_twice":
            return _("Your organisation already stands behind it.")
        case "rec_not_endorsed":
            return _("Your organisation does not stand behind it at the moment.")
        case "rec_evidence_full":
            return _("That is enough evidence: at most {max} pieces.").format(max=p.get("max"))
        case "rec_evidence_twice":
            return _("That is attached already.")
        case "rec_evidence_missing":
            return _("That is not there any more.")
        case "rec_poll_open":
            return _("Only a closed poll's result can be evidence: close the poll first.")
        case "rec_incomplete" | "rec_until":
            return _("Something is missing: please start again with /newrec.")
    return _("Sorry, that did not work. Please try again.")
