"""In-process fake of the Telegram Bot API for tests and the terminal sandbox.

See :mod:`bot.fakeapi.server` (the HTTP server) and :mod:`bot.fakeapi.client` (the user driver).
"""

from .client import FakeGroup, FakeUser
from .html import HtmlError, parse_html
from .models import ApiCall, Limits, SentMessage, StoredFile
from .server import FakeTelegram

__all__ = [
    "ApiCall",
    "FakeGroup",
    "FakeTelegram",
    "FakeUser",
    "HtmlError",
    "Limits",
    "SentMessage",
    "StoredFile",
    "parse_html",
]
