"""Shortcuts for flow tests."""
from __future__ import annotations

from bot.fakeapi import FakeUser
from tests.harness import Harness


async def register(h: Harness, user_id: int, name: str = "Anna", lang: str = "en", district_index: int = 0) -> FakeUser:
    """Register through the real conversation with the default answers (five taps)."""
    who = h.user(user_id, first_name=name, language_code=lang, username=f"{name.lower()}{user_id}")
    await who.send("/start")
    await who.press(who.buttons()[["uk", "ru", "bg", "en"].index(lang)])
    await who.press(who.buttons()[0])          # keep the Telegram name
    await who.press(who.buttons()[district_index])
    await who.press(who.buttons()[-1])         # topics: Done
    await who.press(who.buttons()[0])          # consent
    return who
