"""Proposals in the moderators' group: a card per proposal (in the community's language) with the
buttons its status allows; publish, ask for changes, merge a duplicate, reject with a reason, and
follow the municipality's decision through to realisation. Authors and supporters are told of
every step in their own language (through the delivery engine).

The same people as for reports may act (moderators, admins, the group's Telegram admins), checked
again on the server for every press; a change is a conditional update on the status the card
showed, so a stale or simultaneous press changes nothing.
"""
from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, ForceReply, Message, ReplyParameters
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot import jobs
from bot.community import Community
from bot.config import Settings
from bot.delivery import Outgoing, RenderContext, register_kind
from bot.scheduler import REPORT_CHECK_SECONDS
from bot.services import campaigns as campaigns_service
from bot.services import orgs as orgs_service
from bot.services import proposals as proposals_service
from bot.services import users as users_service
from bot.services.errors import DomainError
from bot.services.proposals import Actor
from handlers.moderation import InModeratorsChat, can_moderate
from handlers.moderation.cards import mediator_label
from handlers.proposals import keyboards, texts
from handlers.proposals.keyboards import PModCb
from handlers.shared import edit_card, publish_button
from storage.models import Proposal, ProposalEvent, User
from bot.updates import live_calls

log = logging.getLogger(__name__)
router = Router(name="proposals-moderation")
router.message.filter(InModeratorsChat())
router.callback_query.filter(InModeratorsChat())

NEWS_KIND = "proposal-news"


class PropMod(StatesGroup):
    text = State()  # data: pid, st, action


async def _render(session: AsyncSession, proposal: Proposal, settings: Settings, community: Community,
                  i18n: I18n) -> tuple[str, Any]:
    locale = settings.moderators_chat_locale
    author = await users_service.by_id(session, proposal.user_id) if proposal.user_id else None
    org = await orgs_service.get(session, proposal.org_id) if proposal.org_id else None
    events = await proposals_service.history(session, proposal.id)
    mediator = await mediator_label(session, proposal.assisted_by)
    with i18n.use_locale(locale):
        # as for reports: no name, the minimum; this proposal's own pseudonym, and none at all beside
        # an organisation (a pseudonym there would narrow the organisation down to one person)
        who = "" if proposal.org_id is not None else "—" if author is None else (proposal.alias or "R-?")
        text = texts.card(proposal, events, community, locale, settings.tz, who,
                          orgs_service.name_of(org, locale) or None, mediator)
        markup = keyboards.moderation(proposal, publish_button(settings, "proposal", proposal.id))
    return text, markup


@live_calls
async def show_card(bot: Bot, session: AsyncSession, proposal: Proposal, settings: Settings,
                    community: Community, i18n: I18n, again: bool = False) -> None:
    """Post the card of a new proposal; for a reworked one, update its card and say so under it."""
    if again and proposal.card_message_id is not None:
        await refresh_card(bot, session, proposal.id, settings, community, i18n)
        with i18n.use_locale(settings.moderators_chat_locale):
            note = texts.resubmitted(proposal.id)
        await _under_card(bot, proposal, note)
        return
    chat_id = settings.moderators_chat_id
    if chat_id is None:
        log.warning("MODERATORS_CHAT_ID is not set: proposal #%s has no card", proposal.id)
        return
    text, markup = await _render(session, proposal, settings, community, i18n)
    try:
        card = await bot.send_message(chat_id, text, reply_markup=markup)
        await proposals_service.set_card(session, proposal, chat_id, card.message_id)
        if proposal.photo_file_id:
            await bot.send_photo(chat_id, proposal.photo_file_id, reply_parameters=ReplyParameters(
                message_id=card.message_id, allow_sending_without_reply=True))
    except TelegramAPIError as exc:
        log.warning("Could not post the card of proposal #%s: %s", proposal.id, exc)


async def show_card_of(sessionmaker: Any, proposal_id: int, bot: Bot, settings: Settings, community: Community,
                       i18n: I18n, again: bool = False) -> None:
    """A submitted proposal's card, after the proposal was committed (bot.updates.after_commit)."""
    async with sessionmaker() as session:
        proposal = await proposals_service.get(session, proposal_id)
        if proposal is None:
            return
        with i18n.context():
            await show_card(bot, session, proposal, settings, community, i18n, again=again)
        await session.commit()


async def post_missing_cards(sessionmaker: Any, bot: Bot, settings: Settings, community: Community, i18n: I18n,
                             now: Any = None) -> int:
    """The periodic check: cards that could not be posted (the group was unreachable) are posted
    now, a few per run."""
    if settings.moderators_chat_id is None:
        return 0
    posted = 0
    async with sessionmaker() as session:
        with i18n.context():
            for proposal in await proposals_service.without_card(session, now):
                await show_card(bot, session, proposal, settings, community, i18n)
                await session.commit()
                posted += proposal.card_message_id is not None
    return posted


@jobs.job("proposal-cards", seconds=REPORT_CHECK_SECONDS)
async def post_missing_cards_job(ctx: jobs.JobContext) -> None:
    await post_missing_cards(ctx.sessionmaker, ctx.bot, ctx.settings, ctx.community, ctx.i18n)


async def _under_card(bot: Bot, proposal: Proposal, text: str) -> None:
    if proposal.card_chat_id is None or proposal.card_message_id is None:
        return
    try:
        await bot.send_message(proposal.card_chat_id, text, reply_parameters=ReplyParameters(
            message_id=proposal.card_message_id, allow_sending_without_reply=True))
    except TelegramAPIError as exc:
        log.warning("Could not post under the card of proposal #%s: %s", proposal.id, exc)


async def refresh_card(bot: Bot, session: AsyncSession, proposal_id: int, settings: Settings,
                       community: Community, i18n: I18n) -> None:
    proposal = await proposals_service.get(session, proposal_id)
    if proposal is None or proposal.card_chat_id is None or proposal.card_message_id is None:
        return
    text, markup = await _render(session, proposal, settings, community, i18n)
    await edit_card(bot, proposal.card_chat_id, proposal.card_message_id, text, markup, f"proposal #{proposal.id}")


async def tell(session: AsyncSession, proposal: Proposal, event: ProposalEvent, supporters: list[int]) -> None:
    """Queue the news of a step for the author and the supporters (commit, then wake the engine)."""
    people = list(dict.fromkeys(([proposal.user_id] if proposal.user_id else []) + supporters))
    if proposal.status == "changes":
        people = people[:1] if proposal.user_id else []
    if not people:
        return
    payload = {"id": proposal.id, "title": proposal.title, "status": proposal.status, "was": event.old_status,
               "note": event.note if proposal.status != "duplicate" else None, "progress": event.progress,
               "duplicate_of": proposal.duplicate_of}
    await campaigns_service.tell_people(  # offline residents' news goes to their mediators
        session, kind=NEWS_KIND, payload=payload, user_ids=people, key=f"proposal:{proposal.id}:{event.id}")


def render_news(ctx: RenderContext) -> Outgoing:
    payload = ctx.payload
    return Outgoing(text=texts.news(payload, ctx.locale), reply_markup=keyboards.news(int(payload["id"]),
                                                                                      payload["status"]))


register_kind(NEWS_KIND, render_news)


def _actor(callback_or_message: CallbackQuery | Message, user: User | None) -> Actor:
    tg = callback_or_message.from_user
    name = (user.display_name if user and user.display_name else None) or (tg.full_name if tg else None)
    return Actor(user.id if user else None, name)


async def _apply(bot: Bot, session: AsyncSession, proposal_id: int, action: str, expected: str, text: str | None,
                 actor: Actor, settings: Settings, community: Community, i18n: I18n, delivery: Any) -> Proposal:
    supporters = await proposals_service.supporter_ids(session, proposal_id)
    proposal, event = await proposals_service.act(session, proposal_id, action, actor, expected=expected, text=text,
                                                  now=delivery.now() if delivery else None)
    await tell(session, proposal, event, supporters)
    await session.commit()
    await refresh_card(bot, session, proposal.id, settings, community, i18n)
    if action == "duplicate" and proposal.duplicate_of:
        await refresh_card(bot, session, proposal.duplicate_of, settings, community, i18n)
    if delivery is not None:
        delivery.wake()
    return proposal


@router.callback_query(PModCb.filter())
async def card_button(
    callback: CallbackQuery, callback_data: PModCb, bot: Bot, session: AsyncSession, state: FSMContext,
    user: User | None, roles: set[str], settings: Settings, community: Community, i18n: I18n,
    callback_answer: CallbackAnswer, delivery: Any = None,
) -> None:
    message = callback.message
    assert isinstance(message, Message)
    if not await can_moderate(bot, message.chat.id, callback.from_user, roles):
        callback_answer.text, callback_answer.show_alert = texts.not_allowed(), True
        return
    proposal = await proposals_service.get(session, callback_data.id) if 0 < callback_data.id < 2**31 else None
    if proposal is None:
        callback_answer.text = texts.error_text(DomainError("proposal_missing", number=callback_data.id))
        return
    if proposal.status != callback_data.st:
        callback_answer.text, callback_answer.show_alert = texts.error_text(DomainError("proposal_changed")), True
        await refresh_card(bot, session, proposal.id, settings, community, i18n)
        return
    if callback_data.a in proposals_service.NEEDS_TEXT:
        await state.set_state(PropMod.text)
        await state.update_data(pid=proposal.id, st=proposal.status, action=callback_data.a)
        with i18n.use_locale(settings.moderators_chat_locale):
            prompt = texts.ask_text(callback_data.a, proposal.id)
        await bot.send_message(message.chat.id, prompt, reply_markup=ForceReply(selective=True),
                               reply_parameters=ReplyParameters(message_id=message.message_id,
                                                                allow_sending_without_reply=True))
        return
    try:
        done = await _apply(bot, session, callback_data.id, callback_data.a, callback_data.st, None,
                            _actor(callback, user), settings, community, i18n, delivery)
    except DomainError as exc:
        await session.rollback()
        callback_answer.text, callback_answer.show_alert = texts.error_text(exc), True
        await refresh_card(bot, session, callback_data.id, settings, community, i18n)
        return
    callback_answer.text = texts.status_name(done.status)


@router.message(Command("cancel"), StateFilter(PropMod.text))
async def cancel_input(message: Message, state: FSMContext, i18n: I18n, settings: Settings) -> None:
    await state.clear()
    with i18n.use_locale(settings.moderators_chat_locale):
        await message.reply(texts.cancelled())


@router.message(StateFilter(PropMod.text), F.text & ~F.text.startswith("/"))
async def typed(
    message: Message, bot: Bot, session: AsyncSession, state: FSMContext, user: User | None, roles: set[str],
    settings: Settings, community: Community, i18n: I18n, delivery: Any = None,
) -> None:
    data = await state.get_data()
    if not await can_moderate(bot, message.chat.id, message.from_user, roles):
        await state.clear()
        return
    try:
        await _apply(bot, session, int(data["pid"]), str(data["action"]), str(data["st"]), message.text,
                     _actor(message, user), settings, community, i18n, delivery)
    except DomainError as exc:
        await session.rollback()
        with i18n.use_locale(settings.moderators_chat_locale):
            if exc.code in ("proposal_changed", "proposal_not_allowed", "proposal_missing") and \
                    exc.params.get("number") in (None, data.get("pid")):
                await state.clear()
                await message.reply(texts.error_text(exc))
            else:
                await message.reply(texts.error_text(exc) + "\n" + texts.try_again())
        return
    await state.clear()
    with i18n.use_locale(settings.moderators_chat_locale):
        await message.reply(texts.saved())
