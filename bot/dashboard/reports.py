"""The dashboard's reports queue (issue 23, "Reports"): the queue with its filters, the group card's
actions, the report's photos through signed expiring links, and a map of the listed reports.

No logic of its own: every action goes through the code path of the group card's buttons
(``handlers.moderation.apply_action``; the card's reply, ``reply_to_reporter``; a representative's
button, ``handlers.moderation.passon.representative_action``), so the card in the group is redrawn
and the audit trail records who did it. Representatives (role ``representative``) see and act on
only the reports passed on to their organisations, as on their cards in the chat.

A photo link is ``/app/photo/<report>/<n>?exp=<unix time>&sig=<HMAC-SHA256>`` signed with the app's
secret for PHOTO_MINUTES; the server asks Telegram for the file (getFile) and streams it, so the
bot token never appears in a page or an address. The link also needs the viewer's session (or
Mini App header) and their right to see that report.
"""
from __future__ import annotations

import hashlib
import hmac
import mimetypes
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import fmt_moment
from bot.services import dashboard as dashboard_service
from bot.services import orgs as orgs_service
from bot.services import reports as reports_service
from bot.services.errors import DomainError
from bot.services.text import as_id
from storage.models import Report

if TYPE_CHECKING:
    from bot.dashboard.web import Who

REPRESENTATIVE = orgs_service.REPRESENTATIVE
MOD_ROLES = dashboard_service.QUEUE_ROLES  # the whole queue and every action of the card
REPORT_ROLES = MOD_ROLES | {REPRESENTATIVE}  # who may open the section (representatives: their part)
# the card's actions the queue offers a moderator (the form's "action"), and a representative's
STATUS_ACTIONS = ("accept", "progress", "resolve")
TYPED_ACTIONS = ("reject", "duplicate", "route", "reply")
MOD_ACTIONS = STATUS_ACTIONS + TYPED_ACTIONS
REP_ACTIONS = ("progress", "resolve", "back")
AGES = reports_service.AGES
PHOTO_MINUTES = 5
# bad input (the person corrects it) is 400; the report changed meanwhile is 409
INPUT_ERRORS = ("report_empty", "report_too_long", "report_number", "report_duplicate_self", "org_missing",
                "report_missing", "reporter_unreachable")
NOTICE_ERRORS = ("report_final", "report_changed", "report_not_allowed", "report_missing", "report_empty",
                 "report_too_long", "report_number", "report_duplicate_self", "org_missing", "report_not_routed",
                 "reporter_unreachable")


# -- who sees what ---------------------------------------------------------------------------------


async def scope(db: AsyncSession, who: Who) -> set[int] | None:
    """None: the whole queue (moderators, organizers, admins); else the organisations whose
    reports this representative sees (those passed on to them)."""
    return await orgs_service.scope_of(db, who.user, who.roles, MOD_ROLES)


def may_see(report: Report, orgs: set[int] | None) -> bool:
    return orgs_service.in_scope(report.routed_org_id, orgs)


# -- photo links -----------------------------------------------------------------------------------


def _photo_key(app: Any) -> bytes:
    return f"hromada-dashboard-photo:{app.settings.secret_key or ''}:{app.settings.bot_token or ''}".encode()


def photo_signature(app: Any, report_id: int, n: int, exp: int) -> str:
    return hmac.new(_photo_key(app), f"{report_id}:{n}:{exp}".encode(), hashlib.sha256).hexdigest()


def photo_link(app: Any, report_id: int, n: int, now: float | None = None) -> str:
    exp = int((now if now is not None else time.time()) + PHOTO_MINUTES * 60)
    return f"/app/photo/{report_id}/{n}?" + urlencode({"exp": exp, "sig": photo_signature(app, report_id, n, exp)})


def photo_link_ok(app: Any, report_id: int, n: int, exp: str, sig: str, now: float | None = None) -> bool:
    try:
        until = int(exp)
    except ValueError:
        return False
    if until < (now if now is not None else time.time()) or until > time.time() + PHOTO_MINUTES * 60 + 60:
        return False
    return hmac.compare_digest(photo_signature(app, report_id, n, until).encode(), (sig or "").encode())


# -- filters ---------------------------------------------------------------------------------------


def filters_of(request: web.Request) -> dict[str, Any]:
    """The queue's filters from the address (anything unknown is ignored)."""
    q = request.query
    found: dict[str, Any] = {key: (q.get(key) or None) for key in ("status", "category", "district")}
    age = as_id(q.get("age"))
    found["older_than_days"] = age if age in AGES else None
    found["org_id"] = as_id(q.get("org"))
    return found


def report_json(app: Any, report: Report, photo_count: int = 0) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"id": report.id, "status": report.status, "category": report.category, "district": report.district,
            "description": report.description, "address": report.address, "latitude": report.latitude,
            "longitude": report.longitude, "routed_to": report.routed_to, "routed_org_id": report.routed_org_id,
            "reason": report.reason, "duplicate_of": report.duplicate_of, "created_at": when(report.created_at),
            "updated_at": when(report.updated_at),
            "photos": [photo_link(app, report.id, n) for n in range(photo_count)]}


# -- the JSON API ----------------------------------------------------------------------------------


async def api_reports(request: web.Request) -> web.Response:
    from bot.dashboard.web import _app, identify

    app = _app(request)
    async with app.sessionmaker() as db:
        who = await identify(request, db)
        if who is None:
            return web.json_response({"error": "unauthorized"}, status=401)
        if not who.roles & REPORT_ROLES:
            return web.json_response({"error": "forbidden"}, status=403)
        orgs = await scope(db, who)
        reports = await reports_service.queue(db, **filters_of(request), orgs=orgs)
        counts = await reports_service.photo_counts(db, [r.id for r in reports])
    return web.json_response({"reports": [report_json(app, r, counts[r.id]) for r in reports]})


# -- the page --------------------------------------------------------------------------------------


async def reports_page(request: web.Request) -> web.Response:
    from aiogram.utils.i18n import gettext as _

    from bot.dashboard.web import _app, _render, csrf_of, in_locale, page_who
    from handlers.reports import texts

    app = _app(request)
    async with app.sessionmaker() as db:
        who = await page_who(request, db, REPORT_ROLES)
        if isinstance(who, web.Response):
            return who
        orgs = await scope(db, who)
        filters = filters_of(request)
        reports = await reports_service.queue(db, **filters, orgs=orgs)
        photos = await reports_service.photo_counts(db, [r.id for r in reports])
        listed = (await orgs_service.listing(db, 0, 100))[0]
        routed_name = None
        routed = as_id(request.query.get("n")) if request.query.get("code") == "routed" else None
        if routed is not None:
            done = await reports_service.get(db, routed)
            routed_name = done.routed_to if done is not None and may_see(done, orgs) else None
    community, locale = app.community, who.locale
    with in_locale(app, locale):
        statuses = [(code, texts.status_name(code)) for code in reports_service.STATUSES]
        names = {r.id: (texts.status_name(r.status), texts.category_name(community, r.category, locale),
                        community.district_name(r.district, locale) if r.district else "") for r in reports}
        reasons = [(code, _(msgid)) for code, msgid in texts.REJECT_REASONS.items()]
        reason_names = {r.id: _reason(r.reason, texts) for r in reports if r.reason}
        notice = notice_text(request.query, routed_name)
        no_orgs = texts.no_organisations()
    organisations = [(o.id, orgs_service.name_of(o, locale)) for o in listed]
    if orgs is not None:  # a representative filters by their own organisations only
        organisations = [(i, name) for i, name in organisations if i in orgs]
    from handlers.moderation import REPLY_MAX

    return _render(
        request, "reports.html", locale, who=who, reports=reports, names=names, filters=filters, statuses=statuses,
        categories=[(c.code, c.name(locale)) for c in community.categories],
        districts=[(d.code, d.name(locale)) for d in community.districts], ages=AGES,
        organisations=organisations, moderating=orgs is None, starts=reports_service.ACTIONS,
        offered=STATUS_ACTIONS, csrf=csrf_of(request, who), notice=notice, reasons=reasons,
        reason_names=reason_names, no_orgs=no_orgs, final=reports_service.FINAL,
        photo_links={r.id: [photo_link(app, r.id, n) for n in range(photos[r.id])] for r in reports},
        note_max=reports_service.NOTE_MAX, reply_max=REPLY_MAX,
        mapped=any(r.latitude is not None and r.longitude is not None for r in reports),
        fmt_time=lambda value: fmt_moment(value, locale, app.settings.tz),
    )


def _reason(reason: str, texts: Any) -> str:
    """A reject reason as the card shows it (a code's words, or the moderator's text, unescaped:
    the template escapes it)."""
    from aiogram.utils.i18n import gettext as _

    return _(texts.REJECT_REASONS[reason]) if reason in texts.REJECT_REASONS else reason


def notice_text(query: Any, routed_name: str | None = None) -> tuple[str, str] | None:
    """The line a page shows after an action (from codes in its address: nobody's text but an
    organisation's name, read from the report)."""
    from aiogram.utils.i18n import gettext as _

    from handlers.reports import texts

    kind, code = query.get("msg", ""), query.get("code", "")
    try:
        number = int(query.get("n", ""))
    except ValueError:
        return None
    if kind == "done" and code in reports_service.STATUSES:
        return "done", _("Report #{number}: {status}").format(number=number, status=texts.status_name(code))
    if kind == "done" and code == "routed":
        return "done", _("Report #{number} is passed on to {organisation}.").format(
            number=number, organisation=routed_name or "—")
    if kind == "done" and code == "replied":
        return "done", _("Report #{number}: your message was sent to the reporter.").format(number=number)
    if kind == "done" and code == "given_back":
        return "done", _("Report #{number} is given back to the moderators.").format(number=number)
    status = query.get("st", "")
    if code == "report_final" and status not in reports_service.STATUSES:
        code = "report_changed"
    if kind != "error" or code not in NOTICE_ERRORS:
        return None
    if code == "reporter_unreachable":
        return "error", _("The reporter can no longer be reached.")
    params: dict[str, Any] = {"number": (as_id(status) or number) if code == "report_missing" else number,
                              "status": status}
    if code == "report_too_long":
        limit, _sep, length = status.partition("/")
        params = {"max": limit, "length": length}
    return "error", texts.error_text(DomainError(code, **params))


# -- an action -------------------------------------------------------------------------------------


async def report_action(request: web.Request) -> web.StreamResponse:
    """A card's action from the queue, through the card's own code path (see the module's docstring)."""
    from bot.dashboard.web import PREFIX, _app, _check_csrf, identify, in_locale
    from bot.services.reports import Actor
    from handlers.moderation import REPLY_MAX, apply_action, reply_to_reporter
    from handlers.moderation.cards import post_under_card
    from handlers.moderation.passon import representative_action
    from handlers.reports import texts

    app = _app(request)
    form = await request.post()
    report_id = as_id(request.match_info["id"])
    if report_id is None:
        raise web.HTTPNotFound()
    action, expected = str(form.get("action", "")), str(form.get("status", ""))
    back = str(form.get("back", "")) or PREFIX + "reports"
    if not back.startswith(PREFIX + "reports") or "\\" in back:
        back = PREFIX + "reports"
    outcome, code, status = "done", "", expected
    message: tuple[str, str] | None = None
    async with app.sessionmaker() as db:
        who = await identify(request, db)
        if who is None:
            raise web.HTTPUnauthorized(text="Sign in with /dashboard in the bot's chat")
        _check_csrf(request, who, str(form.get("csrf", "")))
        if not who.roles & REPORT_ROLES or who.user is None:
            raise web.HTTPForbidden(text="Only moderators, organizers and representatives can do this")
        orgs = await scope(db, who)
        report = await reports_service.get(db, report_id)
        if orgs is not None and (report is None or not may_see(report, orgs)):
            raise web.HTTPForbidden(text="This report is not passed on to your organisation")
        if action not in (MOD_ACTIONS if orgs is None else REP_ACTIONS):
            raise web.HTTPBadRequest(text="unknown action")
        actor = Actor(who.user.id, who.telegram_id, who.user.display_name)
        try:
            with app.i18n.context():  # (the card is written in the moderators' group's language)
                if report is None:
                    raise DomainError("report_missing", number=report_id)
                if orgs is not None:
                    assert report.routed_org_id is not None
                    done = await representative_action(
                        app.bot, db, report_id, report.routed_org_id, action, expected, who.user, app.settings,
                        app.community, app.i18n, app.delivery)
                    code, status = ("given_back" if action == "back" else done.status), done.status
                elif action == "reply":
                    text = str(form.get("text", "")).strip()
                    if not text:
                        raise DomainError("report_empty")
                    if len(text) > REPLY_MAX:
                        raise DomainError("report_too_long", max=REPLY_MAX, length=len(text))
                    with app.i18n.use_locale(app.settings.moderators_chat_locale):
                        sent = await reply_to_reporter(app.bot, db, report, actor, text, None, app.i18n)
                        under = texts.answered_from_dashboard(report.id, actor.name or "", text, REPLY_MAX)
                    if not sent:
                        raise DomainError("reporter_unreachable")
                    await post_under_card(app.bot, db, report, under)  # the group sees it, as a reply there
                    await db.commit()
                    code = "replied"
                else:
                    detail = _detail(action, form)
                    await apply_action(app.bot, db, report_id, action, expected, detail, actor, app.settings,
                                       app.community, app.i18n, app.delivery, app.sessionmaker)
                    code = "routed" if action == "route" else (reports_service.ACTIONS[action][1] or expected)
                    status = code if code in reports_service.STATUSES else expected
        except DomainError as exc:
            await db.rollback()
            fresh = await reports_service.get(db, report_id)
            outcome, code = "error", exc.code
            status = fresh.status if fresh else ""
            if exc.code == "report_missing" and exc.params.get("number") != report_id:
                status = str(exc.params.get("number"))  # duplicate of an unknown report: its number
            elif exc.code == "report_too_long":
                status = f"{exc.params['max']}/{exc.params['length']}"
            with in_locale(app, who.locale):
                message = notice_text({"msg": "error", "code": code, "n": str(report_id), "st": status})
    if request.headers.get("Authorization"):
        if outcome == "done":
            return web.json_response({"ok": True, "code": code, "status": status})
        return web.json_response({"ok": False, "code": code, "status": status,
                                  "message": message[1] if message else ""},
                                 status=400 if code in INPUT_ERRORS else 409)
    separator = "&" if "?" in back else "?"
    raise web.HTTPSeeOther(back + separator + urlencode({"msg": outcome, "n": report_id, "code": code,
                                                         "st": status}) + f"#report-{report_id}")


def _detail(action: str, form: Any) -> str | None:
    """What a typed action needs, as the card's buttons and typed answers give it to apply_action."""
    if action == "reject":
        reason = str(form.get("reason", ""))
        if reason in _reason_codes():
            return reason
        return str(form.get("text", ""))  # another reason, typed (checked by the service: empty, too long)
    if action == "duplicate":
        return str(form.get("of", ""))
    if action == "route":
        return str(form.get("org", ""))
    return None


def _reason_codes() -> tuple[str, ...]:
    from handlers.reports import texts

    return tuple(texts.REJECT_REASONS)


# -- photos ----------------------------------------------------------------------------------------


async def photo(request: web.Request) -> web.StreamResponse:
    """A report's n-th photo through a signed, expiring link, fetched from Telegram and streamed."""
    from aiogram.exceptions import TelegramAPIError

    from bot.dashboard.web import _app, identify

    app = _app(request)
    report_id, index = as_id(request.match_info["report"]), request.match_info["n"]
    if report_id is None or not (index.isascii() and index.isdigit() and len(index) <= 2):
        raise web.HTTPNotFound()
    n = int(index)
    if not photo_link_ok(app, report_id, n, request.query.get("exp", ""), request.query.get("sig", "")):
        raise web.HTTPForbidden(text="This photo link is wrong or expired: open the queue again")
    async with app.sessionmaker() as db:
        who = await identify(request, db)
        if who is None:
            raise web.HTTPUnauthorized(text="Sign in with /dashboard in the bot's chat")
        if not who.roles & REPORT_ROLES:
            raise web.HTTPForbidden()
        orgs = await scope(db, who)
        report = await reports_service.get(db, report_id)
        if report is None or not may_see(report, orgs):
            raise web.HTTPForbidden()
        file_ids = await reports_service.photos(db, report_id)
    if not 0 <= n < len(file_ids):
        raise web.HTTPNotFound()
    bot = app.bot
    try:
        file = await bot.get_file(file_ids[n])
    except TelegramAPIError:
        raise web.HTTPNotFound() from None
    if not file.file_path:
        raise web.HTTPNotFound()
    kind = mimetypes.guess_type(file.file_path)[0] or "image/jpeg"
    response = web.StreamResponse(headers={"Content-Type": kind if kind.startswith("image/") else "image/jpeg",
                                           "Cache-Control": f"private, max-age={PHOTO_MINUTES * 60}"})
    api = bot.session.api
    if api.is_local:  # a local Bot API server: the file is on this machine
        data = await bot.download_file(file.file_path)
        await response.prepare(request)
        await response.write(data.read() if data else b"")
        return response
    try:
        chunks = bot.session.stream_content(url=api.file_url(bot.token, file.file_path), timeout=30)
        first = await chunks.__anext__()
    except StopAsyncIteration:
        first = b""
    except Exception:  # noqa: BLE001 - Telegram did not give it: the page shows the alternative text
        raise web.HTTPBadGateway() from None
    await response.prepare(request)
    await response.write(first)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/reports", api_reports)
    router.add_get("/reports", reports_page)
    router.add_post("/reports/{id}", report_action)
    router.add_get("/photo/{report}/{n}", photo)
