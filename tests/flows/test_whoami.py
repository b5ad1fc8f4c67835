"""A new operator finds the ids the settings ask for without leaving Telegram (issue 20)."""
from __future__ import annotations

import logging

from bot.config import Settings
from tests.harness import ADMIN_ID, Harness


async def test_whoami_and_chatid(harness: Harness) -> None:
    stranger = harness.user(7001, first_name="Taras", language_code="uk")
    await stranger.send("/whoami")
    assert "7001" in stranger.last.text and "ADMIN_IDS" in stranger.last.text
    assert "Telegram" in stranger.last.text and "id:" not in stranger.last.text  # said in Ukrainian

    group = harness.fake.group(-100777, "New group")
    admin = harness.user(ADMIN_ID, first_name="Admin", language_code="en")
    group.add_member(admin)
    group.add_member(stranger)
    await group.send(stranger, "/chatid")
    assert "-100777" not in group.last.text and group.last.reply_to_message_id is not None  # not an admin
    await group.send(admin, "/chatid")
    assert "-100777" in group.last.text and "MODERATORS_CHAT_ID" in group.last.text


def test_start_up_names_each_missing_optional_setting(caplog: object) -> None:
    settings = Settings(_env_file=None, bot_token="1:T", admin_ids=[], moderators_chat_id=None,
                        organizers_chat_id=None, public_channel_id=None)
    lines = settings.missing_optional()
    assert [line.split()[0] for line in lines] == ["ADMIN_IDS", "MODERATORS_CHAT_ID", "ORGANIZERS_CHAT_ID",
                                                   "PUBLIC_CHANNEL_ID", "DASHBOARD_URL"]
    assert all(": " in line for line in lines)  # and what it disables
    assert not Settings(_env_file=None, bot_token="1:T", admin_ids=[1], moderators_chat_id=-1, organizers_chat_id=-2,
                        public_channel_id="@c", dashboard_url="https://bot.example.org/app").missing_optional()
    logging.getLogger(__name__).debug("checked")
