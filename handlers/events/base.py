"""What the events package shares: its routers, conversation states and reminder offsets."""
from __future__ import annotations

from datetime import timedelta

from aiogram import F, Router
from aiogram.fsm.state import State, StatesGroup

from bot.commands import ORGANIZING
from bot.config import Settings
from handlers.acting import ActCb
from handlers.audience import AudCb
from handlers.events import kinds as _kinds  # noqa: F401 - registers the campaign kinds
from handlers.events.keyboards import EvOrgCb, NewEvCb
from handlers.langs import WriteCb
from handlers.polls.texts import only_organizers
from handlers.shared import role_routers

OWNER = "event"  # of the shared audience picker's buttons
router, staff = role_routers("events", ORGANIZING, only_organizers,
                             EvOrgCb.filter(), NewEvCb.filter(), AudCb.filter(F.owner == OWNER), WriteCb.filter(F.owner == OWNER),
                             ActCb.filter(F.cmd == "newevent"))
residents = Router(name="events-residents")
router.include_router(residents)


class EventText(StatesGroup):
    question = State()  # data: event
    comment = State()  # data: event


class NewEvent(StatesGroup):
    kind = State()
    title = State()
    start = State()
    end = State()
    place = State()
    capacity = State()
    speakers = State()
    panel = State()
    translation = State()
    audience = State()


class EditEvent(StatesGroup):
    time = State()  # data: event
    place = State()
    title = State()
    capacity = State()


def reminder_offsets(settings: Settings) -> tuple[timedelta, ...]:
    return tuple(timedelta(hours=h) for h in settings.event_reminder_hours)


