"""Admins grant and revoke roles; everyone else is refused politely, on the server."""
from __future__ import annotations

from tests.flows.helpers import register
from tests.harness import ADMIN_ID, Harness


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
