"""What the recommendations package shares: its routers and conversation states."""
from __future__ import annotations

from aiogram import Router
from aiogram.fsm.state import State, StatesGroup

from aiogram import F

from handlers.langs import WriteCb
from handlers.recommendations import texts
from handlers.recommendations.keyboards import EvCb, NewRecCb, RecCb
from handlers.shared import role_routers

# the lifecycle is the organizers' (admins pass too), re-checked on the server for every update
STAFF = frozenset({"organizer"})
OWNER = "rec"  # of the shared language buttons
router, staff = role_routers("recommendations", STAFF, texts.only_organizers,
                             RecCb.filter(), NewRecCb.filter(), EvCb.filter(), WriteCb.filter(F.owner == OWNER))
residents = Router(name="recommendations-residents")  # support, endorsements, the resident's list
router.include_router(residents)


class NewRec(StatesGroup):
    title = State()
    text = State()
    translations = State()  # the ➕ menu after the title and the text
    translation = State()  # data: translating
    problem = State()
    proposal = State()
    body = State()
    district = State()


class RecInput(StatesGroup):
    text = State()  # data: rec, action, st, answer
