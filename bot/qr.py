"""QR codes rendered to PNG bytes with segno.

Organisers show the picture at a venue (on a screen or printed) so residents
can check in to an event: the code usually holds a ``t.me`` deep link such as
``https://t.me/<bot>?start=checkin_<token>`` that opens the bot.

Error correction is fixed at level "M" and the quiet zone is the standard four
modules, so the code scans reliably from a phone. The module is pure: no
aiogram, no database, no I/O. The same input always gives the same bytes.
"""
from __future__ import annotations

import io

import segno

__all__ = ["qr_png"]

BORDER = 4  # quiet zone, in modules


def qr_png(data: str, scale: int = 10) -> bytes:
    """Return a PNG of a QR code holding ``data``; each module is ``scale`` pixels.

    The image is square, black on white, ``(modules + 2 * 4) * scale`` pixels
    wide. Raises ``ValueError`` for a ``scale`` below 1 and
    ``segno.DataOverflowError`` (a ``ValueError``) if ``data`` does not fit.
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    code = segno.make(data, error="m", boost_error=False, micro=False)
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=BORDER)
    return buffer.getvalue()
