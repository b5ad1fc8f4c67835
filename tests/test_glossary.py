"""The words of the catalogs (issue 19, items 16-19), checked where a machine can.

- One term per concept per language: a glossary of the terms each language uses, and the
  variants it must not (a second word for the same thing reads as a second thing).
- Words whose translation depends on what they describe (a report is masculine in Bulgarian, a
  proposal neuter, a poll feminine) carry a context, so no translation has to guess the gender.
- No city's own streets or council in the catalogs: they are in the community file.
- Buttons sharing a row are measured on every screen the flow tests show (tests/buttons.py,
  from the harness); here the measure itself is checked.
"""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.community import load_community
from bot.i18n import LOCALES_DIR
from tests.buttons import ROW_MAX, too_wide, width

LANGS = ("uk", "ru", "bg")


def catalog(lang: str) -> Catalog:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def texts(message: object) -> list[str]:
    string = getattr(message, "string", "")
    return [string] if isinstance(string, str) else list(string)


def translation(cat: Catalog, msgid: str, context: str | None = None) -> str:
    message = cat.get(msgid, context=context)
    assert message is not None and texts(message)[0], (cat.locale, context, msgid)
    return texts(message)[0]


# The variants each language must not use, with the term it uses instead.
FORBIDDEN: dict[str, dict[str, str]] = {
    "uk": {
        r"[Пп]оді[йяїюі]": "захід (an event is «захід», as in the menu «Заходи»)",
        r"лист\w* очікуван": "список очікування",
        r"геолокац": "геопозиція",
        r"майстерн": "майстер-клас",
        r"спікер": "доповідачі",
        r"міськ\w* рад": "рада (the council's name is in the community file)",
        r"Задовго": "«Текст задовгий»",
        r"[Оо]бщин": "громада",
    },
    "ru": {
        r"[Сс]обыти[яйюеи]": "мероприятие (as in the menu «Мероприятия»)",
        r"[Оо]бщин[аыуе]\b": "громада",
        r"городск\w* совет": "совет (the council's name is in the community file)",
        r"спикер": "выступающие",
        r"воркшоп": "мастер-класс",
        r"геолокац": "геопозиция",
    },
    "bg": {
        r"Hromada": "«Громада», in Cyrillic",
        r"[Оо]прос": "анкета",
        r"[Гг]ромад[аи] \(": "«Громада»",
    },
}

# Screens where the term must be the glossary's (msgid -> what its translation contains).
REQUIRED: dict[str, dict[str, str]] = {
    "uk": {"📅 Events": "Заходи", "Workshop": "Майстер-клас", "📍 Send my location": "геопозицію"},
    "ru": {"📅 Events": "Мероприятия", "Workshop": "Мастер-класс", "📍 Send my location": "геопозицию"},
    "bg": {"📊 Polls": "Анкети"},
}


@pytest.mark.parametrize("lang", LANGS)
def test_one_term_per_concept(lang: str) -> None:
    cat = catalog(lang)
    wrong = []
    for message in cat:
        if not message.id:
            continue
        for text in texts(message):
            for pattern, instead in FORBIDDEN[lang].items():
                if re.search(pattern, text):
                    wrong.append(f"{text[:80]!r}: use {instead}")
    assert not wrong, wrong
    for msgid, term in REQUIRED[lang].items():
        assert term in translation(cat, msgid), (lang, msgid, term)


# (context, msgid): the word, said of different things, which are not of one gender everywhere.
CONTEXTUAL = {
    "Rejected": ("report status", "proposal status"),
    "In progress": ("report status", "proposal status", "recommendation status"),
    "Open": ("poll status", "discussion status"),
    "Closed": ("poll status", "discussion status"),
    "open": ("poll status", "discussion status"),
    "closed": ("poll status", "discussion status"),
    "Draft": ("poll status", "discussion status", "recommendation status"),
    "<b>Who should get it?</b>": ("poll", "announcement", "event", "discussion"),
}


@pytest.mark.parametrize("lang", LANGS)
def test_words_of_different_genders_have_a_context_each(lang: str) -> None:
    cat = catalog(lang)
    for msgid, contexts in CONTEXTUAL.items():
        assert cat.get(msgid) is None, f"{msgid!r} is used without a context somewhere"
        for context in contexts:
            translation(cat, msgid, context)
    if lang == "bg":  # «сигнал» is masculine, «предложение» neuter, «анкета» feminine, «обсъждане» neuter
        assert translation(cat, "Rejected", "report status") == "Отхвърлен"
        assert translation(cat, "Rejected", "proposal status") == "Отхвърлено"
        assert translation(cat, "open", "poll status") == "отворена"
        assert translation(cat, "open", "discussion status") == "отворено"
        assert "анкетата" in translation(cat, "<b>Who should get it?</b>", "poll")
        assert "съобщението" in translation(cat, "<b>Who should get it?</b>", "announcement")
    if lang == "ru":  # «опрос» is masculine, «обсуждение» neuter
        assert translation(cat, "open", "poll status") == "открыт"
        assert translation(cat, "open", "discussion status") == "открыто"


def test_no_city_of_its_own_in_the_catalogs() -> None:
    streets = re.compile(r"Ушаков|Ushakov|Перекоп|Суворов|Херсон|Kherson|Пловдив|Plovdiv|Столипин")
    for lang in (*LANGS, "en"):
        cat = catalog(lang)
        found = [t for m in cat if m.id for t in (m.id if isinstance(m.id, str) else m.id[0], *texts(m))
                 if streets.search(t)]
        assert not found, (lang, found[:5])
    kherson, plovdiv = (load_community(f"communities/{name}.toml") for name in ("kherson", "plovdiv"))
    assert "Ушакова" in (kherson.example_address("uk") or "")
    assert "Цар Борис" in (plovdiv.example_address("bg") or "")


def test_the_measure_of_buttons_sharing_a_row() -> None:
    def sent(*rows: list[str]) -> SimpleNamespace:
        return SimpleNamespace(params={"reply_markup": {"inline_keyboard": [[{"text": t} for t in r] for r in rows]}})

    assert width("✏️ Заглавие") == 10  # the emoji's presentation selector is not a character
    alone = sent(["🪑 Change places"])  # a button on a row of its own may be longer
    assert too_wide([alone]) == []
    # the English screen is measured in every language: a msgid whose uk text is too long is found
    long_uk = "📝 Повідомити про проблему"
    cat = catalog("uk")
    assert translation(cat, "📝 Report a problem") != long_uk and width(translation(cat, "📝 Report a problem")) <= ROW_MAX
    found = too_wide([sent(["📅 Events", "Water, heating, power and everything else"])])
    assert found == []  # content (a category's name) is the community's own, not measured
    assert too_wide([sent(["📅 Events", "📊 Polls"])]) == []
    found = too_wide([sent(["Register a resident without a smartphone", "📊 Polls"])])
    assert any(line.startswith("uk: 'Зареєструвати мешканця без смартфона'") for line in found), found
    assert any(line.startswith("en: ") for line in found), found
