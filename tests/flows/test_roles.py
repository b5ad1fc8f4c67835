"""Admins grant and revoke roles; everyone else is refused politely, on the server."""
from __future__ import annotations

from tests.flows.helpers import register
from tests.harness import ADMIN_ID, MODERATORS_CHAT, Harness


async def test_grant_revoke_by_username_id_and_reply(harness: Harness) -> None:
    admin = await register(harness, ADMIN_ID, "Admin")
    anna = await register(harness, 3001, "Anna")
    await register(harness, 3002, "Bob")
    await admin.send("/grant organizer @anna3001")
    assert "Anna" in admin.last.text and "organizer" in admin.last.text
    await admin.send("/grant moderator 3002")
    assert "moderator" in admin.last.text
    await admin.send("/grant moderator 3002")
    assert "already" in admin.last.text
    await admin.send("/roles")
    assert "organizer" in admin.last.text and "Bob" in admin.last.text
    # the organizer's personal menu now has organizer commands (published per chat)
    scopes = [c for c in harness.fake.calls if c.method.lower() == "setmycommands" and '"chat_id": 3001' in str(c.params).replace("'", '"')]
    assert scopes
    await admin.send("/revoke organizer @ANNA3001")
    assert "Revoke the role organizer from Anna" in admin.last.text   # asks first
    await admin.press("Yes, revoke")
    assert "no longer" in admin.last.text
    await admin.send("/grant wizard @anna3001")
    assert "Usage" in admin.last.text
    await admin.send("/grant moderator @nobody")
    assert "start the bot first" in admin.last.text
    await anna.send("/help")
    assert "/grant" not in anna.last.text


async def test_resident_is_refused_admin_commands(harness: Harness) -> None:
    anna = await register(harness, 3003, "Anna")
    for command in ("/grant moderator 3003", "/revoke moderator 3003", "/roles"):
        await anna.send(command)
        assert "not available to you" in anna.last.text
    from sqlalchemy import select

    from storage.models import UserRole

    async with harness.db() as s:
        assert (await s.scalars(select(UserRole))).all() == []


async def test_staff_menus_are_published_in_every_language(harness: Harness) -> None:
    harness.fake.group(MODERATORS_CHAT, "Moderators")
    await register(harness, ADMIN_ID, "Admin")
    await harness.restart()  # menus are published at start, to the chats that exist
    group = {"type": "chat", "chat_id": MODERATORS_CHAT}
    admin = {"type": "chat", "chat_id": ADMIN_ID}
    queue = {lang: next(c["description"] for c in harness.fake.commands(group, lang) if c["command"] == "queue")
             for lang in ("uk", "ru", "bg", "en")}
    assert len(set(queue.values())) == 4  # each in its own language
    assert queue["en"] == "Open reports, oldest first"
    for lang in ("uk", "ru", "bg", "en", None):
        names = [c["command"] for c in harness.fake.commands(admin, lang)]
        assert "grant" in names and "mydata" in names
