"""The proposals and organisations services on SQLite and PostgreSQL: counts on a known data set,
the lifecycle's rules, erasing a person, and input checks."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.services import orgs as os_
from bot.services import proposals as ps
from bot.services.errors import DomainError
from storage.db import create_engine, create_sessionmaker
from storage.models import User

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
MOD = ps.Actor(None, "Olha")


def draft(title: str, district: str | None, org_id: int | None = None) -> ps.ProposalDraft:
    return ps.ProposalDraft(title=title, problem="A problem described well enough.",
                            solution="A solution described well enough.", district=district, category="other",
                            org_id=org_id)


async def test_counts_lifecycle_and_erasing(database_url: str) -> None:
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as s:
        people = [User(telegram_id=800 + i, language="en", district="center", topics=[], registered_at=NOW)
                  for i in range(6)]
        s.add_all(people)
        await s.flush()
        greens = await os_.create(s, os_.OrgDraft(name={"en": "Greens"}), None, NOW)
        youth = await os_.create(s, os_.OrgDraft(name={"en": "Youth"}), None, NOW)
        # north: 3 proposed (1 withdrawn, not counted), 2 published, 1 accepted, 1 realised
        # south: 2 proposed, 1 published, 0 further; whole community: 1 submitted
        plan = [("north", greens.id, "realise"), ("north", greens.id, "accept"), ("north", None, "withdraw"),
                ("north", None, None), ("south", youth.id, "publish"), ("south", None, "reject"),
                (None, None, None)]
        made = []
        for i, (district, org_id, fate) in enumerate(plan):
            org = await os_.get(s, org_id) if org_id else None
            p = await ps.submit(s, people[i % 6], draft(f"Proposal number {i}", district), org, NOW)
            made.append(p)
            if fate == "withdraw":
                await ps.withdraw(s, p.id, people[i % 6], NOW)
                continue
            if fate in ("publish", "accept", "realise"):
                p, _ = await ps.act(s, p.id, "publish", MOD, expected="submitted", now=NOW)
            if fate in ("accept", "realise"):
                p, _ = await ps.act(s, p.id, "accept", MOD, expected="published", now=NOW)
            if fate == "realise":
                p, _ = await ps.act(s, p.id, "start", MOD, expected="accepted", now=NOW)
                p, _ = await ps.act(s, p.id, "progress", MOD, expected="in_progress", text="60% walls up", now=NOW)
                assert p.progress == 60
                p, _ = await ps.act(s, p.id, "realise", MOD, expected="in_progress", now=NOW)
            if fate == "reject":
                p, _ = await ps.act(s, p.id, "reject", MOD, expected="submitted", text="Not in our power", now=NOW)
        total, by_district, by_org = await ps.counts(s)
        assert (total.proposed, total.published, total.accepted, total.realised) == (6, 3, 2, 1)
        assert (by_district["north"].proposed, by_district["north"].published, by_district["north"].accepted,
                by_district["north"].realised) == (3, 2, 2, 1)
        assert (by_district["south"].proposed, by_district["south"].published) == (2, 1)
        assert by_district[None].proposed == 1
        assert by_org[greens.id][1].realised == 1 and by_org[youth.id][1].published == 1
        assert by_org[greens.id][0] == {"en": "Greens"}

        realised, accepted = made[0], made[1]
        history = await ps.history(s, realised.id)
        assert [e.new_status for e in history] == ["submitted", "published", "accepted", "in_progress",
                                                   "in_progress", "realised"]
        with pytest.raises(DomainError) as err:  # realised: no more support
            await ps.support(s, realised.id, people[5], NOW)
        assert err.value.code == "proposal_closed"
        assert await ps.support(s, accepted.id, people[5], NOW) == 1
        assert await ps.support(s, accepted.id, people[4], NOW) == 2
        with pytest.raises(DomainError) as err:
            await ps.support(s, accepted.id, people[4], NOW)
        assert err.value.code == "proposal_support_twice"
        with pytest.raises(DomainError) as err:
            await ps.act(s, accepted.id, "publish", MOD, expected="accepted", now=NOW)
        assert err.value.code == "proposal_not_allowed"
        with pytest.raises(DomainError) as err:  # the card showed an older status
            await ps.act(s, accepted.id, "start", MOD, expected="published", now=NOW)
        assert err.value.code == "proposal_changed"

        # Erasing: what the person never published goes, the published stays without them,
        # their supports are taken back.
        await ps.forget(s, people[4].id)
        mine = await ps.export_for(s, people[5].id)
        assert mine["supported_proposals"][0]["proposal"] == accepted.id
        assert (await ps.get(s, accepted.id)).supporters == 1  # type: ignore[union-attr]
        assert await ps.get(s, made[4].id) is not None and (await ps.get(s, made[4].id)).user_id is None  # type: ignore[union-attr]
        await ps.forget(s, people[0].id)  # realised proposal #0 (published) stays; #6 (submitted) goes
        assert (await ps.get(s, realised.id)).user_id is None  # type: ignore[union-attr]
        assert await ps.get(s, made[6].id) is None
        await s.rollback()
    await engine.dispose()


async def test_representatives_need_an_admin_and_a_live_organisation(database_url: str) -> None:
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as s:
        rep = User(telegram_id=900, language="en", topics=[], registered_at=NOW)
        s.add(rep)
        await s.flush()
        org = await os_.create(s, os_.OrgDraft(name={"en": "Greens"}), None, NOW)
        assert (await os_.join(s, org.id, rep, "representative", NOW))[1]  # the admins are asked
        assert await os_.leave(s, org.id, rep)
        assert not (await os_.join(s, org.id, rep, "representative", NOW + timedelta(hours=2)))[1]
        await os_.leave(s, org.id, rep)
        assert (await os_.join(s, org.id, rep, "representative", NOW + timedelta(days=2)))[1]
        assert await os_.represented(s, rep.id) == []
        with pytest.raises(DomainError):
            await os_.acting_for(s, rep, org.id)
        await os_.decide(s, org.id, rep.id, True, 1, NOW + timedelta(days=2))
        assert "representative" in rep.role_names and await os_.acting_for(s, rep, org.id) is org
        with pytest.raises(DomainError) as err:
            await os_.decide(s, org.id, rep.id, False, 2, NOW)
        assert err.value.code == "org_decided"
        _, lost = await os_.remove(s, org.id, NOW + timedelta(days=1))
        assert lost == [rep] and "representative" not in rep.role_names
        with pytest.raises(DomainError) as err:
            await os_.acting_for(s, rep, org.id)
        assert err.value.code == "org_not_represented"
        with pytest.raises(DomainError):
            await os_.join(s, org.id, rep, "member", NOW)
        await s.rollback()
    await engine.dispose()


@pytest.mark.parametrize(("text", "amount"), [
    ("25000", 25000), ("25 000", 25000), ("25\u00a0000 грн", 25000), ("15,000 UAH", 15000), ("2.500 лв", 2500),
    ("€ 700", 700),
])
def test_budget_is_read_as_written(text: str, amount: int) -> None:
    assert ps.parse_budget(text) == amount


@pytest.mark.parametrize("text", ["a lot", "12.5", "-5", "0", "", "1e6", "١٢٣"])
def test_budget_that_is_not_an_amount_is_refused(text: str) -> None:
    with pytest.raises(DomainError) as err:
        ps.parse_budget(text)
    assert err.value.code == "proposal_budget"


def test_progress_and_texts() -> None:
    assert ps.parse_progress("40") == (40, None)
    assert ps.parse_progress("40% — the walls are up") == (40, "the walls are up")
    for bad in ("150", "walls", ""):
        with pytest.raises(DomainError):
            ps.parse_progress(bad)
    names = os_.parse_texts("Greens\nuk: Зелені\nbg: Зелените", "en", ("uk", "ru", "bg", "en"), 120)
    assert names == {"en": "Greens", "uk": "Зелені", "bg": "Зелените"}
    assert os_.parse_texts("uk: Зелені", "en", ("uk", "en"), 120) == {"uk": "Зелені", "en": "Зелені"}
    with pytest.raises(DomainError):
        ps.clean_field("problem", "x" * 5000)
    with pytest.raises(DomainError):
        ps.clean_field("title", "   ")


def test_long_proposals_fit_in_a_telegram_message_in_every_language() -> None:
    from zoneinfo import ZoneInfo

    from bot.community import load_community
    from bot.fakeapi.html import parse_html
    from bot.i18n import create_i18n
    from handlers.proposals import texts
    from storage.models import Proposal, ProposalEvent

    i18n = create_i18n("en")
    community = load_community("communities/kherson.toml")
    long = "Довгий текст & <теги> " * 100
    p = Proposal(id=123456, title="Т" * 120, problem=long[:1500], solution=long[:1500], district="ostriv",
                 category="infrastructure", budget=10**12, status="in_progress", progress=90, supporters=99999,
                 reason=long[:500], duplicate_of=None, user_id=1)
    events = [ProposalEvent(proposal_id=1, old_status="in_progress", new_status="in_progress", progress=10 * i,
                            note=long[:500], created_at=NOW) for i in range(20)]
    for locale in ("uk", "ru", "bg", "en"):
        with i18n.context(), i18n.use_locale(locale):
            for text in (texts.detail(p, events, community, locale, ZoneInfo("Europe/Kyiv"), "О" * 120, True),
                         texts.card(p, events, community, locale, ZoneInfo("Europe/Kyiv"), "R-1", "О" * 120)):
                shown, _entities = parse_html(text, strict=True)  # what Telegram counts: the text after parsing
                assert len(shown.encode("utf-16-le")) // 2 <= 4096, (locale, len(shown))
