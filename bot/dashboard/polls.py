"""The dashboard's polls, surveys and discussions (issue 23): the list of recent polls and
discussions, a page per poll with its results (the chat's small-group protection, per-question
counts and percentages as charts, free-text answers, breakdowns by district and language) and a
page per discussion (agreement per statement, common ground, divisive statements, opinion groups).

Nothing is computed here: the figures are those of ``bot.services.polls.results`` and
``bot.services.discussions.results``, the words those of ``handlers.polls.texts`` and
``handlers.discussions.texts`` where the chat has them. Representatives see their own
organisations' polls, as in the chat's /polls; discussions are for organizers and admins.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from markupsafe import Markup

from bot.dashboard.web import forbidden, in_locale, item_id, page_who
from bot.i18n import fmt_moment, fmt_number, shorten
from bot.services import discussions as discussions_service
from bot.services import orgs as orgs_service
from bot.services import polls as polls_service

if TYPE_CHECKING:
    from bot.app import App

POLL_ROLES = frozenset({"organizer", "representative", "admin"})  # as the chat's /polls (ORGANIZING, admins)
DISCUSSION_ROLES = frozenset({"organizer", "admin"})  # as the chat's /discussions


# -- the list ----------------------------------------------------------------------------------


async def polls_page(request: web.Request) -> web.Response:
    from bot.dashboard.web import _app, _render
    from handlers.discussions import texts as dtexts
    from handlers.polls import texts

    app = _app(request)
    async with app.sessionmaker() as db:
        who = await page_who(request, db, POLL_ROLES)
        if isinstance(who, web.Response):
            return who
        scope = await orgs_service.scope_of(db, who.user, who.roles)
        polls = await polls_service.recent_polls(db, orgs=scope)
        people = await polls_service.participants(db, [p.id for p in polls])
        discussions: list[Any] = []
        d_people: dict[int, int] = {}
        d_pending: dict[int, int] = {}
        if who.roles & DISCUSSION_ROLES:
            discussions = await discussions_service.recent(db)
            ids = [d.id for d in discussions]
            d_people = await discussions_service.participants(db, ids)
            d_pending = await discussions_service.pending_counts(db, ids)
    locale, tz = who.locale, app.settings.tz
    from aiogram.utils.i18n import gettext as _
    from aiogram.utils.i18n import ngettext

    with in_locale(app, locale):
        rows = []
        for poll in polls:
            name = texts.poll_name(poll.title, poll.questions[0].text, locale, poll.default_locale)
            rows.append({
                "id": poll.id, "name": shorten(name, 120), "survey": len(poll.questions) > 1 or bool(poll.title),
                "number": texts.poll_number(poll.id, survey=len(poll.questions) > 1 or bool(poll.title)),
                "status": poll.status, "state": _state(poll.status, poll.closes_at, locale, tz),
                "people": ngettext("{count} participant", "{count} participants", people.get(poll.id, 0)).format(
                    count=fmt_number(people.get(poll.id, 0), locale)),
            })
        d_rows = []
        for d in discussions:
            pending = d_pending.get(d.id, 0)
            d_rows.append({
                "id": d.id, "name": shorten(texts.pick(d.question, locale, d.default_locale), 120),
                "number": dtexts.number(d.id), "status": d.status, "state": _state(d.status, d.closes_at, locale, tz, "discussion"),
                "people": ngettext("{count} participant", "{count} participants", d_people.get(d.id, 0)).format(
                    count=fmt_number(d_people.get(d.id, 0), locale)),
                "pending": ngettext("{count} statement waits for moderators", "{count} statements wait for moderators",
                                    pending).format(count=fmt_number(pending, locale)) if pending else "",
            })
        empty = _("No polls yet. Create one with /newpoll.")
        d_empty = _("No discussions yet. Open one with /newdiscussion.")
    return _render(request, "polls.html", locale, who=who, polls=rows, discussions=d_rows,
                   show_discussions=bool(who.roles & DISCUSSION_ROLES), empty=empty, d_empty=d_empty)


def _state(status: str, closes_at: Any, locale: str, tz: Any, what: str = "poll") -> str:
    """A poll's or a discussion's state, as the chat's lists say it."""
    from handlers.discussions import texts as dtexts
    from handlers.polls import texts

    closes = fmt_moment(closes_at, locale, tz) if closes_at else None
    return dtexts.state(status, closes) if what == "discussion" else texts.state(status, closes)


# -- a poll ------------------------------------------------------------------------------------


def poll_view(app: App, poll: Any, results: Any, locale: str) -> dict[str, Any]:
    """What a poll's page shows, in the reader's language (call inside :func:`in_locale`)."""
    from aiogram.utils.i18n import gettext as _
    from aiogram.utils.i18n import ngettext

    from handlers import chart_texts
    from handlers.polls import texts

    community, default, tz = app.community, poll.default_locale, app.settings.tz
    survey = len(poll.questions) > 1 or bool(poll.title)
    people = ngettext("{count} participant", "{count} participants", results.participants).format(
        count=fmt_number(results.participants, locale))
    if len(results.questions) > 1:
        people += " · " + _("{count} completed").format(count=fmt_number(results.completed, locale))
    questions = []
    any_breakdown = False
    for n, q in enumerate(results.questions, 1):
        item: dict[str, Any] = {
            "n": n, "text": texts.pick(q.text, locale, default), "kind": _(texts.KIND_NAMES[q.kind]),
            "answered": ngettext("{count} answered", "{count} answered", q.answered).format(
                count=fmt_number(q.answered, locale)),
            "rows": [], "mean": None, "breakdowns": [], "texts": [],
        }
        if q.kind == "text":
            current: object = ...
            for district, text, author in q.texts:
                if district != current:
                    current = district
                    name = community.district_name(district, locale) if district else _("other districts")
                    item["texts"].append({"district": name, "answers": []})
                item["texts"][-1]["answers"].append((shorten(text, texts.TEXT_ANSWER_SHOWN), author))
        else:
            labels = texts.question_labels(q, locale, default)
            shown_labels = chart_texts.scale_labels(list(labels)) if q.kind == "scale" else labels
            whole = q.answered if q.kind == "multi" else sum(q.counts)
            item["rows"] = [(label, count, f"{fmt_number(count, locale)} · {texts.pct(count, whole, locale)}")
                            for label, count in zip(shown_labels, q.counts, strict=True)]
            if q.mean is not None:
                item["mean"] = _("Average: {mean} of 5").format(mean=fmt_number(round(q.mean, 1), locale))
            for by, groups in (("district", q.by_district), ("language", q.by_language)):
                if len(groups) < 2:
                    continue
                any_breakdown = True
                heading = Markup(_("<i>By district:</i>") if by == "district" else _("<i>By language:</i>"))
                lines = []
                for g in groups:
                    g_whole = g.answered if q.kind == "multi" else sum(g.counts)
                    lines.append({"name": texts.breakdown_group(g, by, community, locale),
                                  "answered": fmt_number(g.answered, locale),
                                  "shares": [texts.pct(c, g_whole, locale) for c in g.counts]})
                item["breakdowns"].append({"heading": heading, "labels": labels, "groups": lines})
        questions.append(item)
    if any_breakdown:
        protection = texts.small_groups(results.min_group) if results.anonymous and results.min_group > 1 else ""
    else:
        protection = texts.no_breakdowns(results)
    return {
        "id": poll.id, "name": texts.poll_name(poll.title, poll.questions[0].text, locale, default),
        "number": texts.poll_number(poll.id, survey=survey), "status": poll.status,
        "state": _state(poll.status, poll.closes_at, locale, tz), "people": people,
        "privacy": texts.anonymity(poll.anonymous),
        "org": texts.pick(poll.org.name, locale, default) if poll.org_id is not None and poll.org is not None else "",
        "questions": questions, "breakdowns_found": any_breakdown, "protection": protection,
    }


async def _poll_for(request: web.Request, db: Any) -> tuple[Any, Any] | web.Response:
    """(who, poll) when the reader may see it; else the page they get."""
    who = await page_who(request, db, POLL_ROLES)
    if isinstance(who, web.Response):
        return who
    poll = await polls_service.get_poll(db, item_id(request))
    if poll is None:
        raise web.HTTPNotFound()
    if not orgs_service.in_scope(poll.org_id, await orgs_service.scope_of(db, who.user, who.roles)):
        return forbidden(request, who)  # another organisation's, as the chat refuses it
    return who, poll


async def poll_page(request: web.Request) -> web.Response:
    from bot.dashboard.web import _app, _render

    app = _app(request)
    async with app.sessionmaker() as db:
        found = await _poll_for(request, db)
        if isinstance(found, web.Response):
            return found
        who, poll = found
        results = await polls_service.results(db, poll, app.settings.poll_min_group)
        with in_locale(app, who.locale):
            view = poll_view(app, poll, results, who.locale)
    return _render(request, "poll.html", who.locale, who=who, poll=view)


async def api_poll(request: web.Request) -> web.Response:
    """A poll's results as JSON: the same figures as the page (and the chat), the small groups
    already folded into "other"."""
    from bot.dashboard.web import _app, identify

    app = _app(request)
    async with app.sessionmaker() as db:
        who = await identify(request, db)
        if who is None:
            return web.json_response({"error": "unauthorized"}, status=401)
        if not who.roles & POLL_ROLES:
            return web.json_response({"error": "forbidden"}, status=403)
        poll = await polls_service.get_poll(db, item_id(request))
        if poll is None:
            return web.json_response({"error": "not found"}, status=404)
        if not orgs_service.in_scope(poll.org_id, await orgs_service.scope_of(db, who.user, who.roles)):
            return web.json_response({"error": "forbidden"}, status=403)
        results = await polls_service.results(db, poll, app.settings.poll_min_group)
    return web.json_response({"status": poll.status, "results": results.to_json()})


# -- a discussion ------------------------------------------------------------------------------


def discussion_view(app: App, discussion: Any, analysis: Any, pending: int, locale: str) -> dict[str, Any]:
    """What a discussion's page shows (call inside :func:`in_locale`): the chat's results."""
    from aiogram.utils.i18n import gettext as _
    from aiogram.utils.i18n import ngettext

    from handlers.discussions import texts as dtexts
    from handlers.polls.texts import pct, pick

    min_group, tz = app.settings.discussion_min_group, app.settings.tz
    by_id = {s.id: s for s in analysis.statements}
    votes = sum(s.tally.votes for s in analysis.statements)
    summary = " · ".join([
        ngettext("👥 {count} resident took part", "👥 {count} residents took part", analysis.participants).format(
            count=fmt_number(analysis.participants, locale)),
        dtexts.votes_line(votes, locale),
        ngettext("{count} statement", "{count} statements", len(analysis.statements)).format(
            count=fmt_number(len(analysis.statements), locale))])
    voted = [s for s in analysis.statements if s.tally.votes]
    statements = [{
        "text": s.text, "agree": round(100 * s.tally.share("agree")),
        "shown": pct(s.tally.agree, s.tally.votes, locale),  # (short: the drawn bar's label has little room)
        "total": fmt_number(s.tally.votes, locale),
        "counts": (fmt_number(s.tally.agree, locale), fmt_number(s.tally.disagree, locale),
                   fmt_number(s.tally.passed, locale)),
        "votes": dtexts.votes_line(s.tally.votes, locale), "consensus": s.consensus, "divisive": s.divisive,
    } for s in voted]
    unvoted = [s.text for s in analysis.statements if not s.tally.votes]
    if analysis.groups_note == "too_few":
        groups_note = _("They are found once at least {needed} people have voted on 3 statements or more "
                        "({count} so far).").format(needed=2 * min_group, count=analysis.grouped)
    elif analysis.groups_note == "no_structure":
        groups_note = _("None stand out: the votes do not split people into clear groups.")
    else:
        groups_note = ""
    groups = []
    for n, group in enumerate(analysis.groups):
        lines = []
        for d in group.distinctive:
            s = by_id[d.statement_id]
            line = (_("agrees with {statement}: {share} (the others: {others})") if d.agree else
                    _("disagrees with {statement}: {share} (the others: {others})"))
            lines.append(Markup(line.format(statement=dtexts.quote(s.text),
                                            share=pct(round(d.share * 1000), 1000, locale),
                                            others=pct(round(d.others * 1000), 1000, locale))))
        groups.append({"name": Markup(ngettext("<b>{group}</b> · {count} person", "<b>{group}</b> · {count} people",
                                               group.size).format(group=dtexts.group_name(n),
                                                                  count=fmt_number(group.size, locale))),
                       "lines": lines})
    return {
        "id": discussion.id, "question": pick(discussion.question, locale, discussion.default_locale),
        "number": dtexts.number(discussion.id), "status": discussion.status,
        "state": (dtexts.closes_at_line(discussion.closes_at, locale, tz) if discussion.status == "open" else _("Closed."))
        or "",
        "summary": summary,
        "pending": ngettext("✍️ {count} statement waits for moderators.",
                            "✍️ {count} statements wait for moderators.", pending).format(
            count=fmt_number(pending, locale)) if pending and discussion.status == "open" else "",
        "statements": statements, "unvoted": unvoted, "no_votes": _("No votes yet.") if not voted else "",
        "agreement_title": Markup(_("<b>Agreement</b>, most agreed first:")),
        "chart_note": dtexts.chart_subtitle(),
        "consensus_title": Markup(_("🤝 <b>Common ground</b>: a majority agrees in every district and every "
                                    "opinion group:")),
        "consensus": [(s.text, pct(s.tally.agree, s.tally.votes, locale)) for s in analysis.consensus],
        "none_yet": _("none yet"), "none": _("none"),
        "divisive_title": Markup(_("⚖️ <b>Divisive</b>: the groups disagree:")),
        "divisive": [s.text for s in analysis.divisive],
        "groups_title": Markup(_("🧩 <b>Opinion groups</b> (people who vote alike):")),
        "groups_note": groups_note, "groups": groups,
        "protection": _("Only totals, and groups of at least {count} people; who voted what is never shown.").format(
            count=min_group),
    }


async def discussion_page(request: web.Request) -> web.Response:
    from bot.dashboard.web import _app, _render

    app = _app(request)
    async with app.sessionmaker() as db:
        who = await page_who(request, db, DISCUSSION_ROLES)
        if isinstance(who, web.Response):
            return who
        discussion = await discussions_service.get(db, item_id(request))
        if discussion is None:
            raise web.HTTPNotFound()
        analysis = await discussions_service.results(db, discussion, app.settings.discussion_min_group)
        pending = (await discussions_service.pending_counts(db, [discussion.id])).get(discussion.id, 0)
        with in_locale(app, who.locale):
            view = discussion_view(app, discussion, analysis, pending, who.locale)
    return _render(request, "discussion.html", who.locale, who=who, discussion=view)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/polls", polls_page)
    router.add_get("/polls/{id}", poll_page)
    router.add_get("/polls/discussion/{id}", discussion_page)
    router.add_get("/api/polls/{id}", api_poll)
