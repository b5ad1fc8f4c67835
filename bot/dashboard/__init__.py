"""The organizers' dashboard: an aiohttp sub-application at ``/app/`` on the bot's own server
(the webhook's in webhook mode, one on DASHBOARD_PORT in polling mode), over the same services as
the chat. Pages are server-rendered (Jinja2 through the project's Babel catalogs); a JSON API is
under ``/app/api/``.

Who is asking is found on every request and their roles re-read from the database:
``Authorization: tma <initData>`` inside Telegram (a Mini App), or the session cookie a one-time
``/dashboard`` link set in a browser. Cookie-authenticated POSTs carry a CSRF token.
"""
from __future__ import annotations

from bot.dashboard.web import create_dashboard, mount, start_dashboard_server

__all__ = ["create_dashboard", "mount", "start_dashboard_server"]
