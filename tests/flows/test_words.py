"""Words residents and organizers read (issue 19, items 17-19), through the real bot: a status
in the gender of what it describes, a question of the audience picker about what is being sent,
buttons that share a row short enough in each language, and the sample address the community's
own (its file), not one city's street in every community's catalog."""
from __future__ import annotations

from pathlib import Path

from bot.fakeapi import FakeUser
from tests.buttons import ROW_MAX, width
from tests.delivery_helpers import organizer, tune
from tests.flows.helpers import register
from tests.flows.test_polls import create_single_poll
from tests.harness import ROOT, Harness


def tr(h: Harness, msgid: str, lang: str) -> str:
    assert h.app is not None
    return h.app.i18n.gettext(msgid, locale=lang)


async def test_bulgarian_statuses_and_questions_agree_with_what_they_describe(harness: Harness) -> None:
    tune(harness, time_scale=20, progress_interval=0.05)
    await create_single_poll(harness, await organizer(harness, 8700))
    bg = await organizer(harness, 8701, "bg")
    await bg.send("/polls")
    listing = next(m.text for m in reversed(bg.messages) if "#" in m.text)
    assert "отворена" in listing and "отворено" not in listing      # «анкета» is feminine

    await bg.send("/announce")
    await bg.send("Водата спира в понеделник")
    await bg.press(tr(harness, "Continue ➡️", "bg"))
    assert "Кой да получи съобщението?" in bg.last.text                 # an announcement: «съобщение»
    assert "анкетата" not in bg.last.text


async def _report_until_the_address(who: FakeUser) -> str:
    await who.send("/report")
    await who.press(who.buttons()[0])                                    # the first category
    await who.send("Не світить ліхтар")
    await who.press(who.buttons()[-1])                                   # no photo: skip
    return who.last.text


async def test_the_menu_fits_and_the_sample_address_is_the_communitys(harness: Harness, tmp_path: Path) -> None:
    anna = await register(harness, 8710, "Anna", "uk")
    menu = anna.reply_keyboard_rows or [[b for b in row] for row in
                                        ([[x.get("text", "") for x in r] for r in anna.last.inline_keyboard])]
    shared = [label for row in menu if len(row) > 1 for label in row]
    assert shared and "📝 Нове звернення" in shared
    assert all(width(label) <= ROW_MAX for label in shared), shared

    prompt = await _report_until_the_address(anna)
    assert "просп. Ушакова, 12, біля зупинки" in prompt                  # kherson.toml's own example

    plain = tmp_path / "plain.toml"                                       # a community with no example
    plain.write_text("\n".join(line for line in (ROOT / "communities" / "kherson.toml").read_text(
        encoding="utf-8").splitlines() if not line.startswith("address_example")), encoding="utf-8")
    harness.settings.community_file = plain
    await harness.restart()
    await anna.send("/cancel")
    prompt = await _report_until_the_address(anna)
    assert "вулицю й номер будинку" in prompt and "Ушакова" not in prompt
