"""Resident registration through the real Dispatcher and the fake Bot API."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import User
from tests.harness import Harness

GREETING = {"uk": "Вітаю", "ru": "Здравствуйте", "bg": "Здравейте", "en": "Hello"}
DONE = {"uk": "Ви зареєстровані", "ru": "Вы зарегистрированы", "bg": "сте регистрирани", "en": "You are registered"}
LANGUAGE_BUTTON = {"uk": "Українська", "ru": "Русский", "bg": "Български", "en": "English"}


async def _user(h: Harness, telegram_id: int) -> User | None:
    async with h.db() as s:
        return await s.scalar(select(User).where(User.telegram_id == telegram_id))


@pytest.mark.parametrize("lang", ["uk", "ru", "bg"])
async def test_registration_with_defaults_in_five_taps(harness: Harness, lang: str) -> None:
    olena = harness.user(1001, first_name="Olena", language_code=lang)
    await olena.send("/start")
    assert GREETING[lang] in olena.last.text
    taps = 0
    await olena.press(LANGUAGE_BUTTON[lang]); taps += 1
    await olena.press("Olena"); taps += 1           # keep the name from Telegram
    district = olena.buttons()[0]
    await olena.press(district); taps += 1
    await olena.press("✅"); taps += 1              # topics: Done (all on by default)
    await olena.press("✅"); taps += 1              # consent
    assert taps <= 5
    assert DONE[lang] in olena.last.text
    user = await _user(harness, 1001)
    assert user is not None and user.is_registered
    assert user.language == lang and user.display_name == "Olena"
    assert user.district == "dniprovskyi"
    assert set(user.topics) == {"reports", "polls", "events", "proposals"}
    assert user.consent_at is not None


async def test_typed_name_topics_and_escaping(harness: Harness) -> None:
    ivan = harness.user(1002, first_name="Ivan", language_code="ru")
    await ivan.send("/start")
    await ivan.press("Русский")
    await ivan.send("\u200b")  # an invisible character only: re-asked, nothing lost
    assert "не может быть пустым" in ivan.last.text
    await ivan.send("x" * 500)
    assert "64" in ivan.last.text
    await ivan.send("<b>Иван</b> & Co 🌻 مرحبا")
    await ivan.press("Корабельный район")
    await ivan.press("Мероприятия и встречи")  # switch one topic off
    await ivan.press("✅")
    await ivan.press("✅")
    user = await _user(harness, 1002)
    assert user is not None and user.display_name == "<b>Иван</b> & Co 🌻 مرحبا"
    assert "events" not in user.topics and user.district == "korabelnyi"
    # the name is shown escaped, not interpreted as HTML
    assert "<b>Иван</b> & Co" in ivan.last.text


async def test_wrong_input_in_button_steps_keeps_progress(harness: Harness) -> None:
    maria = harness.user(1003, first_name="Maria", language_code="bg")
    await maria.send("/start")
    await maria.press("Български")
    await maria.send_sticker()
    assert "текст" in maria.last.text
    await maria.send("Мария")
    await maria.send("Столипиново")  # typed instead of pressing a district button
    assert "бутон" in maria.messages[-2].text
    assert maria.buttons()  # the district question is asked again
    await maria.send_photo()
    await maria.press(maria.buttons()[1])
    await maria.press("✅")
    await maria.press("✅")
    user = await _user(harness, 1003)
    assert user is not None and user.display_name == "Мария" and user.district == "korabelnyi"


async def test_language_switch_mid_registration(harness: Harness) -> None:
    olha = harness.user(1004, first_name="Olha", language_code="uk")
    await olha.send("/start")
    await olha.press("Українська")
    await olha.send("Ольга")
    assert "район" in olha.last.text
    await olha.send("/language")
    await olha.press("Български")
    # the district question is asked again, now in Bulgarian
    assert "квартал" in olha.last.text or "район" in olha.last.text
    assert "Днепровски район" in olha.buttons()
    await olha.press("Днепровски район")
    await olha.press("✅")
    assert "Съгласни ли сте" in olha.last.text
    await olha.press("✅")
    user = await _user(harness, 1004)
    assert user is not None and user.language == "bg" and user.display_name == "Ольга"


async def test_resume_after_restart(harness: Harness) -> None:
    petro = harness.user(1005, first_name="Petro", language_code="uk")
    await petro.send("/start")
    await petro.press("Українська")
    await petro.send("Петро")
    await harness.restart()
    await petro.send("/start")
    assert "Продовжимо" in petro.messages[-2].text
    await petro.press("Центральний район")
    await petro.press("✅")
    await petro.press("✅")
    user = await _user(harness, 1005)
    assert user is not None and user.is_registered and user.display_name == "Петро"


async def test_deep_link_survives_registration(harness: Harness) -> None:
    anna = harness.user(1006, first_name="Anna", language_code="en")
    await anna.send("/start privacy")
    await anna.press("English")
    await anna.press("Anna")
    await anna.press(anna.buttons()[0])
    await anna.press("✅")
    await anna.press("✅")
    texts = [m.text for m in anna.messages[-2:]]
    assert any("You are registered" in t for t in texts)
    assert "Your data and privacy" in anna.last.text
    # a deep link for a registered resident acts at once; a bad one is explained
    await anna.send("/start nonsense_42")
    assert "not valid" in anna.last.text


async def test_declining_consent_stores_nothing(harness: Harness) -> None:
    taras = harness.user(1007, first_name="Taras", language_code="uk")
    await taras.send("/start")
    await taras.press("Українська")
    await taras.press("Taras")
    await taras.press(taras.buttons()[0])
    await taras.press("✅")
    await taras.press("Ні, дякую")
    assert await _user(harness, 1007) is None


async def test_old_button_and_double_tap(harness: Harness) -> None:
    olena = harness.user(1008, first_name="Olena", language_code="uk")
    await olena.send("/start")
    first = olena.last
    await olena.press("Українська")
    # the language question's buttons are gone; pressing an old district button twice
    await olena.press("Olena")
    district_msg = olena.last
    old_data = district_msg.reply_markup["inline_keyboard"][0][0]["callback_data"]
    await olena.press("Корабельний район", message=district_msg)
    await olena.press_data(old_data, message=district_msg)  # a double tap arrives late
    assert olena.callback_answers[-1].get("text")  # "this button is no longer active"
    assert first.reply_markup is None
    user = await _user(harness, 1008)
    assert user is not None and not user.is_registered
