"""The dashboard's boards (issue 23): proposals and recommendations to the council by status, with
their support and lifecycle steps as the chat shows them, made through the bot (the /propose
wizard, the moderators' card, residents' 👍) or rows of the recommendations' known set; who sees
what (a resident 403, a representative their organisations' part), in English and Ukrainian."""
from __future__ import annotations

import re

from lxml import html as lxml_html

from bot.i18n import NC_
from tests.delivery_helpers import Clock, organizer, tune
from tests.flows.helpers import register
from tests.flows.reports_helpers import moderator, moderators_group
from tests.flows.test_dashboard import dashboard_client, tma
from tests.flows.test_dashboard_impact import representative, tr
from tests.flows.test_proposals import card, news, open_in_list, propose
from tests.flows.test_recommendations import NOW, _followed_up, data_set
from tests.harness import ADMIN_ID, Harness


def _columns(html: str, kind: str) -> dict[str, list[str]]:
    """status code -> the card texts (whitespace folded) of each column on the board."""
    tree = lxml_html.fromstring(html)
    out = {}
    for column in tree.xpath(f"//div[@id='board-{kind}']/section"):
        status = column.get("id").removeprefix(f"{kind}-")
        out[status] = [" ".join(li.text_content().split()) for li in column.xpath(".//li[@class='card']")]
    return out


def _heading(html: str, kind: str, status: str) -> str:
    tree = lxml_html.fromstring(html)
    return " ".join(tree.xpath(f"//h2[@id='{kind}-{status}-title']")[0].text_content().split())


async def test_proposals_board_after_the_chat(harness: Harness) -> None:
    group = moderators_group(harness)
    olha = await moderator(harness, group, 6101, "Olha")
    anna = await register(harness, 6001, "Anna")
    await organizer(harness, 7000)
    await organizer(harness, 7001, "uk")
    benches = await propose(anna)
    waiting = await propose(anna, "A ramp at the library door")
    await group.press(olha, "📣 Publish", message=card(group, benches))
    await news(harness, anna, "is published")
    for tg, name in ((6002, "Bohdan"), (6003, "Carl")):
        resident_ = await register(harness, tg, name)
        detail = await open_in_list(resident_, "Benches")
        await resident_.press("👍 Support", message=detail)
    await group.press(olha, "✅ Accepted", message=card(group, benches))
    await news(harness, anna, "was accepted and funded")

    async with dashboard_client(harness) as client:
        assert (await client.get("/app/proposals", headers=tma(6001))).status == 403      # a resident
        assert (await client.get("/app/proposals")).status == 401
        page = await client.get("/app/proposals", headers=tma(7000))
        assert page.status == 200
        html = await page.text()
        columns = _columns(html, "proposals")
        assert list(columns) == ["submitted", "accepted"]                                # the lifecycle's order
        assert _heading(html, "proposals", "accepted") == "✅ Accepted and funded 1"
        accepted = columns["accepted"][0]
        assert accepted.startswith(f"#{benches} Benches <and> shade in the park")       # as typed, escaped once
        assert "👍 2 supporters" in accepted and "Greenery and environment" in accepted
        # the steps of the chat's history, first to last, dated
        steps = lxml_html.fromstring(html).xpath(f"//li[@id='proposal-{benches}']//ol[@class='steps']/li")
        assert [" ".join(s.text_content().split()).split(": ", 1)[1] for s in steps] == [
            "⏳ Waiting for the moderators", "📣 Published: collecting support", "✅ Accepted and funded"]
        assert all(re.match(r"[A-Z][a-z]+ \d{1,2}, \d{4}: ", " ".join(s.text_content().split())) for s in steps)
        assert columns["submitted"][0].startswith(f"#{waiting} A ramp at the library door")
        assert "👍 0 supporters" in columns["submitted"][0]
        assert "Anna" not in html                                                         # no author's name
        assert 'href="/app/proposals" aria-current="page"' in html
        # a moderator sees it too; the menu shows what their role opens
        html = await (await client.get("/app/proposals", headers=tma(6101))).text()
        assert f"proposal-{benches}" in html and 'href="/app/impact"' not in html
        # in Ukrainian: the chat's status names
        html = await (await client.get("/app/proposals", headers=tma(7001))).text()
        assert _heading(html, "proposals", "accepted").startswith("✅ " + tr(harness, NC_("proposal status", "Accepted and funded")))
        assert tr(harness, "Proposals by status") in html


async def test_proposals_board_of_a_representative(harness: Harness) -> None:
    from storage.models import Proposal

    tune(harness, now=Clock(NOW))
    ids = await data_set(harness)
    await representative(harness, 7201, ids["greens"])
    async with harness.db() as s:
        for title, org in (("Greens' park", ids["greens"]), ("Youth club", ids["youth"]), ("Nobody's", None)):
            s.add(Proposal(title=title, problem="p" * 10, solution="s" * 10, district=None, category="culture",
                           language="en", status="published", org_id=org, supporters=1, created_at=NOW,
                           updated_at=NOW, published_at=NOW))
        await s.commit()
    async with dashboard_client(harness) as client:
        html = await (await client.get("/app/proposals", headers=tma(7201))).text()
        cards = _columns(html, "proposals")
        assert [c.split(" ", 1)[1].split(" The whole")[0] for c in cards["published"]] == ["Greens' park"]
        assert "From: Kherson Greens" in cards["published"][0]
        assert "The proposals made for the organisations you represent." in html
        all_ = _columns(await (await client.get("/app/proposals", headers=tma(ADMIN_ID))).text(), "proposals")
        assert len(all_["published"]) == 3


async def test_recommendations_board(harness: Harness) -> None:
    tune(harness, now=Clock(NOW))
    ids = await data_set(harness)
    answered, waiting = await _followed_up(harness, ids)
    await organizer(harness, 7000)
    await organizer(harness, 7001, "uk")
    await representative(harness, 7201, ids["youth"])
    await register(harness, 6001, "Anna")
    async with dashboard_client(harness) as client:
        assert (await client.get("/app/recommendations", headers=tma(6001))).status == 403
        html = await (await client.get("/app/recommendations", headers=tma(7000))).text()
        columns = _columns(html, "recommendations")
        assert list(columns) == ["submitted", "in_progress"]
        lamps, benches = columns["submitted"][0], columns["in_progress"][0]
        assert lamps.startswith(f"#{waiting} Lamps")
        assert "To: Kherson City Council · The whole community" in lamps
        assert "Submitted on November 26, 2026 to Kherson City Council at a council session" in lamps
        assert benches.startswith(f"#{answered} Benches")
        assert "👍 3 residents support it" in benches and "🏢 1 organisation stands behind it: Kherson Greens" in benches
        assert "Answer (November 28, 2026): partly accepted" in benches and "Five this year." in benches
        assert "Progress: 40%" in benches
        assert _heading(html, "recommendations", "in_progress") == "🛠 In progress 1"
        # in Ukrainian
        html = await (await client.get("/app/recommendations", headers=tma(7001))).text()
        benches = _columns(html, "recommendations")["in_progress"][0]
        assert benches.startswith(f"#{answered} Лавки") and "Херсонські зелені" in benches
        assert tr(harness, "partly accepted") in benches
        # a representative of another organisation: nothing they may endorse now, nothing theirs
        html = await (await client.get("/app/recommendations", headers=tma(7201))).text()
        assert _columns(html, "recommendations") == {}
        assert "No recommendations yet." in html
