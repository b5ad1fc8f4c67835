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


# -- every kind of chart the bot draws, in Cyrillic and Bulgarian, with long labels ------------

LONG_UK = "Бібліотека на вулиці Перекопській, біля зупинки тролейбуса, відкрита щодня до восьмої вечора"
LONG_BG = "Пешеходна пътека между читалището и детската градина на улица „Христо Ботев“ срещу пощата"
KINDS = {
    "poll": dict(title="📊 1. Який проєкт фінансувати першим?", bars=[(LONG_UK, 7), ("Школа", 3), ("🌳 Парк", 0)],
                 value_labels=["7 · 70%", "3 · 30%", "0 · 0%"],
                 subtitle="Потреби району · n = 10 відповіли · 1 лист. 2026 р. – 8 лист. 2026 р."),
    "scale": dict(title="2. Наскільки ви задоволені освітленням?", bars=[
        ("1 — зовсім ні", 1), ("2", 2), ("3", 5), ("4", 1), ("5 — дуже", 3)],
        subtitle="n = 12 відповіли · 1–8 лист. 2026 р."),
    "discussion": dict(title="Съгласие с всяко твърдение: Какво да направи общината най-напред?",
                       bars=[(LONG_BG, 80.0), ("Повече пейки покрай реката " * 6, 45.5), ("Да", 10)],
                       value_labels=["80 % · 8/10", "45,5 % · 5/11", "10 % · 1/10"],
                       subtitle="n = 11 участници · 1.11.2026 г. – 30.11.2026 г.",
                       note="Дял на гласовете „съгласен“ (съгласни / всички гласове за твърдението)"),
    "stats": dict(title="Жители по райони", bars=[("Острів", 40), ("Приміські громади", 12), ("Невідомо", 3)],
                  subtitle="n = 55 усього · 1 жовт. 2026 р. – 30 лист. 2026 р."),
    "council": dict(title="Обращения по категориям", bars=[("Уличное освещение", 9), ("Мусор и уборка", 4),
                                                          ("Дороги и тротуары", 2)],
                    subtitle="1 окт. 2026 г. – 30 нояб. 2026 г."),
}


def _joined(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_chart_kind_keeps_every_label_whole(kind: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from bot.charts import figure, render, strip_emoji

    spec = dict(KINDS[kind])
    fig = figure(**spec)  # type: ignore[arg-type]
    renderer = FigureCanvasAgg(fig).get_renderer()
    texts = {gid: [t for t in fig.texts if t.get_gid() == gid] for gid in ("title", "subtitle", "label", "value",
                                                                            "note")}
    # every label is there, whole: the wrapped lines put together are the label (emoji removed)
    assert [_joined(t.get_text()) for t in texts["label"]] == [_joined(strip_emoji(label)) for label, _v in
                                                              spec["bars"]]  # type: ignore[union-attr]
    assert _joined(texts["title"][0].get_text()) == _joined(strip_emoji(spec["title"]))  # type: ignore[arg-type]
    assert "📊" not in texts["title"][0].get_text() and "🌳" not in " ".join(t.get_text() for t in texts["label"])
    assert _joined(texts["subtitle"][0].get_text()) == _joined(spec["subtitle"])  # type: ignore[arg-type]
    values = spec.get("value_labels") or [str(v) for _l, v in spec["bars"]]  # type: ignore[union-attr]
    assert [_joined(t.get_text()) for t in texts["value"]] == values  # a value beside every bar
    if "note" in spec:
        assert _joined(texts["note"][0].get_text()) == spec["note"]
    # and nothing is cut by the picture's edges, nor does a label run into the bars
    width, height = fig.bbox.width, fig.bbox.height
    bars_left = min(p.get_window_extent(renderer).x0 for ax in fig.axes for p in ax.patches)
    for artists in texts.values():
        for artist in artists:
            box = artist.get_window_extent(renderer)
            assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, artist.get_text()
    for label in texts["label"]:
        assert label.get_window_extent(renderer).x1 < bars_left
    image = _open(render(fig))
    assert _not_all_white(image)
    assert image.height == round(height)


def test_dejavu_sans_is_matplotlibs_own() -> None:
    from pathlib import Path

    import matplotlib

    assert (Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf").is_file()  # no system font needed
