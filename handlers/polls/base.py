"""What the polls package shares: its routers, conversation states and the checks of
client-supplied ids."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import or_f
from aiogram.fsm.state import State, StatesGroup

from bot.commands import ORGANIZING
from bot.services import polls as polls_service
from handlers.acting import ActCb
from handlers.audience import AudCb
from handlers.langs import WriteCb
from handlers.polls import kinds as _kinds  # noqa: F401 - registers the campaign kinds
from handlers.polls import texts
from handlers.polls.keyboards import NewPollCb, PollCb
from handlers.shared import (
    MENU_EVENTS,
    MENU_HELP,
    MENU_POLLS,
    MENU_PROFILE,
    MENU_PROPOSALS,
    MENU_REPORT,
    MenuText,
    role_routers,
)
from storage.models import User

OWNER = "poll"  # of the shared audience picker's buttons
router, staff = role_routers("polls", ORGANIZING, texts.only_organizers,  # /newpoll, results, closing
                             PollCb.filter(), NewPollCb.filter(), AudCb.filter(F.owner == OWNER),
                             WriteCb.filter(F.owner == OWNER),
                             ActCb.filter(F.cmd == "newpoll"))
residents = Router(name="polls-residents")
router.include_router(residents)

NOT_COMMAND = ~F.text.startswith("/")
# a tap on the main menu is never a typed answer (it goes on to its feature)
MENU_TEXT = or_f(*(MenuText(m) for m in (MENU_REPORT, MENU_PROPOSALS, MENU_POLLS, MENU_EVENTS, MENU_PROFILE,
                                          MENU_HELP)))
FILE_MAX = 100_000


# a tap on an option: v (single, scale; a toggle on older multiple-choice buttons), + choose, - take off
TAPS: dict[str, bool | None] = {"v": None, "+": True, "-": False}


class PollText(StatesGroup):
    answer = State()  # data: poll, q


class NewPoll(StatesGroup):
    kind = State()
    question = State()
    title = State()
    translations = State()
    translation = State()
    audience = State()
    panel = State()
    closes = State()


MAX_ID = 2**31 - 1  # ids in callback data and links are client-supplied: check before any query


def valid_id(value: int | str) -> int | None:
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def key_of(poll_secret: bytes, poll_id: int, user: User) -> str:
    """The resident's participant hash for this poll (the handlers get ``poll_secret`` from the
    dispatcher: SECRET_KEY, or the bot's own kept secret, see polls_service.load_secret)."""
    return polls_service.participant_key(poll_secret, poll_id, user.id)

