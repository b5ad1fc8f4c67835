"""Aggregated input for organizers: /stats (impact figures for a period, as text and charts),
/report_for_council (an HTML document in a chosen language) and /digest (daily or weekly, to
the organizer privately or to the organizers' chat; queued by the periodic due checks)."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
)
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import charts, jobs
from bot.commands import ORGANIZING, CommandSpec, register
from bot.community import Community
from bot.config import SUPPORTED_LOCALES, Settings
from bot.delivery import DeliveryEngine, Outgoing, RenderContext, register_kind
from bot.i18n import N_
from bot.scheduler import DUE_CHECK_SECONDS
from bot.services import impact
from bot.services import recommendations as recommendations_service
from bot.services.errors import DomainError
from handlers import chart_texts
from handlers.audience import language_name
from handlers.polls.texts import split
from handlers.shared import edit_text, grid, role_routers
from handlers.stats import council, texts
from storage.models import User

register(
    CommandSpec("stats", N_("Impact figures for a period, with charts"), ORGANIZING, purpose="follow"),
    CommandSpec("report_for_council", N_("A report for the council (HTML document)"), ORGANIZING, purpose="follow"),
    CommandSpec("digest", N_("Get a daily or weekly digest"), frozenset({"organizer"}), purpose="follow"),
)


class StatsCb(CallbackData, prefix="st"):
    """``w``: s (figures) | c (council report); ``p``: a period code; ``l``: the report's language."""

    w: str
    p: str
    l: str = ""  # the language (short: callback data has 64 bytes)


class DigestCb(CallbackData, prefix="dg"):
    to: str  # me | group | preview (of the next digest of frequency ``f``)
    f: str  # daily | weekly | off


figures_router, staff = role_routers("stats", ORGANIZING, texts.only_organizers, StatsCb.filter())
digest_router, organizers = role_routers("digest", frozenset({"organizer"}), texts.only_organizers, DigestCb.filter())
router = Router(name="aggregated")
router.include_routers(figures_router, digest_router)


def _periods(what: str) -> InlineKeyboardMarkup | None:
    return grid([(_(name), StatsCb(w=what, p=code)) for code, name in texts.PRESET_NAMES.items()], 2)


async def _period(session: AsyncSession, text: str, settings: Settings, delivery: DeliveryEngine
                  ) -> tuple[impact.Period | None, str | None]:
    """The period asked for, or the error to answer."""
    first = await impact.first_data(session)
    try:
        return impact.parse_period(text, delivery.now(), settings.tz, first), None
    except DomainError as exc:
        return None, texts.period_error(exc)


# -- /stats ----------------------------------------------------------------------------------------


@staff.message(Command("stats"))
async def stats(message: Message, command: CommandObject, session: AsyncSession, settings: Settings,
                community: Community, i18n: I18n, delivery: DeliveryEngine) -> None:
    if not command.args:
        await message.answer(texts.ask_period("stats"), reply_markup=_periods("s"))
        return
    await _send_figures(message, command.args, session, settings, community, i18n.current_locale, delivery)


@staff.callback_query(StatsCb.filter(F.w == "s"))
async def stats_period(callback: CallbackQuery, callback_data: StatsCb, session: AsyncSession, settings: Settings,
                       community: Community, i18n: I18n, delivery: DeliveryEngine) -> None:
    if isinstance(callback.message, Message):
        await _send_figures(callback.message, callback_data.p, session, settings, community, i18n.current_locale,
                            delivery)


async def _send_figures(message: Message, asked: str, session: AsyncSession, settings: Settings,
                        community: Community, locale: str, delivery: DeliveryEngine) -> None:
    period, error = await _period(session, asked, settings, delivery)
    if period is None:
        await message.answer(error or "")
        return
    f = await impact.figures(session, period, delivery.now())
    for part in split(texts.figures(f, community, locale, settings.tz)):
        await message.answer(part)
    if f.quiet:
        return
    titles, album = texts.chart_titles(), texts.chart_bars(f, community, locale)
    # each chart carries its figures as text too, in its caption; the picture names its n and period
    period_text = texts.period_line(f.period, locale, settings.tz)
    totals = {"districts": f.residents_total, "reports": f.reports_received}
    photos = []
    for name, bars in album:
        n = chart_texts.in_all(totals[name], locale) if name in totals else None
        image = charts.bar_chart(titles[name], bars, subtitle=chart_texts.subtitle(n, period_text))
        photos.append(InputMediaPhoto(media=BufferedInputFile(image, f"{name}.png"),
                                      caption=texts.chart_caption(titles[name], bars, locale)))
    if len(photos) == 1:
        await message.answer_photo(photos[0].media, caption=photos[0].caption)
    elif photos:
        await message.answer_media_group(photos)  # type: ignore[arg-type]


# -- /report_for_council ---------------------------------------------------------------------------


def _languages(code: str) -> InlineKeyboardMarkup | None:
    return grid([(language_name(lang), StatsCb(w="c", p=code, l=lang)) for lang in SUPPORTED_LOCALES], 2)


@staff.message(Command("report_for_council"))
async def council_report(message: Message, command: CommandObject, session: AsyncSession, settings: Settings,
                         delivery: DeliveryEngine) -> None:
    if not command.args:
        await message.answer(texts.ask_period("council"), reply_markup=_periods("c"))
        return
    period, error = await _period(session, command.args, settings, delivery)
    if period is None:
        await message.answer(error or "")
        return
    await message.answer(texts.choose_language(), reply_markup=_languages(period.code))


@staff.callback_query(StatsCb.filter(F.w == "c"))
async def council_step(callback: CallbackQuery, callback_data: StatsCb, session: AsyncSession, settings: Settings,
                       community: Community, i18n: I18n, delivery: DeliveryEngine,
                       callback_answer: CallbackAnswer) -> None:
    message = callback.message
    if not isinstance(message, Message):
        return
    period, error = await _period(session, callback_data.p, settings, delivery)
    if period is None:
        callback_answer.text, callback_answer.show_alert = error, True
        return
    if callback_data.l not in SUPPORTED_LOCALES:
        await edit_text(callback, texts.choose_language(), _languages(period.code))
        return
    now, tz = delivery.now(), settings.tz
    data = await impact.council(session, period, now, settings.poll_min_group)
    recommendations = await recommendations_service.for_council(session, period.start, period.end,
                                                                settings.poll_min_group, settings.discussion_min_group)
    if data.figures.quiet and not recommendations:
        await message.answer(texts.no_data_for_report(texts.period_line(period, i18n.current_locale, tz)))
        return
    callback_answer.text = texts.preparing()
    with i18n.use_locale(callback_data.l):
        document = council.render(data, community, callback_data.l, tz, now, recommendations)
        name = f"{council.file_stem()}-{period.start.astimezone(tz):%Y-%m-%d}-{texts.last_moment(period).astimezone(tz):%Y-%m-%d}.html"
        caption = council.title()
    await message.answer_document(BufferedInputFile(document, filename=name), caption=caption)


# -- /digest ---------------------------------------------------------------------------------------


def _digest_keyboard(mine: str | None, group: str | None, has_group: bool) -> InlineKeyboardMarkup | None:
    buttons = []
    for to, current, icon in (("me", mine, "👤"), ("group", group, "👥")):
        if to == "group" and not has_group:
            continue
        for f, name in (*texts.FREQUENCY_NAMES.items(), ("off", N_("Off"))):
            mark = "✅ " if (current or "off") == f else ""
            buttons.append((f"{mark}{icon} {_(name)}", DigestCb(to=to, f=f)))
    # the next digest as it stands now: the one this person gets, else the group's, else the weekly one
    frequency = mine or group or "weekly"
    buttons.append((texts.preview_button(), DigestCb(to="preview", f=frequency)))
    return grid(buttons, 3)


async def _digest_view(session: AsyncSession, chat_id: int, settings: Settings) -> tuple[str, InlineKeyboardMarkup | None]:
    mine = await impact.subscription(session, chat_id)
    group = await impact.subscription(session, settings.organizers_chat_id) if settings.organizers_chat_id else None
    has_group = settings.organizers_chat_id is not None
    mine_f, group_f = (mine.frequency if mine else None), (group.frequency if group else None)
    text = texts.digest_settings(mine_f, group_f, has_group, settings.digest_hour, settings.digest_weekday_number)
    return text, _digest_keyboard(mine_f, group_f, has_group)


@organizers.message(Command("digest"))
async def digest(message: Message, session: AsyncSession, settings: Settings) -> None:
    text, markup = await _digest_view(session, message.chat.id, settings)
    await message.answer(text, reply_markup=markup)


@organizers.callback_query(DigestCb.filter(F.to == "preview"))
async def digest_preview(callback: CallbackQuery, callback_data: DigestCb, session: AsyncSession, settings: Settings,
                         community: Community, i18n: I18n, delivery: DeliveryEngine) -> None:
    """The next digest as it stands now, in this person's language, sent to nobody else."""
    frequency = callback_data.f if callback_data.f in impact.FREQUENCIES else "weekly"
    payload = await impact.preview_digest(session, frequency, delivery.now(), settings.tz, hour=settings.digest_hour,
                                          weekday=settings.digest_weekday_number, min_group=settings.poll_min_group)
    assert isinstance(callback.message, Message)
    await callback.message.answer(texts.digest_preview(payload, community, i18n.current_locale, settings.tz))


@organizers.callback_query(DigestCb.filter())
async def digest_set(callback: CallbackQuery, callback_data: DigestCb, session: AsyncSession, settings: Settings,
                     user: User | None, delivery: DeliveryEngine, callback_answer: CallbackAnswer) -> None:
    frequency = callback_data.f if callback_data.f in impact.FREQUENCIES else None
    if callback_data.to != "group" and user is None:  # an admin who never registered: no language to write in
        callback_answer.text = _("To get a digest of your own, register first: type /start.")
        callback_answer.show_alert = True
        return
    if callback_data.to == "group":
        if settings.organizers_chat_id is None:
            callback_answer.text = _("This button is no longer active.")
            return
        chat_id, user_id = settings.organizers_chat_id, None
    else:
        assert user is not None
        chat_id, user_id = callback.from_user.id, user.id
    await impact.subscribe(session, chat_id, user_id, frequency, callback.from_user.id, delivery.now())
    await session.commit()
    callback_answer.text = texts.digest_saved()
    text, markup = await _digest_view(session, callback.from_user.id, settings)
    await edit_text(callback, text, markup)


def render_digest(ctx: RenderContext) -> Outgoing:
    """In the organizer's language (the organizers' chat: DEFAULT_LOCALE)."""
    assert ctx.community is not None and ctx.settings is not None
    return Outgoing(text=texts.digest(ctx.payload, ctx.community, ctx.locale, ctx.settings.tz))


register_kind(impact.DIGEST_KIND, render_digest)


async def queue_digests(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                        delivery: DeliveryEngine) -> int:
    """The periodic check: create the digests that are due (each once, also across restarts)."""
    async with sessionmaker() as session:
        created = await impact.queue_digests(
            session, delivery.now(), settings.tz, hour=settings.digest_hour,
            weekday=settings.digest_weekday_number, min_group=settings.poll_min_group, admin_ids=settings.admin_ids,
            organizers_chat_id=settings.organizers_chat_id)
        await session.commit()
    if created:
        delivery.wake()
    return len(created)


@jobs.job("digests", seconds=DUE_CHECK_SECONDS, at_start=True)
async def queue_digests_job(ctx: jobs.JobContext) -> None:
    await queue_digests(ctx.sessionmaker, ctx.settings, ctx.delivery)
