"""`/dashboard` in a private chat: organizers, moderators and admins get a one-time sign-in link
to the dashboard in a browser (bot/dashboard), and a button that opens it as a Mini App."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, WebAppInfo
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import CommandSpec, register
from bot.config import Settings
from bot.i18n import N_, esc
from bot.services import dashboard as dashboard_service
from storage.models import User

router = Router(name="dashboard")
router.message.filter(F.chat.type == "private")

register(CommandSpec("dashboard", N_("The dashboard in a browser (a sign-in link)"),
                     frozenset({"organizer", "moderator", "representative"}), purpose="follow"))


@router.message(Command("dashboard"))
async def dashboard(message: Message, session: AsyncSession, settings: Settings, user: User | None,
                    roles: set[str]) -> None:
    if not roles & dashboard_service.STAFF_ROLES:
        await message.answer(_("Only organizers, moderators, representatives of organisations and admins can open the dashboard."))
        return
    if not settings.dashboard_url or not settings.dashboard_enabled:
        await message.answer(_("The dashboard is not switched on: an operator sets DASHBOARD_URL (and "
                               "DASHBOARD_PORT without a webhook)."))
        return
    if user is None or not user.is_registered:
        await message.answer(_("Please register first with /start."))
        return
    token = await dashboard_service.issue_link(session, user.id)
    link = f"{settings.dashboard_url}signin?t={token}"
    markup = None
    if settings.dashboard_url.startswith("https://"):
        markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
            text=_("📋 Open in Telegram"), web_app=WebAppInfo(url=f"{settings.dashboard_url}reports"))]])
    await message.answer(
        _("Your sign-in link to the dashboard, for you only: it works once, within {minutes} minutes.\n"
          "{link}").format(minutes=dashboard_service.LINK_MINUTES, link=f'<a href="{esc(link)}">{esc(link)}</a>'),
        link_preview_options=LinkPreviewOptions(is_disabled=True), reply_markup=markup,
    )
