"""The recommendations report for the council: one self-contained HTML file (charts inside as
images, styles inside, no scripts) that opens in any browser and prints to PDF from there.
Its markup is well-formed XML too, so other tools can read it. No personal data: counts, poll
results (small groups protected as in the bot) and proposals' titles."""
from __future__ import annotations

import base64
import html
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot import charts
from bot.community import Community
from bot.i18n import fmt_date, fmt_datetime, fmt_number
from bot.services.impact import CouncilData
from handlers.events.texts import KIND_NAMES as EVENT_KINDS
from handlers.polls.texts import pct, pick, question_labels
from handlers.proposals.texts import district_name, status_name
from handlers.stats import texts

STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #2b2b2b; max-width: 60em; margin: 2em auto;
       padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 1.8em;
     border-bottom: 2px solid #2f6fb0; padding-bottom: 0.2em; } h3 { font-size: 1.05em; }
.meta { color: #6b6b6b; } table { border-collapse: collapse; width: 100%; margin: 0.6em 0; }
th, td { border: 1px solid #c8c8c8; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #eef3f9; } td.n { text-align: right; white-space: nowrap; }
img { max-width: 100%; height: auto; } figure { margin: 0.6em 0; } footer { margin-top: 3em; color: #6b6b6b; font-size: 0.9em; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } table, img, figure { break-inside: avoid; } }
"""


def title() -> str:
    return _("Residents' input: report and recommendations for the council")


def file_stem() -> str:
    return _("report-for-council")


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(header: list[str], rows: list[list[str]], numeric: frozenset[int] | set[int] = frozenset()) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="n">{e(c)}</td>' if i in numeric else f"<td>{e(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _h2(text: str) -> str:
    return f"<h2>{e(text)}</h2>"


def _p(text: str, css: str = "") -> str:
    return f'<p class="{css}">{e(text)}</p>' if css else f"<p>{e(text)}</p>"


def _chart(title_: str, bars: list[tuple[str, int]], locale: str) -> str:
    """A bar chart with its figures written under it, so the picture is never their only place."""
    png = charts.bar_chart(title_, bars)
    figures = " · ".join(f"{name}: {fmt_number(value, locale)}" for name, value in bars)
    return (f'<figure><img src="data:image/png;base64,{base64.b64encode(png).decode()}" alt="{e(title_)}"/>'
            f'<figcaption class="meta">{e(figures)}</figcaption></figure>')


def render(data: CouncilData, community: Community, locale: str, tz: ZoneInfo, now: datetime) -> bytes:
    f, n = data.figures, (lambda v: fmt_number(v, locale))
    place = community.name(locale)
    parts = [
        f'<h1>{e(title())}</h1>',
        f'<p class="meta">{e(place)} · {e(texts.period_line(f.period, locale, tz))}</p>',
        _p(_("Prepared on {day} with Hromada from what residents reported, answered and proposed.").format(
            day=fmt_datetime(now, locale, tz, "medium")), "meta"),
        _h2(_("Key figures")),
        "<ul>" + "".join(f"<li>{e(line.strip())}</li>" for line in texts.figure_lines(f, community, locale)) + "</ul>",
    ]

    parts.append(_h2(_("Top problems residents reported")))
    if data.hotspots:
        parts.append("<p>" + e(ngettext(
            "{count} report received in the period; {open} of them still open.",
            "{count} reports received in the period; {open} of them still open.", f.reports_received).format(
            count=n(f.reports_received), open=n(data.open_reports))) + "</p>")
        parts.append(_table([_("Problem"), _("District"), _("Reports")],
                            [[texts.category_name(community, c, locale), texts.resident_district(community, d, locale),
                              n(k)] for c, d, k in data.hotspots], {2}))
        bars = [(texts.category_name(community, c, locale), v) for c, v in f.reports_by_category[:10]]
        parts.append(_chart(_("Reports by category"), bars, locale))
    else:
        parts.append(_p(_('No reports in this period.')))

    parts.append(_h2(_("What residents said in polls and surveys")))
    if not data.polls:
        parts.append(_p(_('No polls in this period.')))
    for result in data.polls:
        default = next(iter(result.title), "en") if result.title else "en"
        name = pick(result.title, locale, default) if result.title else _("Poll #{number}").format(number=result.poll_id)
        parts.append(f"<h3>{e(name)}</h3><p>" + e(ngettext("{count} person took part.", "{count} people took part.",
                                                           result.participants).format(count=n(result.participants))) + "</p>")
        for i, q in enumerate(result.questions, 1):
            question = pick(q.text, locale, default)
            if q.kind == "text":
                parts.append(f"<p><b>{i}. {e(question)}</b> " + e(ngettext(
                    "{count} written answer; the answers are in the bot, not in this document, to protect privacy.",
                    "{count} written answers; the answers are in the bot, not in this document, to protect privacy.",
                    q.answered).format(count=n(q.answered))) + "</p>")
                continue
            whole = q.answered if q.kind == "multi" else sum(q.counts)
            rows = [[label, n(c), pct(c, whole, locale)]
                    for label, c in zip(question_labels(q, locale, default), q.counts, strict=True)]
            parts.append(f"<p><b>{i}. {e(question)}</b></p>" + _table([_("Answer"), _("People"), _("Share")], rows, {1, 2}))
            if q.mean is not None:
                parts.append("<p>" + e(_("Average: {mean} of 5").format(mean=n(round(q.mean, 1)))) + "</p>")

    parts.append(_h2(_("The most supported proposals")))
    if data.proposals:
        parts.append(_table(
            ["#", _("Proposal"), _("District"), _("Status"), _("Supporters"), _("Budget")],
            [[str(p.id), p.title, district_name(community, p.district, locale), status_name(p.status), n(p.supporters),
              n(p.budget) if p.budget else "—"] for p in data.proposals], {0, 4, 5}))
    else:
        parts.append(_p(_('No published proposals yet.')))

    parts.append(_h2(_("Events held")))
    if data.events:
        rows = []
        for event, tally in data.events:
            score = (_("{score} of 5").format(score=n(round(tally.score, 1))) if tally.score is not None else "—")
            rows.append([fmt_date(event.starts_at, locale, tz, "medium"), pick(event.title, locale, event.default_locale),
                         _(EVENT_KINDS[event.kind]) if event.kind in EVENT_KINDS else event.kind,
                         n(tally.going), n(tally.attended), score])
        parts.append(_table([_("Day"), _("Event"), _("Kind"), _("Signed up"), _("Came"), _("Feedback")], rows, {3, 4}))
    else:
        parts.append(_p(_('No events held in this period.')))

    parts.append("<footer>" + _p(_("No personal data is in this report: it counts people, it does not name them.")) + "</footer>")
    document = (
        f'<!DOCTYPE html>\n<html lang="{e(locale)}" xmlns="http://www.w3.org/1999/xhtml">\n<head>\n'
        f'<meta charset="utf-8"/>\n<meta name="viewport" content="width=device-width, initial-scale=1"/>\n'
        f"<title>{e(title())} · {e(place)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(parts) + "\n</body>\n</html>\n"
    )
    return document.encode("utf-8")
