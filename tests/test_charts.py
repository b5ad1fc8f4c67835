"""bot.charts: bar charts rendered to PNG bytes."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.charts import bar_chart

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _open(data: bytes) -> Image.Image:
    assert data.startswith(PNG_MAGIC)
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    assert image.width == 900
    return image


def _not_all_white(image: Image.Image) -> bool:
    lo, _hi = image.convert("L").getextrema()
    return lo < 200


def test_basic_chart_is_png() -> None:
    image = _open(bar_chart("Poll results", [("Yes", 12), ("No", 5), ("Abstain", 1)]))
    assert image.height > 100
    assert _not_all_white(image)


def test_cyrillic_and_very_long_label() -> None:
    bars = [
        ("Ремонт дитячого майданчика", 7),
        ("Освещение в парке", 3),
        ("Пешеходна пътека", 2),
        ("Дуже довга назва " * 18 + "кінець", 4),  # > 300 characters
    ]
    assert len(bars[3][0]) > 300
    image = _open(bar_chart("Який проєкт фінансувати?", bars, subtitle="98 голосів"))
    assert _not_all_white(image)


def test_long_title_and_subtitle() -> None:
    title = "Результати опитування щодо благоустрою громади " * 10
    _open(bar_chart(title, [("А", 1)], subtitle="Підзаголовок " * 30))
    _open(bar_chart("Nospaces" * 60, [("А", 1)]))


def test_height_grows_with_bars() -> None:
    heights = [_open(bar_chart("Title", [(f"Option {i}", i) for i in range(n)])).height for n in (1, 5, 20)]
    assert heights[0] < heights[1] < heights[2]


def test_all_zero_values() -> None:
    image = _open(bar_chart("Nobody voted", [("Так", 0), ("Ні", 0)]))
    assert image.height > 0


def test_empty_bars() -> None:
    with_title = _open(bar_chart("Порожньо", []))
    with_bar = _open(bar_chart("Порожньо", [("Так", 1)]))
    assert with_title.height < with_bar.height
    _open(bar_chart("", []))


def test_deterministic() -> None:
    args = ("Опитування", [("Так", 3), ("Ні", 1.5), ("Не знаю", 0)])
    assert bar_chart(*args, subtitle="s") == bar_chart(*args, subtitle="s")


def test_value_labels() -> None:
    bars = [("Так", 12), ("Ні", 18)]
    plain = bar_chart("Опитування", bars)
    labelled = bar_chart("Опитування", bars, value_labels=["12 · 40%", "18 · 60%"])
    _open(labelled)
    assert plain != labelled


def test_value_labels_length_mismatch() -> None:
    with pytest.raises(ValueError):
        bar_chart("Title", [("A", 1), ("B", 2)], value_labels=["1"])


def test_odd_values_do_not_crash() -> None:
    _open(bar_chart("Odd", [("tiny", 0.001), ("big", 1e9), ("neg", -5), ("nan", float("nan"))]))
