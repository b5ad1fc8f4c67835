"""Keep the bot token out of stored errors and logs.

aiohttp's exception texts can carry the request URL (``.../bot<token>/sendMessage``)."""
from __future__ import annotations

import re

_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


def redact(text: str, token: str | None = None) -> str:
    """``text`` with the token (and anything shaped like a bot token) replaced by ``<token>``."""
    if token:
        text = text.replace(token, "<token>")
    return _TOKEN.sub("<token>", text)
