"""Horizontal bar charts rendered to PNG bytes with Pillow.

The bot sends these pictures (poll results, report statistics and the like)
*alongside* the same figures written out as text: the chart is a convenience
for a quick glance, the text stays the accessible source for people who cannot
see images or whose client does not show them. Keep it that way: never send a
chart as the only carrier of information.

The module is pure: no aiogram, no database, no I/O apart from reading a font
file. The same input always gives the same bytes.
"""
from __future__ import annotations

import functools
import importlib.util
import io
import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

__all__ = ["bar_chart"]

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

WIDTH = 900
PAD = 36  # outer padding on every side

TITLE_SIZE = 30
SUBTITLE_SIZE = 21
LABEL_SIZE = 22
TITLE_MAX_LINES = 2
SUBTITLE_MAX_LINES = 2
TITLE_LINE_GAP = 8
HEADER_GAP = 28  # between the title block and the first bar

ROW_HEIGHT = 46
BAR_HEIGHT = 28
COL_GAP = 16  # label column -> bars
VALUE_GAP = 10  # bar end -> value text
LABEL_COL_MAX = 0.40  # share of the inner width the label column may take
VALUE_COL_MAX = 0.25  # ... and the value column

BACKGROUND = "#ffffff"
BAR_COLOUR = "#2f6fb0"
TEXT_COLOUR = "#2b2b2b"
SUBTLE_COLOUR = "#6b6b6b"
AXIS_COLOUR = "#c8c8c8"

ELLIPSIS = "…"
# Used to find a common vertical extent, so every row sits on the same baseline
# whatever letters it happens to contain.
_METRIC_SAMPLE = "ÁЙЩgjpqyЦДў|"

_FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
    "/usr/share/fonts/truetype",
    "/usr/local/share/fonts",
    "/usr/local/share/fonts/dejavu",
)


def _matplotlib_font_dir() -> Path | None:
    """matplotlib's bundled DejaVu fonts, if the package is installed (not required)."""
    try:
        spec = importlib.util.find_spec("matplotlib")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"


@functools.lru_cache(maxsize=32)
def _font_path(bold: bool) -> str | None:
    names = ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf") if bold else ("DejaVuSans.ttf",)
    dirs: list[Path] = [Path(d) for d in _FONT_DIRS]
    mpl = _matplotlib_font_dir()
    if mpl is not None:
        dirs.append(mpl)
    for name in names:
        for d in dirs:
            candidate = d / name
            if candidate.is_file():
                return str(candidate)
    return None


@functools.lru_cache(maxsize=32)
def _font(size: int, bold: bool = False) -> Font:
    path = _font_path(bold)
    if path is not None:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def _text_width(font: Font, text: str) -> float:
    return font.getlength(text)


@functools.lru_cache(maxsize=32)
def _line_metrics(size: int, bold: bool) -> tuple[int, int]:
    """(top, bottom) of the font's typical ink box relative to the drawing origin."""
    _, top, _, bottom = _font(size, bold).getbbox(_METRIC_SAMPLE)
    return int(top), int(bottom)


def _fit(font: Font, text: str, max_width: float) -> str:
    """`text` cut down with an ellipsis until it fits `max_width` pixels."""
    text = " ".join(text.split())  # no newlines or tabs inside one line
    if _text_width(font, text) <= max_width:
        return text
    if _text_width(font, ELLIPSIS) > max_width:
        return ""
    lo, hi = 0, len(text)  # longest prefix whose "prefix…" fits: binary search
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _text_width(font, text[:mid].rstrip() + ELLIPSIS) <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + ELLIPSIS


def _wrap(font: Font, text: str, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap measured with `font`; the last line is ellipsised if text remains."""
    words = text.split()
    lines: list[str] = []
    i = 0
    while i < len(words) and len(lines) < max_lines:
        line = words[i]
        i += 1
        while i < len(words) and _text_width(font, f"{line} {words[i]}") <= max_width:
            line = f"{line} {words[i]}"
            i += 1
        lines.append(line)
    if i < len(words):  # out of lines: end the last one with "…", at a word boundary if that is not wasteful
        last = lines[-1].split()
        while len(last) > 1 and _text_width(font, " ".join(last) + ELLIPSIS) > max_width:
            last.pop()
        shortened = " ".join(last) + ELLIPSIS
        if _text_width(font, shortened) <= max_width and _text_width(font, shortened) >= max_width * 0.75:
            lines[-1] = shortened
        else:
            lines[-1] = _fit(font, " ".join([lines[-1], *words[i:]]), max_width)
    # A single word wider than the line still has to fit.
    return [_fit(font, line, max_width) for line in lines]


def _default_value_label(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _clean(value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        return 0.0
    return value


def _draw_line(draw: ImageDraw.ImageDraw, x: float, y_top: float, text: str, font: Font, size: int,
               bold: bool, fill: str) -> int:
    """Draw one line whose ink box starts at `y_top`; return the line's height."""
    top, bottom = _line_metrics(size, bold)
    draw.text((x, y_top - top), text, font=font, fill=fill)
    return bottom - top


def _draw_centered(draw: ImageDraw.ImageDraw, x: float, y_center: float, text: str, font: Font, size: int,
                   fill: str) -> None:
    top, bottom = _line_metrics(size, False)
    draw.text((x, y_center - (top + bottom) / 2), text, font=font, fill=fill)


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, value_labels: Sequence[str] | None = None,
              subtitle: str | None = None) -> bytes:
    """Render a horizontal bar chart and return it as PNG bytes (900 px wide).

    `bars` are (label, value) pairs drawn top to bottom in the given order.
    Values should be >= 0 (negative, NaN and infinite values are drawn as 0);
    bar lengths are proportional to the largest value. `value_labels`, if given,
    must have one entry per bar and is printed to the right of each bar instead
    of the number itself. Long labels and titles are shortened with "…".
    """
    if value_labels is not None and len(value_labels) != len(bars):
        raise ValueError(f"value_labels has {len(value_labels)} items for {len(bars)} bars")

    inner = WIDTH - 2 * PAD
    title_font = _font(TITLE_SIZE, bold=True)
    subtitle_font = _font(SUBTITLE_SIZE)
    label_font = _font(LABEL_SIZE)

    title_lines = _wrap(title_font, title, inner, TITLE_MAX_LINES) if title.strip() else []
    subtitle_lines = _wrap(subtitle_font, subtitle, inner, SUBTITLE_MAX_LINES) if subtitle and subtitle.strip() else []

    values = [_clean(v) for _, v in bars]
    texts = list(value_labels) if value_labels is not None else [_default_value_label(v) for v in values]

    # Columns: labels | bars | value text, sized from what is actually there.
    value_col = min(max((_text_width(label_font, t) for t in texts), default=0.0), inner * VALUE_COL_MAX)
    label_col = min(max((_text_width(label_font, str(lbl)) for lbl, _ in bars), default=0.0), inner * LABEL_COL_MAX)
    bar_x0 = PAD + math.ceil(label_col) + COL_GAP
    bar_span = WIDTH - PAD - bar_x0 - VALUE_GAP - math.ceil(value_col)

    t_top, t_bottom = _line_metrics(TITLE_SIZE, True)
    s_top, s_bottom = _line_metrics(SUBTITLE_SIZE, False)
    header = len(title_lines) * (t_bottom - t_top) + max(len(title_lines) - 1, 0) * TITLE_LINE_GAP
    if subtitle_lines:
        header += (TITLE_LINE_GAP * 2 if title_lines else 0)
        header += len(subtitle_lines) * (s_bottom - s_top) + (len(subtitle_lines) - 1) * TITLE_LINE_GAP
    height = PAD + header + (HEADER_GAP + len(bars) * ROW_HEIGHT if bars else 0) + PAD
    height = max(height, 2 * PAD + 1)

    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)

    y = float(PAD)
    for i, line in enumerate(title_lines):
        y += _draw_line(draw, PAD, y, line, title_font, TITLE_SIZE, True, TEXT_COLOUR)
        if i < len(title_lines) - 1:
            y += TITLE_LINE_GAP
    if subtitle_lines and title_lines:
        y += TITLE_LINE_GAP * 2
    for i, line in enumerate(subtitle_lines):
        y += _draw_line(draw, PAD, y, line, subtitle_font, SUBTITLE_SIZE, False, SUBTLE_COLOUR)
        if i < len(subtitle_lines) - 1:
            y += TITLE_LINE_GAP

    if bars:
        top = PAD + header + HEADER_GAP
        peak = max(values)
        draw.line([(bar_x0, top), (bar_x0, top + len(bars) * ROW_HEIGHT - 1)], fill=AXIS_COLOUR, width=1)
        for row, ((label, _), value, text) in enumerate(zip(bars, values, texts, strict=True)):
            centre = top + row * ROW_HEIGHT + ROW_HEIGHT / 2
            _draw_centered(draw, PAD, centre, _fit(label_font, str(label), label_col), label_font, LABEL_SIZE,
                           TEXT_COLOUR)
            length = round(bar_span * value / peak) if peak > 0 else 0
            if value > 0:
                length = max(length, 2)  # a tiny non-zero value stays visible
            if length > 0:
                y0 = round(centre - BAR_HEIGHT / 2)
                draw.rectangle([(bar_x0 + 1, y0), (bar_x0 + length, y0 + BAR_HEIGHT - 1)], fill=BAR_COLOUR)
            _draw_centered(draw, bar_x0 + length + VALUE_GAP, centre, _fit(label_font, str(text), value_col),
                           label_font, LABEL_SIZE, TEXT_COLOUR)

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
