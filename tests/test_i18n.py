"""Catalog quality: complete, not fuzzy, same placeholders, plural forms, and up to date."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, EXTRACT_KEYWORDS, EXTRACT_MAPPING, LOCALES_DIR, fmt_date, fmt_number

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
TAG = re.compile(r"</?[a-z]+")
EXPECTED_PLURALS = {"uk": 3, "ru": 3, "bg": 2, "en": 2}


def _catalog(locale: str):  # type: ignore[no-untyped-def]
    with (LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as fh:
        return read_po(fh, locale=locale)


def _ids(catalog) -> set:  # type: ignore[no-untyped-def]
    return {m.id for m in catalog if m.id}


@pytest.mark.parametrize("locale", ["uk", "ru", "bg", "en"])
def test_catalog_complete_and_consistent(locale: str) -> None:
    catalog = _catalog(locale)
    assert catalog.num_plurals == EXPECTED_PLURALS[locale]
    problems = []
    for msg in catalog:
        if not msg.id:
            continue
        ids = msg.id if isinstance(msg.id, tuple) else (msg.id,)
        strings = msg.string if isinstance(msg.string, tuple) else (msg.string,)
        if msg.fuzzy:
            problems.append(f"fuzzy: {ids[0]!r}")
        if not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        expected = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for s in strings:
            if set(PLACEHOLDER.findall(s)) - expected or (len(strings) == 1 and set(PLACEHOLDER.findall(s)) != expected):
                problems.append(f"placeholders differ: {ids[0]!r} -> {s!r}")
            if sorted(TAG.findall(s)) != sorted(TAG.findall(ids[0])):
                problems.append(f"HTML tags differ: {ids[0]!r} -> {s!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("locale", ["uk", "ru", "bg"])
def test_translations_are_not_english(locale: str) -> None:
    catalog = _catalog(locale)
    same = [m.id for m in catalog if m.id and isinstance(m.id, str) and m.string == m.id
            and re.search(r"[A-Za-z]{4,}", PLACEHOLDER.sub("", TAG.sub("", m.id)))]
    assert not same, f"left in English: {same[:5]}"


def test_catalogs_match_the_code(tmp_path: Path) -> None:
    """Every string in the code is in messages.pot, and every .po has exactly the .pot's ids."""
    root = LOCALES_DIR.parent
    fresh = tmp_path / "fresh.pot"
    keywords = [arg for kw in EXTRACT_KEYWORDS for arg in ("-k", kw)]
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "--no-default-keywords",
         *keywords, "-F", EXTRACT_MAPPING, "-o", str(fresh), "bot", "handlers", "storage"],
        cwd=root, check=True,
    )
    with fresh.open("rb") as fh:
        code_ids = _ids(read_po(fh))
    with (LOCALES_DIR / f"{DOMAIN}.pot").open("rb") as fh:
        pot_ids = _ids(read_po(fh))
    assert code_ids - pot_ids == set(), f"run `hromada i18n update`: missing {sorted(map(str, code_ids - pot_ids))[:5]}"
    assert pot_ids - code_ids == set(), "messages.pot has strings no longer in the code"
    for locale in ("uk", "ru", "bg", "en"):
        assert _ids(_catalog(locale)) == pot_ids, f"{locale} catalog is out of date"


def test_plurals_and_formatting() -> None:
    from aiogram.utils.i18n import I18n

    i18n = I18n(path=LOCALES_DIR, default_locale="en", domain=DOMAIN)
    assert set(i18n.available_locales) >= {"uk", "ru", "bg", "en"}
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 12, 25, 16, 30, tzinfo=UTC)
    assert "25 грудня 2026" in fmt_date(moment, "uk", ZoneInfo("Europe/Kyiv"))
    assert "25 декември 2026" in fmt_date(moment, "bg", ZoneInfo("Europe/Sofia"))
    assert fmt_number(12345, "uk") == "12\xa0345"


def test_no_message_is_hidden_from_extraction_inside_an_f_string() -> None:
    """Babel does not look inside f-strings: f"<h2>{_('Key figures')}</h2>" would never be
    translated, and the catalog tests above could not notice it."""
    import io
    import tokenize

    root = Path(__file__).resolve().parent.parent
    hidden = []
    for path in [*root.glob("handlers/**/*.py"), *root.glob("bot/**/*.py")]:
        for token in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
            if token.type == tokenize.STRING and token.string[:2].lower() in ("f'", 'f"', "rf", "fr") \
                    and re.search(r"\b_\(\s*['\"]", token.string):
                hidden.append(f"{path.relative_to(root)}:{token.start[0]}")
    assert not hidden, hidden
