"""Residents and representatives: /recommendations (those open for support), a recommendation's
details with its evidence, supporting it (once, revocable until submission), endorsing it for an
organisation one represents; and the campaign kinds: the recommendation as it opens, the news of
its submission, the council's answer and its outcome."""
from __future__ import annotations

from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot import jobs
from bot.community import Community
from bot.config import Settings
from bot.delivery import DeliveryEngine, Outgoing, RenderContext, register_kind
from bot.services import orgs as orgs_service
from bot.services import recommendations as rs
from bot.services.errors import DomainError
from handlers.recommendations import keyboards, texts
from handlers.recommendations.base import residents
from handlers.recommendations.keyboards import RecVoteCb
from handlers.shared import edit_text, grid
from storage.models import Recommendation, User


@residents.message(Command("recommendations"))
async def recommendations_command(message: Message, session: AsyncSession, user: User | None, i18n: I18n,
                                  delivery: DeliveryEngine) -> None:
    locale = i18n.current_locale
    if user is None or not user.is_registered:
        await message.answer(texts.register_first())
        return
    found = await rs.open_for(session, user, delivery.now())
    # representatives also see those adopted and waiting for submission (they may still endorse)
    if await orgs_service.represented(session, user.id):
        found += [r for r in await rs.listing(session, ("open", "adopted")) if r.id not in {f.id for f in found}]
    items = [texts.resident_item(n, rec, locale) for n, rec in enumerate(found, 1)]
    await message.answer(texts.resident_list(items),
                         reply_markup=grid([(str(n), RecVoteCb(a="show", id=rec.id)) for n, rec in enumerate(found, 1)],
                                           5))


async def detail(session: AsyncSession, rec: Recommendation, user: User | None, settings: Settings,
                 community: Community, locale: str, now: object) -> tuple[str, object]:
    items = [(item, await rs.figures(session, item, settings.poll_min_group,
                                            settings.discussion_min_group))
             for item in await rs.evidence(session, rec.id)]
    endorsements = await rs.endorsements(session, rec.id)
    names = [texts.pick(org.name, locale, "en") for _e, org in endorsements]
    text = texts.card(rec, items, names, [], community, locale, settings.tz, organizer=False)
    mine = await rs.supports(session, rec.id, user.id) if user is not None else False
    if mine:
        text += "\n" + texts.you_support()
    open_ = rec.status in rs.SUPPORTABLE and (rec.open_until is None or rec.open_until > now)  # type: ignore[operator]
    can = user is not None and open_ and rs.in_audience(rec, user)
    endorsed = {e.org_id for e, _o in endorsements}
    orgs = [(org, org.id in endorsed) for org in await orgs_service.represented(session, user.id)] if user else []
    return text, keyboards.resident_card(rec, can_support=can, supports=mine, orgs=orgs, locale=locale)


async def show(message: Message, rec_id: int, session: AsyncSession, user: User | None, settings: Settings,
               community: Community, i18n: I18n, delivery: DeliveryEngine) -> None:
    """A recommendation opened from a link (the public channel's ``rec_<id>``)."""
    rec = await rs.get(session, rec_id) if rec_id else None
    if rec is None or rec.status == "draft":
        await message.answer(texts.error_text(DomainError("rec_missing")))
        return
    text, markup = await detail(session, rec, user, settings, community, i18n.current_locale, delivery.now())
    await message.answer(text, reply_markup=markup)


@residents.callback_query(RecVoteCb.filter())
async def vote_button(callback: CallbackQuery, callback_data: RecVoteCb, callback_answer: CallbackAnswer,
                      session: AsyncSession, user: User | None, settings: Settings, community: Community,
                      i18n: I18n, delivery: DeliveryEngine) -> None:
    locale, cb = i18n.current_locale, callback_data
    rec = await rs.get(session, cb.id)
    if rec is None or rec.status == "draft":
        callback_answer.text, callback_answer.show_alert = texts.error_text(DomainError("rec_missing")), True
        return
    if cb.a == "doc":
        if rec.answer_file_id:
            assert callback.message is not None
            await callback.message.answer_document(rec.answer_file_id, caption=texts.answer_caption(
                texts.pick(rec.title, locale, rec.default_locale)))
        return
    if cb.a in ("sup", "uns", "end", "une"):
        if user is None or not user.is_registered:
            callback_answer.text, callback_answer.show_alert = texts.register_first(), True
            return
        try:
            if cb.a == "sup":
                callback_answer.text = texts.supported(await rs.support(session, rec.id, user, delivery.now()))
            elif cb.a == "uns":
                await rs.unsupport(session, rec.id, user)
                callback_answer.text = texts.support_taken_back()
            elif cb.a == "end":
                org = await rs.endorse(session, rec.id, cb.org, user, delivery.now())
                callback_answer.text = texts.endorsed(orgs_service.name_of(org, locale))
            else:
                org = await rs.unendorse(session, rec.id, cb.org, user)
                callback_answer.text = texts.endorsement_taken_back(orgs_service.name_of(org, locale))
        except DomainError as exc:
            await session.rollback()
            await session.refresh(user)  # (expired by the rollback; the details read it)
            callback_answer.text, callback_answer.show_alert = texts.error_text(exc), True
        else:
            await session.commit()
        rec = await rs.get(session, cb.id)
        assert rec is not None
    text, markup = await detail(session, rec, user, settings, community, locale, delivery.now())
    if cb.a == "show":
        assert callback.message is not None
        await callback.message.answer(text, reply_markup=markup)  # the published message stays as it is
    else:
        await edit_text(callback, text, markup)


# -- what the delivery engine sends ----------------------------------------------------------------


def render_open(ctx: RenderContext) -> Outgoing:
    assert ctx.community is not None and ctx.settings is not None
    return Outgoing(text=texts.public_text(ctx.payload, ctx.community, ctx.locale, ctx.settings.tz),
                    reply_markup=keyboards.public(int(ctx.payload["id"])))


def render_news(ctx: RenderContext) -> Outgoing:
    assert ctx.community is not None and ctx.settings is not None
    return Outgoing(text=texts.news(ctx.payload, ctx.community, ctx.locale, ctx.settings.tz),
                    reply_markup=keyboards.more(int(ctx.payload["id"])))


register_kind(rs.OPEN_KIND, render_open)
register_kind(rs.NEWS_KIND, render_news)


@jobs.job("recommendation-news-forget", seconds=60, at_start=True)
async def forget_news_recipients(ctx: jobs.JobContext) -> int:
    """Who got a recommendation's news includes who took part in its polls and discussions: once
    sent, those outbox rows go (see rs.forget_news_recipients)."""
    async with ctx.sessionmaker() as session:
        gone = await rs.forget_news_recipients(session)
        await session.commit()
    return gone


