"""Keyboards and texts shared by several features (built per request, never at import)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import BaseFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from bot.delivery import DeliveryEngine, Stats
from bot.i18n import LANGUAGE_NAMES, N_, esc
from bot.services import campaigns as campaigns_service
from bot.services.campaigns import Audience
from bot.services.users import TOPICS

log = logging.getLogger(__name__)
from storage.models import Campaign
from bot.updates import after_commit

TOPIC_NAMES = {
    "reports": N_("Local problems and their fixes"),
    "polls": N_("Polls and surveys"),
    "events": N_("Events and meetings"),
    "proposals": N_("Project proposals"),
}


def role_routers(
    name: str, roles: frozenset[str], refusal: Callable[[], str], *buttons: Any
) -> tuple[Router, Router]:
    """A feature's private-chat router and its sub-router ``staff`` for holders of any of ``roles``
    (admins pass too), re-checked on the server for every update. Anyone else pressing (or
    forging) one of ``buttons`` (callback filters, e.g. ``PollCb.filter()``) gets ``refusal()``
    as an alert. (A staff member's stale button falls through to the fallback router's
    "no longer active".)"""
    from bot.filters import HasRole

    router = Router(name=name)
    router.message.filter(F.chat.type == "private")
    staff = Router(name=f"{name}-staff")
    staff.message.filter(HasRole(*roles))
    staff.callback_query.filter(HasRole(*roles))
    refusals = Router(name=f"{name}-refusals")
    refusals.callback_query.filter(~HasRole(*roles))

    async def refuse(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
        callback_answer.text = refusal()
        callback_answer.show_alert = True

    for button in buttons:
        refusals.callback_query.register(refuse, button)
    router.include_routers(staff, refusals)
    return router, staff


class LangCb(CallbackData, prefix="lang"):
    code: str


class PickCb(CallbackData, prefix="pick"):
    """A choice in a wizard step: `step` names the step so an old button cannot hit a new step."""

    step: str
    value: str = ""


def language_keyboard(current: str | None = None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        mark = " ✓" if code == current else ""
        kb.button(text=f"{name}{mark}", callback_data=LangCb(code=code))
    kb.adjust(2)
    return kb.as_markup()


def district_keyboard(community: Community, locale: str, step: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for district in community.districts:
        kb.button(text=district.name(locale), callback_data=PickCb(step=step, value=district.code))
    kb.adjust(2)
    return kb.as_markup()


def topics_keyboard(selected: list[str], step: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for topic in TOPICS:
        mark = "☑️" if topic in selected else "⬜"
        kb.button(text=f"{mark} {_(TOPIC_NAMES[topic])}", callback_data=PickCb(step=step, value=topic))
    kb.button(text=_("Done ✅"), callback_data=PickCb(step=step, value="done"))
    kb.adjust(1)
    return kb.as_markup()


def topics_text(topics: list[str]) -> str:
    return ", ".join(_(TOPIC_NAMES[t]) for t in TOPICS if t in topics) or _("none")


async def close_buttons(callback: CallbackQuery) -> None:
    """Remove the buttons of an answered wizard message, so they cannot be pressed again."""
    if isinstance(callback.message, Message):
        try:
            await callback.message.edit_reply_markup(reply_markup=None)
        except TelegramBadRequest:
            pass


async def edit_text(callback: CallbackQuery, text: str, markup: Any) -> None:
    """Edit the pressed button's message in place ("not modified" is fine)."""
    if isinstance(callback.message, Message):
        try:
            await callback.message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message:
                raise


async def launch(
    message: Message, session: AsyncSession, delivery: DeliveryEngine, locale: str, *, kind: str,
    payload: dict[str, Any], audience: Audience, key: str, count: int, created_by: int | None, now: datetime,
    created: Callable[[Campaign], str], owner: Any = None, send_at: datetime | None = None,
    urgent: bool = False, org_id: int | None = None,
) -> Campaign:
    """Create a wizard's campaign (``owner``, e.g. the poll, gets its ``campaign_id``), say so
    (``created`` gives the text), and once it is committed post the progress message the engine
    keeps edited, then wake the engine."""
    campaign = await campaigns_service.create_campaign(
        session, kind=kind, payload=payload, audience=audience, send_at=send_at, urgent=urgent,
        created_by=created_by, key=key, progress_chat_id=message.chat.id, now=now,
    )
    campaign.org_id = org_id
    if owner is not None:
        owner.campaign_id = campaign.id
        if hasattr(type(owner), "org_id"):  # polls and events can be made for an organisation; discussions not
            owner.org_id = org_id
    await message.answer(created(campaign))
    phase = "scheduled" if send_at else "running"
    ctx = delivery.progress_context(campaign, phase, Stats(total=count, pending=count), locale)
    out = delivery.render_progress(ctx)
    assert out is not None
    campaign_id, chat_id, bot = campaign.id, message.chat.id, message.bot

    async def post_progress() -> None:  # after the commit, before the engine is woken
        assert bot is not None
        try:
            progress = await bot.send_message(chat_id, out.text, reply_markup=out.reply_markup)
        except TelegramAPIError as exc:
            log.warning("Could not post the progress of campaign %s: %s", campaign_id, exc)
            return
        async with delivery.sessionmaker() as other:
            await campaigns_service.set_progress_message(other, campaign_id, progress.message_id)
            await other.commit()

    await after_commit(post_progress)
    await session.commit()
    delivery.wake()
    return campaign


async def edit_card(bot: Any, chat_id: int, message_id: int, text: str, markup: Any, what: str) -> None:
    """Re-render a card in a staff group in place; "not modified" is fine, other failures are
    logged (the card is only a view: the database holds the truth)."""
    try:
        await bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            log.warning("Could not edit the card of %s: %s", what, exc)
    except TelegramAPIError as exc:
        log.warning("Could not edit the card of %s: %s", what, exc)


def person(user: Any) -> str:
    """Someone as admins see them: name, @username, Telegram id (HTML-escaped)."""
    name = esc(user.display_name or "—")
    handle = f" @{esc(user.username)}" if user.username else ""
    return f"{name}{handle} (id {user.telegram_id})"


def grid(buttons: Sequence[tuple[str, CallbackData]], width: int) -> InlineKeyboardMarkup | None:
    """Buttons ``width`` to a row (a list of polls, events, ...); None when there are none."""
    if not buttons:
        return None
    kb = InlineKeyboardBuilder()
    for text, data in buttons:
        kb.button(text=text, callback_data=data)
    kb.adjust(width)
    return kb.as_markup()


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def rows(*rows_: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[list(r) for r in rows_])


# The resident's main menu: big reply-keyboard buttons for people who don't type commands.
# a message that is not a command (a wizard's typed answer; /cancel and the rest pass through)
NOT_COMMAND = ~F.text.startswith("/")

MENU_PROFILE = N_("👤 My profile")
MENU_HELP = N_("❓ Help")
MENU_REPORT = N_("📝 Report a problem")
MENU_POLLS = N_("📊 Polls")
MENU_EVENTS = N_("📅 Events")
MENU_PROPOSALS = N_("💡 Projects")


def main_menu() -> ReplyKeyboardMarkup:
    """While a mediator acts for a resident, its first row names the resident and stops it
    (handlers/mediators)."""
    from bot.middlewares import acting_code

    keyboard = [
        [KeyboardButton(text=_(MENU_REPORT)), KeyboardButton(text=_(MENU_PROPOSALS))],
        [KeyboardButton(text=_(MENU_POLLS)), KeyboardButton(text=_(MENU_EVENTS))],
        [KeyboardButton(text=_(MENU_PROFILE)), KeyboardButton(text=_(MENU_HELP))],
    ]
    code = acting_code.get()
    if code:
        keyboard.insert(0, [KeyboardButton(text=_("⏹ Stop acting for {code}").format(code=code))])
    return ReplyKeyboardMarkup(
        keyboard=keyboard,
        resize_keyboard=True,
        is_persistent=True,
    )


class MenuText(BaseFilter):
    """Matches a reply-keyboard button's text in the sender's current language."""

    def __init__(self, msgid: str) -> None:
        self.msgid = msgid

    async def __call__(self, message: Message, **kwargs: Any) -> bool:
        return message.text is not None and message.text == _(self.msgid)


class ChannelCb(CallbackData, prefix="ch"):
    """Publish to the public channel (handlers/channel): ``what`` poll | discussion | proposal |
    event (asks for a photo) | eventgo (the event without one)."""

    what: str
    id: int


def publish_button(settings: Any, what: str, ref_id: int) -> InlineKeyboardButton | None:
    """The "to the public channel" button for a view, or None when no channel is configured."""
    if settings is None or not settings.public_channel_id:
        return None
    return InlineKeyboardButton(text=_("📢 To the public channel"), callback_data=ChannelCb(what=what, id=ref_id).pack())
