"""The dashboard's Impact page: the /stats figures for a period chosen in a form (the chat's
presets, or the days typed as /stats takes them), their charts, and the files to download: the
/export tables (XLSX in the reader's language, CSV for machines, Open311 JSON) and the council
document (/report_for_council) for the same period. Figures and files come from the same service
and text functions as the chat (bot.services.impact, bot.services.exports, handlers.stats,
handlers.exports)."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from aiogram.utils.i18n import gettext as _
from aiohttp import web
from markupsafe import Markup

from bot.config import SUPPORTED_LOCALES
from bot.dashboard.web import PREFIX, _app, _render, in_locale, page_who
from bot.i18n import LANGUAGE_NAMES, fmt_day, fmt_number
from bot.services import exports as exports_service
from bot.services import impact as impact_service
from bot.services import recommendations as recommendations_service
from bot.services.errors import DomainError

# who sees the figures (/stats: organizers and representatives; admins pass everywhere) and who
# downloads the files (/export and the council document: organizers and admins)
FIGURE_ROLES = frozenset({"organizer", "representative", "admin"})
EXPORT_ROLES = frozenset({"organizer", "admin"})
FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
OPEN311 = ("open311-services", "open311-requests")
DEFAULT = "month"


def asked_period(query: Any) -> tuple[str, str, str, str]:
    """(what parse_period reads, the preset chosen, from, to) from the form's fields: a preset,
    or "custom" with the first and last day (or a month or a year in "from" alone)."""
    chosen = query.get("period", "") or DEFAULT
    first, last = query.get("from", "").strip(), query.get("to", "").strip()
    if chosen != "custom":
        return chosen, chosen, first, last
    return (f"{first} {last}" if first and last else first or last or "?"), chosen, first, last


def _attachment(name: str) -> str:
    """A Content-Disposition naming the file in any language (RFC 6266: an ASCII name and UTF-8 one)."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def _download(content: bytes, name: str, content_type: str) -> web.Response:
    return web.Response(body=content, content_type=content_type, charset="utf-8" if "text" in content_type
                        or "json" in content_type else None,
                        headers={"Content-Disposition": _attachment(name), "Cache-Control": "no-store"})


async def _period(db: Any, app: Any, text: str) -> impact_service.Period:
    first = await impact_service.first_data(db)
    return impact_service.parse_period(text, app.delivery.now(), app.settings.tz, first)


async def impact_page(request: web.Request) -> web.Response:
    from handlers.exports import TABLES
    from handlers.stats import texts

    app = _app(request)
    text, chosen, first, last = asked_period(request.query)
    locale = ""
    async with app.sessionmaker() as db:
        who = await page_who(request, db, FIGURE_ROLES)
        if isinstance(who, web.Response):
            return who
        locale, community, tz = who.locale, app.community, app.settings.tz
        error, figures, period = None, None, None
        try:
            period = await _period(db, app, text)
        except DomainError as exc:
            with in_locale(app, locale):
                error = Markup(texts.period_error(exc))  # our catalogs' text (its <code> examples)
        if period is not None:
            figures = await impact_service.figures(db, period, app.delivery.now())
    context: dict[str, Any] = {"figure_lines": [], "charts": [], "period_text": "", "clamped": "", "quiet": False}
    with in_locale(app, locale):
        presets = [(code, _(name)) for code, name in texts.PRESET_NAMES.items()]
        if figures is not None and period is not None:
            n = lambda v: fmt_number(v, locale)  # noqa: E731
            context["period_text"] = texts.period_line(period, locale, tz)
            if period.clamped:
                context["clamped"] = Markup(_(
                    "<i>The platform's data starts on {day}: the figures are from then.</i>")).format(
                    day=fmt_day(period.start, locale, tz))
            context["quiet"] = figures.quiet
            if figures.quiet:
                context["figure_lines"] = texts.figures(figures, community, locale, tz).split("\n")[-2:]
            else:
                context["figure_lines"] = texts.figure_lines(figures, community, locale)
                titles = texts.chart_titles()  # the charts /stats sends, as tables charts.js draws
                context["charts"] = [(titles[name], [(label, v, n(v)) for label, v in bars])
                                     for name, bars in texts.chart_bars(figures, community, locale)]
        tables = [(what, _(label)) for what, label in TABLES.items()]
        empty = (texts.no_data_for_report(context["period_text"]) if request.query.get("empty") == "1"
                 and context["period_text"] else "")
    # the links keep the period the page shows (its code: the same days whenever the file is asked)
    code = period.code if period is not None else ""
    return _render(
        request, "impact.html", locale, who=who, presets=presets, chosen=chosen, first=first, last=last,
        error=error, period_code=code, downloads=bool(who.roles & EXPORT_ROLES) and period is not None,
        tables=tables, formats=tuple(FORMATS), council_languages=[(c, LANGUAGE_NAMES.get(c, c))
                                                                   for c in SUPPORTED_LOCALES],
        empty=empty, admin="admin" in who.roles, **context)


async def export_download(request: web.Request) -> web.StreamResponse:
    """One /export file, as the chat sends it, in the reader's language (XLSX) or for machines."""
    from handlers.exports import texts

    app = _app(request)
    what, fmt = request.match_info["what"], request.match_info["fmt"]
    if not (what in exports_service.TABLE_KINDS and fmt in FORMATS or what in OPEN311 and fmt == "json"):
        raise web.HTTPNotFound()
    async with app.sessionmaker() as db:
        who = await page_who(request, db, EXPORT_ROLES)
        if isinstance(who, web.Response):
            return who
        locale, tz, community, now = who.locale, app.settings.tz, app.community, app.delivery.now()
        day = f"{now.astimezone(tz):%Y-%m-%d}"
        with in_locale(app, locale):
            if what in OPEN311:
                if what == "open311-services":
                    data: Any = exports_service.open311_services(community, locale, texts.open311_service_description)
                else:
                    data = await exports_service.open311_requests(db, community, tz, locale, texts.status_notes)
                return _download(json.dumps(data, ensure_ascii=False, indent=1).encode(),
                                 f"{what}-{day}.json", "application/json")
            table = await exports_service.table(
                db, what, community, tz, locale, personal="admin" in who.roles, now=now,
                poll_min_group=app.settings.poll_min_group, discussion_min_group=app.settings.discussion_min_group)
            if fmt == "csv":
                content = exports_service.to_csv(table, tz)
            else:
                content = exports_service.to_xlsx(table, texts.sheet(table, community, locale), tz)
            name = texts.file_name(table, day, fmt)
    return _download(content, name, FORMATS[fmt])


async def council_download(request: web.Request) -> web.StreamResponse:
    """The council document (/report_for_council) for the page's period, in the language asked."""
    from handlers.stats import council, texts

    app = _app(request)
    lang = request.query.get("lang", "")
    async with app.sessionmaker() as db:
        who = await page_who(request, db, EXPORT_ROLES)
        if isinstance(who, web.Response):
            return who
        try:
            period = await _period(db, app, request.query.get("p", ""))
        except DomainError:
            raise web.HTTPSeeOther(PREFIX + "impact?" + urlencode(
                {"period": "custom", "from": request.query.get("p", "")})) from None
        if lang not in SUPPORTED_LOCALES:
            lang = who.locale
        now, tz, settings = app.delivery.now(), app.settings.tz, app.settings
        data = await impact_service.council(db, period, now, settings.poll_min_group)
        recommendations = await recommendations_service.for_council(
            db, period.start, period.end, settings.poll_min_group, settings.discussion_min_group)
    if data.figures.quiet and not recommendations:
        raise web.HTTPSeeOther(PREFIX + "impact?" + urlencode({"period": "custom", "from": period.code,
                                                               "empty": "1"}))
    with in_locale(app, lang):
        document = council.render(data, app.community, lang, tz, now, recommendations)
        name = (f"{council.file_stem()}-{period.start.astimezone(tz):%Y-%m-%d}-"
                f"{texts.last_moment(period).astimezone(tz):%Y-%m-%d}.html")
    return _download(document, name, "text/html")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/impact", impact_page)
    router.add_get("/impact/export/{what}.{fmt}", export_download)
    router.add_get("/impact/council", council_download)

