"""SQLAlchemy 2 typed models. Times are stored in UTC (see UTCDateTime)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, MetaData, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """A stored time for exports (JSON): ISO 8601 with its UTC offset, or None."""
    return value.isoformat() if value else None


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class User(Base):
    """A resident (or organizer/moderator) known to the bot.

    The row is created at the first /start so we can talk to the person in their language;
    name, district and topics are written only when they give consent.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    display_name: Mapped[str | None] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8))
    district: Mapped[str | None] = mapped_column(String(64), index=True)
    topics: Mapped[list[str]] = mapped_column(default=list)
    consent_at: Mapped[datetime | None]
    registered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    unreachable_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    # An offline resident, registered in person by a community mediator (bot/services/mediators.py):
    # no Telegram account until linked; the code is what the mediator and the resident use.
    # (Plain ids and unique indexes, no foreign keys: SQLite adds these columns without
    # rebuilding the users table, which every other table references.)
    code: Mapped[str | None] = mapped_column(String(16), unique=True, index=True)
    mediator_id: Mapped[int | None] = mapped_column(Integer, index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    link_token: Mapped[str | None] = mapped_column(String(32), unique=True, index=True)
    linked_at: Mapped[datetime | None]
    # On a mediator's row: the offline resident they are acting for right now.
    acting_for_id: Mapped[int | None] = mapped_column(Integer)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_registered(self) -> bool:
        return self.registered_at is not None and self.deleted_at is None

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}

    @property
    def is_offline(self) -> bool:
        """Registered by a mediator and not (yet) using Telegram themselves."""
        return self.code is not None and self.telegram_id is None and self.deleted_at is None


class Assisted:
    """A row a mediator may create or change while acting for an offline resident: the session
    stamps the mediator's id on it (storage/db.py, ``session.info["assisted_by"]``)."""

    assisted_by: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)  # users.id


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted_by: Mapped[int | None] = mapped_column(BigInteger)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")


class FsmRecord(Base):
    """Conversation state of one (bot, chat, user, destiny), so it survives restarts."""

    __tablename__ = "fsm_states"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- Delivery engine (campaigns, their outbox and uploaded media) ---------------------------------

from sqlalchemy import Boolean, Index, UniqueConstraint  # noqa: E402


class Campaign(Base):
    """Something sent to many people: an announcement, a poll, an event reminder, a digest.

    ``kind`` picks the renderer that turns the JSON ``payload`` into each recipient's message at
    send time. Status: scheduled -> running -> done, or cancelled. ``finished_at`` is set once the
    organizer's summary went out, so it is sent once even across restarts.
    """

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    # Optional idempotency key: creating a campaign with a key that exists returns the existing one.
    key: Mapped[str | None] = mapped_column(String(128), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    send_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    total: Mapped[int] = mapped_column(Integer, default=0)
    # The organizer's progress message, edited in place while the campaign runs.
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Its last edit (when, and a digest of what it shows): each edit is claimed with a conditional
    # UPDATE, so several engines edit it at most once an interval and never with the same text.
    progress_digest: Mapped[str | None] = mapped_column(String(32))
    progress_edited_at: Mapped[datetime | None]
    # Who is closing the campaign (final progress, summary) and until when: a conditional UPDATE
    # claims it, so with several engines the summary goes out once; an expired claim is taken over.
    finish_holder: Mapped[str | None] = mapped_column(String(64))
    finish_lease_until: Mapped[datetime | None]
    # Made by a representative for their organisation (shown as from it; theirs to manage).
    org_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Delivery(Base):
    """The outbox: one row per (campaign, recipient).

    A recipient is a resident (``user_id``; the chat id is read from the user at send time, so an
    erased resident leaves no Telegram id here) or a group chat (``chat_id``).
    Status: pending -> sending -> sent | blocked | failed | cancelled (or back to pending to retry).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "user_id", name="uq_deliveries_campaign_user"),
        UniqueConstraint("campaign_id", "chat_id", name="uq_deliveries_campaign_chat"),
        Index("ix_deliveries_due", "status", "next_attempt_at", "id"),
        Index("ix_deliveries_campaign_status", "campaign_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(255))
    sent_at: Mapped[datetime | None]
    # A ``sending`` row's lease: the engine (``hostname:pid:random``) that claimed it renews it
    # while it works on it; only an expired lease (the holder crashed or hung) goes back to pending.
    lease_holder: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]


class MediaFile(Base):
    """A photo or document uploaded to Telegram once; later sends reuse its file_id."""

    __tablename__ = "media_files"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    file_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Issue reports from residents, triaged by moderators ------------------------------------------

from sqlalchemy import Float, Text  # noqa: E402


class Report(Assisted, Base):
    """A local problem reported by a resident; moderators triage it on a card in their group.

    Status: new -> accepted -> in_progress -> resolved, or rejected / duplicate / withdrawn;
    a resolved report the resident says is not fixed becomes ``reopened``. Every change is a
    conditional UPDATE on the expected status, so two moderators cannot produce two outcomes.
    """

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    category: Mapped[str] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    voice_file_id: Mapped[str | None] = mapped_column(String(255))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(255))
    show_identity: Mapped[bool] = mapped_column(Boolean, default=False)
    # what moderators see instead of the name: one per report, never shared with another report
    alias: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    duplicate_of: Mapped[int | None] = mapped_column(Integer)
    routed_to: Mapped[str | None] = mapped_column(String(255))
    # the organisation of /orgs it was passed on to: its representatives got it and may act on it
    routed_org_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(255))
    card_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    card_thread_id: Mapped[int | None] = mapped_column(BigInteger)
    # A late card being posted (reports_service.without_card claims it until then): one poster.
    card_claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    stale_notified_at: Mapped[datetime | None]
    followup_due_at: Mapped[datetime | None] = mapped_column(index=True)
    followup_sent_at: Mapped[datetime | None]


class ReportPhoto(Base):
    __tablename__ = "report_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    file_id: Mapped[str] = mapped_column(String(255))


class ReportEvent(Base):
    """The audit trail: who did what to a report, and when."""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_name: Mapped[str | None] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    old_status: Mapped[str | None] = mapped_column(String(16))
    new_status: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportMessage(Base):
    """A message that belongs to a report (its card, a relayed message), so replies find it."""

    __tablename__ = "report_messages"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    # the resident whose words or name the message carries (a relayed message, "added to #1"):
    # /deleteme deletes it in the chat. None: the card (refreshed instead) or a moderator's words.
    author_id: Mapped[int | None] = mapped_column(Integer, index=True)


class ReportTopic(Base):
    """The forum topic of a report category in the moderators' group (created once)."""

    __tablename__ = "report_topics"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    thread_id: Mapped[int] = mapped_column(BigInteger)


# --- Polls and surveys ----------------------------------------------------------------------------

class Poll(Base):
    """A quick poll (one question) or a survey (several, answered step by step).

    Texts are ``{locale: text}`` (the default language always present). Status: open -> closed.
    ``results_sent_at`` is set in the same transaction that closes the poll and queues the
    organizers' results, so closing happens once even across restarts.
    """

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[dict[str, Any]] = mapped_column(default=dict)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    default_locale: Mapped[str] = mapped_column(String(8))
    closes_at: Mapped[datetime | None] = mapped_column(index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    results_published_at: Mapped[datetime | None]
    org_id: Mapped[int | None] = mapped_column(Integer, index=True)  # made for an organisation
    org: Mapped[Organisation | None] = relationship(
        primaryjoin="foreign(Poll.org_id) == Organisation.id", lazy="selectin")

    questions: Mapped[list[PollQuestion]] = relationship(
        back_populates="poll", cascade="all, delete-orphan", lazy="selectin", order_by="PollQuestion.position"
    )


class PollQuestion(Base):
    """One question: kind single | multi | scale (1-5) | text; ``options`` are ``[{locale: text}]``."""

    __tablename__ = "poll_questions"
    __table_args__ = (UniqueConstraint("poll_id", "position", name="uq_poll_questions_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))
    text: Mapped[dict[str, Any]] = mapped_column(default=dict)
    options: Mapped[list[Any]] = mapped_column(JSON, default=list)

    poll: Mapped[Poll] = relationship(back_populates="questions")


class PollResponse(Assisted, Base):
    """One participant's answers to one poll.

    ``participant`` is a keyed hash of (poll, resident): the bot finds a resident's own answers
    with it, but nothing stored names them. ``user_id`` is set only for polls that are not
    anonymous. District and language are taken when the resident answers, for the breakdowns.
    ``step`` is the position of the next question (a survey resumes there).
    """

    __tablename__ = "poll_responses"
    __table_args__ = (UniqueConstraint("poll_id", "participant", name="uq_poll_responses_participant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    participant: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    district: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    step: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]


class PollAnswer(Base):
    """An answer to one question: ``choice`` is the option index (single/multi, one row per
    chosen option) or the scale value; ``text`` a free-text answer.

    ``slot`` makes an answer one row a vote can write with ``INSERT … ON CONFLICT``: -1 for the
    one answer of a single-choice, scale or text question (a new choice replaces it), the option
    index for each chosen option of a multiple-choice question."""

    __tablename__ = "poll_answers"
    __table_args__ = (
        Index("ix_poll_answers_question", "question_id", "choice"),
        UniqueConstraint("response_id", "question_id", "slot", name="uq_poll_answers_slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("poll_responses.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("poll_questions.id", ondelete="CASCADE"))
    choice: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    slot: Mapped[int] = mapped_column(Integer, default=-1, server_default="-1")


class AppSecret(Base):
    """A secret the bot makes for itself once and keeps (e.g. the key of poll participants'
    hashes when SECRET_KEY is not set), so it survives restarts and a new bot token."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Events: workshops, public discussions, open lectures, working meetings, trainings ----------

class Event(Base):
    """An event residents can answer (going / maybe / can't go) and check in to.

    Texts are ``{locale: text}``. ``version`` grows with every change residents are told of, so
    buttons of an older announcement are recognised. Reminders, the speakers' questions and the
    feedback question go out as campaigns with keys naming the event (and its start time), so
    each is sent once, also across restarts. Status: scheduled or cancelled.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[dict[str, Any]] = mapped_column(default=dict)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    venue: Mapped[str | None] = mapped_column(String(255))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    online_url: Mapped[str | None] = mapped_column(String(512))
    capacity: Mapped[int | None] = mapped_column(Integer)
    speakers: Mapped[str | None] = mapped_column(String(255))
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    default_locale: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    checkin_token: Mapped[str] = mapped_column(String(32), unique=True)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    org_id: Mapped[int | None] = mapped_column(Integer, index=True)  # made for an organisation
    org: Mapped[Organisation | None] = relationship(
        primaryjoin="foreign(Event.org_id) == Organisation.id", lazy="selectin")


class EventRsvp(Assisted, Base):
    """One resident's answer to an event. ``status``: going | maybe | no | waitlist (waiting in
    order of ``waitlisted_at`` for a place). ``attended_at`` is set at check-in (once)."""

    __tablename__ = "event_rsvps"
    __table_args__ = (UniqueConstraint("event_id", "user_id", name="uq_event_rsvps_user"),
                      Index("ix_event_rsvps_event_status", "event_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    waitlisted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    attended_at: Mapped[datetime | None]
    checked_in_by: Mapped[str | None] = mapped_column(String(16))  # link | organizer
    feedback_score: Mapped[int | None] = mapped_column(Integer)
    feedback_comment: Mapped[str | None] = mapped_column(Text)
    feedback_voice_file_id: Mapped[str | None] = mapped_column(String(255))  # a voice note instead of / besides it


class EventQuestion(Base):
    """A question for the speakers, sent in before the event; delivered to the organizers grouped."""

    __tablename__ = "event_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- The organisations network and residents' project proposals ---------------------------------

class Organisation(Base):
    """A member organisation of the network (an NGO, an initiative group, a school...).

    ``name`` and ``description`` are ``{locale: text}``; ``districts`` the codes it serves (empty:
    the whole community). A removed organisation keeps its row (proposals and counts name it) but
    is no longer listed, and nobody acts for it any more.
    """

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[dict[str, Any]] = mapped_column(default=dict)
    contact: Mapped[str | None] = mapped_column(String(255))
    districts: Mapped[list[str]] = mapped_column(default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]


class OrgMember(Base):
    """A resident who says they belong to (``member``) or represent (``representative``) an
    organisation. A representative is ``pending`` until an admin confirms (or declines) them."""

    __tablename__ = "org_members"

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))  # member | representative
    status: Mapped[str] = mapped_column(String(16))  # confirmed | pending | declined
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None] = mapped_column(BigInteger)


class Proposal(Assisted, Base):
    """A project proposed by a resident (maybe on behalf of an organisation they represent).

    Status: submitted -> published -> review (by the municipality) -> accepted -> in_progress ->
    realised; or changes (the moderators asked for changes; resubmitting makes it submitted
    again), rejected (with a reason), duplicate (merged into ``duplicate_of``), withdrawn.
    The date of every step is in proposal_events; ``published_at`` etc. make the counts simple.
    """

    __tablename__ = "proposals"
    # /proposals: the most supported first, read in index order and stopped after a page
    __table_args__ = (Index("ix_proposals_rank", "supporters", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(160))
    problem: Mapped[str] = mapped_column(Text)
    solution: Mapped[str] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(32))
    budget: Mapped[int | None] = mapped_column(BigInteger)
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    reason: Mapped[str | None] = mapped_column(Text)  # of a rejection, or the changes asked for
    progress: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_of: Mapped[int | None] = mapped_column(Integer)
    supporters: Mapped[int] = mapped_column(Integer, default=0)
    alias: Mapped[str | None] = mapped_column(String(16))  # the author's pseudonym on this proposal only
    card_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    realised_at: Mapped[datetime | None]


class ProposalSupport(Assisted, Base):
    """One resident supports one proposal (once; they can withdraw it)."""

    __tablename__ = "proposal_supports"

    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProposalEvent(Base):
    """A proposal's history: every status change and progress note, with its date and who did it."""

    __tablename__ = "proposal_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str | None] = mapped_column(String(128))
    old_status: Mapped[str | None] = mapped_column(String(16))
    new_status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Digests for organizers -----------------------------------------------------------------------

class DigestSubscription(Base):
    """Who gets the organizers' digest and how often (``daily`` | ``weekly``): an organizer in
    their private chat (``user_id`` set; in their language) or the organizers' chat (``user_id``
    None; in the community's default language). ``since`` is when it was set: a digest due before
    that is not sent to them (subscribing at 10:00 does not bring back the 09:00 one)."""

    __tablename__ = "digest_subscriptions"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    frequency: Mapped[str] = mapped_column(String(8))
    since: Mapped[datetime] = mapped_column(default=utcnow)
    set_by: Mapped[int | None] = mapped_column(BigInteger)


# --- Working groups ----------------------------------------------------------------------------

class WorkingGroup(Base):
    """A working group of the dialogue platform (e.g. "Accessible streets"): residents join and
    leave from the bot; it is an audience for announcements, polls and events, and its
    coordinator (any user, often an organisation's representative) can message it.
    ``name``/``description`` are ``{locale: text}``. A closed group keeps its row."""

    __tablename__ = "working_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[dict[str, Any]] = mapped_column(default=dict)
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class GroupMember(Base):
    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("working_groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelPost(Base):
    """What was published to the public channel (``kind``: poll | proposal | event | discussion),
    once each: the row is claimed before posting, so a double tap posts once."""

    __tablename__ = "channel_posts"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    ref_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    posted_by: Mapped[int | None] = mapped_column(BigInteger)
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)


class Discussion(Base):
    """An online discussion (as Pol.is runs them): a question, and short statements residents
    agree or disagree with. ``question`` is ``{locale: text}``. Status: open -> closed."""

    __tablename__ = "discussions"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[dict[str, Any]] = mapped_column(default=dict)
    default_locale: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    closes_at: Mapped[datetime | None] = mapped_column(index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    campaign_id: Mapped[int | None] = mapped_column(Integer)


class DiscussionStatement(Base):
    """A statement: a seed one from the organizer, or a resident's (``pending`` until a moderator
    approves it; ``rejected`` with a reason code). ``norm`` is the text folded for finding
    duplicates (unique per discussion, so two residents typing the same thing at once make one)."""

    __tablename__ = "discussion_statements"
    __table_args__ = (UniqueConstraint("discussion_id", "norm", name="uq_discussion_statements_norm"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    norm: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="approved")
    votes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # for "fewer votes first"
    seed: Mapped[bool] = mapped_column(Boolean, default=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    moderated_at: Mapped[datetime | None]
    moderated_by: Mapped[int | None] = mapped_column(BigInteger)
    card_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # a resident's voice note; ``text`` stays empty until a moderator writes down what it says
    voice_file_id: Mapped[str | None] = mapped_column(String(255))


class DiscussionParticipant(Base):
    """One resident in one discussion, known only by a keyed hash (as anonymous poll answers are)
    and their district (for "agrees in every district")."""

    __tablename__ = "discussion_participants"
    __table_args__ = (UniqueConstraint("discussion_id", "participant", name="uq_discussion_participants_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"))
    participant: Mapped[str] = mapped_column(String(80))
    district: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DiscussionVote(Base):
    """1 agree, -1 disagree, 0 pass; one per participant and statement (a second tap changes it)."""

    __tablename__ = "discussion_votes"

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("discussion_participants.id", ondelete="CASCADE"), primary_key=True)
    statement_id: Mapped[int] = mapped_column(
        ForeignKey("discussion_statements.id", ondelete="CASCADE"), primary_key=True, index=True)
    vote: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- The update path (bot/updates.py) ---------------------------------------------------------------


class HandledUpdate(Base):
    """One Telegram update whose effects are committed: written in the update's own transaction,
    so a re-delivered update is recognised and not run again. ``replies`` are the Bot API calls
    of its work (sent after the commit), kept so that a reply Telegram did not take is sent later
    (``outbox``: waiting for Telegram; claimed by one worker through ``lease_until``). Rows are
    pruned after two days."""

    __tablename__ = "handled_updates"
    __table_args__ = (Index("ix_handled_updates_outbox", "outbox", "next_attempt_at"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    handled_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    replies: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    outbox: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    failed: Mapped[bool] = mapped_column(Boolean, default=False)  # the work failed: only the apology was sent


# --- Recommendations to the council (bot/services/recommendations.py) ------------------------------


class Recommendation(Base):
    """What the network asks of the council, with the evidence residents gave for it.

    ``title`` and ``text`` are ``{locale: text}``; ``district`` None: the whole community;
    ``body`` a code of the community file's ``[[bodies]]``. Status: draft -> open (for support,
    until ``open_until``) -> adopted -> submitted -> answered -> in_progress -> implemented, or
    not_implemented (``reason``). Every step is a row of recommendation_steps with its date; the
    columns here make the lists and the counts simple. ``supporters`` is kept with the supports.
    """

    __tablename__ = "recommendations"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[dict[str, Any]] = mapped_column(default=dict)
    text: Mapped[dict[str, Any]] = mapped_column(default=dict)
    problem: Mapped[str] = mapped_column(Text, default="")
    proposal: Mapped[str] = mapped_column(Text, default="")
    district: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(String(64))
    default_locale: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    open_until: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    submitted_to: Mapped[str | None] = mapped_column(String(64))  # a body's code
    submitted_how: Mapped[str | None] = mapped_column(String(16))  # letter | session | meeting
    answer: Mapped[str | None] = mapped_column(String(16))  # accepted | partly | rejected
    answer_text: Mapped[str | None] = mapped_column(Text)
    answer_file_id: Mapped[str | None] = mapped_column(String(255))  # the council's answer as a document
    answered_at: Mapped[datetime | None]
    progress: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)  # why it was not implemented
    closed_at: Mapped[datetime | None]  # implemented or not
    supporters: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecommendationEvidence(Base):
    """One piece of evidence: ``kind`` discussion | poll | reports | proposal | event, ``ref_id``
    the thing (None for report counts, whose period and district are in ``params``), and the
    figures as they were when it was attached (``snapshot``); the figures now are recomputed from
    the reference. ``ref`` (``poll:4``, ``reports:30:roads``) keeps one of each per recommendation."""

    __tablename__ = "recommendation_evidence"
    __table_args__ = (UniqueConstraint("recommendation_id", "ref", name="uq_recommendation_evidence_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(ForeignKey("recommendations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(64))
    ref_id: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecommendationStep(Base):
    """A recommendation's history: every status change and milestone, with its date, who made it
    and what goes with it (``detail``: to whom and how it was submitted, the answer, a percentage)."""

    __tablename__ = "recommendation_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(ForeignKey("recommendations.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    old_status: Mapped[str | None] = mapped_column(String(16))
    new_status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecommendationEndorsement(Base):
    """An organisation stands behind a recommendation: one per organisation, by one of its
    representatives (``user_id``; None once they erased their data), revocable until submission."""

    __tablename__ = "recommendation_endorsements"

    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendations.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecommendationSupport(Base):
    """One resident supports one recommendation (once; revocable until submission)."""

    __tablename__ = "recommendation_supports"

    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- The organizers' dashboard (bot/services/dashboard.py) -----------------------------------------


class DashboardToken(Base):
    """A browser's way into the dashboard: a one-time sign-in link (``kind`` "link", ~10 minutes,
    used once) or the session it opened (``kind`` "session", a cookie). Only the SHA-256 of the
    token is stored; each is bound to one person."""

    __tablename__ = "dashboard_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
