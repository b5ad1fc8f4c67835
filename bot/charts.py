"""Horizontal bar charts rendered to PNG bytes with matplotlib.

The bot sends these pictures (poll results, discussion results, report statistics, the council
document) *alongside* the same figures written out as text: the chart is a convenience for a
quick glance, the text stays the accessible source for people who cannot see images or whose
client does not show them. Keep it that way: never send a chart as the only carrier of
information.

What the picture promises: the title, the subtitle (the caller's n and period) and every label
are wrapped to the width they have and never cut; each bar has its value written beside it; an
optional note under the bars (a scale's meaning, say); emoji are removed from all chart text
(the font has none). The font is DejaVu Sans, which matplotlib bundles: no system font needed.

The module is pure: no aiogram, no database, no I/O. The same input always gives the same bytes.
"""
from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["bar_chart", "figure", "strip_emoji"]

WIDTH = 900  # pixels
DPI = 100
PAD = 36  # outer padding on every side, pixels

TITLE_SIZE = 17  # points (at 100 dpi one point is 100/72 pixels)
SUBTITLE_SIZE = 12
LABEL_SIZE = 12
NOTE_SIZE = 11
LINE_SPACING = 1.3  # a text line's height as a share of the font size
HEADER_GAP = 22  # between the title block and the first bar, pixels
ROW_PAD = 14  # above and below each row's label, pixels
BAR_HEIGHT = 26  # pixels (rows of one line); a taller row keeps the same bar
COL_GAP = 14  # label column -> bars
VALUE_GAP = 8  # bar end -> value text
LABEL_COL_MAX = 0.42  # share of the inner width the label column may take
VALUE_COL_MAX = 0.25  # ... and the value column

BACKGROUND = "#ffffff"
BAR_COLOUR = "#2f6fb0"
TEXT_COLOUR = "#2b2b2b"
SUBTLE_COLOUR = "#5b5b5b"
AXIS_COLOUR = "#c8c8c8"
FONT = "DejaVu Sans"

# Pictographs, dingbats, symbols and their joiners/selectors: the font has none of them, and an
# official picture needs none. Dashes, quotes, "…", "№", "·" and arrows stay.
_EMOJI = re.compile(
    "[\U0001F000-\U0001FAFF\U00002600-\U000027BF\U00002B00-\U00002BFF\U00002300-\U000023FF"
    "\U0000FE00-\U0000FE0F\U0000200D\U000020E3\U000E0020-\U000E007F\U00003030\U0000303D]"
)


def strip_emoji(text: str) -> str:
    """``text`` without emoji, its spaces collapsed ("🎉 Realised" -> "Realised")."""
    return " ".join(_EMOJI.sub("", text).split())


def _px(points: float) -> float:
    return points * DPI / 72


class _Measure:
    """Text widths in pixels, measured by the renderer that will draw them."""

    def __init__(self) -> None:
        from matplotlib.backends.backend_agg import RendererAgg
        from matplotlib.font_manager import FontProperties

        self._renderer = RendererAgg(WIDTH, 100, DPI)
        self._props: dict[tuple[float, bool], Any] = {}
        self._font_properties = FontProperties

    def prop(self, size: float, bold: bool = False) -> Any:
        key = (size, bold)
        if key not in self._props:
            self._props[key] = self._font_properties(family=FONT, size=size, weight="bold" if bold else "normal")
        return self._props[key]

    def width(self, text: str, size: float, bold: bool = False) -> float:
        if not text:
            return 0.0
        w, _h, _d = self._renderer.get_text_width_height_descent(text, self.prop(size, bold), ismath=False)
        return float(w)

    def wrap(self, text: str, size: float, max_width: float, bold: bool = False) -> list[str]:
        """Greedy word wrap measured in pixels; a word wider than the line is split between lines
        (never cut): every character of ``text`` is on some line."""
        lines: list[str] = []
        line = ""
        for word in text.split():
            candidate = f"{line} {word}" if line else word
            if self.width(candidate, size, bold) <= max_width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while self.width(word, size, bold) > max_width and len(word) > 1:  # split a very long word
                cut = len(word) - 1
                while cut > 1 and self.width(word[:cut], size, bold) > max_width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        if line:
            lines.append(line)
        return lines


def _default_value_label(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _clean(value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        return 0.0
    return value


def figure(title: str, bars: Sequence[tuple[str, float]], *, value_labels: Sequence[str] | None = None,
           subtitle: str | None = None, note: str | None = None) -> Figure:
    """The chart as a matplotlib Figure (``bar_chart`` renders it). Its text artists carry a gid:
    ``title``, ``subtitle``, ``label``, ``value`` and ``note``, one artist per wrapped block."""
    from matplotlib.figure import Figure

    if value_labels is not None and len(value_labels) != len(bars):
        raise ValueError(f"value_labels has {len(value_labels)} items for {len(bars)} bars")
    measure = _Measure()
    inner = WIDTH - 2 * PAD
    title_lines = measure.wrap(strip_emoji(title), TITLE_SIZE, inner, bold=True)
    subtitle_lines = measure.wrap(strip_emoji(subtitle or ""), SUBTITLE_SIZE, inner)
    note_lines = measure.wrap(strip_emoji(note or ""), NOTE_SIZE, inner)
    values = [_clean(v) for _, v in bars]
    texts = [strip_emoji(str(t)) for t in value_labels] if value_labels is not None else [
        _default_value_label(v) for v in values]
    labels = [strip_emoji(str(label)) for label, _ in bars]

    # Columns: labels | bars | value text, sized from what is actually there.
    value_col = min(max((measure.width(t, LABEL_SIZE) for t in texts), default=0.0), inner * VALUE_COL_MAX)
    texts_wrapped = [measure.wrap(t, LABEL_SIZE, value_col) or [""] for t in texts]
    label_col = min(max((measure.width(lbl, LABEL_SIZE) for lbl in labels), default=0.0), inner * LABEL_COL_MAX)
    label_col = math.ceil(label_col)
    labels_wrapped = [measure.wrap(lbl, LABEL_SIZE, label_col) or [""] for lbl in labels]
    bar_x0 = PAD + label_col + COL_GAP
    bar_span = max(WIDTH - PAD - bar_x0 - VALUE_GAP - math.ceil(value_col), 10)

    line_h = {size: _px(size) * LINE_SPACING for size in (TITLE_SIZE, SUBTITLE_SIZE, LABEL_SIZE, NOTE_SIZE)}
    rows = [max(len(a), len(b)) * line_h[LABEL_SIZE] + 2 * ROW_PAD for a, b in
            zip(labels_wrapped, texts_wrapped, strict=True)]
    header = len(title_lines) * line_h[TITLE_SIZE] + len(subtitle_lines) * line_h[SUBTITLE_SIZE]
    if title_lines and subtitle_lines:
        header += 6
    body = (HEADER_GAP + sum(rows)) if bars else 0
    footer = (HEADER_GAP / 2 + len(note_lines) * line_h[NOTE_SIZE]) if note_lines else 0
    height = max(math.ceil(PAD + header + body + footer + PAD), 2 * PAD + 1)

    fig = Figure(figsize=(WIDTH / DPI, height / DPI), dpi=DPI, facecolor=BACKGROUND)

    def text(x: float, y: float, lines: list[str], size: float, gid: str, **kw: Any) -> None:
        """``y`` is the top of the block in pixels from the top."""
        artist = fig.text(x / WIDTH, 1 - y / height, "\n".join(lines), fontsize=size, family=FONT,
                          color=kw.pop("color", TEXT_COLOUR), va=kw.pop("va", "top"), ha="left",
                          linespacing=LINE_SPACING, **kw)
        artist.set_gid(gid)

    y = float(PAD)
    if title_lines:
        text(PAD, y, title_lines, TITLE_SIZE, "title", weight="bold")
        y += len(title_lines) * line_h[TITLE_SIZE] + (6 if subtitle_lines else 0)
    if subtitle_lines:
        text(PAD, y, subtitle_lines, SUBTITLE_SIZE, "subtitle", color=SUBTLE_COLOUR)
        y += len(subtitle_lines) * line_h[SUBTITLE_SIZE]
    if bars:
        top = PAD + header + HEADER_GAP
        ax = fig.add_axes((bar_x0 / WIDTH, 1 - (top + sum(rows)) / height, bar_span / WIDTH, sum(rows) / height))
        ax.set_axis_off()
        peak = max(values) or 1.0
        ax.set_xlim(0, peak)
        ax.set_ylim(sum(rows), 0)  # pixels from the top of the bars' area, downwards
        ax.axvline(0, color=AXIS_COLOUR, linewidth=1)
        offset = 0.0
        min_width = 2 * peak / bar_span  # a tiny non-zero value stays visible
        for row, lines, value, value_lines in zip(rows, labels_wrapped, values, texts_wrapped, strict=True):
            centre = offset + row / 2
            text(PAD, top + centre, lines, LABEL_SIZE, "label", va="center")
            shown = max(value, min_width) if value > 0 else 0
            if shown:
                ax.barh([centre], [shown], height=BAR_HEIGHT, color=BAR_COLOUR, left=0)
            text(bar_x0 + bar_span * shown / peak + VALUE_GAP, top + centre, value_lines, LABEL_SIZE, "value",
                 va="center")
            offset += row
        y = top + sum(rows)
    if note_lines:
        text(PAD, y + HEADER_GAP / 2, note_lines, NOTE_SIZE, "note", color=SUBTLE_COLOUR)
    return fig


def render(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, facecolor=BACKGROUND, metadata={"Software": None})
    return out.getvalue()


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, value_labels: Sequence[str] | None = None,
              subtitle: str | None = None, note: str | None = None) -> bytes:
    """Render a horizontal bar chart and return it as PNG bytes (900 px wide).

    ``bars`` are (label, value) pairs drawn top to bottom in the given order. Values should be
    >= 0 (negative, NaN and infinite values are drawn as 0); bar lengths are proportional to the
    largest value. ``value_labels``, if given, must have one entry per bar and is written beside
    each bar instead of the number itself. ``subtitle`` goes under the title (say n and the
    period), ``note`` under the bars (say what a scale's ends mean). Nothing is shortened: long
    labels and titles wrap, and the picture grows to hold them.
    """
    return render(figure(title, bars, value_labels=value_labels, subtitle=subtitle, note=note))
