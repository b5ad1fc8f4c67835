"""A typed message as the answer to the free-text question in front of the resident.

Tried after every feature, just before the fallback: a message no conversation is waiting for is
the answer to a free-text question the bot showed the resident (a one-question poll delivered to
them, or a survey's next question), when there is exactly one. (A question shown in the chat by a
button waits through the conversation state instead: ``residents.send_question``.)"""
from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.delivery import DeliveryEngine
from bot.services import polls as polls_service
from handlers.polls.base import MENU_TEXT, NOT_COMMAND
from handlers.polls.residents import take_text_answer
from storage.models import User

router = Router(name="polls-typed-answers")
router.message.filter(F.chat.type == "private")


@router.message(StateFilter(None), F.text, NOT_COMMAND, ~MENU_TEXT)
async def typed_answer(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, user: User | None,
    settings: Settings, i18n: I18n, delivery: DeliveryEngine, poll_secret: bytes,
) -> None:
    if user is None or not user.is_registered:
        raise SkipHandler
    waiting = await polls_service.waiting_text_answers(session, user, poll_secret, delivery.now())
    if len(waiting) != 1:  # none, or several: which one it answers is not known
        raise SkipHandler
    poll, position = waiting[0]
    await take_text_answer(message, state, session, bot, user, settings, i18n, delivery, poll_secret,
                           poll.id, position)
