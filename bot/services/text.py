"""What people type, cleaned once on the way in (handlers.typed_text installs it for every message).

Control characters (``\\x07``, ``\\x0b``, a lone surrogate…) have no place in a description, an
address, a name or an answer: they break XLSX exports (openpyxl refuses them), HTML and the
terminals of whoever reads a log. Line breaks and tabs stay. Each one becomes a space, so the
UTF-16 offsets of the message's entities (bold, links) still point at the same text.
"""
from __future__ import annotations

import re

CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # categories Cc and Cs, but \t and \n


def without_controls(text: str) -> str:
    return CONTROLS.sub(" ", text)
