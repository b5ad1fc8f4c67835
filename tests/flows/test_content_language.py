"""The language of what organizers write (issue 19, items 1 and 2), through the real Dispatcher
and the fake Bot API: the organizer's own language by default, named on the prompt with one tap
to change, the same ➕ buttons for translations in every wizard, languages named in words, and
survey files valid or not whoever uploads them."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.config import Settings
from bot.fakeapi import FakeUser
from storage.models import (
    Campaign,
    Discussion,
    DiscussionStatement,
    Event,
    Organisation,
    Poll,
    WorkingGroup,
    utcnow,
)
from tests.delivery_helpers import bot_texts, finished, organizer, resident, tune
from tests.harness import ADMIN_ID, ROOT, Harness

OTHERS_OF_EN = ["➕ Українська", "➕ Русский", "➕ Български"]


def tr(h: Harness, msgid: str, locale: str) -> str:
    assert h.app is not None
    text = h.app.i18n.gettext(msgid, locale=locale)
    assert text != msgid or locale == "en"  # translated
    return text


async def last(h: Harness, model: type) -> object:
    async with h.db() as s:
        row = await s.scalar(select(model).order_by(model.id.desc()))  # type: ignore[attr-defined]
    assert row is not None
    return row


def test_the_community_file_names_the_default_language() -> None:
    for name, lang in (("kherson", "uk"), ("plovdiv", "bg")):
        settings = Settings(_env_file=None, community_file=ROOT / "communities" / f"{name}.toml")  # type: ignore[call-arg]
        assert settings.default_locale == lang
    settings = Settings(_env_file=None, default_locale="ru",  # type: ignore[call-arg]
                        community_file=ROOT / "communities" / "plovdiv.toml")
    assert settings.default_locale == "ru"                    # DEFAULT_LOCALE, when set, wins


async def test_organizers_write_in_their_own_language_with_one_tap_to_change(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    olena = await organizer(harness, 9100, "uk")                # the community's default is English here
    await resident(harness, 9101, "en")
    await resident(harness, 9102, "bg")

    # an announcement typed in Ukrainian is taken as Ukrainian, and said so, without inflection
    await olena.send("/announce")
    language = tr(harness, "🌐 Language: {language}", "uk").format(language="Українська")
    assert language in olena.last.text and "✅ Українська" in olena.buttons()
    await olena.send("Завтра зранку не буде води")
    assert tr(harness, "Written in: {language}. Residents who use another language get their translation if "
                       "there is one, else this text.", "uk").format(language="Українська") in olena.last.text
    assert olena.buttons()[:3] == ["➕ Русский", "➕ Български", "➕ English"]   # words, never codes
    await olena.press(tr(harness, "Continue ➡️", "uk"))
    await olena.press(tr(harness, "Continue ➡️", "uk"))
    await olena.press(next(b for b in olena.buttons() if b.startswith("✅")))
    campaign = await last(harness, Campaign)
    assert campaign.payload["default_locale"] == "uk"          # type: ignore[attr-defined]
    await finished(harness, campaign.id)                       # type: ignore[attr-defined]
    assert bot_texts(harness, 9101)[0].endswith("Завтра зранку не буде води")  # no English: the text as written

    # an English-speaking organizer writing Bulgarian taps it once, at the first question
    anna = await organizer(harness, 9103, "en")
    await anna.send("/newpoll")
    await anna.press("One choice")
    assert "🌐 Language: English" in anna.last.text
    prompt = anna.last
    await anna.press("🌐 Български")
    assert prompt.text.startswith("🌐 Language: Български") and "✅ Български" in prompt.buttons  # edited in place
    await anna.send("Къде да е следващата среща?\nУчилището\nБиблиотеката")
    assert "Written in: Български" in anna.last.text and anna.buttons()[:3] == ["➕ Українська", "➕ Русский",
                                                                                "➕ English"]
    await anna.press("➕ English")
    assert anna.last.text.startswith("🌐 Language: English")
    await anna.send("Where should the next meeting be?\nThe school\nThe library")
    await anna.press("Continue ➡️")
    assert "Languages: Български, English" in anna.last.text
    await anna.press("✅ Send to")
    poll = await last(harness, Poll)
    assert poll.default_locale == "bg"                         # type: ignore[attr-defined]


SURVEY_IN_UKRAINIAN = """\
language: uk
title: "Потреби району"
questions:
  - kind: single
    text: "Чи є у вас вдома водопровід?"
    options: ["Так", "Ні"]
  - kind: text
    text: {uk: "Що раді зробити насамперед?", en: "What should the council do first?"}
"""
UKRAINIAN_WITHOUT_ITS_LANGUAGE = """\
questions:
  - kind: single
    text: {uk: "Чи є у вас вдома водопровід?"}
    options: [{uk: "Так"}, {uk: "Ні"}]
"""


async def test_a_survey_file_is_valid_or_not_whoever_uploads_it(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    uploaders = [await organizer(harness, 9200, "uk"), await organizer(harness, 9201, "en"),
                 await organizer(harness, 9202, "bg")]
    for who in uploaders:
        await who.send("/newpoll")
        await who.send_document("survey.yaml", SURVEY_IN_UKRAINIAN.encode())
        assert "Потреби району" in who.last.text                 # the panel, whoever uploads it
        await who.press(next(b for b in who.buttons() if b.startswith("✅")))
        poll = await last(harness, Poll)
        assert poll.default_locale == "uk"                     # type: ignore[attr-defined]
    # without `language:` the file is read in the community's language, for everyone alike
    answers = []
    for who in uploaders:
        await who.send("/newpoll")
        await who.send_document("survey.yaml", UKRAINIAN_WITHOUT_ITS_LANGUAGE.encode())
        answers.append(who.last.text)
    assert "question 1: a text is missing in the file's language (English)" in answers[1]
    assert all("language:" in a and "(English)" in a for a in answers)  # the same answer, in each one's language


def event_day() -> str:
    return f"{(utcnow() + timedelta(days=5)):%d.%m} 18:30"


async def open_translations(h: Harness, org: FakeUser, admin: FakeUser, wizard: str) -> None:
    """Walk a wizard to the step where translations are added (for an English-speaking organizer)."""
    if wizard == "announce":
        await org.send("/announce")
        await org.send("Clean-up on Saturday")
    elif wizard == "newpoll":
        await org.send("/newpoll")
        await org.press("One choice")
        await org.send("Where?\nThe school\nThe library")
    elif wizard == "newevent":
        await org.send("/newevent")
        await org.press("Workshop")
        await org.send("Budget workshop")
        await org.send(event_day())
        await org.send("20:00")
        await org.send("City library")
        await org.press("No limit")
        await org.press("Skip")
    elif wizard == "newdiscussion":
        await org.send("/newdiscussion")
        await org.send("How should the park change?")
        await org.send("More benches along the river")
        await org.send("uk: Більше світла вночі")               # one line in another language: taken without its code
        await org.send("Fewer cars near the school\nuk: Менше машин біля школи")  # two languages: refused
        assert "without them" in org.last.text
        await org.press("✅ That's all")
    elif wizard == "newgroup":
        await org.send("/newgroup")
        await org.send("Accessible streets")
        await org.send("Ramps and crossings for everyone.")
    elif wizard == "neworg":
        await admin.send("/neworg")
        await admin.send("Kherson Greens")
        await admin.send("We plant trees in yards.")


async def test_every_wizard_adds_translations_the_same_way(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    org = await organizer(harness, 9300, "en")
    admin = await organizer(harness, ADMIN_ID, "en")
    await resident(harness, 9301, "uk")
    wizards = ("announce", "newpoll", "newevent", "newdiscussion", "newgroup", "neworg")
    for wizard in wizards:
        who = admin if wizard == "neworg" else org
        await open_translations(harness, org, admin, wizard)
        menu = who.last
        assert [b for b in menu.buttons if b.startswith(("➕", "✏️"))] == OTHERS_OF_EN, wizard
        await who.press("➕ Українська", message=menu)
        assert who.last.text.startswith("🌐 Language: Українська"), wizard   # named, never inflected
        await who.send({"announce": "Прибирання в суботу", "newpoll": "Де?\nШкола\nБібліотека",
                        "newevent": "Бюджетний майстер-клас", "newdiscussion": "Як має змінитися парк?",
                        "newgroup": "Доступні вулиці", "neworg": "Херсонські зелені"}[wizard])
        assert "✏️ Українська ✓" in who.last.buttons or "✏️ Українська ✓" in who.buttons(), wizard
        await who.send("/cancel")

    # what the discussion's seeds became: one language each, no "uk:" glued in
    await org.send("/newdiscussion")
    await org.send("How should the park change?")
    await org.send("More benches along the river")
    await org.send("uk: Більше світла вночі")
    await org.press("✅ That's all")
    await org.press(next(b for b in org.buttons() if b.startswith("✅ Open it")))
    discussion = await last(harness, Discussion)
    async with harness.db() as s:
        seeds = list(await s.scalars(select(DiscussionStatement.text).where(
            DiscussionStatement.discussion_id == discussion.id)))  # type: ignore[attr-defined]
    assert set(seeds) == {"Більше світла вночі", "More benches along the river"}
    assert discussion.default_locale == "en"                  # type: ignore[attr-defined]
    for model in (Event, WorkingGroup, Organisation):          # nothing was made by the cancelled drafts
        async with harness.db() as s:
            assert await s.scalar(select(model)) is None
