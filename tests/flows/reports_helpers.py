"""Shortcuts for the issue-report flow tests (residents, moderators, the moderators' group)."""
from __future__ import annotations

import re

from bot.fakeapi import FakeGroup, FakeUser, SentMessage
from bot.services import users as users_service
from tests.flows.helpers import register
from tests.harness import MODERATORS_CHAT, Harness

PLACE = (46.6400, 32.6200)  # inside Kherson's area


def quiet_off(h: Harness) -> None:
    """Status notifications respect quiet hours; tests run at any hour."""
    assert h.app is not None and h.app.delivery is not None
    h.app.delivery.configure(quiet_hours=None, time_scale=20)


def moderators_group(h: Harness, *, forum: bool = False) -> FakeGroup:
    quiet_off(h)
    return h.fake.group(MODERATORS_CHAT, "Moderators", is_forum=forum)


async def moderator(h: Harness, group: FakeGroup, user_id: int, name: str) -> FakeUser:
    who = await register(h, user_id, name)
    async with h.db() as s:
        user = await users_service.by_telegram_id(s, user_id)
        assert user is not None
        await users_service.grant_role(s, user, "moderator", None)
        await s.commit()
    group.add_member(who)
    return who


async def file_report(
    who: FakeUser,
    *,
    category: str = "Street lighting",
    text: str = "The street lamp at Ushakova 12 is broken",
    photos: int = 0,
    place: tuple[float, float] | str | None = PLACE,
    show_name: bool = False,
) -> int:
    """Go through /report with the given answers; returns the report number."""
    await who.send("/report")
    await who.press(category)
    await who.send(text)
    for _ in range(photos):
        await who.send_photo()
    await who.press("Done ✅" if photos else "Skip")
    if place is None:
        await who.send("Skip")
    elif isinstance(place, str):
        await who.send(place)
    else:
        await who.send_location(*place)
    await who.press("✅ Keep")
    await who.press("👤 Yes, show my name" if show_name else "🙈 No")
    await who.press("✅ Send the report")
    found = re.search(r"#(\d+)", who.last.text)
    assert found, who.last.text
    return int(found.group(1))


def card_of(group: FakeGroup, number: int) -> SentMessage:
    for message in group.messages:
        if message.text.startswith(("🆕", "✅", "🛠", "🎉", "🚫", "🔁", "↩️", "🔄")) and \
                f"Report #{number} " in message.text:
            return message
    raise AssertionError(f"no card for #{number} in {[m.text[:40] for m in group.messages]}")
