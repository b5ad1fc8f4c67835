"""Publishing to the public channel (PUBLIC_CHANNEL_ID) with one button: a closed poll's
results, a closed discussion's outcome, a realised proposal (from the moderators' card), an event's
summary with a photo. Posts
are in the channel's languages and link back to the bot; each is published once. Also the deep
links those posts carry (`start=polls`, `start=events`, `start=proposal_<id>`)."""
from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from bot.config import Settings
from bot.delivery import DeliveryEngine
from bot.services import channel as channel_service
from bot.services import discussions as discussions_service
from bot.services import events as events_service
from bot.services import orgs as orgs_service
from bot.services import polls as polls_service
from bot.services import proposals as proposals_service
from bot.services import recommendations as recommendations_service
from bot.updates import after_commit
from handlers.channel import texts
from handlers.deeplinks import deeplink
from handlers.discussions.texts import results as discussion_results
from handlers.polls import valid_id
from handlers.polls.texts import pick, results_text, split
from handlers.recommendations import texts as rec_texts
from handlers.shared import NOT_COMMAND, ChannelCb, close_buttons, grid

log = logging.getLogger(__name__)


class ChannelPhoto(StatesGroup):
    photo = State()


PLATFORM = {"organizer", "admin"}

router = Router(name="channel")


def _chat(settings: Settings) -> int | str:
    value = settings.public_channel_id or ""
    return int(value) if value.lstrip("-").isdigit() else value


Tell = Callable[[str], Awaitable[Any]]


async def publish(bot: Bot, session: AsyncSession, settings: Settings, i18n: I18n, kind: str, ref_id: int,
                  by: int, render: Callable[[str], str], start: str, now: Any, photo: str | None = None, *,
                  sessionmaker: Any, tell: Tell) -> str | None:
    """Post in the channel's languages, once. The post is claimed with the update (a second tap,
    here or in another worker, finds the claim) and goes out after the commit, in a session of
    its own: a database fault can no longer post twice, and no Bot API call waits inside the
    transaction. ``tell`` gets the outcome (posted, or failed and released so the button works
    again); returns what to say at once instead (it is there already), or None."""
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={start}"
    parts = []
    for locale in settings.channel_locales:
        with i18n.use_locale(locale):
            parts.append(render(locale) + "\n\n" + texts.join_line(link, me.username or ""))
    text = texts.blocks(parts)
    if not await channel_service.claim(session, kind, ref_id, by, now):
        return texts.already()
    outcome = {True: texts.published(), False: texts.failed()}  # in the presser's language, made now
    await after_commit(functools.partial(_post, bot, sessionmaker, _chat(settings), kind, ref_id, text, parts,
                                         photo, lambda ok: tell(outcome[ok])))
    return None


async def _post(bot: Bot, sessionmaker: Any, chat: int | str, kind: str, ref_id: int, text: str, parts: list[str],
                photo: str | None, tell: Callable[[bool], Awaitable[Any]]) -> None:
    """After the claim was committed: the post itself; one that failed before anything reached
    the channel is released, one that got partly out is kept."""
    first = None
    try:
        if photo is not None:
            caption = text if len(text) <= 1024 else None
            first = await bot.send_photo(chat, photo, caption=caption)
            if caption is not None:
                text = ""
        chunks = [text] if len(text) <= 4096 else [piece for part in parts for piece in split(part)]
        for chunk in filter(None, chunks):
            sent = await bot.send_message(chat, chunk)
            first = first or sent
    except Exception as exc:  # noqa: BLE001 - whatever failed, the claim must not stay behind empty
        log.warning("Could not post to the public channel %s: %s", chat, exc)
        if first is None:
            async with sessionmaker() as session:
                await channel_service.release(session, kind, ref_id)
            await tell(False)
            return
    assert first is not None
    async with sessionmaker() as session:
        await channel_service.done(session, kind, ref_id, first.message_id)
    await tell(True)


async def _may(what: str, org_id: int | None, callback: CallbackQuery, session: AsyncSession, bot: Bot,
               roles: set[str], user: Any) -> bool:
    """Organizers and admins; representatives for their organisation's polls and events; whoever
    moderates the moderators' chat for a proposal's card there."""
    if what == "proposal" and not roles & PLATFORM:
        from handlers.moderation import can_moderate

        message = callback.message
        return message is not None and await can_moderate(bot, message.chat.id, callback.from_user, roles)
    return await _publishes(session, user, roles, org_id)


async def _publishes(session: AsyncSession, user: Any, roles: set[str], org_id: int | None) -> bool:
    """Organizers and admins publish anything; representatives what their organisation made."""
    if roles & PLATFORM:
        return True
    if "representative" not in roles or org_id is None:
        return False
    return orgs_service.in_scope(org_id, await orgs_service.scope_of(session, user, roles))


@router.callback_query(ChannelCb.filter())
async def channel_button(callback: CallbackQuery, callback_data: ChannelCb, session: AsyncSession, bot: Bot,
                         roles: set[str], user: Any, settings: Settings, community: Community, i18n: I18n,
                         delivery: DeliveryEngine, state: FSMContext, callback_answer: CallbackAnswer,
                         sessionmaker: Any) -> None:
    what, ref_id, now = callback_data.what, valid_id(callback_data.id) or 0, delivery.now()

    async def tell(text: str) -> None:  # the toast waits for the post (the button is answered once)
        await bot.answer_callback_query(callback.id, text=text, show_alert=True)

    def posting(said: str | None) -> str | None:
        if said is None:
            callback_answer.disable()
        return said

    if not settings.public_channel_id or what not in ("poll", "proposal", "event", "eventgo", "discussion", "rec"):
        callback_answer.text = texts.gone()
        return
    item: Any = (await polls_service.get_poll(session, ref_id) if what == "poll" else
                 await recommendations_service.get(session, ref_id) if what == "rec" else
                 await proposals_service.get(session, ref_id) if what == "proposal" else
                 await discussions_service.get(session, ref_id) if what == "discussion" else
                 await events_service.get_event(session, ref_id)) if ref_id else None
    if not await _may(what, getattr(item, "org_id", None), callback, session, bot, roles, user):
        callback_answer.text, callback_answer.show_alert = texts.not_allowed(), True
        return
    callback_answer.show_alert = True
    if what in ("poll", "discussion"):
        if item is None or item.status != "closed":
            callback_answer.text = texts.gone()
            return
        render = await _results(what, item, session, settings, community)
        callback_answer.text = posting(await publish(bot, session, settings, i18n, what, item.id,
                                                     callback.from_user.id, render, f"{what}s", now,
                                                     sessionmaker=sessionmaker, tell=tell))
    elif what == "rec":  # its latest public step: submitted, the council's answer, implemented or not
        kind = recommendations_service.channel_kind(item) if item is not None else None
        if kind is None:
            callback_answer.text = texts.gone()
            return
        data = recommendations_service.payload(item)
        orgs = len(await recommendations_service.endorsements(session, item.id))
        callback_answer.text = posting(await publish(
            bot, session, settings, i18n, kind, item.id, callback.from_user.id,
            lambda loc: rec_texts.public_step(data, community, loc, settings.tz, orgs), f"rec_{item.id}", now,
            sessionmaker=sessionmaker, tell=tell))
    elif what == "proposal":
        proposal = item
        if proposal is None or proposal.status != "realised":
            callback_answer.text = texts.gone()
            return
        callback_answer.text = await publish(
            bot, session, settings, i18n, "proposal", proposal.id, callback.from_user.id,
            lambda loc: texts.realised(proposal, community, loc), f"proposal_{proposal.id}", now,
            photo=proposal.photo_file_id, sessionmaker=sessionmaker, tell=tell)
        callback_answer.text = posting(callback_answer.text)
    else:
        event = item
        if event is None or event.status == "cancelled":
            callback_answer.text = texts.gone()
            return
        if event.starts_at > now:
            callback_answer.text = texts.not_yet()
            return
        if await channel_service.posted(session, "event", event.id) is not None:
            callback_answer.text = texts.already()
            return
        if what == "event" and callback.message is not None and callback.message.chat.type == "private":
            callback_answer.show_alert, callback_answer.text = False, None
            await state.set_state(ChannelPhoto.photo)
            await state.update_data(event=event.id)
            await bot.send_message(callback.from_user.id, texts.ask_photo(),
                                   reply_markup=grid([(texts.skip(), ChannelCb(what="eventgo", id=event.id))], 1))
            return
        if await state.get_state() == ChannelPhoto.photo.state:  # an old Skip must not end another wizard
            await state.clear()
        await close_buttons(callback)
        callback_answer.text = posting(await _publish_event(bot, session, settings, i18n, event.id,
                                                            callback.from_user.id, None, now, sessionmaker, tell))


async def _results(what: str, item: Any, session: AsyncSession, settings: Settings,
                   community: Community) -> Callable[[str], str]:
    """A closed poll's or discussion's public results, in a given language (totals only)."""
    if what == "poll":
        results = await polls_service.results(session, item, settings.poll_min_group)
        return lambda loc: results_text(results, item.status, loc, item.default_locale, community, breakdowns=False)
    analysis = await discussions_service.results(session, item, settings.discussion_min_group)
    return lambda loc: discussion_results(item.id, pick(item.question, loc, item.default_locale), "closed", None,
                                          analysis, 0, settings.discussion_min_group, loc, settings.tz, public=True)


async def _publish_event(bot: Bot, session: AsyncSession, settings: Settings, i18n: I18n, event_id: int, by: int,
                         photo: str | None, now: Any, sessionmaker: Any, tell: Tell) -> str | None:
    event = await events_service.get_event(session, event_id)
    if event is None:
        return texts.gone()
    tally = (await events_service.tallies(session, [event.id]))[event.id]
    return await publish(bot, session, settings, i18n, "event", event.id, by,
                         lambda loc: texts.event_summary(event, tally.attended, tally.going, tally.feedback,
                                                         tally.score, loc, settings.tz),
                         "events", now, photo=photo, sessionmaker=sessionmaker, tell=tell)


@router.message(StateFilter(ChannelPhoto.photo), F.photo)
async def got_photo(message: Message, session: AsyncSession, bot: Bot, roles: set[str], user: Any,
                    settings: Settings, i18n: I18n, delivery: DeliveryEngine, state: FSMContext,
                    sessionmaker: Any) -> None:
    data = await state.get_data()
    await state.clear()
    event = await events_service.get_event(session, valid_id(data.get("event", 0)) or 0)
    if event is None:
        await message.answer(texts.gone())
        return
    if not await _publishes(session, user, roles, event.org_id):
        await message.answer(texts.not_allowed())
        return
    assert message.photo and message.from_user
    said = await _publish_event(bot, session, settings, i18n, int(data.get("event", 0)), message.from_user.id,
                                message.photo[-1].file_id, delivery.now(), sessionmaker, message.answer)
    if said is not None:
        await message.answer(said)


@router.message(StateFilter(ChannelPhoto.photo), NOT_COMMAND)
async def photo_expected(message: Message) -> None:
    await message.answer(texts.photo_expected())


# -- where the posts lead -----------------------------------------------------------------------


def _pass(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: data.get(name) for name in names}


@deeplink("polls")
async def polls_link(message: Message, rest: str, data: dict[str, Any]) -> None:
    from handlers.polls import polls_command

    await polls_command(message, **_pass(data, "session", "user", "roles", "settings", "i18n", "delivery",
                                         "poll_secret"))


@deeplink("events")
async def events_link(message: Message, rest: str, data: dict[str, Any]) -> None:
    from handlers.events import events_command

    await events_command(message, **_pass(data, "session", "user", "roles", "settings", "i18n", "delivery"))


@deeplink("rec")
async def recommendation_link(message: Message, rest: str, data: dict[str, Any]) -> None:
    """From a channel post: the recommendation as residents see it (support, evidence)."""
    from handlers.recommendations.residents import show

    await show(message, valid_id(rest) or 0, **_pass(data, "session", "user", "settings", "community", "i18n",
                                                         "delivery"))


@deeplink("proposal")
async def proposal_link(message: Message, rest: str, data: dict[str, Any]) -> None:
    from handlers.proposals import show_public

    await show_public(message, valid_id(rest) or 0, **_pass(data, "session", "user", "settings",
                                                                          "community", "i18n"))
