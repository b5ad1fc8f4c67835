"""The dashboard's aiohttp application (see bot/dashboard/__init__.py)."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import effective_roles
from bot.config import SUPPORTED_LOCALES
from bot.i18n import LANGUAGE_NAMES, N_, detect_locale
from bot.services import dashboard as dashboard_service
from bot.services import users as users_service
from bot.services.errors import DomainError
from bot.services.text import as_id
from storage.models import User

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
APP_KEY: web.AppKey[Any] = web.AppKey("hromada_app", object)
PREFIX = "/app/"
COOKIE = "hromada_session"
LANG_COOKIE = "hromada_lang"
MAX_BODY = 16 * 1024  # the largest form or JSON body the dashboard accepts (bytes)
TELEGRAM_WEB = "https://web.telegram.org https://webk.telegram.org https://webz.telegram.org"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https://tile.openstreetmap.org; "
       "connect-src 'self'; "
       f"form-action 'self'; base-uri 'none'; frame-ancestors {TELEGRAM_WEB}")
# the dashboard's pages in the order of its menu: (path under /app/, the menu's label, who sees it)
SECTIONS: list[tuple[str, str, frozenset[str]]] = [
    ("reports", N_("Reports"), dashboard_service.QUEUE_ROLES | {"representative"}),
    ("polls", N_("Polls"), frozenset({"organizer", "representative", "admin"})),
    ("events", N_("Events"), frozenset({"organizer", "representative", "admin"})),
    ("proposals", N_("Proposals"), frozenset({"organizer", "moderator", "representative", "admin"})),
    ("recommendations", N_("Recommendations"), frozenset({"organizer", "representative", "admin"})),
    ("impact", N_("Impact"), frozenset({"organizer", "representative", "admin"})),
]


@dataclass
class Who:
    """The person behind a request, their roles as the database has them now."""

    telegram_id: int
    user: User | None
    roles: set[str]
    locale: str
    session_token: str | None = None  # a browser session (its POSTs need the CSRF token)


def _app(request: web.Request) -> App:
    return request.app[APP_KEY]


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    def stamp(headers: Any) -> None:
        headers["Content-Security-Policy"] = CSP
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"  # a sign-in link's token never leaves in a Referer
        headers.setdefault("Cache-Control", "no-store")

    if request.method not in ("GET", "HEAD") and (
            request.content_length is None and request.body_exists or (request.content_length or 0) > MAX_BODY):
        exc = web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length or 0)
        stamp(exc.headers)
        raise exc
    if request.method not in ("GET", "HEAD") and not _same_origin(request):
        exc = web.HTTPForbidden(text="cross-site request refused")
        stamp(exc.headers)
        raise exc
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        stamp(exc.headers)
        raise
    stamp(response.headers)
    return response


def _same_origin(request: web.Request) -> bool:
    """A POST sent by a browser from another site (its Origin header says so) is refused, the
    sign-in form too (nobody can sign someone in as somebody else); besides the CSRF token."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    allowed = {f"{request.scheme}://{request.host}"}
    url = _app(request).settings.dashboard_url
    if url:
        scheme, _, rest = url.partition("://")
        allowed.add(f"{scheme}://{rest.split('/', 1)[0]}")
    return origin in allowed


def _locale_of(request: web.Request, user: User | None, language_code: str | None, default: str) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "")
    if chosen in SUPPORTED_LOCALES:
        return chosen
    if user is not None and user.language in SUPPORTED_LOCALES:
        return user.language
    return detect_locale(language_code, default)


async def identify(request: web.Request, db: AsyncSession) -> Who | None:
    """Who is asking (a Mini App's signed initData, else the session cookie), or None."""
    app = _app(request)
    settings = app.settings
    header = request.headers.get("Authorization")
    token = None
    language_code = None
    if header is not None:
        scheme, _, data = header.strip().partition(" ")
        if scheme.lower() != "tma" or not data.strip() or not settings.bot_token:
            return None
        try:
            tg = dashboard_service.validate_init_data(data.strip(), settings.bot_token,
                                                      settings.dashboard_auth_max_age)
        except DomainError:
            return None
        telegram_id, language_code = tg["id"], tg.get("language_code")
        user = await users_service.by_telegram_id(db, telegram_id)
    else:
        token = request.cookies.get(COOKIE, "")
        user_id = await dashboard_service.session_user(db, token)
        if user_id is None:
            return None
        user = await users_service.by_id(db, user_id)
        if user is None or user.telegram_id is None:
            return None
        telegram_id = user.telegram_id
    if user is not None and user.deleted_at is not None:
        user = None
        if token is not None:
            return None
    roles = effective_roles(user.role_names if user else set(), telegram_id, settings.admin_ids)
    locale = _locale_of(request, user, language_code, settings.default_locale)
    return Who(telegram_id, user, roles, locale, token)


def _csrf_key(app: App) -> str:
    return f"hromada-dashboard:{app.settings.secret_key or ''}:{app.settings.bot_token or ''}"


def _check_csrf(request: web.Request, who: Who, given: str | None) -> None:
    """A cookie session's POST carries its CSRF token (a Mini App's header cannot be forged cross-site)."""
    if who.session_token is None:
        return
    if not given or not dashboard_service.csrf_ok(given, who.session_token, _csrf_key(_app(request))):
        raise web.HTTPForbidden(text="CSRF token missing or wrong")


# -- JSON API --------------------------------------------------------------------------------------


async def api_me(request: web.Request) -> web.Response:
    async with _app(request).sessionmaker() as db:
        who = await identify(request, db)
    if who is None:
        return web.json_response({"error": "unauthorized"}, status=401)
    return web.json_response({"id": who.telegram_id, "roles": sorted(who.roles), "locale": who.locale})


def _set_session_cookie(request: web.Request, response: web.StreamResponse, token: str, framed: bool = False) -> None:
    """The session cookie: HttpOnly, Secure over https, SameSite=Lax. A Mini App's (``framed``) runs
    inside Telegram's web clients in a frame of another site, where a Lax cookie is never sent: over
    https it is SameSite=None and Partitioned (CHIPS: kept for that frame only, not a tracking
    cookie). Cross-site POSTs are still refused by the Origin check and the CSRF token."""
    app = _app(request)
    secure = request.secure or (app.settings.dashboard_url or "").startswith("https://")
    if framed and secure:  # (written out: Python 3.11's http.cookies knows no Partitioned)
        response.headers.add("Set-Cookie", f"{COOKIE}={token}; Max-Age={dashboard_service.SESSION_HOURS * 3600}; "
                                           f"Path={PREFIX}; Secure; HttpOnly; SameSite=None; Partitioned")
        return
    response.set_cookie(COOKIE, token, max_age=dashboard_service.SESSION_HOURS * 3600, path=PREFIX,
                        secure=secure, httponly=True, samesite="Lax")


# -- pages -----------------------------------------------------------------------------------------


def _render(request: web.Request, name: str, locale: str, status: int = 200, who: Who | None = None,
            **context: Any) -> web.Response:
    """A page through Jinja2 and the bot's catalogs; with `who`, the menu of the sections they may open."""
    app = _app(request)
    env = request.app[ENV_KEY]
    i18n = app.i18n

    def gettext(message: str, **params: Any) -> str:
        text = i18n.gettext(message, locale=locale)
        return text.format(**params) if params else text

    kept = [(key, value) for key, value in request.query.items() if key not in NOTICE_KEYS]
    path = request.path + ("?" + urlencode(kept) if kept else "")  # where a form or a language link returns
    html = env.get_template(name).render(
        _=gettext, locale=locale, languages=[(code, LANGUAGE_NAMES.get(code, code)) for code in SUPPORTED_LOCALES],
        path=path, sections=[(p, label) for p, label, roles in SECTIONS if who is not None and who.roles & roles],
        # the header's sign-out (a browser session's: a Mini App's header has nothing to end)
        session_csrf=csrf_of(request, who) if who is not None else "",
        person=(who.user.display_name if who is not None and who.user else "") or "",
        current=request.path.removeprefix(PREFIX).split("/", 1)[0], **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def _default_locale(request: web.Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in SUPPORTED_LOCALES else _app(request).settings.default_locale


async def index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther(PREFIX + "reports")


async def signin_page(request: web.Request) -> web.Response:
    """The page a /dashboard link opens: a button that uses the link (a GET uses nothing, so a
    link preview cannot spend it)."""
    return _render(request, "signin.html", _default_locale(request), token=request.query.get("t", ""))


async def signin(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    token = str(form.get("t", ""))
    app = _app(request)
    async with app.sessionmaker() as db:
        try:
            raw, _user_id, _expires = await dashboard_service.redeem_link(db, token)
        except DomainError:
            await db.rollback()
            return _render(request, "signin.html", _default_locale(request), status=403, token="", failed=True)
        await db.commit()
    response = web.HTTPSeeOther(PREFIX + "reports")
    _set_session_cookie(request, response, raw)
    raise response


async def mini_app_session(request: web.Request) -> web.Response:
    """Inside Telegram: the Mini App's initData (the Authorization header) opens a session for
    the server-rendered pages."""
    app = _app(request)
    async with app.sessionmaker() as db:
        who = await identify(request, db)
        if who is None or who.session_token is not None:
            return web.json_response({"error": "unauthorized"}, status=401)
        if who.user is None or not who.roles & dashboard_service.STAFF_ROLES:
            return web.json_response({"error": "forbidden"}, status=403)
        raw = await dashboard_service.open_session(db, who.user.id)
        await db.commit()
    response = web.json_response({"ok": True})
    _set_session_cookie(request, response, raw, framed=True)
    return response


async def signout(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    form = await request.post()
    async with app.sessionmaker() as db:
        who = await identify(request, db)
        if who is not None and who.session_token is not None:
            _check_csrf(request, who, str(form.get("csrf", "")))
            await dashboard_service.sign_out(db, who.session_token)
            await db.commit()
    response = web.HTTPSeeOther(PREFIX + "signed-out")
    response.del_cookie(COOKIE, path=PREFIX)
    raise response


async def signed_out(request: web.Request) -> web.Response:
    return _render(request, "signin.html", _default_locale(request), token="", signed_out=True)


async def choose_language(request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    back = request.query.get("next", "")
    if not back.startswith(PREFIX) or back.startswith("//") or "\\" in back:
        back = PREFIX + "reports"
    response = web.HTTPSeeOther(back)
    if code in SUPPORTED_LOCALES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, path=PREFIX, httponly=True, samesite="Lax",
                            secure=request.secure or (_app(request).settings.dashboard_url or "").startswith("https://"))
    raise response


async def page_who(request: web.Request, db: AsyncSession, roles: frozenset[str]) -> Who | web.Response:
    """Who opens a page, or the page they get instead: sign in (401) or not for you (403)."""
    who = await identify(request, db)
    if who is None:
        return _render(request, "signin.html", _default_locale(request), status=401, token="", needed=True)
    if not who.roles & roles:
        return forbidden(request, who)
    return who


def forbidden(request: web.Request, who: Who) -> web.Response:
    """The page of someone whose role does not open what they asked for (or not this item)."""
    return _render(request, "forbidden.html", who.locale, status=403, who=who)


def item_id(request: web.Request) -> int:
    """The id in the address, or 404 (not a number, or larger than any id)."""
    found = as_id(request.match_info["id"])
    if found is None:
        raise web.HTTPNotFound()
    return found


@contextmanager
def in_locale(app: App, locale: str) -> Iterator[None]:
    """The chat's text functions (aiogram's gettext) in the reader's language."""
    with app.i18n.context(), app.i18n.use_locale(locale):
        yield


def csrf_of(request: web.Request, who: Who) -> str:
    """The CSRF token a page's forms carry (empty for a Mini App's header)."""
    return dashboard_service.csrf_token(who.session_token, _csrf_key(_app(request))) if who.session_token else ""


NOTICE_KEYS = ("msg", "n", "code", "st")  # the outcome of an action, in the address it returns to


ENV_KEY: web.AppKey[Any] = web.AppKey("hromada_jinja", object)


def create_dashboard(app: App) -> web.Application:
    import jinja2

    dashboard = web.Application(middlewares=[security_headers], client_max_size=MAX_BODY)
    dashboard[APP_KEY] = app
    dashboard[ENV_KEY] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True,
        lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    r = dashboard.router
    r.add_get("/", index)
    r.add_get("/api/me", api_me)
    r.add_post("/api/session", mini_app_session)
    r.add_get("/signin", signin_page)
    r.add_post("/signin", signin)
    r.add_post("/signout", signout)
    r.add_get("/signed-out", signed_out)
    r.add_get("/lang/{code}", choose_language)
    from bot.dashboard import board, impact, reports
    from bot.dashboard import events as events_pages
    from bot.dashboard import polls as polls_pages

    for pages in (reports, polls_pages, events_pages, board, impact):
        pages.add_routes(r)
    r.add_static("/static", HERE / "static", append_version=True)
    return dashboard


def mount(web_app: web.Application, app: App) -> None:
    """Put the dashboard at /app/ on an aiohttp application (the webhook's)."""
    web_app.add_subapp(PREFIX, create_dashboard(app))


async def start_dashboard_server(app: App, host: str, port: int) -> web.AppRunner:
    """Polling mode: the dashboard on a server of its own (DASHBOARD_PORT)."""
    root = web.Application()
    mount(root, app)
    runner = web.AppRunner(root, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("Dashboard on %s:%s%s", host, port, PREFIX)
    return runner
