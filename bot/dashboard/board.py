"""The dashboard's boards of proposals and of recommendations to the council: by status, in the
order of their lifecycle, each with its support, who it is for and its steps, as the chat shows
them (the status names, the history lines and the dated steps of handlers/proposals/texts.py and
handlers/recommendations/texts.py). Read only: every change stays with the chat's cards.

Who sees what follows the chat: organizers, moderators (proposals) and admins see every one;
a representative sees their organisations' proposals, and the recommendations they may endorse
now or their organisations endorsed, without the organizers' step list."""
from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiohttp import web
from markupsafe import Markup

from bot.dashboard.web import _app, _render, in_locale, page_who
from bot.i18n import esc, fmt_number
from bot.services import orgs as orgs_service
from bot.services import proposals as proposals_service
from bot.services import recommendations as recommendations_service

PROPOSAL_ROLES = frozenset({"organizer", "moderator", "representative", "admin"})
RECOMMENDATION_ROLES = frozenset({"organizer", "representative", "admin"})
SEES_ALL = frozenset({"organizer", "moderator", "admin"})
# shown folded: the finished ones (they only grow)
FOLDED = {"proposals": ("rejected", "duplicate", "withdrawn"), "recommendations": ("implemented", "not_implemented")}


def _more(count: int, locale: str) -> str:
    """Under a column cut at its first ones: how many more there are."""
    return ngettext("…and {count} more", "…and {count} more", count).format(
        count=fmt_number(count, locale)) if count > 0 else ""


async def proposals_page(request: web.Request) -> web.Response:
    from handlers.proposals import texts

    app = _app(request)
    async with app.sessionmaker() as db:
        who = await page_who(request, db, PROPOSAL_ROLES)
        if isinstance(who, web.Response):
            return who
        org_ids = await orgs_service.scope_of(db, who.user, who.roles, SEES_ALL)
        columns = await proposals_service.board(db, org_ids=org_ids)
        shown = [p for rows, _total in columns.values() for p in rows]
        history = await proposals_service.histories(db, [p.id for p in shown])
        orgs = {o.id: o for o in [await orgs_service.get(db, oid) for oid in {p.org_id for p in shown if p.org_id}]
                if o is not None}
    locale, community, tz = who.locale, app.community, app.settings.tz
    board = []
    with in_locale(app, locale):
        for status, (rows, total) in columns.items():
            cards = []
            for p in rows:
                meta = [texts.district_name(community, p.district, locale), texts.category_name(p.category),
                        ngettext("👍 {count} supporter", "👍 {count} supporters", p.supporters).format(
                            count=fmt_number(p.supporters, locale))]
                if p.org_id in orgs:
                    meta.append(_("From: {who}").format(who=orgs_service.name_of(orgs[p.org_id], locale)))
                notes = []
                if p.reason and p.status in ("rejected", "changes"):
                    notes.append(Markup(_("<b>Moderators:</b> {text}").format(text=esc(p.reason))))
                if p.duplicate_of:
                    notes.append(_("Continues as proposal #{number}.").format(number=p.duplicate_of))
                cards.append({
                    "id": p.id, "title": p.title, "meta": meta, "notes": notes,
                    "progress": texts.progress_bar(p.progress) if p.status in ("in_progress", "realised") else "",
                    # the history lines the chat's detail shows (escaped there), the first step first
                    "steps": [Markup(line.removeprefix("• ")) for line in texts.timeline(history[p.id], locale, tz)],
                })
            board.append({"status": status, "name": texts.status_name(status), "total": total,
                          "shown_total": fmt_number(total, locale), "more": _more(total - len(rows), locale),
                          "cards": cards, "folded": status in FOLDED["proposals"]})
        mine_only = org_ids is not None
    return _render(request, "board.html", locale, who=who, kind="proposals", board=board, mine_only=mine_only)


async def recommendations_page(request: web.Request) -> web.Response:
    from handlers.polls.texts import pick
    from handlers.recommendations import texts

    app = _app(request)
    async with app.sessionmaker() as db:
        who = await page_who(request, db, RECOMMENDATION_ROLES)
        if isinstance(who, web.Response):
            return who
        org_ids = await orgs_service.scope_of(db, who.user, who.roles)
        columns = await recommendations_service.board(db, org_ids=org_ids)
        shown = [r for rows, _total in columns.values() for r in rows]
        steps, endorsing = await recommendations_service.board_details(db, [r.id for r in shown])
    locale, community, tz = who.locale, app.community, app.settings.tz
    organizer = org_ids is None  # the chat's card lists the steps to organizers only
    board = []
    with in_locale(app, locale):
        for status, (rows, total) in columns.items():
            if org_ids is not None and status == "draft":
                continue
            cards = []
            for rec in rows:
                names = [orgs_service.name_of(o, locale) for o in endorsing[rec.id]]
                meta = [
                    Markup(_("To: {body} · {district}").format(
                        body=esc(texts.body_name(community, rec.body, locale)),
                        district=esc(texts.district_name(community, rec.district, locale)))),
                    ngettext("👍 {count} resident supports it", "👍 {count} residents support it",
                             rec.supporters).format(count=fmt_number(rec.supporters, locale)),
                    ngettext("🏢 {count} organisation stands behind it", "🏢 {count} organisations stand behind it",
                             len(names)).format(count=fmt_number(len(names), locale))
                    + (": " + ", ".join(names) if names else ""),
                ]
                lines = []
                if organizer:
                    for step in steps[rec.id]:
                        line = f"{texts.day_of(step.created_at, locale, tz)} — {texts.status_name(step.new_status)}"
                        if step.progress is not None and step.new_status == "in_progress":
                            line += f" {step.progress}%"
                        lines.append(line)
                cards.append({"id": rec.id, "title": pick(rec.title, locale, rec.default_locale), "meta": meta,
                              # the dated steps of the chat's card: opened until, submitted to whom, the answer
                              "notes": [Markup(line) for line in texts.dated(rec, community, locale, tz)],
                              "progress": "", "steps": lines})
            board.append({"status": status, "name": texts.status_name(status), "total": total,
                          "shown_total": fmt_number(total, locale), "more": _more(total - len(rows), locale),
                          "cards": cards, "folded": status in FOLDED["recommendations"]})
    return _render(request, "board.html", locale, who=who, kind="recommendations", board=board,
                   mine_only=org_ids is not None)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/proposals", proposals_page)
    router.add_get("/recommendations", recommendations_page)
