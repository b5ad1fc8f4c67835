"""Texts of the registration conversation."""
from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.community import Community
from bot.i18n import esc


def greeting(community: Community, locale: str) -> str:
    return _(
        "👋 Hello! I am Hromada, the assistant of the {community} community.\n\n"
        "Here you can report local problems, answer quick polls, sign up for events "
        "and propose projects for your neighbourhood.\n\n"
        "First, choose your language:"
    ).format(community=esc(community.name(locale)))


def ask_name(suggested: str | None) -> str:
    if suggested:
        return _(
            "How should we call you? Type a name or a nickname, or keep <b>{name}</b>."
        ).format(name=esc(suggested))
    return _("How should we call you? Type a name or a nickname.")


def ask_district() -> str:
    return _(
        "Which district do you live in? We use it to send you local news "
        "and to count needs by district."
    )


def ask_topics() -> str:
    return _("What would you like to hear about? Tap to switch a topic on or off, then tap Done.")


def ask_consent() -> str:
    return _(
        "<b>Before we save anything</b>\n\n"
        "We store what you tell us (your name, district, language and topics) and, from Telegram, "
        "your id and your username if you have one: the id so we can write to you, the username "
        "so an admin can find you to give you a role. We use them to send you what you asked for "
        "and to count, anonymously, what residents need.\n\n"
        "You can download your data with /mydata and delete it with /deleteme at any time. "
        "More: /privacy\n\n"
        "Do you agree?"
    )


def registered(name: str) -> str:
    return _(
        "✅ Thank you, {name}! You are registered.\n\n"
        "Use the menu below or type /help to see what you can do."
    ).format(name=esc(name))


def declined() -> str:
    return _(
        "All right, nothing was saved. If you change your mind, type /start at any time."
    )


def welcome_back(name: str | None) -> str:
    return _("Welcome back, {name}! Type /help to see what you can do.").format(
        name=esc(name or "")
    )


def resume() -> str:
    return _("Let's continue where we stopped.")


def use_buttons() -> str:
    return _("Please choose one of the buttons below.")


def name_as_text() -> str:
    return _("Please send your name as a text message.")
