"""What the recommendations package shares: its routers and conversation states."""
from __future__ import annotations

from aiogram import Router
from aiogram.fsm.state import State, StatesGroup

from handlers.recommendations import texts
from handlers.recommendations.keyboards import EvCb, NewRecCb, RecCb
from handlers.shared import role_routers

# the lifecycle is the organizers' (admins pass too), re-checked on the server for every update
STAFF = frozenset({"organizer"})
router, staff = role_routers("recommendations", STAFF, texts.only_organizers,
                             RecCb.filter(), NewRecCb.filter(), EvCb.filter())
residents = Router(name="recommendations-residents")  # support, endorsements, the resident's list
router.include_router(residents)


class NewRec(StatesGroup):
    title = State()
    text = State()
    problem = State()
    proposal = State()
    body = State()
    district = State()


class RecInput(StatesGroup):
    text = State()  # data: rec, action, st, answer
