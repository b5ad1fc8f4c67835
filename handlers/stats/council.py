"""The recommendations report for the council: one self-contained HTML file (charts inside as
images, styles inside, no scripts) that opens in any browser and prints to PDF from there (A4,
with margins, page numbers and the period in the footer; headings kept with their tables; no
emoji, no seconds; budgets in the community's currency; averages with their counts). The
``recommendations`` section lists the network's recommendations (empty when there are none). No PDF is made here:
no well-kept renderer installs from the registries alone (WeasyPrint needs Pango from the
system), so the document says "print to PDF" at its top (not printed). Its markup is
well-formed XML too, so other tools can read it. No personal data: counts, poll
results (small groups protected as in the bot) and proposals' titles."""
from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.numbers import get_currency_symbol

from bot import charts
from bot.charts import strip_emoji
from bot.community import Community
from bot.i18n import fmt_day, fmt_moment, fmt_number
from bot.services.impact import CouncilData
from bot.services.recommendations import CouncilItem
from handlers import chart_texts
from handlers.events.texts import KIND_NAMES as EVENT_KINDS
from handlers.polls.texts import pct, pick, question_labels
from handlers.proposals.texts import district_name, status_name
from handlers.stats import texts

STYLE = """
@page { size: A4; margin: 18mm 16mm 20mm 16mm;
        @bottom-left { content: var(--footer); font-size: 8pt; color: #6b6b6b; }
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #6b6b6b; } }
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #2b2b2b; max-width: 60em; margin: 2em auto;
       padding: 0 1em; line-height: 1.45; font-size: 10.5pt; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 1.6em; border-bottom: 2px solid #2f6fb0; padding-bottom: 0.2em; }
h3 { font-size: 1.1em; margin: 1.2em 0 0.3em; } h4 { font-size: 1em; margin: 0.9em 0 0.3em; }
h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
.meta { color: #6b6b6b; } .hint { border: 1px solid #c8c8c8; background: #f6f8fb; padding: 0.4em 0.7em; }
ul.figures > li { margin: 0.35em 0; font-weight: bold; } ul.figures > li > ul { font-weight: normal; margin: 0.2em 0; }
ul.figures > li > ul > li { color: #444; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0; }
th, td { border: 1px solid #c8c8c8; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #eef3f9; } td.n, th.n { text-align: right; white-space: nowrap; }
thead { display: table-header-group; } tr { break-inside: avoid; page-break-inside: avoid; }
img { max-width: 100%; height: auto; } figure { margin: 0.6em 0; }
.keep { break-inside: avoid; page-break-inside: avoid; }
footer { margin-top: 3em; color: #6b6b6b; font-size: 0.9em; }
@media print { body { margin: 0; max-width: none; } .hint { display: none; }
               table, img, figure { break-inside: avoid; page-break-inside: avoid; } }
"""


def title() -> str:
    return _("Residents' input: report and recommendations for the council")


def file_stem() -> str:
    return _("report-for-council")


def e(value: object) -> str:
    """Escaped for HTML, without emoji (an official document prints none: they come out as boxes)."""
    return html.escape(strip_emoji(str(value)), quote=True)


def css_string(text: str) -> str:
    """A CSS string literal that is safe inside <style> (no quote, backslash or tag can end it)."""
    out = "".join(f"\\{ord(ch):x} " if ch in "\\\"'<>&\n\r" else ch for ch in strip_emoji(text))
    return f'"{out}"'


def _table(header: list[str], rows: list[list[str]], numeric: frozenset[int] | set[int] = frozenset()) -> str:
    head = "".join(f'<th class="n">{e(h)}</th>' if i in numeric else f"<th>{e(h)}</th>" for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="n">{e(c)}</td>' if i in numeric else f"<td>{e(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _keep(*parts: str) -> str:
    """A heading and what it introduces, kept on one page."""
    return '<section class="keep">' + "".join(parts) + "</section>"


def _h(level: int, text: str) -> str:
    return f"<h{level}>{e(text)}</h{level}>"


def _h2(text: str) -> str:
    return _h(2, text)


def _p(text: str, css: str = "") -> str:
    return f'<p class="{css}">{e(text)}</p>' if css else f"<p>{e(text)}</p>"


def _figures(lines: list[str]) -> str:
    """The key figures as a real hierarchy: a headline figure, and under it its details (the lines
    /stats indents: by district, by language, the median times)."""
    items: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith(" ") and items:
            items[-1][1].append(line.strip())
        else:
            items.append((line.strip(), []))
    out = []
    for head, details in items:
        sub = ("<ul>" + "".join(f"<li>{e(d)}</li>" for d in details) + "</ul>") if details else ""
        out.append(f"<li>{e(head)}{sub}</li>")
    return '<ul class="figures">' + "".join(out) + "</ul>"


def _chart(title_: str, bars: list[tuple[str, int]], locale: str, subtitle: str | None = None) -> str:
    """A bar chart with its figures written under it, so the picture is never their only place."""
    png = charts.bar_chart(title_, bars, subtitle=subtitle)
    figures = " · ".join(f"{name}: {fmt_number(value, locale)}" for name, value in bars)
    return (f'<figure class="keep"><img src="data:image/png;base64,{base64.b64encode(png).decode()}" '
            f'alt="{e(title_)}"/><figcaption class="meta">{e(figures)}</figcaption></figure>')


def money(amount: int | None, community: Community, locale: str) -> str:
    """'25 000 ₴' / '2 500 €': the community's currency (its file's ``currency``); '—' if none."""
    if not amount:
        return "—"
    symbol = get_currency_symbol(community.currency, locale=locale) if community.currency else ""
    return f"{fmt_number(amount, locale)} {symbol}".strip()


def prepared_at(now: datetime, locale: str, tz: ZoneInfo) -> str:
    """The day and the time to the minute: no seconds in a document."""
    return fmt_moment(now, locale, tz)


def _recommendations(items: Sequence[CouncilItem], community: Community, locale: str, tz: ZoneInfo) -> str:
    """Each recommendation with its evidence (figures when attached and now), who stands behind
    it, and what the council answered and what was done: also the follow-up of earlier ones."""
    if not items:
        return '<section id="recommendations"></section>'
    from handlers.recommendations import texts as rec_texts  # (it imports the polls' texts, as this does)

    def plain(text: str) -> str:  # the bot's lines are already HTML-escaped for Telegram
        return html.unescape(text)

    n = (lambda v: fmt_number(v, locale))
    parts = [_h2(_("Recommendations to the council")), _p(ngettext(
        "{count} recommendation of the network, with the evidence residents gave for it and what became of it.",
        "{count} recommendations of the network, with the evidence residents gave for them and what became of them.",
        len(items)).format(count=n(len(items))))]
    for item in items:
        rec = item.rec
        rows = [[_("Addressed to"), rec_texts.body_name(community, rec.body, locale)],
                [_("District"), rec_texts.district_name(community, rec.district, locale)],
                [_("Status"), rec_texts.status_label(rec.status)],
                [_("The problem"), rec.problem], [_("What is proposed"), rec.proposal],
                [_("Organisations standing behind it"),
                 ", ".join(rec_texts.pick(o.name, locale, "en") for o in item.orgs) or "—"],
                [_("Residents supporting it"), n(rec.supporters)]]
        if rec.submitted_at is not None:
            rows.append([_("Submitted"), _("{day}, to {body} {how}").format(
                day=rec_texts.day_of(rec.submitted_at, locale, tz),
                body=rec_texts.body_name(community, rec.submitted_to, locale),
                how=_(rec_texts.HOW_NAMES.get(rec.submitted_how or "", "by letter")))])
        if rec.answer is not None and rec.answered_at is not None:
            rows.append([_("The council's answer"), _("{day}: {answer}").format(
                day=rec_texts.day_of(rec.answered_at, locale, tz), answer=_(rec_texts.ANSWER_NAMES[rec.answer]))
                + (f" — {rec.answer_text}" if rec.answer_text else "")])
        if rec.status in ("in_progress", "implemented"):
            rows.append([_("Progress"), f"{n(rec.progress)} %"])
        if rec.reason:
            rows.append([_("Why it was not implemented"), rec.reason])
        body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
        parts.append(_keep(_h(3, f"{rec.id}. {rec_texts.pick(rec.title, locale, rec.default_locale)}"),
                           _p(rec_texts.pick(rec.text, locale, rec.default_locale)),
                           f"<table><tbody>{body}</tbody></table>"))
        if item.evidence:
            lines = []
            for evidence, now_figures in item.evidence:
                name = plain(rec_texts.evidence_name(evidence.kind, evidence.snapshot, evidence.params, evidence.ref_id,
                                                     community, locale, tz))
                figures = "".join(f"<li>{e(plain(line))}</li>" for line in rec_texts.evidence_lines(
                    evidence.kind, evidence.snapshot, now_figures, community, locale))
                lines.append(f"<li>{e(name.strip())}<ul>{figures}</ul></li>")
            parts.append(_keep(_h(4, _("Evidence (figures when attached, and now where they changed)")),
                               '<ul class="evidence">' + "".join(lines) + "</ul>"))
        milestones = [s for s in item.steps if s.new_status not in ("draft",)]
        if milestones:
            parts.append(_keep(_h(4, _("Steps")), _table(
                [_("Day"), _("Step"), _("Note")],
                [[rec_texts.day_of(s.created_at, locale, tz),
                  rec_texts.status_label(s.new_status)
                  + (f" {s.progress} %" if s.progress is not None and s.new_status == "in_progress" else ""),
                  s.note if s.new_status in ("in_progress", "not_implemented") and s.note else ""]
                 for s in milestones])))
    return '<section id="recommendations">' + "".join(parts) + "</section>"


def render(data: CouncilData, community: Community, locale: str, tz: ZoneInfo, now: datetime,
           recommendations: Sequence[CouncilItem] = ()) -> bytes:
    f, n = data.figures, (lambda v: fmt_number(v, locale))
    place = community.name(locale)
    period = texts.period_line(f.period, locale, tz)
    parts = [
        f'<h1>{e(title())}</h1>',
        f'<p class="meta">{e(place)} · {e(period)}</p>',
        _p(_("Prepared on {day} with Hromada from what residents reported, answered and proposed.").format(
            day=prepared_at(now, locale, tz)), "meta"),
        _p(_("To make a PDF, open this file in a browser and print it to PDF (A4): page numbers and the period "
             "are in the footer."), "hint"),
        _h2(_("Key figures")),
        _figures(texts.figure_lines(f, community, locale)),
        _recommendations(recommendations, community, locale, tz),
    ]

    parts.append(_h2(_("Top problems residents reported")))
    if data.hotspots:
        parts.append(_keep("<p>" + e(ngettext(
            "{count} report received in the period; {open} of them still open.",
            "{count} reports received in the period; {open} of them still open.", f.reports_received).format(
            count=n(f.reports_received), open=n(data.open_reports))) + "</p>",
            _table([_("Problem"), _("District"), _("Reports")],
                   [[texts.category_name(community, c, locale), texts.resident_district(community, d, locale),
                     n(k)] for c, d, k in data.hotspots], {2})))
        bars = [(texts.category_name(community, c, locale), v) for c, v in f.reports_by_category[:10]]
        parts.append(_chart(_("Reports by category"), bars, locale, period))
    else:
        parts.append(_p(_('No reports in this period.')))

    parts.append(_h2(_("What residents said in polls and surveys")))
    if not data.polls:
        parts.append(_p(_('No polls in this period.')))
    for result in data.polls:
        default = next(iter(result.title), "en") if result.title else "en"
        first = result.questions[0].text if result.questions else None
        name = (pick(result.title, locale, default) if result.title else
                (pick(first, locale, next(iter(first), "en")) if first else "")) or _("Poll #{number}").format(
            number=result.poll_id)
        if not result.title and first:
            default = next(iter(first), "en")
        head = _h(3, name) + "<p>" + e(ngettext("{count} person took part.", "{count} people took part.",
                                                 result.participants).format(count=n(result.participants))) + "</p>"
        for i, q in enumerate(result.questions, 1):
            question = f"{i}. {pick(q.text, locale, default)}"
            if q.kind == "text":
                parts.append(_keep(head, _h(4, question), "<p>" + e(ngettext(
                    "{count} written answer; the answers are in the bot, not in this document, to protect privacy.",
                    "{count} written answers; the answers are in the bot, not in this document, to protect privacy.",
                    q.answered).format(count=n(q.answered))) + "</p>"))
                head = ""
                continue
            whole = q.answered if q.kind == "multi" else sum(q.counts)
            labels = question_labels(q, locale, default)
            if q.kind == "scale":
                labels = chart_texts.scale_labels(labels)
            rows = [[label, n(c), pct(c, whole, locale)] for label, c in zip(labels, q.counts, strict=True)]
            average = ""
            if q.mean is not None:
                average = "<p>" + e(ngettext(
                    "Average: {mean} of 5 ({count} rating)", "Average: {mean} of 5 ({count} ratings)",
                    sum(q.counts)).format(mean=n(round(q.mean, 1)), count=n(sum(q.counts)))) + "</p>"
            parts.append(_keep(head, _h(4, question), _table([_("Answer"), _("People"), _("Share")], rows, {1, 2}),
                               average))
            head = ""

    parts.append(_h2(_("The most supported proposals")))
    if data.proposals:
        parts.append(_table(
            ["#", _("Proposal"), _("District"), _("Status"), _("Supporters"), _("Budget")],
            [[str(p.id), p.title, district_name(community, p.district, locale), status_name(p.status), n(p.supporters),
              money(p.budget, community, locale)] for p in data.proposals], {0, 4, 5}))
    else:
        parts.append(_p(_('No published proposals yet.')))

    parts.append(_h2(_("Events held")))
    if data.events:
        rows = []
        for event, tally in data.events:
            score = (ngettext("{score} of 5 ({count} rating)", "{score} of 5 ({count} ratings)", tally.feedback).format(
                score=n(round(tally.score, 1)), count=n(tally.feedback)) if tally.score is not None else "—")
            rows.append([fmt_day(event.starts_at, locale, tz), pick(event.title, locale, event.default_locale),
                         _(EVENT_KINDS[event.kind]) if event.kind in EVENT_KINDS else event.kind,
                         n(tally.going), n(tally.attended), score])
        parts.append(_table([_("Day"), _("Event"), _("Kind"), _("Signed up"), _("Came"), _("Feedback")], rows, {3, 4}))
    else:
        parts.append(_p(_('No events held in this period.')))

    parts.append("<footer>" + _p(_("No personal data is in this report: it counts people, it does not name them.")) + "</footer>")
    footer = css_string(f"{place} · {period}")
    document = (
        f'<!DOCTYPE html>\n<html lang="{e(locale)}" xmlns="http://www.w3.org/1999/xhtml">\n<head>\n'
        f'<meta charset="utf-8"/>\n<meta name="viewport" content="width=device-width, initial-scale=1"/>\n'
        f"<title>{e(title())} · {e(place)}</title>\n<style>{STYLE.replace('var(--footer)', footer)}</style>\n"
        "</head>\n<body>\n" + "\n".join(parts) + "\n</body>\n</html>\n"
    )
    return document.encode("utf-8")
