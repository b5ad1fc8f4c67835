"""Residents' project proposals: /propose (title, problem, proposal, district, kind, budget,
photo, on whose behalf, review), /proposals (paged, filtered by district and status, most
supported first; support once, withdraw it), /myproposals (follow yours, rework one the
moderators sent back). The moderators' side is in ``handlers.proposals.moderation``."""
from __future__ import annotations

import functools

import math
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import CommandSpec, register
from bot.community import Community
from bot.config import Settings
from bot.delivery import DeliveryEngine
from bot.i18n import N_, esc, shorten
from bot.services import orgs as orgs_service
from bot.services import proposals as proposals_service
from bot.services.errors import DomainError
from bot.services.proposals import ProposalDraft
from bot.updates import after_commit
from handlers.orgs import texts as org_texts
from handlers.proposals import keyboards, moderation, texts
from handlers.proposals.keyboards import ProjCb, WizCb
from handlers.shared import MENU_PROPOSALS, MenuText, NOT_COMMAND, close_buttons, edit_text
from storage.models import Proposal, User

register(
    CommandSpec("propose", N_("Propose a project")),
    CommandSpec("proposals", N_("Project proposals: support them")),
    CommandSpec("myproposals", N_("Your proposals and their progress"), purpose="mine"),
    CommandSpec("proposalstats", N_("Proposals in figures"), frozenset({"organizer", "moderator", "representative"}),
                purpose="follow"),
)
router = Router(name="proposals")
router.message.filter(F.chat.type == "private")
router.callback_query.filter(F.message.chat.type == "private")


class Propose(StatesGroup):
    title = State()
    problem = State()
    solution = State()
    district = State()
    category = State()
    budget = State()
    photo = State()
    org = State()
    review = State()


def _registered(user: User | None) -> bool:
    return user is not None and user.is_registered


async def _draft(state: FSMContext) -> ProposalDraft:
    return ProposalDraft.from_json((await state.get_data()).get("proposal"))


# -- the wizard ----------------------------------------------------------------------------------


@router.message(Command("propose"))
async def propose(message: Message, state: FSMContext, user: User | None) -> None:
    await _begin(message, state, user)


async def _begin(message: Message, state: FSMContext, user: User | None) -> None:
    if not _registered(user):
        await message.answer(texts.register_first())
        return
    await state.clear()
    await state.set_state(Propose.title)
    await state.update_data(proposal=ProposalDraft().to_json())
    await message.answer(texts.ask_title())


async def _next(message: Message, state: FSMContext, session: AsyncSession, user: User, draft: ProposalDraft,
                following: State, community: Community, locale: str) -> None:
    """Keep the draft; ask the next step, or show the review again when a field was being edited."""
    await state.update_data(proposal=draft.to_json())
    data = await state.get_data()
    if data.get("editing"):
        await _review(message, state, draft, session, community, locale)
        return
    if following == Propose.org:
        choices = await orgs_service.represented(session, user.id)
        if not choices:
            await _review(message, state, draft, session, community, locale)
            return
    await state.set_state(following)
    question, markup = {
        Propose.title: (texts.ask_new_title, None),
        Propose.problem: (texts.ask_problem, None),
        Propose.solution: (texts.ask_solution, None),
        Propose.district: (texts.ask_district, lambda: keyboards.districts(community, locale)),
        Propose.category: (texts.ask_category, keyboards.categories),
        Propose.budget: (texts.ask_budget, lambda: keyboards.skip("budget")),
        Propose.photo: (texts.ask_photo, lambda: keyboards.skip("photo")),
        Propose.org: (texts.ask_org, lambda: keyboards.orgs(choices, locale)),
    }[following]
    await message.answer(question(), reply_markup=markup() if markup else None)


async def _review(message: Message, state: FSMContext, draft: ProposalDraft, session: AsyncSession,
                  community: Community, locale: str) -> None:
    await state.set_state(Propose.review)
    await state.update_data(editing=False)
    org = await orgs_service.get(session, draft.org_id) if draft.org_id else None
    await message.answer(texts.review(draft, community, locale, orgs_service.name_of(org, locale) or None),
                         reply_markup=keyboards.review())


TEXT_STEPS = {Propose.title.state: ("title", Propose.problem), Propose.problem.state: ("problem", Propose.solution),
              Propose.solution.state: ("solution", Propose.district)}


@router.message(StateFilter(Propose.title, Propose.problem, Propose.solution), F.text, NOT_COMMAND)
async def got_text(message: Message, state: FSMContext, session: AsyncSession, user: User,
                   community: Community, i18n: I18n) -> None:
    field, following = TEXT_STEPS[await state.get_state() or ""]
    try:
        value = proposals_service.clean_field(field, message.text)
    except DomainError as exc:
        await message.answer(texts.error_text(exc))  # the step stays; what they typed is in their chat
        return
    draft = await _draft(state)
    setattr(draft, field, value)
    await _next(message, state, session, user, draft, following, community, i18n.current_locale)


@router.message(StateFilter(Propose.title, Propose.problem, Propose.solution), NOT_COMMAND)
async def text_expected(message: Message) -> None:
    await message.answer(texts.text_expected())


@router.callback_query(StateFilter(Propose.district), WizCb.filter(F.step == "dist"))
async def got_district(callback: CallbackQuery, callback_data: WizCb, state: FSMContext, session: AsyncSession,
                       user: User, community: Community, i18n: I18n) -> None:
    draft = await _draft(state)
    draft.district = community.district(callback_data.v).code if community.district(callback_data.v) else None
    await close_buttons(callback)
    await _next(callback.message, state, session, user, draft, Propose.category, community,  # type: ignore[arg-type]
                i18n.current_locale)


@router.callback_query(StateFilter(Propose.category), WizCb.filter(F.step == "cat"))
async def got_category(callback: CallbackQuery, callback_data: WizCb, state: FSMContext, session: AsyncSession,
                       user: User, community: Community, i18n: I18n) -> None:
    if callback_data.v not in proposals_service.CATEGORIES:
        return
    draft = await _draft(state)
    draft.category = callback_data.v
    await close_buttons(callback)
    await _next(callback.message, state, session, user, draft, Propose.budget, community,  # type: ignore[arg-type]
                i18n.current_locale)


@router.message(StateFilter(Propose.budget), F.text, NOT_COMMAND)
async def got_budget(message: Message, state: FSMContext, session: AsyncSession, user: User,
                     community: Community, i18n: I18n) -> None:
    try:
        amount = proposals_service.parse_budget(message.text)
    except DomainError as exc:
        await message.answer(texts.error_text(exc), reply_markup=keyboards.skip("budget"))
        return
    draft = await _draft(state)
    draft.budget = amount
    await _next(message, state, session, user, draft, Propose.photo, community, i18n.current_locale)


@router.message(StateFilter(Propose.photo), F.photo)
async def got_photo(message: Message, state: FSMContext, session: AsyncSession, user: User,
                    community: Community, i18n: I18n) -> None:
    draft = await _draft(state)
    draft.photo = message.photo[-1].file_id  # type: ignore[index]
    await _next(message, state, session, user, draft, Propose.org, community, i18n.current_locale)


@router.callback_query(StateFilter(Propose.budget, Propose.photo), WizCb.filter(F.v == "skip"))
async def skipped(callback: CallbackQuery, callback_data: WizCb, state: FSMContext, session: AsyncSession,
                  user: User, community: Community, i18n: I18n) -> None:
    draft = await _draft(state)
    if callback_data.step == "budget":
        draft.budget, following = None, Propose.photo
    else:
        draft.photo, following = None, Propose.org
    await close_buttons(callback)
    await _next(callback.message, state, session, user, draft, following, community,  # type: ignore[arg-type]
                i18n.current_locale)


@router.message(StateFilter(Propose.budget, Propose.photo), NOT_COMMAND)
async def budget_or_photo_expected(message: Message, state: FSMContext) -> None:
    if await state.get_state() == Propose.photo.state:
        await message.answer(texts.photo_expected(), reply_markup=keyboards.skip("photo"))
    else:
        await message.answer(texts.error_text(DomainError("proposal_budget")), reply_markup=keyboards.skip("budget"))


@router.callback_query(StateFilter(Propose.org), WizCb.filter(F.step == "org"))
async def got_org(callback: CallbackQuery, callback_data: WizCb, state: FSMContext, session: AsyncSession,
                  user: User, community: Community, i18n: I18n) -> None:
    draft = await _draft(state)
    chosen = int(callback_data.v) if callback_data.v.isdigit() and len(callback_data.v) < 10 else None
    draft.org_id = chosen if chosen in {o.id for o in await orgs_service.represented(session, user.id)} else None
    await state.update_data(proposal=draft.to_json())
    await close_buttons(callback)
    await _review(callback.message, state, draft, session, community, i18n.current_locale)  # type: ignore[arg-type]


EDIT_STEPS = {"title": Propose.title, "problem": Propose.problem, "solution": Propose.solution,
              "district": Propose.district, "category": Propose.category, "budget": Propose.budget,
              "photo": Propose.photo}


@router.callback_query(StateFilter(Propose.review), WizCb.filter(F.step == "rev"))
async def review_step(
    callback: CallbackQuery, callback_data: WizCb, state: FSMContext, session: AsyncSession, bot: Bot,
    user: User, settings: Settings, community: Community, i18n: I18n, delivery: DeliveryEngine,
    sessionmaker: Any,
) -> None:
    message = callback.message
    assert isinstance(message, Message)
    draft = await _draft(state)
    locale = i18n.current_locale
    await close_buttons(callback)
    if not draft.title:
        await state.clear()
        await message.answer(texts.draft_expired())
        return
    if callback_data.v == "drop":
        await state.clear()
        await message.answer(texts.dropped())
        return
    if callback_data.v in EDIT_STEPS:
        following = EDIT_STEPS[callback_data.v]
        await state.update_data(editing=False)
        await _next(message, state, session, user, draft, following, community, locale)
        await state.update_data(editing=True)
        return
    try:
        org = await orgs_service.acting_for(session, user, draft.org_id)
    except DomainError as exc:  # the organisation left the network meanwhile: choose again
        await message.answer(org_texts.error_text(exc))
        await state.set_state(Propose.org)
        await message.answer(texts.ask_org(), reply_markup=keyboards.orgs(
            await orgs_service.represented(session, user.id), locale))
        return
    try:
        proposal = await proposals_service.submit(session, user, draft, org, delivery.now())
    except DomainError as exc:
        await message.answer(texts.error_text(exc))
        await _review(message, state, draft, session, community, locale)
        return
    await state.clear()
    await session.commit()
    again = draft.proposal_id is not None
    await message.answer(texts.submitted(proposal.id, again))
    await after_commit(functools.partial(moderation.show_card_of, sessionmaker, proposal.id, bot, settings,
                                         community, i18n, again))


# -- lists and details ---------------------------------------------------------------------------


def _district_code(community: Community, index: int) -> str | None:
    return community.districts[index].code if 0 <= index < len(community.districts) else None


async def _listing(session: AsyncSession, community: Community, locale: str, page: int, d: int, s: str
                   ) -> tuple[str, Any]:
    status = s if s in proposals_service.PUBLIC or s == "rejected" else None
    district = _district_code(community, d)
    items, total = await proposals_service.public(session, district=district, status=status, page=page)
    pages = max(1, math.ceil(total / proposals_service.PAGE))
    text = texts.listing(total, page, proposals_service.PAGE,
                         community.district_name(district, locale) if district else None, status)
    return text, keyboards.listing(items, page, pages, d if district else -1, status or "")


@router.message(Command("proposals"))
@router.message(MenuText(MENU_PROPOSALS))
async def proposals_command(message: Message, session: AsyncSession, community: Community, i18n: I18n) -> None:
    text, markup = await _listing(session, community, i18n.current_locale, 0, -1, "")
    await message.answer(text, reply_markup=markup)


async def show_public(message: Message, proposal_id: int, session: AsyncSession, user: User | None,
                      settings: Settings, community: Community, i18n: I18n) -> None:
    """A published proposal's page, e.g. from a channel post's link (the list if it is not public)."""
    locale = i18n.current_locale
    proposal = await proposals_service.get(session, proposal_id)
    if proposal is None or proposal.status not in proposals_service.PUBLIC:
        text, markup = await _listing(session, community, locale, 0, -1, "")
    else:
        text, markup = await _detail(session, proposal, user.id if user else None, settings, community, locale,
                                     ProjCb(a="show", id=proposal.id))
    await message.answer(text, reply_markup=markup)


@router.message(Command("myproposals"))
async def my_proposals(message: Message, session: AsyncSession, user: User | None) -> None:
    if not _registered(user):
        await message.answer(texts.register_first())
        return
    items = await proposals_service.for_user(session, user.id)  # type: ignore[union-attr]
    await message.answer(texts.mine(items), reply_markup=keyboards.mine(items))


async def _detail(session: AsyncSession, proposal: Proposal, user_id: int | None, settings: Settings,
                  community: Community, locale: str, cb: ProjCb) -> tuple[str, Any]:
    supported = user_id is not None and await proposals_service.supports(session, proposal.id, user_id)
    org = await orgs_service.get(session, proposal.org_id) if proposal.org_id else None
    events = await proposals_service.history(session, proposal.id)
    text = texts.detail(proposal, events, community, locale, settings.tz, orgs_service.name_of(org, locale) or None,
                        supported)
    return text, keyboards.detail(proposal, user_id, supported, cb.p, cb.d, cb.s)


def _visible(proposal: Proposal | None, user: User | None) -> bool:
    """Published proposals are public; the others only to their author."""
    return proposal is not None and (
        proposal.published_at is not None or (user is not None and proposal.user_id == user.id))


@router.callback_query(ProjCb.filter())
async def proposal_button(
    callback: CallbackQuery, callback_data: ProjCb, state: FSMContext, session: AsyncSession, bot: Bot,
    user: User | None, settings: Settings, community: Community, i18n: I18n, callback_answer: CallbackAnswer,
    delivery: DeliveryEngine,
) -> None:
    message = callback.message
    assert isinstance(message, Message)
    locale = i18n.current_locale
    user_id = user.id if user else None  # kept: a rollback below expires the row
    cb = callback_data
    cb.p = max(0, min(cb.p, 100_000))
    if cb.a == "list":
        await edit_text(callback, *await _listing(session, community, locale, cb.p, cb.d, cb.s))
        return
    if cb.a == "fd":
        await edit_text(callback, texts.ask_district(), keyboards.district_filter(community, locale, cb.s))
        return
    if cb.a == "fs":
        await edit_text(callback, texts.ask_status(), keyboards.status_filter(cb.d))
        return
    if cb.a == "new":
        await _begin(message, state, user)
        return
    if cb.a == "mine":
        await my_proposals(message, session, user)
        return
    proposal = await proposals_service.get(session, cb.id) if 0 < cb.id < 2**31 else None
    if not _visible(proposal, user):
        callback_answer.text = texts.error_text(DomainError("proposal_missing", number=cb.id))
        callback_answer.show_alert = True
        return
    assert proposal is not None
    if cb.a == "photo" and proposal.photo_file_id:
        await message.answer_photo(proposal.photo_file_id,
                                   caption=f"#{proposal.id} {esc(shorten(proposal.title, 200))}")
        return
    if cb.a in ("sup", "uns", "wd", "edit"):
        if not _registered(user):
            callback_answer.text, callback_answer.show_alert = texts.register_first(), True
            return
        assert user is not None
        try:
            if cb.a == "sup":
                callback_answer.text = texts.supported_now(
                    await proposals_service.support(session, proposal.id, user, delivery.now()))
            elif cb.a == "uns":
                await proposals_service.unsupport(session, proposal.id, user)
                callback_answer.text = texts.withdrawn_support()
            elif cb.a == "wd":
                await proposals_service.withdraw(session, proposal.id, user, delivery.now())
                callback_answer.text = texts.withdrawn()
            elif proposal.user_id == user.id and proposal.status == "changes":
                await state.clear()  # rework one sent back: straight to the review, every field kept
                await state.update_data(proposal=ProposalDraft.of(proposal).to_json())
                await _review(message, state, ProposalDraft.of(proposal), session, community, locale)
                return
            else:
                raise DomainError("proposal_not_allowed")
        except DomainError as exc:
            await session.rollback()
            callback_answer.text, callback_answer.show_alert = texts.error_text(exc), True
        else:
            await session.commit()
            if cb.a == "wd":  # a status change; supports are not worth a group edit each (20 a minute)
                await moderation.refresh_card(bot, session, proposal.id, settings, community, i18n)
        proposal = await proposals_service.get(session, cb.id)  # after a rollback too
        assert proposal is not None
    text, markup = await _detail(session, proposal, user_id, settings, community, locale, cb)
    if cb.a == "show" and cb.n:  # from a notification or /myproposals: its own message
        await message.answer(text, reply_markup=markup)
    else:
        await edit_text(callback, text, markup)


@router.message(Command("proposalstats"))
async def stats(message: Message, session: AsyncSession, community: Community, i18n: I18n, roles: set[str]) -> None:
    if not roles & {"organizer", "moderator", "admin", "representative"}:
        return
    total, by_district, by_org = await proposals_service.counts(session)
    await message.answer(texts.stats(total, by_district, by_org, community, i18n.current_locale))
