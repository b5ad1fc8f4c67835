"""iCalendar (RFC 5545) files for single community events.

When a resident taps "Add to calendar" on an event, the bot sends them a small
``.ics`` document built here; their phone or desktop calendar opens it and
offers to add the event. Re-sending the same ``uid`` with a higher ``sequence``
updates the entry, and the ``cancelled`` variant asks the calendar to drop it.

``METHOD`` (iTIP, RFC 5546) is written only with an ``ORGANIZER``, which PUBLISH and
CANCEL require: with an organizer's name and address the file is ``METHOD:PUBLISH`` or
``METHOD:CANCEL``; without them it is a plain RFC 5545 object (no METHOD), which calendars
import as it is. ``DTSTAMP`` is when the file was made (the caller's ``stamp``).

The file is written by hand, no calendar library at runtime: all times in UTC
(``...Z``), text escaped per RFC 5545, CRLF line endings, lines folded at 75
octets of UTF-8 without ever splitting a multi-byte character. No alarm is
added; reminders are the bot's business.

The module is pure: no aiogram, no database, no I/O.
"""
from __future__ import annotations

import math
import re
from datetime import UTC, datetime

__all__ = ["event_ics"]

PRODID = "-//Hromada//Community events//EN"
MAX_LINE_OCTETS = 75
# Used when an organizer name is given without an address: ORGANIZER needs a calendar
# address, and the ".invalid" top-level domain (RFC 2606) can never receive mail.
ORGANIZER_ADDRESS = "mailto:noreply@hromada.invalid"

_NEWLINES = re.compile(r"\r\n|\r|\n")
# RFC 5545 TEXT allows no control characters apart from HTAB.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _utc(name: str, value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    """Escape a TEXT value: backslash, semicolon, comma, newline -> ``\\n``."""
    value = _NEWLINES.sub("\n", value)
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\n", "\\n")
    return _CONTROLS.sub("", value)


def _param(value: str) -> str:
    """Quote a parameter value, escaping per RFC 6868 (``^^``, ``^n``, ``^'``)."""
    value = _NEWLINES.sub("\n", value)
    value = value.replace("^", "^^").replace("\n", "^n").replace('"', "^'")
    return '"' + _CONTROLS.sub("", value) + '"'


def _uri(value: str) -> str:
    if not value or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"url must be non-empty and contain no whitespace or control characters: {value!r}")
    return value


def _geo(geo: tuple[float, float]) -> str:
    lat, lon = (float(v) for v in geo)
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"geo must be (latitude, longitude) within range, got {geo!r}")
    return f"{lat:.6f};{lon:.6f}"


def _fold(line: str) -> bytes:
    """Fold one content line into physical lines of at most 75 octets each.

    Continuation lines start with a single space, which counts towards their
    75 octets. Splits fall only between characters, never inside a UTF-8
    sequence.
    """
    out = bytearray()
    used = 0
    for ch in line:
        encoded = ch.encode("utf-8")
        if used + len(encoded) > MAX_LINE_OCTETS:
            out += b"\r\n "
            used = 1
        out += encoded
        used += len(encoded)
    return bytes(out) + b"\r\n"


def event_ics(
    *,
    uid: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    description: str = "",
    location: str | None = None,
    url: str | None = None,
    geo: tuple[float, float] | None = None,
    stamp: datetime,
    sequence: int = 0,
    cancelled: bool = False,
    organizer_name: str | None = None,
    organizer_address: str | None = None,
) -> bytes:
    """Return a UTF-8 ``.ics`` calendar holding one VEVENT.

    All datetimes must be timezone-aware (``ValueError`` otherwise) and are
    written in UTC. ``uid`` must stay the same for the life of the event
    (e.g. ``"event-42@hromada"``); bump ``sequence`` whenever the event changes
    so calendars replace their copy. ``stamp`` is when this file's information
    was produced (DTSTAMP). If ``ends_at`` equals ``starts_at`` DTEND is left
    out (a point-in-time event); an end before the start is a ``ValueError``.
    ``organizer_address`` is a URI (``mailto:…`` or ``https://t.me/…``); METHOD is written
    only when there is an organizer.
    """
    if not uid.strip():
        raise ValueError("uid must not be empty")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise ValueError(f"sequence must be a non-negative integer, got {sequence!r}")
    dtstart = _utc("starts_at", starts_at)
    dtend = _utc("ends_at", ends_at)
    dtstamp = _utc("stamp", stamp)
    if ends_at < starts_at:
        raise ValueError(f"ends_at ({ends_at.isoformat()}) is before starts_at ({starts_at.isoformat()})")

    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        *([f"METHOD:{'CANCEL' if cancelled else 'PUBLISH'}"] if organizer_name else []),
        "BEGIN:VEVENT",
        f"UID:{_text(uid)}",
        f"DTSTAMP:{dtstamp}",
        f"SEQUENCE:{sequence}",
        f"DTSTART:{dtstart}",
    ]
    if dtend != dtstart:
        lines.append(f"DTEND:{dtend}")
    lines.append(f"SUMMARY:{_text(title)}")
    if description:
        lines.append(f"DESCRIPTION:{_text(description)}")
    if location:
        lines.append(f"LOCATION:{_text(location)}")
    if url is not None:
        lines.append(f"URL:{_uri(url)}")
    if geo is not None:
        lines.append(f"GEO:{_geo(geo)}")
    if organizer_name:
        lines.append(f"ORGANIZER;CN={_param(organizer_name)}:{_uri(organizer_address or ORGANIZER_ADDRESS)}")
    lines += [
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return b"".join(_fold(line) for line in lines)
