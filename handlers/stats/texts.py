"""Texts of the impact figures, the digest and their period questions."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_timedelta

from bot.community import Community
from bot.i18n import N_, esc, fmt_day, fmt_moment, fmt_number, language_in, shorten
from bot.services.errors import DomainError
from bot.services.impact import ASSISTED_COUNTS, Figures, Period
from handlers.polls.texts import pct, pick

PRESET_NAMES = {
    "7d": N_("Last 7 days"),
    "30d": N_("Last 30 days"),
    "month": N_("This month"),
    "prev": N_("Last month"),
    "year": N_("This year"),
    "all": N_("All time"),
}
SHOWN = 6  # districts, categories... listed in a line; the rest as "others"
TITLE_SHOWN = 80
TEXT_LIMIT = 4096


def short(text: str, limit: int = TITLE_SHOWN) -> str:
    """One line of at most ``limit`` characters (a digest lists titles a line each)."""
    return shorten(" ".join(str(text).split()), limit)


def duration(value: timedelta | float | None, locale: str) -> str:
    """'5 hours', '3 days' in the reader's language ('—' when there is nothing to measure)."""
    if value is None:
        return "—"
    if not isinstance(value, timedelta):
        value = timedelta(hours=value)
    return format_timedelta(value, locale=locale, threshold=1.5)


def last_moment(period: Period) -> datetime:
    return max(period.end - timedelta(microseconds=1), period.start)


def period_line(period: Period, locale: str, tz: ZoneInfo) -> str:
    first = fmt_day(period.start, locale, tz)
    last = fmt_day(last_moment(period), locale, tz)
    return first if first == last else f"{first} – {last}"


def period_error(exc: DomainError) -> str:
    match exc.code:
        case "period_order":
            return _("The period ends before it starts. Please give the earlier day first.")
        case "period_future":
            return _("That period has not begun yet. Please choose one in the past.")
    return _("I could not read that period. Choose one of the buttons or type the days, e.g. "
             "<code>2026-01-01 2026-03-31</code>, a month (<code>2026-03</code>) or a year (<code>2026</code>).")


def ask_period(what: str) -> str:
    if what == "council":
        intro = _("<b>Report for the council</b>: a document with the top problems, what residents said in "
                  "polls, the most supported proposals and the events held. Which period?")
    else:
        intro = _("<b>Impact figures</b>: which period?")
    return intro + "\n" + _("Or type the days after the command, e.g. <code>/{command} 2026-01-01 2026-03-31</code>."
                            ).format(command="report_for_council" if what == "council" else "stats")


def _ranked(items: list[tuple[str, int]], locale: str) -> str:
    shown = [f"{name} {fmt_number(n, locale)}" for name, n in items[:SHOWN]]
    rest = sum(n for _name, n in items[SHOWN:])
    if rest:
        shown.append(_("others {count}").format(count=fmt_number(rest, locale)))
    return " · ".join(shown)


def resident_district(community: Community, code: str | None, locale: str) -> str:
    return community.district_name(code, locale) if code else _("district not given")


def figure_lines(f: Figures, community: Community, locale: str) -> list[str]:
    """The indicators, a line each, as plain text (shared by /stats and the council report, each
    escaping them for its own format)."""
    n = lambda v: fmt_number(v, locale)
    p = f.proposals
    lines = [
        _("🏢 Organisations: {total} in the network, {active} active in this period").format(
            total=n(f.orgs_total), active=n(f.orgs_active)),
        ngettext("👥 Residents: {total} registered ({new} new in this period)",
                 "👥 Residents: {total} registered ({new} new in this period)", f.residents_total).format(
            total=n(f.residents_total), new=n(f.residents_new)),
    ]
    if f.assisted.offline_total:
        lines.append("   " + ngettext("of them {count} offline resident, registered by a mediator",
                                      "of them {count} offline residents, registered by mediators",
                                      f.assisted.offline_total).format(count=n(f.assisted.offline_total)))
    if f.by_district:
        lines.append("   " + _("by district: {list}").format(list=_ranked(
            [(resident_district(community, c, locale), v) for c, v in f.by_district], locale)))
    if f.by_language:
        lines.append("   " + _("by language: {list}").format(list=_ranked(
            [(language_in(c, locale), v) for c, v in f.by_language], locale)))
    lines.append(ngettext("📅 Events held: {count}; participants: {people} different people ({visits} check-ins)",
                          "📅 Events held: {count}; participants: {people} different people ({visits} check-ins)",
                          f.events_held).format(count=n(f.events_held), people=n(f.participants),
                                                visits=n(f.attendances)))
    lines.append(_("💡 Proposals: {proposed} proposed, {accepted} accepted, {realised} realised").format(
        proposed=n(p.proposed), accepted=n(p.accepted), realised=n(p.realised)))
    lines.append(_("📝 Reports: {received} received, {resolved} resolved").format(
        received=n(f.reports_received), resolved=n(f.reports_resolved)))
    if f.reports_by_category:
        lines.append("   " + _("by category: {list}").format(list=_ranked(
            [(category_name(community, c, locale), v) for c, v in f.reports_by_category], locale)))
    lines.append("   " + _("median time to the first response: {first}; to resolution: {resolved}").format(
        first=duration(f.median_first_response, locale), resolved=duration(f.median_resolution, locale)))
    if f.participation is None:
        lines.append(ngettext("📊 Polls: {count} run", "📊 Polls: {count} run", f.polls).format(count=n(f.polls)))
    else:
        lines.append(ngettext(
            "📊 Polls: {count} run; participation {share} ({answered} of {invited} invited)",
            "📊 Polls: {count} run; participation {share} ({answered} of {invited} invited)", f.polls).format(
            count=n(f.polls), share=pct(min(f.poll_answered, f.poll_invited), f.poll_invited, locale),
            answered=n(min(f.poll_answered, f.poll_invited)), invited=n(f.poll_invited)))
    r = f.recommendations
    lines.append(_("🏛 Recommendations to the council: {submitted} submitted, {answered} answered "
                   "({accepted} accepted fully or partly), {implemented} implemented").format(
        submitted=n(r.submitted), answered=n(r.answered), accepted=n(r.accepted), implemented=n(r.implemented)))
    if r.median_to_answer is not None:
        lines.append("   " + _("median time to the council's answer: {time}").format(
            time=duration(r.median_to_answer, locale)))
    if f.assisted.offline_new or f.assisted.actions:
        lines.append(assisted_line(f.assisted.counts(), f.assisted.mediators, locale))
    return lines


def assisted_list(counts: dict[str, int], locale: str) -> str:
    """'2 offline residents registered, 1 report, 3 poll answers': the kinds that happened."""
    parts = []
    for kind, count in counts.items():
        if not count:
            continue
        match kind:
            case "offline_new":
                text = ngettext("{count} offline resident registered", "{count} offline residents registered", count)
            case "reports":
                text = ngettext("{count} report", "{count} reports", count)
            case "poll_answers":
                text = ngettext("{count} poll answer", "{count} poll answers", count)
            case "rsvps":
                text = ngettext("{count} event answer", "{count} event answers", count)
            case "proposals":
                text = ngettext("{count} proposal", "{count} proposals", count)
            case "supports":
                text = ngettext("{count} proposal supported", "{count} proposals supported", count)
            case _:
                continue
        parts.append(text.format(count=fmt_number(count, locale)))
    return ", ".join(parts)


def assisted_line(counts: dict[str, int], mediators: int, locale: str) -> str:
    """Plain text: what community mediators did for offline residents (escape for HTML)."""
    return ngettext("🤝 With a mediator's help: {list} ({count} mediator active)",
                    "🤝 With a mediator's help: {list} ({count} mediators active)", mediators).format(
        list=assisted_list(counts, locale), count=fmt_number(mediators, locale))


def category_name(community: Community, code: str, locale: str) -> str:
    found = community.category(code)
    return found.name(locale) if found else code


def figures(f: Figures, community: Community, locale: str, tz: ZoneInfo) -> str:
    head = [_("📈 <b>Impact figures</b>"), period_line(f.period, locale, tz)]
    if f.period.clamped:  # it starts on the first data's day
        head.append(_("<i>The platform's data starts on {day}: the figures are from then.</i>").format(
            day=fmt_day(f.period.start, locale, tz)))
    if f.quiet:
        return "\n".join([*head, "", _("Nothing happened in this period: no new residents, reports, polls, "
                                       "events or proposals. Try a longer period."),
                          _("In the network at the end of the period: {orgs} organisations, {residents} residents.").format(
                              orgs=fmt_number(f.orgs_total, locale), residents=fmt_number(f.residents_total, locale))])
    return "\n".join([*head, "", *(esc(line) for line in figure_lines(f, community, locale)),
                      "", _("The charts below show the same figures.")])


def chart_titles() -> dict[str, str]:
    return {"districts": _("Residents by district"), "reports": _("Reports by category"),
            "proposals": _("Proposals")}


CHART_BARS = 12  # a chart's most bars


def chart_bars(f: Figures, community: Community, locale: str) -> list[tuple[str, list[tuple[str, int]]]]:
    """The charts of the figures (a name of chart_titles(), its bars), those with something to show:
    residents by district, reports by category, the proposals' steps (/stats and the dashboard)."""
    album: list[tuple[str, list[tuple[str, int]]]] = []
    if f.by_district:
        album.append(("districts", [(resident_district(community, c, locale), n)
                                    for c, n in f.by_district[:CHART_BARS]]))
    if f.reports_by_category:
        album.append(("reports", [(category_name(community, c, locale), n)
                                  for c, n in f.reports_by_category[:CHART_BARS]]))
    p = f.proposals
    if p.proposed or p.accepted or p.realised:
        album.append(("proposals", list(zip(proposal_steps(), (p.proposed, p.accepted, p.realised), strict=True))))
    return album


CAPTION_LIMIT = 1024  # of a photo's caption
CAPTION_NAME = 60


def chart_caption(title: str, bars: list[tuple[str, int]], locale: str) -> str:
    """A chart's caption: its title and every figure it shows, as text (HTML-escaped), so the
    picture is never the only place they are (a chart has at most 12 bars: this fits)."""
    lines = [esc(title)] + [f"{esc(shorten(name, CAPTION_NAME))}: {fmt_number(value, locale)}"
                            for name, value in bars]
    while len("\n".join(lines)) > CAPTION_LIMIT - 2 and len(lines) > 2:  # only a safety net
        lines.pop()
        lines[-1] = "…"
    return "\n".join(lines)


def proposal_steps() -> list[str]:
    return [_("proposed"), _("accepted"), _("realised")]


def no_data_for_report(period: str) -> str:
    return _("There is no data for {period}: no reports, polls, proposals or events. Nothing to put in a "
             "report; try a longer period.").format(period=period)


def preparing() -> str:
    return _("Preparing the report…")


def choose_language() -> str:
    return _("In which language should the report be?")


def only_organizers() -> str:
    return _("Sorry, only organizers and admins can do this.")


# -- the digest ------------------------------------------------------------------------------------

FREQUENCY_NAMES = {"daily": N_("Daily"), "weekly": N_("Weekly")}
WEEKDAYS = (N_("on Mondays"), N_("on Tuesdays"), N_("on Wednesdays"), N_("on Thursdays"), N_("on Fridays"),
            N_("on Saturdays"), N_("on Sundays"))


def schedule(frequency: str | None, hour: int, weekday: int) -> str:
    at = f"{hour:02d}:00"
    if frequency == "daily":
        return _("every day at {time}").format(time=at)
    if frequency == "weekly":
        return _("weekly, {day} at {time}").format(day=_(WEEKDAYS[weekday]), time=at)
    return _("off")


def digest_settings(mine: str | None, group: str | None, has_group: bool, hour: int, weekday: int) -> str:
    lines = [_("📬 <b>Digest</b>: new and open reports, closed polls, coming and past events and new "
               "proposals, in short."),
             _("To you, in your language: <b>{schedule}</b>").format(schedule=schedule(mine, hour, weekday))]
    if has_group:
        lines.append(_("To the organizers' chat: <b>{schedule}</b>").format(schedule=schedule(group, hour, weekday)))
    return "\n".join(lines)


def preview_button() -> str:
    return _("👁 Preview")


def digest_preview(payload: dict[str, Any], community: Community, locale: str, tz: ZoneInfo) -> str:
    """The next digest so far, under a line saying it is a preview and when the digest goes."""
    head = _("👁 <b>Preview</b>: the next digest as it stands now; it goes {when}, with what comes until then.").format(
        when=fmt_moment(datetime.fromisoformat(payload["next_at"]), locale, tz))
    return f"{head}\n\n{digest(payload, community, locale, tz)}"


def digest_saved() -> str:
    return _("Saved.")


def _title(names: dict[str, str], locale: str) -> str:
    return esc(short(pick(names, locale, "en") if names else ""))


def _when(value: str, locale: str, tz: ZoneInfo) -> str:
    return fmt_moment(datetime.fromisoformat(value), locale, tz)


def digest(payload: dict[str, Any], community: Community, locale: str, tz: ZoneInfo) -> str:
    data, n = payload["data"], (lambda v: fmt_number(v, locale))
    since = datetime.fromisoformat(data["since"])
    until = datetime.fromisoformat(data["until"])
    name = _("🗞 <b>Daily digest</b>") if payload["frequency"] == "daily" else _("🗞 <b>Weekly digest</b>")
    lines = [f"{name} · {fmt_moment(since, locale, tz)} – {fmt_moment(until, locale, tz)}"]
    if reports := data.get("reports"):
        lines += ["", _("📝 <b>Reports</b>: {new} new, {resolved} resolved, {open} still open").format(
            new=n(reports["new"]), resolved=n(reports["resolved"]), open=n(reports["open"]))]
        for key, label in (("new_by_category", _("New by category: {list}")),
                           ("new_by_district", _("New by district: {list}")),
                           ("open_by_category", _("Open by category: {list}"))):
            if reports[key]:
                names = [(category_name(community, c, locale) if "category" in key
                          else resident_district(community, c, locale), v) for c, v in reports[key]]
                lines.append(label.format(list=esc(_ranked(names, locale))))
        if reports["first_response_h"] is not None or reports["resolution_h"] is not None:
            lines.append(_("Median time to the first response: {first}; to resolution: {resolved}").format(
                first=duration(reports["first_response_h"], locale), resolved=duration(reports["resolution_h"], locale)))
    if polls := data.get("polls"):
        lines += ["", _("📊 <b>Polls closed</b>")]
        for poll in polls:
            line = ngettext("• «{title}»: {count} took part", "• «{title}»: {count} took part",
                            poll["participants"]).format(title=_title(poll["title"], locale), count=n(poll["participants"]))
            if head := poll.get("headline"):
                question = esc(short(pick(head["question"], locale, "en"), 60))
                if "mean" in head:
                    line += "; " + _("{question}: average {mean} of 5").format(question=question, mean=n(head["mean"]))
                else:
                    line += "; " + _("{question}: «{answer}» {share}").format(
                        question=question, answer=esc(short(pick(head["option"], locale, "en"), 40)),
                        share=pct(head["share"], 100, locale))
            lines.append(line)
    if events := data.get("upcoming"):
        lines += ["", _("📅 <b>Coming up</b>")]
        for e in events:
            going = (_("{going} of {capacity} places taken").format(going=n(e["going"]), capacity=n(e["capacity"]))
                     if e["capacity"] else ngettext("{going} going", "{going} going", e["going"]).format(going=n(e["going"])))
            if e["waitlist"]:
                going += ", " + _("{count} on the waitlist").format(count=n(e["waitlist"]))
            lines.append(f"• {_when(e['starts_at'], locale, tz)} «{_title(e['title'], locale)}»: {going}")
    if events := data.get("held"):
        lines += ["", _("✅ <b>Held</b>")]
        for e in events:
            line = _("• {when} «{title}»: {came} came ({going} had said they would)").format(
                when=_when(e["starts_at"], locale, tz), title=_title(e["title"], locale), came=n(e["attended"]),
                going=n(e["going"]))
            if e["score"] is not None:
                line += "; " + ngettext("feedback {score} of 5 ({count} answer)", "feedback {score} of 5 ({count} answers)",
                                        e["feedback"]).format(score=n(e["score"]), count=n(e["feedback"]))
            lines.append(line)
    if proposals := data.get("proposals"):
        lines += ["", _("💡 <b>Proposals</b>: {count} new").format(count=n(proposals["new"]))]
        if proposals["new_titles"]:
            lines[-1] += ": " + ", ".join(f"«{esc(short(t, 50))}» (#{i})" for i, t in proposals["new_titles"])
        if proposals["top"]:
            lines.append(_("Most supported: {list}").format(list=" · ".join(
                f"«{esc(short(t, 50))}» (#{i}) 👍 {n(s)}" for i, t, s in proposals["top"])))
    if recs := data.get("recommendations"):
        lines += ["", _("🏛 <b>Recommendations to the council</b>: {submitted} submitted, {answered} answered, "
                        "{implemented} implemented").format(submitted=n(recs["submitted"]),
                                                            answered=n(recs["answered"]),
                                                            implemented=n(recs["implemented"]))]
        if recs["waiting"]:
            lines.append(_("Waiting longest for an answer:"))
            for r in recs["waiting"]:
                body = community.body(r["body"])
                lines.append(_("• «{title}» (#{id}), to {body} since {day}").format(
                    title=_title(r["title"], locale), id=r["id"], body=esc(body.name(locale) if body else r["body"]),
                    day=fmt_day(datetime.fromisoformat(r["submitted_at"]), locale, tz)))
    if helped := data.get("assisted"):
        counts = {k: int(helped.get(k) or 0) for k in ASSISTED_COUNTS}
        lines += ["", esc(assisted_line(counts, int(helped.get("mediators", 0)), locale))]
    if len(lines) == 1:
        lines.append(_("Nothing new in this period."))
    text = "\n".join(lines)
    while len(text) > TEXT_LIMIT and len(lines) > 2:  # lists are capped, so this is only a safety net
        lines.pop(-1)
        text = "\n".join([*lines, "…"])
    return text
