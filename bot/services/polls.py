"""Polls and surveys: drafts, votes, results with breakdowns, closing. No aiogram here.

A poll is one or more questions (more than one makes it a survey, answered step by step). Texts
are ``{locale: text}``. Who answered is stored as ``participant``, a keyed hash of (poll,
resident): the bot can find a resident's own answers to show and change them, but nothing the
organizers can reach names anyone. ``user_id`` is kept only for polls that are not anonymous.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import yaml
from sqlalchemy import Integer, bindparam, case, delete, exists, func, literal, literal_column, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import cache
from bot.services.taps import audience_admits, prepared
from bot.services.campaigns import Audience, cancel_campaign, create_campaign, forget_finished_recipients, start_campaign
from bot.services.campaigns import in_audience as campaigns_in_audience
from bot.services.errors import DomainError
from storage.models import AppSecret, Delivery, Poll, PollAnswer, PollQuestion, PollResponse, User
from storage.queries import close_if_open

KINDS = ("single", "multi", "scale", "text")
CHOICE_KINDS = ("single", "multi")
SCALE = (1, 2, 3, 4, 5)
MIN_OPTIONS, MAX_OPTIONS = 2, 10
MAX_QUESTIONS = 20
QUESTION_MAX = 300
OPTION_MAX = 100
TITLE_MAX = 200
TEXT_ANSWER_MAX = 1000
DEFAULT_DURATION = timedelta(days=7)
MAX_DURATION = timedelta(days=366)


# ------------------------------------------------------------------ drafts

@dataclass
class QuestionDraft:
    kind: str
    text: dict[str, str]
    options: list[dict[str, str]] = field(default_factory=list)

    @property
    def choices(self) -> int:
        return len(self.options) if self.kind in CHOICE_KINDS else len(SCALE) if self.kind == "scale" else 0


@dataclass
class PollDraft:
    """What the /newpoll wizard builds (kept as JSON in the conversation state) or a file holds."""

    questions: list[QuestionDraft] = field(default_factory=list)
    title: dict[str, str] = field(default_factory=dict)  # surveys only
    anonymous: bool = True
    closes_at: datetime | None = None
    audience: dict[str, Any] = field(default_factory=dict)
    language: str | None = None  # what a survey file names (``language: uk``), else the community's

    @property
    def is_survey(self) -> bool:
        return len(self.questions) > 1 or bool(self.title)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["closes_at"] = self.closes_at.isoformat() if self.closes_at else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> PollDraft:
        data = dict(data or {})
        closes = data.get("closes_at")
        return cls(
            questions=[QuestionDraft(**q) for q in data.get("questions") or []],
            title=dict(data.get("title") or {}),
            anonymous=bool(data.get("anonymous", True)),
            closes_at=datetime.fromisoformat(closes) if closes else None,
            audience=dict(data.get("audience") or {}),
            language=data.get("language"),
        )

    def languages(self) -> set[str]:
        """Languages every text of the draft is given in."""
        sets = [set(self.title)] if self.title else []
        for q in self.questions:
            sets.append(set(q.text))
            sets.extend(set(o) for o in q.options)
        return set.intersection(*sets) if sets else set()


def _clean(text: str) -> str:
    return " ".join((text or "").split())


def parse_question(text: str, kind: str) -> tuple[str, list[str]]:
    """The question on the first line, for choice kinds 2-10 options on the next lines.

    Raises DomainError: empty, question_too_long (limit), options_count (min, max, count),
    option_too_long (limit, option), duplicate_option (option).
    """
    lines = [_clean(line) for line in (text or "").splitlines()]
    lines = [line.lstrip("-•*· ").strip() if i else line for i, line in enumerate(lines)]
    lines = [line for line in lines if line]
    if not lines:
        raise DomainError("empty")
    question, options = lines[0], lines[1:]
    if kind not in CHOICE_KINDS:
        question, options = " ".join(lines), []
    if len(question) > QUESTION_MAX:
        raise DomainError("question_too_long", limit=QUESTION_MAX)
    if kind in CHOICE_KINDS:
        check_options(options)
    return question, options


def check_options(options: Sequence[str]) -> None:
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise DomainError("options_count", min=MIN_OPTIONS, max=MAX_OPTIONS, count=len(options))
    seen: set[str] = set()
    for option in options:
        if len(option) > OPTION_MAX:
            raise DomainError("option_too_long", limit=OPTION_MAX, option=option)
        folded = option.casefold()
        if folded in seen:
            raise DomainError("duplicate_option", option=option)
        seen.add(folded)


def check_closes(closes_at: datetime, now: datetime) -> None:
    if closes_at <= now:
        raise DomainError("time_past", when=closes_at)
    if closes_at - now > MAX_DURATION:
        raise DomainError("time_too_far")


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases: a few aliased lines can expand to gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases are not allowed", self.peek_event().start_mark)
        return super().compose_node(parent, index)


def parse_file(data: bytes, default_locale: str, locales: Sequence[str], now: datetime) -> PollDraft:
    """A survey from a YAML or JSON file (JSON is YAML too)::

        language: uk                # the file's language; without it, the community's (default_locale)
        title: {uk: "Потреби району", en: "Needs of the district"}   # or a plain string
        anonymous: true
        closes_in_days: 14
        questions:
          - kind: single            # single | multi | scale | text
            text: {uk: "...", en: "..."}
            options: [{uk: "...", en: "..."}, ...]

    Plain strings are in the file's language, and every text has a version in it (so a file is
    valid or not whoever uploads it); a survey of several questions needs a title.
    Raises DomainError("bad_file", problem=<code>, q=<question number or 0>, o=<option number
    or 0>, ...): encoding, syntax (line), no_questions, too_many_questions (max), not_mapping,
    kind, text_needed, language (lang), empty_text, too_long (limit), default_missing (language),
    options_list, options_count / option_too_long / duplicate_option (as for the wizard),
    closes_in_days (max), title_needed.
    """
    def fail(problem: str, q: int = 0, o: int = 0, **params: Any) -> DomainError:
        return DomainError("bad_file", problem=problem, q=q, o=o, **params)

    try:
        doc = yaml.load(data.decode("utf-8-sig"), Loader=_NoAliasLoader)  # noqa: S506 - a safe loader
    except UnicodeDecodeError:
        raise fail("encoding") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise fail("syntax", line=mark.line + 1 if mark is not None else 1) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("questions"), list) or not doc["questions"]:
        raise fail("no_questions")
    if doc.get("language") is not None:
        default_locale = str(doc["language"]).strip().lower()
        if default_locale not in locales:
            raise fail("language", lang=str(doc["language"])[:8])

    def texts(value: Any, limit: int, q: int = 0, o: int = 0) -> dict[str, str]:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            value = {default_locale: value}
        if not isinstance(value, dict) or not value:
            raise fail("text_needed", q, o)
        out = {}
        for code, text in value.items():
            if code not in locales:
                raise fail("language", q, o, lang=str(code)[:8])
            if not isinstance(text, (str, int, float)) or isinstance(text, bool):
                raise fail("text_needed", q, o)
            text = _clean(str(text))
            if not text:
                raise fail("empty_text", q, o)
            if len(text) > limit:
                raise fail("too_long", q, o, limit=limit)
            out[code] = text
        if default_locale not in out:
            raise fail("default_missing", q, o, language=default_locale)
        return out

    if len(doc["questions"]) > MAX_QUESTIONS:
        raise fail("too_many_questions", max=MAX_QUESTIONS)
    draft = PollDraft(anonymous=bool(doc.get("anonymous", True)), language=default_locale)
    if doc.get("title") is not None:
        draft.title = texts(doc["title"], TITLE_MAX)
    for n, item in enumerate(doc["questions"], 1):
        if not isinstance(item, dict):
            raise fail("not_mapping", n)
        kind = str(item.get("kind", "single"))
        if kind not in KINDS:
            raise fail("kind", n)
        question = QuestionDraft(kind, texts(item.get("text"), QUESTION_MAX, n))
        if kind in CHOICE_KINDS:
            raw = item.get("options")
            if not isinstance(raw, list):
                raise fail("options_list", n)
            question.options = [texts(o, OPTION_MAX, n, i) for i, o in enumerate(raw, 1)]
            try:
                check_options([o[default_locale] for o in question.options])
            except DomainError as exc:
                raise fail(exc.code, n, **exc.params) from None
        draft.questions.append(question)
    if len(draft.questions) > 1 and not draft.title:
        raise fail("title_needed")
    closes = doc.get("closes_in_days")
    if closes is not None:
        if isinstance(closes, bool) or not isinstance(closes, (int, float)) or not 0 < closes <= MAX_DURATION.days:
            raise fail("closes_in_days", max=MAX_DURATION.days)
        draft.closes_at = now + timedelta(days=float(closes))
    return draft


# ------------------------------------------------------------------ creating and reading

def participant_key(secret: bytes, poll_id: int, user_id: int) -> str:
    return hmac.new(secret, f"{poll_id}:{user_id}".encode(), hashlib.sha256).hexdigest()


async def load_secret(session: AsyncSession, configured: str | None) -> bytes:
    """The key of participant hashes: from SECRET_KEY when set, otherwise one the bot makes at
    its first start and keeps in the database (so a new bot token changes nothing)."""
    if configured:
        return hashlib.sha256(b"hromada-polls:" + configured.encode()).digest()
    row = await session.get(AppSecret, "poll-participants")
    if row is None:
        try:
            async with session.begin_nested():
                session.add(AppSecret(name="poll-participants", value=secrets.token_hex(32)))
        except IntegrityError:  # another process made it first
            pass
        await session.commit()
        row = await session.get(AppSecret, "poll-participants")
        assert row is not None
    return bytes.fromhex(row.value)


async def in_audience(session: AsyncSession, poll: Poll, user: User) -> bool:
    """Whether the poll was meant for this resident (its audience, as it is now)."""
    return await campaigns_in_audience(session, poll.audience, user)


async def create_poll(
    session: AsyncSession, draft: PollDraft, *, default_locale: str, created_by: int | None, now: datetime
) -> Poll:
    if not draft.questions:
        raise DomainError("no_questions")
    if draft.closes_at is not None:
        check_closes(draft.closes_at, now)
    poll = Poll(
        title=draft.title, anonymous=draft.anonymous, status="open", audience=draft.audience,
        default_locale=default_locale, closes_at=draft.closes_at, created_by=created_by, created_at=now,
    )
    poll.questions = [
        PollQuestion(position=i, kind=q.kind, text=q.text, options=q.options) for i, q in enumerate(draft.questions)
    ]
    session.add(poll)
    await session.flush()
    return poll


async def get_poll(session: AsyncSession, poll_id: int) -> Poll | None:
    return await session.get(Poll, poll_id)


def poll_json(poll: Poll) -> dict[str, Any]:
    """A poll's content for campaign payloads (rendered per resident at send time)."""
    return {
        "id": poll.id, "title": poll.title, "anonymous": poll.anonymous, "default_locale": poll.default_locale,
        "closes_at": poll.closes_at.isoformat() if poll.closes_at else None,
        "questions": [{"kind": q.kind, "text": q.text, "options": q.options} for q in poll.questions],
        "org": dict(poll.org.name) if poll.org_id is not None and poll.org is not None else None,
    }


async def response_of(session: AsyncSession, poll_id: int, key: str) -> PollResponse | None:
    return await session.scalar(
        select(PollResponse).where(PollResponse.poll_id == poll_id, PollResponse.participant == key)
    )


async def answers_of(session: AsyncSession, response: PollResponse | None) -> dict[int, list[int | str]]:
    """question position -> the resident's choices (or their text)."""
    if response is None:
        return {}
    rows = await session.execute(
        select(PollQuestion.position, PollAnswer.choice, PollAnswer.text)
        .join(PollQuestion, PollQuestion.id == PollAnswer.question_id)
        .where(PollAnswer.response_id == response.id)
        .order_by(PollAnswer.choice)
    )
    out: dict[int, list[int | str]] = defaultdict(list)
    for position, choice, text in rows:
        out[position].append(text if choice is None else choice)
    return dict(out)


# ------------------------------------------------------------------ answering

def open_question(poll: Poll | None, position: int, now: datetime) -> PollQuestion:
    """The question, if the poll takes answers now. Raises DomainError: unknown_poll, closed,
    unknown_question."""
    if poll is None:
        raise DomainError("unknown_poll")
    if poll.status != "open" or (poll.closes_at is not None and poll.closes_at <= now):
        raise DomainError("closed")
    if not 0 <= position < len(poll.questions):
        raise DomainError("unknown_question")
    return poll.questions[position]


async def _response(session: AsyncSession, poll: Poll, user: User, key: str, now: datetime) -> PollResponse:
    response = await response_of(session, poll.id, key)
    if response is None:
        if not await in_audience(session, poll, user):
            raise DomainError("not_for_you")
        response = PollResponse(
            poll_id=poll.id, participant=key, user_id=None if poll.anonymous else user.id,
            district=user.district, language=user.language, step=0, created_at=now,
        )
        session.add(response)
        await session.flush()
    return response


def _advance(poll: Poll, response: PollResponse, position: int, now: datetime) -> bool:
    """Move the resident past ``position``; True if this answered their next question."""
    advanced = response.step <= position
    if advanced:
        response.step = position + 1
    if response.step >= len(poll.questions) and response.completed_at is None:
        response.completed_at = now
    return advanced


@dataclass
class Answered:
    response: PollResponse
    mine: list[int | str]  # the resident's answer to this question now
    changed: bool
    advanced: bool = False  # the first answer to the resident's current question: show the next


async def vote(
    session: AsyncSession, poll: Poll | None, position: int, choice: int, user: User, key: str, now: datetime
) -> Answered:
    """Choose an option (single: replaces; multi: toggles; scale: 1-5 replaces).

    Raises DomainError: unknown_poll, closed, unknown_question, bad_choice.
    """
    question = open_question(poll, position, now)
    assert poll is not None
    valid = range(len(question.options)) if question.kind in CHOICE_KINDS else SCALE if question.kind == "scale" else ()
    if choice not in valid:
        raise DomainError("bad_choice")
    response = await _response(session, poll, user, key, now)
    current = list(await session.scalars(
        select(PollAnswer.choice).where(PollAnswer.response_id == response.id, PollAnswer.question_id == question.id)
    ))
    where = (PollAnswer.response_id == response.id, PollAnswer.question_id == question.id)
    if question.kind == "multi":
        if choice in current:
            await session.execute(delete(PollAnswer).where(*where, PollAnswer.choice == choice))
            mine = sorted(c for c in current if c != choice)
        else:
            session.add(PollAnswer(response_id=response.id, question_id=question.id, choice=choice, slot=choice))
            mine = sorted([*current, choice])
        changed = True
        if len(poll.questions) == 1:  # a quick poll has no "Next": the first choice answers it
            _advance(poll, response, position, now)
    else:
        changed = current != [choice]
        if changed:
            if current:
                await session.execute(delete(PollAnswer).where(*where))
            session.add(PollAnswer(response_id=response.id, question_id=question.id, choice=choice))
        mine = [choice]
        advanced = _advance(poll, response, position, now)
    await session.flush()
    return Answered(response, [c for c in mine if c is not None], changed, question.kind != "multi" and advanced)


# ------------------------------------------------------------------ the hot path: a tap on a poll message

@dataclass(frozen=True)
class CachedQuestion:
    id: int
    kind: str
    choices: int  # options (single, multi); 0 for scale and text


@dataclass(frozen=True)
class CachedPoll:
    """What never changes once a poll is made (its questions, options, audience, anonymity, closing
    time), kept per process. Whether it is still open is not kept: every vote's write checks it in
    the database (:func:`tap`), so a poll closed by another process takes no vote here either."""

    id: int
    anonymous: bool
    closes_at: datetime | None
    audience: dict[str, Any]
    questions: tuple[CachedQuestion, ...]
    data: dict[str, Any]  # poll_json(): what the messages are rendered from


async def cached_poll(session: AsyncSession, poll_id: int) -> CachedPoll | None:
    """The poll's structure, from memory after its first tap in this process (None: no such poll)."""
    hit = cache.get(session, "poll", poll_id)
    if hit is not None:
        return hit
    poll = await get_poll(session, poll_id)
    if poll is None:
        return None
    hit = CachedPoll(
        poll.id, poll.anonymous, poll.closes_at, dict(poll.audience or {}),
        tuple(CachedQuestion(q.id, q.kind, len(q.options or ()) if q.kind in CHOICE_KINDS else 0)
              for q in poll.questions),
        poll_json(poll),
    )
    return cache.put(session, "poll", poll_id, hit)


@dataclass
class TappedResponse:
    """The resident's response row as a tap left it (what the handler needs of it)."""

    id: int
    step: int
    completed_at: datetime | None
    chosen: int = 0  # the options of a multiple-choice question chosen before this tap, as bits


def _open(poll_id: int, now: datetime) -> Any:
    return exists().where(Poll.id == poll_id, Poll.status == "open",
                          or_(Poll.closes_at.is_(None), Poll.closes_at > now))


async def tap(
    session: AsyncSession, poll: CachedPoll | None, position: int, choice: int, user: User, key: str,
    now: datetime, *, chosen: bool | None = None,
) -> Answered:
    """A tap on an option: single and scale replace the answer, multi sets (``chosen`` True) or
    takes off (False) the option; ``chosen`` None (the buttons of older messages) toggles it.

    A quick poll costs two statements: the response (``INSERT … SELECT … WHERE EXISTS (the poll is
    open) ON CONFLICT DO UPDATE … RETURNING``) and the answer (``INSERT … ON CONFLICT DO UPDATE``);
    a multiple choice reads the resident's choices back (three). Raises DomainError as vote()."""
    if poll is None:
        raise DomainError("unknown_poll")
    if poll.closes_at is not None and poll.closes_at <= now:
        raise DomainError("closed")
    if not 0 <= position < len(poll.questions):
        raise DomainError("unknown_question")
    question = poll.questions[position]
    valid = range(question.choices) if question.kind in CHOICE_KINDS else SCALE if question.kind == "scale" else ()
    if choice not in valid:
        raise DomainError("bad_choice")
    if audience_admits(poll.audience, user) is not True:
        if await response_of(session, poll.id, key) is None:
            if not await campaigns_in_audience(session, poll.audience, user):
                raise DomainError("not_for_you")
    survey = len(poll.questions) > 1
    multi = question.kind == "multi"
    conn = await session.connection()
    got = await _tap_response(session, conn, poll, position, user, key, now, advances=not (multi and survey),
                              chosen_of=question.id if multi else None)
    if got is None:
        cache.drop(session, "poll", poll.id)  # closed (or gone): nothing of it is needed any more
        raise DomainError("closed")
    response, advanced = got
    advanced = advanced and survey and not multi
    ids = {"rid": response.id, "qid": question.id, "choice": choice}
    if not multi:
        changed = (await conn.execute(prepared(session, "poll-answer", _answer_upsert), ids)).first() is not None
        return Answered(response, [choice], changed, advanced)  # type: ignore[arg-type]
    before = {c for c in range(question.choices) if response.chosen >> c & 1}
    if chosen is None:  # an older message's button: a toggle, decided by what is stored
        chosen = choice not in before
    if chosen:
        await conn.execute(prepared(session, "poll-choose", _choose), ids)
        mine = before | {choice}
    else:
        await conn.execute(prepared(session, "poll-unchoose", _unchoose), ids)
        mine = before - {choice}
    return Answered(response, sorted(mine), True, False)  # type: ignore[arg-type]


# The statements of a tap, built once (bot.services.taps.prepared) with these placeholders.

def _answer_upsert(insert: Any) -> Any:
    ins = insert(PollAnswer).values(response_id=bindparam("rid"), question_id=bindparam("qid"), slot=-1,
                                    choice=bindparam("choice"))
    return ins.on_conflict_do_update(
        index_elements=["response_id", "question_id", "slot"], set_={"choice": ins.excluded.choice},
        where=PollAnswer.choice.is_distinct_from(ins.excluded.choice),
    ).returning(PollAnswer.id)


def _choose(insert: Any) -> Any:
    return insert(PollAnswer).values(
        response_id=bindparam("rid"), question_id=bindparam("qid"), slot=bindparam("choice"),
        choice=bindparam("choice"),
    ).on_conflict_do_nothing(index_elements=["response_id", "question_id", "slot"])


def _unchoose(insert: Any) -> Any:
    return delete(PollAnswer).where(PollAnswer.response_id == bindparam("rid"),
                                    PollAnswer.question_id == bindparam("qid"),
                                    PollAnswer.slot == bindparam("choice"))


def _tapped_columns(chosen_of: int | None) -> tuple[Any, ...]:
    table = PollResponse.__table__.c
    chosen: Any = literal(0)
    if chosen_of is not None:  # (RETURNING names the row's columns unqualified: the subquery is written out)
        chosen = literal_column(
            "(SELECT COALESCE(SUM(1 << a.choice), 0) FROM poll_answers AS a WHERE a.response_id = poll_responses.id"
            f" AND a.question_id = {int(chosen_of)})", Integer)
    return table.id, table.step, table.completed_at, chosen.label("chosen")


def _response_upsert(shape: tuple[bool, bool, bool, bool, int | None]) -> Callable[[Any], Any]:
    """The response, made or moved on, only while the poll is open (see _tap_response)."""
    advances, completes, assisted, survey_single, chosen_of = shape

    def build(insert: Any) -> Any:
        table = PollResponse.__table__.c
        columns = ["poll_id", "participant", "user_id", "district", "language", "step", "created_at",
                   "completed_at", "assisted_by"]
        open_now = exists().where(Poll.id == bindparam("pid"), Poll.status == "open", or_(
            Poll.closes_at.is_(None), Poll.closes_at > bindparam("now", type_=Poll.closes_at.type)))
        values = select(
            bindparam("pid", type_=Integer), bindparam("key", type_=PollResponse.participant.type),
            bindparam("uid", type_=PollResponse.user_id.type), bindparam("district", type_=PollResponse.district.type),
            bindparam("language", type_=PollResponse.language.type), bindparam("step", type_=Integer),
            bindparam("now", type_=PollResponse.created_at.type),
            bindparam("done", type_=PollResponse.completed_at.type),
            bindparam("assisted", type_=PollResponse.assisted_by.type),
        ).where(open_now)
        ins = insert(PollResponse).from_select(columns, values)
        position = bindparam("position", type_=Integer)
        set_: dict[str, Any] = {}
        if advances:
            set_["step"] = case((table.step <= position, bindparam("step", type_=Integer)), else_=table.step)
            if completes:
                set_["completed_at"] = func.coalesce(table.completed_at, bindparam("now", type_=table.completed_at.type))
        else:
            set_["step"] = table.step
        if assisted:
            set_["assisted_by"] = bindparam("assisted", type_=PollResponse.assisted_by.type)
        # a survey's answer that moves nobody on: no row back (then it is read, below)
        ins = ins.on_conflict_do_update(index_elements=["poll_id", "participant"], set_=set_,
                                        where=(table.step <= position) if survey_single else None)
        return ins.returning(*_tapped_columns(chosen_of))

    return build


async def _tap_response(
    session: AsyncSession, conn: Any, poll: CachedPoll, position: int, user: User, key: str, now: datetime,
    *, advances: bool, chosen_of: int | None = None,
) -> tuple[TappedResponse, bool] | None:
    """The resident's response, made or moved past ``position`` in one statement, only while the
    poll is open; None when it is not. With (response, advanced): advanced is True when this was
    the first answer to the resident's current question (a survey then shows the next one).
    ``chosen_of``: a multiple-choice question whose chosen options come back too (as bits)."""
    n = len(poll.questions)
    assisted = session.info.get("assisted_by")
    step = position + 1 if advances else 0
    done = now if advances and step >= n else None
    survey_single = n > 1 and advances
    # (a multiple-choice question's id is in the statement: one statement per such question)
    shape = (advances, done is not None, assisted is not None and not poll.anonymous, survey_single, chosen_of)
    params = {"pid": poll.id, "key": key, "uid": None if poll.anonymous else user.id, "district": user.district,
              "language": user.language, "step": step, "now": now, "done": done, "assisted": assisted,
              "position": position}
    row = (await conn.execute(prepared(session, ("poll-response", shape), _response_upsert(shape)), params)).first()
    if row is not None:
        return TappedResponse(row.id, row.step, row.completed_at, int(row.chosen or 0)), True
    if not survey_single:
        return None
    table = PollResponse.__table__.c
    row = (await conn.execute(
        select(*_tapped_columns(chosen_of)).where(table.poll_id == poll.id, table.participant == key,
                                                  _open(poll.id, now))
    )).first()
    return (TappedResponse(row.id, row.step, row.completed_at, int(row.chosen or 0)), False) if row else None


async def answer_text(
    session: AsyncSession, poll: Poll | None, position: int, text: str, user: User, key: str, now: datetime
) -> Answered:
    """Raises DomainError: unknown_poll, closed, unknown_question, bad_choice, empty, too_long (limit)."""
    question = open_question(poll, position, now)
    assert poll is not None
    if question.kind != "text":
        raise DomainError("bad_choice")
    text = (text or "").strip()
    if not text:
        raise DomainError("empty")
    if len(text) > TEXT_ANSWER_MAX:
        raise DomainError("too_long", limit=TEXT_ANSWER_MAX, length=len(text))
    response = await _response(session, poll, user, key, now)
    await session.execute(
        delete(PollAnswer).where(PollAnswer.response_id == response.id, PollAnswer.question_id == question.id)
    )
    session.add(PollAnswer(response_id=response.id, question_id=question.id, text=text))
    advanced = _advance(poll, response, position, now)
    await session.flush()
    return Answered(response, [text], True, advanced)


async def finish_multi(
    session: AsyncSession, poll: Poll | None, position: int, user: User, key: str, now: datetime
) -> Answered:
    """"Next" under a multiple-choice question of a survey (no option is also an answer)."""
    question = open_question(poll, position, now)
    assert poll is not None
    if question.kind != "multi" or len(poll.questions) == 1:
        raise DomainError("bad_choice")
    response = await _response(session, poll, user, key, now)
    advanced = _advance(poll, response, position, now)
    await session.flush()
    return Answered(response, [], False, advanced)


# ------------------------------------------------------------------ lists

async def participants(session: AsyncSession, poll_ids: Sequence[int]) -> dict[int, int]:
    if not poll_ids:
        return {}
    rows = await session.execute(
        select(PollResponse.poll_id, func.count()).where(PollResponse.poll_id.in_(poll_ids))
        .group_by(PollResponse.poll_id)
    )
    return {poll_id: n for poll_id, n in rows}


async def recent_polls(session: AsyncSession, limit: int = 10, orgs: set[int] | None = None) -> list[Poll]:
    """The open polls and the latest closed ones, in the order they were made (by id: closing one
    moves nothing in the list); only those made for the organisations ``orgs`` when given (a
    representative's)."""
    mine = [Poll.org_id.in_(orgs)] if orgs is not None else []
    open_polls = list(await session.scalars(
        select(Poll).where(Poll.status == "open", *mine).order_by(Poll.closes_at.is_(None), Poll.closes_at, Poll.id)
        .limit(limit)
    ))
    closed = list(await session.scalars(
        select(Poll).where(Poll.status == "closed", *mine).order_by(Poll.closed_at.desc(), Poll.id.desc())
        .limit(max(limit - len(open_polls), 3))
    ))
    return sorted(open_polls + closed, key=lambda p: p.id)


async def open_for(
    session: AsyncSession, user: User, secret: bytes, now: datetime, limit: int = 10
) -> list[tuple[Poll, int | None]]:
    """Open polls this resident is in the audience of and has not finished, with the step they
    stopped at (None: not started)."""
    polls = list(await session.scalars(
        select(Poll).where(Poll.status == "open").where((Poll.closes_at.is_(None)) | (Poll.closes_at > now))
        .order_by(Poll.id)
    ))
    out = []
    for poll in polls:
        if not await in_audience(session, poll, user):
            continue
        response = await response_of(session, poll.id, participant_key(secret, poll.id, user.id))
        if response is not None and response.completed_at is not None:
            continue
        out.append((poll, response.step if response is not None else None))
        if len(out) == limit:
            break
    return out


async def waiting_text_answers(
    session: AsyncSession, user: User, secret: bytes, now: datetime
) -> list[tuple[Poll, int]]:
    """The free-text questions in front of this resident, as (poll, question position): a
    message they type without pressing "Write my answer" is the answer to it. A question is in
    front of them when the bot showed it and they have not answered it: a one-question poll
    delivered to them (its question is the message), or a survey's next question after they
    answered the one before."""
    out = []
    for poll, step in await open_for(session, user, secret, now):
        if step is None or step == 0:
            if len(poll.questions) != 1 or poll.title or poll.questions[0].kind != "text":
                continue  # a survey not started shows its invitation, not a question
            if poll.campaign_id is None or not await session.scalar(select(exists().where(
                    Delivery.campaign_id == poll.campaign_id, Delivery.user_id == user.id,
                    Delivery.status == "sent"))):
                continue  # not delivered to them (registered later, or still queued)
            out.append((poll, 0))
        elif step < len(poll.questions) and poll.questions[step].kind == "text":
            out.append((poll, step))
    return out


# ------------------------------------------------------------------ closing

async def due_polls(session: AsyncSession, now: datetime) -> list[int]:
    return list(await session.scalars(
        select(Poll.id).where(Poll.status == "open", Poll.closes_at.is_not(None), Poll.closes_at <= now)
    ))


async def close_poll(session: AsyncSession, poll_id: int, now: datetime) -> Poll | None:
    """Close an open poll; None if it was not open (closed already, by a tap or another run)."""
    return await close_if_open(session, Poll, poll_id, now)


async def poll_messages(session: AsyncSession, poll: Poll) -> dict[str, int]:
    """users.id (as text) -> the poll message each resident got (to take its buttons off)."""
    if poll.campaign_id is None:
        return {}
    rows = await session.execute(
        select(Delivery.user_id, Delivery.message_id).where(
            Delivery.campaign_id == poll.campaign_id, Delivery.user_id.is_not(None),
            Delivery.message_id.is_not(None),
        )
    )
    return {str(user_id): message_id for user_id, message_id in rows}


async def participant_user_ids(session: AsyncSession, poll: Poll, secret: bytes) -> list[int]:
    """Residents who took part (to send them the results). For an anonymous poll they are found by
    hashing the residents the poll was sent to; the answers themselves are not looked at."""
    keys = set(await session.scalars(select(PollResponse.participant).where(PollResponse.poll_id == poll.id)))
    candidates: Iterable[int] = await session.scalars(
        select(User.id).where(User.deleted_at.is_(None), User.registered_at.is_not(None))
    )
    return [uid for uid in candidates if participant_key(secret, poll.id, uid) in keys]


async def mark_published(session: AsyncSession, poll_id: int, now: datetime) -> bool:
    result = await session.execute(
        update(Poll).where(Poll.id == poll_id, Poll.status == "closed", Poll.results_published_at.is_(None))
        .values(results_published_at=now).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def close_and_queue(
    session: AsyncSession, poll_id: int, now: datetime, *, min_group: int, organizers_chat_id: int | None,
) -> Poll | None:
    """Close the poll and, in the same transaction, queue the organizers' results and the campaign
    that takes the buttons off residents' poll messages (campaign keys make both once-only).
    None if it was not open. The caller commits and wakes the delivery engine."""
    poll = await close_poll(session, poll_id, now)
    if poll is None:
        return None
    if poll.campaign_id is not None:  # still going out: nobody else gets a closed poll
        await cancel_campaign(session, poll.campaign_id, now)
    if organizers_chat_id is not None:
        summary = await results(session, poll, min_group)
        await create_campaign(
            session, kind="poll-results-org", key=f"poll:{poll.id}:results", urgent=True, now=now,
            payload={"poll_id": poll.id, "default_locale": poll.default_locale, "results": summary.to_json()},
            audience=Audience(residents=False, chat_ids=[organizers_chat_id]),
        )
    messages = await poll_messages(session, poll)
    if messages:
        await create_campaign(
            session, kind="poll-closed", key=f"poll:{poll.id}:closed", urgent=True, now=now,
            payload={"poll_id": poll.id, "messages": messages},
            audience=Audience(user_ids=sorted(int(uid) for uid in messages)),
        )
    return poll


async def publish_results(session: AsyncSession, poll: Poll, secret: bytes, now: datetime, created_by: int | None,
                          min_group: int) -> int:
    """Queue the results for everyone who took part, in each one's language; returns how many
    (0: nobody took part). Raises DomainError: not_closed, published."""
    if poll.status != "closed":
        raise DomainError("not_closed")
    if poll.results_published_at is not None:
        raise DomainError("published")
    user_ids = await participant_user_ids(session, poll, secret)
    if not user_ids:
        return 0
    if not await mark_published(session, poll.id, now):
        raise DomainError("published")
    summary = await results(session, poll, min_group)
    campaign = await create_campaign(
        session, kind=RESULTS_KIND, key=f"poll:{poll.id}:publish", now=now, created_by=created_by,
        payload={"poll_id": poll.id, "default_locale": poll.default_locale, "results": summary.to_json()},
        audience=Audience(user_ids=user_ids),
    )
    # who took part is found from the hashes now and goes straight into the outbox: the campaign
    # keeps no list of them, and forget_results_recipients() drops each row once it is sent
    await start_campaign(session, campaign.id, now)
    campaign.audience = Audience(user_ids=[]).to_json()
    return len(user_ids)


RESULTS_KIND = "poll-results"


async def forget_results_recipients(session: AsyncSession) -> int:
    """The outbox rows of "results to participants" that are done are deleted: kept, they would
    say who answered a poll (for a small or unanimous one, also how)."""
    return await forget_finished_recipients(session, RESULTS_KIND)


# ------------------------------------------------------------------ results

@dataclass
class Group:
    """One slice of a breakdown: a district or a language code (None: "other", the small ones)."""

    code: str | None
    answered: int
    counts: list[int]


@dataclass
class QuestionResult:
    kind: str
    text: dict[str, str]
    options: list[dict[str, str]]
    answered: int
    counts: list[int]  # per option, or per scale value 1..5
    by_district: list[Group] = field(default_factory=list)
    by_language: list[Group] = field(default_factory=list)
    # free text: (district or None for "other", text, author's name or None) sorted, not by time
    texts: list[tuple[str | None, str, str | None]] = field(default_factory=list)

    @property
    def mean(self) -> float | None:
        if self.kind != "scale" or not sum(self.counts):
            return None
        return sum(v * n for v, n in zip(SCALE, self.counts, strict=True)) / sum(self.counts)


@dataclass
class Results:
    poll_id: int
    title: dict[str, str]
    anonymous: bool
    participants: int
    completed: int
    min_group: int
    questions: list[QuestionResult]

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Results:
        questions = []
        for q in data["questions"]:
            q = dict(q)
            q["by_district"] = [Group(**g) for g in q.get("by_district", [])]
            q["by_language"] = [Group(**g) for g in q.get("by_language", [])]
            q["texts"] = [tuple(t) for t in q.get("texts", [])]
            questions.append(QuestionResult(**q))
        return cls(**{**data, "questions": questions})


def shown_groups(sizes: dict[str | None, int], min_group: int) -> set[str]:
    """Which groups a breakdown may show apart: each of at least ``min_group`` people, and what
    is left over ("other") either nobody or also at least ``min_group`` people, so the hidden
    part cannot be worked out by subtracting the shown ones from the totals. The smallest shown
    groups join "other" until that holds; with fewer than two groups left, none is shown."""
    if min_group <= 1:
        return {code for code in sizes if code is not None}
    shown = sorted((n, code) for code, n in sizes.items() if code is not None and n >= min_group)
    rest = sum(sizes.values()) - sum(n for n, _code in shown)
    while shown and 0 < rest < min_group:
        n, _code = shown.pop(0)
        rest += n
    if len(shown) + (1 if rest else 0) < 2:
        return set()
    return {code for _n, code in shown}


def _groups(rows: list[tuple[str | None, int | None]], width: int, choice_index: Any, min_group: int,
            respondents: dict[str | None, set[int]]) -> list[Group]:
    """Counts per group, largest first, the groups that may not be shown apart together as
    "other" (see :func:`shown_groups`); empty when no breakdown may be shown."""
    counts: dict[str | None, list[int]] = defaultdict(lambda: [0] * width)
    for code, choice in rows:
        index = choice_index(choice)
        if index is not None:
            counts[code][index] += 1
    big = shown_groups({code: len(people) for code, people in respondents.items()}, min_group)
    if not big:
        return []
    other_n, other_counts = 0, [0] * width
    for code, people in respondents.items():
        if code in big:
            continue
        other_n += len(people)
        other_counts = [a + b for a, b in zip(other_counts, counts[code], strict=True)]
    out = [Group(code, len(respondents[code]), counts[code]) for code in big]
    out.sort(key=lambda g: (-g.answered, g.code or ""))
    if other_n:
        out.append(Group(None, other_n, other_counts))
    return out


async def results(session: AsyncSession, poll: Poll, min_group: int) -> Results:
    """Totals and breakdowns by district and language. For anonymous polls only groups of at
    least ``min_group`` participants are shown apart; free-text answers are listed by district
    (small districts together) in alphabetical order, never in the order they came."""
    min_group = min_group if poll.anonymous else 1
    responses = {
        rid: (district, language, user_id, completed)
        for rid, district, language, user_id, completed in await session.execute(
            select(PollResponse.id, PollResponse.district, PollResponse.language, PollResponse.user_id,
                   PollResponse.completed_at).where(PollResponse.poll_id == poll.id)
        )
    }
    names: dict[int, str] = {}
    if not poll.anonymous:
        ids = {v[2] for v in responses.values() if v[2] is not None}
        if ids:
            names = {uid: name or "" for uid, name in await session.execute(
                select(User.id, User.display_name).where(User.id.in_(ids), User.deleted_at.is_(None)))}
    by_question: dict[int, list[tuple[int, int | None, str | None]]] = defaultdict(list)
    for rid, qid, choice, text in await session.execute(
        select(PollAnswer.response_id, PollAnswer.question_id, PollAnswer.choice, PollAnswer.text)
        .join(PollResponse, PollResponse.id == PollAnswer.response_id).where(PollResponse.poll_id == poll.id)
    ):
        by_question[qid].append((rid, choice, text))

    district_sizes = Counter(v[0] for v in responses.values())  # participants of the poll per district
    out = []
    for q in poll.questions:
        rows = by_question.get(q.id, [])
        width = len(q.options) if q.kind in CHOICE_KINDS else len(SCALE) if q.kind == "scale" else 0

        def index(choice: int | None, kind: str = q.kind, width: int = width) -> int | None:
            if choice is None:
                return None
            i = choice - 1 if kind == "scale" else choice
            return i if 0 <= i < width else None

        counts = [0] * width
        for _rid, choice, _text in rows:
            i = index(choice)
            if i is not None:
                counts[i] += 1
        people = {rid for rid, _c, _t in rows}
        result = QuestionResult(q.kind, q.text, q.options, len(people), counts)
        if q.kind == "text":
            shown = shown_groups(dict(district_sizes), min_group)
            result.texts = [
                (responses[rid][0] if responses[rid][0] in shown else None, text or "",
                 names.get(responses[rid][2] or 0) or None)
                for rid, _c, text in rows
            ]
            result.texts.sort(key=lambda t: (t[0] is None, t[0] or "", t[1].casefold(), t[2] or ""))
        else:
            for attr, col in (("by_district", 0), ("by_language", 1)):
                respondents: dict[str | None, set[int]] = defaultdict(set)
                for rid in people:
                    respondents[responses[rid][col]].add(rid)
                setattr(result, attr, _groups(
                    [(responses[rid][col], choice) for rid, choice, _t in rows], width, index, min_group, respondents,
                ))
        out.append(result)
    completed = sum(1 for v in responses.values() if v[3] is not None)
    return Results(poll.id, dict(poll.title), poll.anonymous, len(responses), completed, min_group, out)


# ------------------------------------------------------------------ personal data

async def personal_answers(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """The resident's answers to polls that were not anonymous (for /mydata)."""
    rows = await session.execute(
        select(PollResponse.poll_id, PollQuestion.text, PollQuestion.kind, PollQuestion.options,
               PollAnswer.choice, PollAnswer.text)
        .join(PollAnswer, PollAnswer.response_id == PollResponse.id)
        .join(PollQuestion, PollQuestion.id == PollAnswer.question_id)
        .where(PollResponse.user_id == user_id).order_by(PollResponse.poll_id, PollQuestion.position)
    )
    out = []
    for poll_id, qtext, kind, options, choice, text in rows:
        if text is not None:
            answer: Any = text
        elif kind in CHOICE_KINDS and choice is not None and 0 <= choice < len(options):
            answer = options[choice]
        else:
            answer = choice
        out.append({"poll": poll_id, "question": qtext, "answer": answer})
    return out


async def forget(session: AsyncSession, user_id: int, secret: bytes) -> None:
    """On /deleteme: unlink every answer from the resident (the counts stay): the name goes from
    non-anonymous answers, and every participant hash is replaced by a random one, so not even
    the bot can find those answers again."""
    poll_ids = list(await session.scalars(select(Poll.id)))
    keys = [participant_key(secret, pid, user_id) for pid in poll_ids]
    ids = list(await session.scalars(
        select(PollResponse.id).where((PollResponse.user_id == user_id) | PollResponse.participant.in_(keys))
    )) if keys else []
    for rid in ids:
        await session.execute(
            update(PollResponse).where(PollResponse.id == rid)
            .values(user_id=None, participant="gone:" + secrets.token_hex(16))
        )
    if ids:  # what they wrote in their own words goes too (it may name them); their choices stay counted
        await session.execute(delete(PollAnswer).where(PollAnswer.response_id.in_(ids), PollAnswer.text.is_not(None)))
