"""The bot token never leaves the process in a log line or a stored error text.

aiogram's request URL is ``…/bot<token>/<method>``: an error from aiohttp (a redirect loop, a
proxy refusing) carries that URL in its text, and so would every log line and traceback built from
it. `redact_token` masks a token in any text; `install` puts a filter on logging that masks it in
every record (message, arguments, exception and stack text), whatever logger wrote it and
whichever handler prints it. Settings call `install` as soon as a token is known (bot/config.py).
"""
from __future__ import annotations

import logging
import re
import traceback
from urllib.parse import quote

MASK = "<BOT_TOKEN>"
# any Telegram bot token, also one this process was not given (a token of another bot in a URL)
_ANY_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
_TOKENS: set[str] = set()


def redact_token(text: str, token: str | None = None) -> str:
    """``text`` with ``token`` (also URL-encoded) and anything shaped like a bot token masked."""
    if not text:
        return text
    for known in ({token} if token else set()) | _TOKENS:
        text = text.replace(known, MASK).replace(quote(known, safe=""), MASK)
    return _ANY_TOKEN.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record in place: its message is formatted and masked, its traceback too."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    if getattr(record, "_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: keep what there is, masked
        message = f"{record.msg} {record.args!r}"
    record.msg, record.args = redact_token(message), ()
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redact_token("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        record.exc_info = None  # the masked text is printed instead; the raw one would hold the token
    elif record.exc_text:
        record.exc_text = redact_token(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_token(record.stack_info)
    record._redacted = True  # type: ignore[attr-defined]
    return record


_FILTER = RedactingFilter()
_installed = False


def install(token: str | None = None) -> None:
    """Mask ``token`` in every log record from now on: records are masked as they are made (so a
    handler configured later is covered too), and the handlers already there get the filter."""
    global _installed
    if token:
        _TOKENS.add(token)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    if _installed:
        return
    _installed = True
    make = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        return redact_record(make(*args, **kwargs))

    logging.setLogRecordFactory(factory)
