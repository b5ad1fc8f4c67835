"""What people type, cleaned once on the way in (handlers.typed_text installs it for every message).

Control characters (``\\x07``, ``\\x0b``, a lone surrogate…) have no place in a description, an
address, a name or an answer: they break XLSX exports (openpyxl refuses them), HTML and the
terminals of whoever reads a log. Line breaks and tabs stay. Each one becomes a space, so the
UTF-16 offsets of the message's entities (bold, links) still point at the same text.
"""
from __future__ import annotations

import re
import secrets

CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # categories Cc and Cs, but \t and \n


def without_controls(text: str) -> str:
    return CONTROLS.sub(" ", text)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending with "…" when cut (escape after)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def first_words(text: str | None, limit: int = 40) -> str | None:
    """The start of ``text`` on one line, cut at a word boundary within ``limit`` characters and
    ending with "…" when cut (escape after); None when there is no text."""
    flat = " ".join((text or "").split())
    if not flat:
        return None
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:  # a word boundary not too far back; else cut inside a long word
        cut = cut[:space]
    return cut.rstrip(" ,.;:!?—–-") + "…"


ALIAS_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_alias() -> str:
    """The pseudonym of one report or proposal, such as ``R-K7P2Q``: random, so two items of one
    person never share it and a report shown with the name unmasks no other."""
    return "R-" + "".join(secrets.choice(ALIAS_ALPHABET) for _ in range(5))


LANGUAGE_CODES = ("uk", "ru", "bg", "en")


def language_code(line: str) -> str | None:
    """The language code a typed line starts with ("uk: …", "EN:"), or None."""
    head, sep, _rest = line.partition(":")
    code = head.strip().lower()
    return code if sep and code in LANGUAGE_CODES else None


MAX_ID = 2**31 - 1  # the largest id a database column holds (INTEGER)


def as_id(text: str | None) -> int | None:
    """A number someone typed or sent as an id (``"12"``), or None: ASCII digits only (not "²"),
    and no larger than an id column holds (a 20-digit number is nobody's id, not a database error)."""
    value = (text or "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 10 or not 0 < int(value) <= MAX_ID:
        return None
    return int(value)
