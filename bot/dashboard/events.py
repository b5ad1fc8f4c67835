"""The dashboard's events (issue 23): the list of coming and recent events, a page per event
(sign-ups with the waitlist and places left, attendance, feedback scores as a chart, the
comments as the chat lists them, the questions for the speakers), and a printable A4 poster
with the check-in QR code (the same deep link as the chat's "📷 Check-in code").

The figures come from ``bot.services.events`` (``upcoming``, ``tallies``, ``places_left``,
``score_counts``, ``comments``), the words from ``handlers.events.texts``. Representatives see
their own organisations' events, as in the chat's /events.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from markupsafe import Markup

from bot.dashboard.web import forbidden, in_locale, item_id, page_who
from bot.i18n import fmt_number, shorten
from bot.qr import qr_png
from bot.services import events as events_service
from bot.services import orgs as orgs_service

if TYPE_CHECKING:
    from bot.app import App

EVENT_ROLES = frozenset({"organizer", "representative", "admin"})  # as the chat's /events
QR_SCALE = 16  # pixels per module of the served PNG: sharp when printed across half an A4 page


async def events_page(request: web.Request) -> web.Response:
    from aiogram.utils.i18n import gettext as _

    from bot.dashboard.web import _app, _render
    from handlers.events import texts
    from handlers.polls.texts import pick

    app = _app(request)
    async with app.sessionmaker() as db:
        who = await page_who(request, db, EVENT_ROLES)
        if isinstance(who, web.Response):
            return who
        now = app.delivery.now()
        events = await events_service.upcoming(db, now, orgs=await orgs_service.scope_of(db, who.user, who.roles))
        tallies = await events_service.tallies(db, [e.id for e in events])
    locale, tz = who.locale, app.settings.tz
    with in_locale(app, locale):
        rows = []
        for event in events:
            data = events_service.event_json(event)
            rows.append({
                "id": event.id, "title": shorten(pick(event.title, locale, event.default_locale), 120),
                "when": texts.when(data, locale, tz), "cancelled": event.status == "cancelled",
                "over": event.ends_at <= now, "counts": texts.counts(tallies[event.id], data),
            })
        empty = _("No events yet. Create one with /newevent.")
        cancelled = _("cancelled")
    return _render(request, "events.html", locale, who=who, events=rows, empty=empty, cancelled=cancelled)


async def _event_for(request: web.Request, db: Any) -> tuple[Any, Any] | web.Response:
    """(who, event) when the reader may see it; else the page they get."""
    who = await page_who(request, db, EVENT_ROLES)
    if isinstance(who, web.Response):
        return who
    event = await events_service.get_event(db, item_id(request))
    if event is None:
        raise web.HTTPNotFound()
    if not orgs_service.in_scope(event.org_id, await orgs_service.scope_of(db, who.user, who.roles)):
        return forbidden(request, who)  # another organisation's, as the chat refuses it
    return who, event


def event_view(app: App, event: Any, tally: Any, scores: list[int], comments: list[Any], comment_count: int,
               questions: int, locale: str) -> dict[str, Any]:
    """What an event's page shows (call inside :func:`in_locale`)."""
    from aiogram.utils.i18n import gettext as _
    from aiogram.utils.i18n import ngettext

    from handlers.events import texts
    from handlers.polls.texts import pick

    tz = app.settings.tz
    data = events_service.event_json(event)
    default = event.default_locale
    left = events_service.places_left(event, tally)
    if event.capacity is None:
        places = ""
    elif left:
        places = ngettext("🪑 {count} place left of {capacity}.", "🪑 {count} places left of {capacity}.",
                          left).format(count=fmt_number(left, locale), capacity=fmt_number(event.capacity, locale))
    else:
        places = _("🪑 All places are taken.")
    signups = [(_(texts.ANSWER_NAMES["going"]), tally.going), (_(texts.ANSWER_NAMES["maybe"]), tally.maybe),
               (_(texts.ANSWER_NAMES["waitlist"]), tally.waitlist), (_(texts.ANSWER_NAMES["no"]), tally.no)]
    score_rows = [(f"⭐ {n}", count) for n, count in zip((1, 2, 3, 4, 5), scores, strict=True)]
    shown = []
    for item in comments:
        score = f"⭐ {item.score}/5" if item.score else ""
        if item.text:
            shown.append((score, "«" + shorten(" ".join(item.text.split()), texts.COMMENT_SHOWN) + "»"))
        if item.voice_file_id:
            shown.append((score, _("🎤 a voice note: the chat's “💬 Comments” button sends it to you")))
    return {
        "id": event.id, "title": pick(event.title, locale, default),
        "kind": _(texts.KIND_NAMES.get(event.kind, texts.KIND_NAMES["workshop"])),
        "description": pick(event.description or {}, locale, default),
        "when": texts.when_line(data, locale, tz, zone=True), "when_plain": texts.when(data, locale, tz),
        "place": Markup(texts.place(data)),  # (escaped by texts.place: an address, a link or the map's words)
        "speakers": event.speakers or "", "cancelled": event.status == "cancelled",
        "cancelled_line": _("This event is cancelled."),
        "capacity": (_("Places: {capacity}").format(capacity=fmt_number(event.capacity, locale))
                     if event.capacity else _("Places: {capacity}").format(capacity=_("no limit"))),
        "places": places, "signups": signups, "counts": texts.counts(tally, data),
        "attended": tally.attended, "walkin": tally.walkin,
        "feedback": (_("Feedback: {score} of 5 from {count}").format(
            score=fmt_number(round(tally.score, 1), locale), count=tally.feedback) if tally.feedback else ""),
        "scores": score_rows if tally.feedback else [],
        "comment_count": _("Comments (written or voice notes): {count}").format(count=comment_count),
        "comments": shown, "no_comments": _("No comments yet."),
        "questions": _("Questions for the speakers so far: {count}").format(count=questions),
        "org": pick(event.org.name, locale, default) if event.org_id is not None and event.org is not None else "",
    }


async def event_page(request: web.Request) -> web.Response:
    from bot.dashboard.web import _app, _render

    app = _app(request)
    async with app.sessionmaker() as db:
        found = await _event_for(request, db)
        if isinstance(found, web.Response):
            return found
        who, event = found
        tally = (await events_service.tallies(db, [event.id]))[event.id]
        scores = await events_service.score_counts(db, event.id)
        comments = await events_service.comments(db, event.id)
        comment_count = await events_service.comment_count(db, event.id)
        questions = await events_service.question_count(db, event.id)
        with in_locale(app, who.locale):
            view = event_view(app, event, tally, scores, comments, comment_count, questions, who.locale)
    return _render(request, "event.html", who.locale, who=who, event=view)


async def api_event(request: web.Request) -> web.Response:
    """An event's counts as JSON (what its page shows)."""
    from bot.dashboard.web import _app, identify

    app = _app(request)
    async with app.sessionmaker() as db:
        who = await identify(request, db)
        if who is None:
            return web.json_response({"error": "unauthorized"}, status=401)
        if not who.roles & EVENT_ROLES:
            return web.json_response({"error": "forbidden"}, status=403)
        event = await events_service.get_event(db, item_id(request))
        if event is None:
            return web.json_response({"error": "not found"}, status=404)
        if not orgs_service.in_scope(event.org_id, await orgs_service.scope_of(db, who.user, who.roles)):
            return web.json_response({"error": "forbidden"}, status=403)
        tally = (await events_service.tallies(db, [event.id]))[event.id]
        scores = await events_service.score_counts(db, event.id)
        comment_count = await events_service.comment_count(db, event.id)
        questions = await events_service.question_count(db, event.id)
    return web.json_response({
        "id": event.id, "status": event.status, "capacity": event.capacity,
        "places_left": events_service.places_left(event, tally), "going": tally.going, "maybe": tally.maybe,
        "no": tally.no, "waitlist": tally.waitlist, "walkin": tally.walkin, "attended": tally.attended,
        "feedback": tally.feedback, "score": tally.score, "scores": scores, "comments": comment_count,
        "questions": questions})


async def _checkin_link(app: App, event: Any) -> str:
    me = await app.bot.me()
    return events_service.checkin_link(me.username or "", event)


async def poster_page(request: web.Request) -> web.Response:
    """A printable A4 page: the event's title, time, place and the check-in QR code, large."""
    from aiogram.utils.i18n import gettext as _

    from bot.dashboard.web import _app, _render

    app = _app(request)
    async with app.sessionmaker() as db:
        found = await _event_for(request, db)
        if isinstance(found, web.Response):
            return found
        who, event = found
        link = await _checkin_link(app, event)
        with in_locale(app, who.locale):
            view = event_view(app, event, events_service.Tally(), [0] * 5, [], 0, 0, who.locale)
            caption = _("Show this code at the entrance: residents scan it (or open the link) to check in.\n"
                        "{link}").format(link=link)
    return _render(request, "poster.html", who.locale, who=who, event=view, link=link,
                   caption=caption.split("\n")[0])


async def qr_image(request: web.Request) -> web.Response:
    """The check-in QR code as a PNG (for the poster; only for those who may see the event: the
    code checks people in)."""
    from bot.dashboard.web import _app

    app = _app(request)
    async with app.sessionmaker() as db:
        found = await _event_for(request, db)
        if isinstance(found, web.Response):
            raise web.HTTPForbidden() if found.status == 403 else web.HTTPUnauthorized()
        _who, event = found
        link = await _checkin_link(app, event)
    return web.Response(body=qr_png(link, scale=QR_SCALE), content_type="image/png",
                        headers={"Content-Disposition": f'inline; filename="checkin-{event.id}.png"'})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/events", events_page)
    router.add_get("/events/{id}", event_page)
    router.add_get("/events/{id}/poster", poster_page)
    router.add_get("/events/{id}/qr.png", qr_image)
    router.add_get("/api/events/{id}", api_event)
