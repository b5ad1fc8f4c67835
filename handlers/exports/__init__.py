"""/export for organizers and admins: reports, proposals, events, poll and discussion results and
the offline residents as XLSX (for people, in their language) or CSV (for machines), and reports
as Open311 GeoReport v2 JSON for a city's systems.
Personal data only in admins' files (see bot.services.exports); the offline residents' table has
codes, never names or phones."""
from __future__ import annotations

import json

from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import CommandSpec, register
from bot.community import Community
from bot.config import Settings
from bot.delivery import DeliveryEngine
from bot.i18n import N_
from bot.services import exports as exports_service
from handlers.exports import texts
from handlers.shared import role_routers

register(CommandSpec("export", N_("Export reports, proposals, events, poll and discussion results, recommendations (XLSX, CSV, Open311)"), frozenset({"organizer"}), purpose="follow"))


class ExportCb(CallbackData, prefix="ex"):
    what: str  # reports | proposals | events | polls | discussions | offline | recommendations | open311
    fmt: str = "csv"  # csv | xlsx


def _refusal() -> str:
    return _("Sorry, only organizers and admins can export.")


router, staff = role_routers("exports", frozenset({"organizer"}), _refusal, ExportCb.filter())


TABLES = {"reports": N_("📝 Reports"), "proposals": N_("💡 Proposals"), "events": N_("📅 Events"),
          "polls": N_("📊 Poll results"), "discussions": N_("💬 Discussions"),
          "offline": N_("🤝 Offline residents"), "recommendations": N_("🏛 Recommendations")}


def _keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for what, label in TABLES.items():
        for fmt in ("csv", "xlsx"):
            kb.button(text=f"{_(label)} · {fmt.upper()}", callback_data=ExportCb(what=what, fmt=fmt))
    kb.button(text=_("🗺 Reports for city systems (Open311 JSON)"), callback_data=ExportCb(what="open311"))
    kb.adjust(*[2] * len(TABLES), 1)
    return kb.as_markup()


@staff.message(Command("export"))
async def export(message: Message, roles: set[str]) -> None:
    if "admin" in roles:
        note = _("As an admin you get names where people allowed them; share these files with care.")
    else:
        note = _("The files have no personal data: reporters and authors are not named.")
    await message.answer(_("<b>Export</b>: what do you need?") + "\n" + note, reply_markup=_keyboard())


@staff.callback_query(ExportCb.filter())
async def export_file(
    callback: CallbackQuery, callback_data: ExportCb, session: AsyncSession, roles: set[str], settings: Settings,
    community: Community, i18n: I18n, delivery: DeliveryEngine, callback_answer: CallbackAnswer,
) -> None:
    message = callback.message
    if not isinstance(message, Message):
        return
    locale, tz, personal = i18n.current_locale, settings.tz, "admin" in roles
    now = delivery.now()
    day = f"{now.astimezone(tz):%Y-%m-%d}"
    if callback_data.what == "open311":
        services = exports_service.open311_services(community, locale, texts.open311_service_description)
        requests = await exports_service.open311_requests(session, community, tz, locale, texts.status_notes)
        files = [(f"open311-services-{day}.json", json.dumps(services, ensure_ascii=False, indent=1).encode()),
                 (f"open311-requests-{day}.json", json.dumps(requests, ensure_ascii=False, indent=1).encode())]
        captions = [None, texts.open311_caption()]
    elif callback_data.what in TABLES and callback_data.fmt in ("csv", "xlsx"):
        table = await exports_service.table(session, callback_data.what, community, tz, locale, personal=personal,
                                            now=now, poll_min_group=settings.poll_min_group,
                                            discussion_min_group=settings.discussion_min_group)
        if callback_data.fmt == "csv":
            content = exports_service.to_csv(table, tz)
        else:
            content = exports_service.to_xlsx(table, texts.sheet(table, community, locale), tz)
        files = [(texts.file_name(table, day, callback_data.fmt), content)]
        captions = [texts.caption(table, callback_data.fmt, locale, tz)]
    else:
        callback_answer.text = _("This button is no longer active.")
        return
    callback_answer.text = _("Preparing the file…")
    for (name, content), caption in zip(files, captions, strict=True):
        await message.answer_document(BufferedInputFile(content, filename=name), caption=caption)
