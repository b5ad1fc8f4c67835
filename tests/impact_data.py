"""A known data set for November 2026 (Kyiv time) and the figures it must give.

Written as rows with their own times, so every figure below is worked out by hand:
residents 5 (3 new: Bohdana, Chris, Dora; Yuri deleted his data), organisations 1 in the
network (the other was removed in October) and active (its poll); reports 3 received (a
withdrawn one and an October one do not count), 3 resolved in November (the October one too),
first responses after 4 and 6 hours (median 5 hours), resolutions after 2 days, 6 hours and 2
days (median 2 days); events 2 held (a cancelled and a December one do not count), 2 different
people checked in 3 times; proposals 2 proposed, 3 accepted (one proposed in October), 1
realised (one more, with "&" and "<" in its title, was proposed in October); 1 poll, its invitation reached 4 people and 2 answered (50%).
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from storage.models import (
    Campaign,
    Delivery,
    Event,
    EventRsvp,
    Organisation,
    Poll,
    PollAnswer,
    PollQuestion,
    PollResponse,
    Proposal,
    ProposalSupport,
    Report,
    ReportEvent,
    User,
)
from tests.harness import Harness

PERIOD = "2026-11"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PEOPLE = ("Anna Koval", "Bohdana Melnyk", "Chris Doe", "Dora Ivanova")


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


async def known_data(h: Harness, organizer_tg: int | None = None) -> dict[str, int]:
    async with h.db() as s:
        if organizer_tg is not None:  # registered long before: counts among the residents, not as new
            await s.execute(update(User).where(User.telegram_id == organizer_tg).values(
                registered_at=at(9, 1), created_at=at(9, 1), district="suburbs", language="en"))
        ostriv = Organisation(name={"en": "Ostriv together", "uk": "Острів разом"}, created_at=at(10, 1))
        gone = Organisation(name={"en": "Gone"}, created_at=at(10, 1), removed_at=at(10, 15))
        s.add_all([ostriv, gone])
        people = []
        for n, (name, lang, district, registered) in enumerate((
            (PEOPLE[0], "uk", "ostriv", at(10, 20)), (PEOPLE[1], "uk", "ostriv", at(11, 5)),
            (PEOPLE[2], "en", "tsentralnyi", at(11, 6)), (PEOPLE[3], "bg", None, at(11, 7)),
        )):
            people.append(User(telegram_id=7100 + n, display_name=name, language=lang, district=district,
                               registered_at=registered, created_at=registered, consent_at=registered))
        yuri = User(telegram_id=None, language="uk", district="ostriv", registered_at=at(11, 8), created_at=at(11, 8),
                    deleted_at=at(11, 20))
        s.add_all([*people, yuri])
        await s.flush()
        a, b, c, d = people

        def report(category: str, district: str, created: datetime, status: str, **events: datetime) -> Report:
            row = Report(user_id=a.id, category=category, district=district, description=f"{category} problem",
                         status=status, created_at=created, updated_at=created)
            s.add(row)
            row.events_due = events  # type: ignore[attr-defined]
            return row

        reports = [
            report("roads", "ostriv", at(11, 2), "resolved", accept=at(11, 2, 14), resolve=at(11, 4)),
            report("roads", "ostriv", at(11, 3), "resolved", resolve=at(11, 3, 16)),
            report("lighting", "tsentralnyi", at(11, 10), "new"),
            report("waste", "ostriv", at(11, 11), "withdrawn"),
            report("roads", "ostriv", at(10, 30), "resolved", resolve=at(11, 1)),
        ]
        await s.flush()
        for row in reports:
            s.add(ReportEvent(report_id=row.id, actor_id=a.id, action="created", new_status="new",
                              created_at=row.created_at))
            for action, when in row.events_due.items():  # type: ignore[attr-defined]
                s.add(ReportEvent(report_id=row.id, action=action, actor_name="M", created_at=when))

        def event(title: str, starts: datetime, status: str = "scheduled") -> Event:
            row = Event(kind="workshop", title={"en": title, "uk": f"{title} (uk)"}, description={}, starts_at=starts,
                        ends_at=starts.replace(hour=starts.hour + 2), default_locale="en", status=status,
                        checkin_token=f"tok-{title}", created_at=at(10, 1), updated_at=at(10, 1))
            s.add(row)
            return row

        held, walk, cancelled, coming = (event("Budget workshop", at(11, 15)), event("Park cleanup", at(11, 20)),
                                         event("Cancelled talk", at(11, 18), "cancelled"), event("Winter fair", at(12, 10)))
        await s.flush()
        s.add_all([
            EventRsvp(event_id=held.id, user_id=a.id, status="going", attended_at=at(11, 15), feedback_score=5),
            EventRsvp(event_id=held.id, user_id=b.id, status="going", attended_at=at(11, 15), feedback_score=4),
            EventRsvp(event_id=held.id, user_id=c.id, status="going"),
            EventRsvp(event_id=walk.id, user_id=a.id, status="walkin", attended_at=at(11, 20)),
            EventRsvp(event_id=cancelled.id, user_id=d.id, status="going", attended_at=at(11, 18)),
            EventRsvp(event_id=coming.id, user_id=d.id, status="going"),
        ])

        def proposal(title: str, created: datetime, status: str, supporters: int = 0, **steps: datetime) -> None:
            s.add(Proposal(user_id=a.id, title=title, problem="Nowhere to sit.", solution="Benches.",
                           district="ostriv", category="infrastructure", language="en", status=status,
                           supporters=supporters, created_at=created, updated_at=created, **steps))

        proposal("Benches in the park", at(11, 3), "accepted", 3, published_at=at(11, 4), accepted_at=at(11, 10))
        proposal("A ramp at the library", at(11, 5), "realised", 7, published_at=at(11, 6), accepted_at=at(11, 7),
                 realised_at=at(11, 25))
        proposal("Withdrawn idea", at(11, 8), "withdrawn")
        proposal("Bike lane", at(10, 1), "in_progress", 1, published_at=at(10, 2), accepted_at=at(11, 2))
        proposal("Trees & <shade> for the yard", at(10, 5), "published", 2, published_at=at(10, 6))  # typed as is

        campaign = Campaign(kind="poll", payload={}, audience={}, status="done", created_at=at(11, 1), send_at=at(11, 1))
        s.add(campaign)
        await s.flush()
        for n, person in enumerate([a, b, c, d]):
            s.add(Delivery(campaign_id=campaign.id, user_id=person.id, status="sent", attempts=1, next_attempt_at=at(11, 1)))
        s.add(Delivery(campaign_id=campaign.id, user_id=yuri.id, status="failed", attempts=1, next_attempt_at=at(11, 1)))
        await s.flush()
        poll = Poll(title={"en": "Where should benches go?"}, anonymous=True, status="closed", audience={},
                    default_locale="en", created_at=at(11, 1), closes_at=at(11, 8), closed_at=at(11, 8),
                    campaign_id=campaign.id, org_id=ostriv.id)
        s.add(poll)
        await s.flush()
        question = PollQuestion(poll_id=poll.id, position=0, kind="single", text={"en": "Where first?"},
                                options=[{"en": "Near the school"}, {"en": "In the park"}])
        s.add(question)
        await s.flush()
        for n, district in enumerate(("ostriv", "ostriv")):
            response = PollResponse(poll_id=poll.id, participant=f"p{n}", district=district, language="uk",
                                    step=1, created_at=at(11, 2), completed_at=at(11, 2))
            s.add(response)
            await s.flush()
            s.add(PollAnswer(response_id=response.id, question_id=question.id, choice=1))
        await s.commit()
        return {"poll": poll.id, "held": held.id}


MEDIATED = ("Halyna Offline", "Ivan Offline", "Olha Linked", "Maria Mediator", "Petro Mediator")


async def mediated_data(h: Harness, ids: dict[str, int]) -> dict[str, int]:
    """On top of known_data: two community mediators (registered in September) and the offline
    residents they registered, with what they did for them, worked out by hand for November:

    offline residents 3 at the end of November (Halyna in October; Ivan and Olha in November, and
    Olha has linked her own Telegram account since; Zoya, registered in November, erased her data),
    so residents 10 (5 + 2 mediators + 3), 5 new; assisted in November: 1 report (a withdrawn one
    and an October one do not count), 1 poll answer (so 3 of 5 reached answered: 60%), 1 event
    answer (Halyna came: participants 3, check-ins 4), 1 proposal, 1 support; 2 mediators active.
    """
    async with h.db() as s:
        maria = User(telegram_id=7300, display_name=MEDIATED[3], username="maria_m", language="uk", district="ostriv",
                     registered_at=at(9, 1), created_at=at(9, 1), consent_at=at(9, 1))
        petro = User(telegram_id=7301, display_name=MEDIATED[4], language="uk", district="ostriv",
                     registered_at=at(9, 1), created_at=at(9, 1), consent_at=at(9, 1))
        s.add_all([maria, petro])
        await s.flush()

        def offline(name: str | None, code: str, mediator: User, registered: datetime, **more: object) -> User:
            values: dict[str, object] = {"telegram_id": None, "language": "uk", "district": "ostriv",
                                         "phone": "+380 50 123 45 67", **more}
            row = User(display_name=name, topics=[], code=code, mediator_id=mediator.id, registered_at=registered,
                       created_at=registered, consent_at=registered, **values)
            s.add(row)
            return row

        halyna = offline(MEDIATED[0], "M-1001", maria, at(10, 25))
        ivan = offline(MEDIATED[1], "M-1002", maria, at(11, 12), language="ru", district="tsentralnyi")
        olha = offline(MEDIATED[2], "M-1003", petro, at(11, 14), telegram_id=7302, linked_at=at(11, 20))
        offline(None, "M-1004", petro, at(11, 9), deleted_at=at(11, 21))  # erased: not counted
        await s.flush()

        for who, created, status in ((halyna, at(11, 12), "new"), (ivan, at(11, 13), "withdrawn"),
                                     (halyna, at(10, 28), "new")):
            s.add(Report(user_id=who.id, category="lighting", district=who.district, description="Dark street",
                         status=status, created_at=created, updated_at=created, assisted_by=maria.id))
        response = PollResponse(poll_id=ids["poll"], participant="p-offline", district="ostriv", language="uk",
                                step=1, created_at=at(11, 3), completed_at=at(11, 3), assisted_by=maria.id)
        s.add(response)
        await s.flush()
        question = await s.scalar(select(PollQuestion.id).where(PollQuestion.poll_id == ids["poll"]))
        s.add(PollAnswer(response_id=response.id, question_id=question, choice=0))  # "Near the school"
        s.add(EventRsvp(event_id=ids["held"], user_id=halyna.id, status="going", attended_at=at(11, 15),
                        created_at=at(11, 14), updated_at=at(11, 14), assisted_by=maria.id))
        s.add(Proposal(user_id=ivan.id, title="A bench by the bus stop", problem="No bench.", solution="A bench.",
                       district="tsentralnyi", category="infrastructure", language="ru", status="submitted",
                       created_at=at(11, 15), updated_at=at(11, 15), assisted_by=petro.id))
        benches = await s.scalar(select(Proposal.id).where(Proposal.title == "Benches in the park"))
        s.add(ProposalSupport(proposal_id=benches, user_id=halyna.id, created_at=at(11, 16), assisted_by=maria.id))
        await s.commit()
        return {"maria": maria.id, "petro": petro.id, "halyna": halyna.id, "ivan": ivan.id, "olha": olha.id}
