"""Last router: unknown commands, unexpected input and stale buttons get a clear answer."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import User, utcnow

router = Router(name="fallback")


@router.message(F.chat.type == "private", F.text.startswith("/"))
async def unknown_command(message: Message) -> None:
    await message.answer(_("I don't know this command. Type /help to see what I can do."))


@router.message(F.chat.type == "private")
async def unexpected(message: Message, state: FSMContext, user: User | None) -> None:
    if await state.get_state() is not None:
        await message.answer(_("Please answer the question above, or type /cancel to stop."))
    elif user is None or not user.is_registered:
        await message.answer(_("Hello! Type /start to register, or /help to see what I can do."))
    else:
        await message.answer(_("I did not understand that. Use the menu below or type /help."))


@router.callback_query()
async def stale_button(callback: CallbackQuery) -> None:
    await callback.answer(_("This button is no longer active."))


@router.my_chat_member(F.chat.type == "private")
async def blocked_or_unblocked(event: ChatMemberUpdated, session: AsyncSession, user: User | None) -> None:
    """A resident who blocks the bot is unreachable until they write again."""
    if user is not None:
        user.unreachable_at = utcnow() if event.new_chat_member.status == "kicked" else None
