"""Buttons that share a row stay short in every language (issue 19, item 18).

Every test that runs the bot checks the keyboards it was sent: a button in a row with others is
traced back to its msgid (through the catalog of the language it was shown in), and that msgid's
text in uk, ru, bg and en must stay within ROW_MAX characters. So a keyboard a test in English
shows is checked in Bulgarian too. Buttons with nobody's msgid (poll options, titles, names) are
the content's own and not checked here."""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from babel.messages.mofile import read_mo

from bot.config import SUPPORTED_LOCALES
from bot.i18n import DOMAIN, LOCALES_DIR

ROW_MAX = 20  # characters (code points, emoji presentation selectors not counted)
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def width(text: str) -> int:
    return len(text.replace("\ufe0f", "").replace("\u200d", ""))


@lru_cache(maxsize=1)
def _catalogs() -> dict[str, dict[tuple[str, str | None], str]]:
    out: dict[str, dict[tuple[str, str | None], str]] = {}
    for code in SUPPORTED_LOCALES:
        path = LOCALES_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.mo"
        entries: dict[tuple[str, str | None], str] = {}
        if path.exists():
            with path.open("rb") as fh:
                for message in read_mo(fh):
                    if message.id and isinstance(message.id, str) and isinstance(message.string, str):
                        entries[(message.id, message.context)] = message.string or message.id
        out[code] = entries
    return out


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, set[tuple[str, str | None]]], list[tuple[re.Pattern[str], tuple[str, str | None]]]]:
    """Shown text -> the msgids it can be, and patterns for the msgids with placeholders."""
    exact: dict[str, set[tuple[str, str | None]]] = {}
    patterns: list[tuple[re.Pattern[str], tuple[str, str | None]]] = []
    catalogs = _catalogs()
    keys = {key for entries in catalogs.values() for key in entries}
    for key in keys:
        for text in {key[0], *(entries.get(key, key[0]) for entries in catalogs.values())}:
            if PLACEHOLDER.search(text):
                if not re.search(r"[^\W\d_]", PLACEHOLDER.sub("", key[0])):
                    continue  # ("{who}, {when}": only content, nothing of ours to measure)
                parts = PLACEHOLDER.split(text)
                regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<g{i}_{p}>.+?)"
                                for i, p in enumerate(parts))
                patterns.append((re.compile(f"^{regex}$"), key))
            else:
                exact.setdefault(text, set()).add(key)
    return exact, patterns


def _rows(markup: Any) -> Iterable[list[str]]:
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            return
    if not isinstance(markup, dict):
        return
    for row in markup.get("inline_keyboard") or markup.get("keyboard") or []:
        yield [b if isinstance(b, str) else str(b.get("text", "")) for b in row]


def _texts(key: tuple[str, str | None], values: dict[str, str]) -> dict[str, str]:
    shown = {}
    for code, entries in _catalogs().items():
        text = entries.get(key, key[0])
        for name, value in values.items():
            text = text.replace("{" + name.split("_", 1)[1] + "}", value, 1)
        shown[code] = text
    return shown


def too_wide(calls: Iterable[Any]) -> list[str]:
    """The buttons sharing a row, in the calls given, that are too wide in some language."""
    exact, patterns = _index()
    found: dict[str, str] = {}
    for call in calls:
        params = getattr(call, "params", None) or {}
        for row in _rows(params.get("reply_markup")):
            if len(row) < 2:
                continue
            for label in row:
                keys: list[tuple[tuple[str, str | None], dict[str, str]]] = [(k, {}) for k in exact.get(label, ())]
                if not keys:
                    for pattern, key in patterns:
                        match = pattern.match(label)
                        if match:
                            keys.append((key, match.groupdict()))
                            break
                for key, values in keys:
                    for code, text in _texts(key, values).items():
                        if width(text) > ROW_MAX and "{" not in text:
                            found[f"{code}: {text!r}"] = f"{key[0]!r} ({width(text)} > {ROW_MAX})"
    return [f"{shown} from {why}" for shown, why in sorted(found.items())]
