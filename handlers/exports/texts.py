"""What makes an export readable for people: headers, values, sheet and file names in the
requester's language (the same catalogs as the chat), and the caption that says which file is
for people and what it holds. The CSV keeps the machine keys (bot.services.exports)."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.numbers import get_currency_symbol

from bot.community import Community
from bot.i18n import NC_, N_, fmt_day, fmt_number, language_in, tr
from bot.services.exports import Sheet, Table
from handlers.events.texts import KIND_NAMES as EVENT_KINDS
from handlers.polls.texts import KIND_NAMES as POLL_KINDS
from handlers.proposals.texts import CATEGORY_NAMES as PROPOSAL_CATEGORIES
from handlers.proposals.texts import STATUS_NAMES as PROPOSAL_STATUSES
from handlers.recommendations.texts import ANSWER_NAMES as RECOMMENDATION_ANSWERS
from handlers.recommendations.texts import HOW_NAMES as RECOMMENDATION_HOW
from handlers.recommendations.texts import STATUS_NAMES as RECOMMENDATION_STATUSES
from handlers.reports.texts import REJECT_REASONS
from handlers.reports.texts import STATUS_NAMES as REPORT_STATUSES

# What each table is, for the sheet's title, the file's name and the caption.
TITLES = {
    "reports": N_("Reports"),
    "proposals": N_("Proposals"),
    "events": N_("Events"),
    "poll results": N_("Poll results"),
    "discussion results": N_("Discussion results"),
    "offline residents": N_("Offline residents"),
    "recommendations": N_("Recommendations to the council"),
}

HEADERS = {
    # shared
    "number": N_("No."), "status": N_("Status"), "title": N_("Title"), "district_name": N_("District"),
    "assisted": N_("Through a mediator"), "organisation": N_("Organisation"), "reason": N_("Reason"),
    "duplicate_of": N_("Duplicate of No."), "participants": N_("Participants"),
    # reports
    "created": N_("Reported"), "updated": N_("Last change"), "category_name": N_("Category"),
    "description": N_("Description"), "added_info": N_("Added later by the resident"), "address": N_("Address"),
    "latitude": N_("Latitude"), "longitude": N_("Longitude"), "photos": N_("Photos"),
    "routed_to": N_("Routed to"), "reporter": N_("Reporter"),
    # proposals
    "category": N_("Kind of project"), "budget": N_("Estimated budget"), "supporters": N_("Supporters"),
    "progress": N_("Progress"), "problem": N_("The problem"), "proposal": N_("The proposal"),
    "submitted": N_("Submitted"), "published": N_("Published"), "accepted": N_("Accepted"),
    "realised": N_("Realised"), "author": N_("Author"),
    # events
    "kind": N_("Kind"), "starts": N_("Starts"), "ends": N_("Ends"), "place": N_("Place"),
    "speakers": N_("Speakers"), "capacity": N_("Places"), "going": N_("Going"), "maybe": N_("Maybe"),
    "cannot": N_("Can't go"), "waitlist": N_("Waitlist"), "attended": N_("Came"),
    "walk_ins": N_("Came without answering"), "feedback_answers": N_("Ratings"),
    "feedback_average": N_("Average rating (1–5)"), "assisted_answers": N_("Answers through a mediator"),
    # poll results
    "poll": N_("Poll No."), "assisted_participants": N_("Participants through a mediator"),
    "question": N_("Question No."), "question_text": N_("Question"), "answer": N_("Answer"),
    "group": N_("Group"), "answered": N_("Answered the question"), "count": N_("Chose this answer"),
    "percent": N_("Share"),
    # discussion results
    "discussion": N_("Discussion No."), "statement": N_("Statement No."), "text": N_("Statement"),
    "from": N_("Written by"), "people": N_("People in the group"), "votes": N_("Votes"), "agree": N_("Agree"),
    "disagree": N_("Disagree"), "pass": N_("Pass"), "agree_percent": N_("Agree, share"),
    "common_ground": N_("Common ground"), "divisive": N_("Divisive"),
    # offline residents
    "code": N_("Code"), "language": N_("Language"), "registered": N_("Registered"),
    "linked": N_("Uses Telegram now"), "assisted_actions": N_("Done through a mediator"),
    # recommendations (created, problem, proposal, supporters, progress, reason: shared above)
    "body_name": N_("Addressed to"), "endorsing_organisations": N_("Organisations standing behind it"),
    "endorsements": N_("Organisations"), "evidence": N_("Pieces of evidence"), "open_until": N_("Open for support until"),
    "submitted_how": N_("Submitted how"), "answer_text": N_("The council's answer, text"),
    "closed": N_("Implemented or closed"),
}
# the recommendations' own meaning of shared keys
RECOMMENDATION_HEADERS = {"created": N_("Drafted"), "submitted": N_("Submitted to the council"),
                          "answered": N_("Answered"), "answer": N_("The council's answer"),
                          "reason": N_("Why not implemented"), "supporters": N_("Residents supporting it")}
# the discussion's question has its own header (the polls' "question" is a number)
DISCUSSION_HEADERS = {"question": N_("Question"), "status": N_("Status")}

EVENT_STATUSES = {"scheduled": N_("Scheduled"), "under_way": N_("Under way"), "held": N_("Held"),
                  "cancelled": N_("Cancelled")}
POLL_STATUSES = {"open": NC_("poll status", "Open"), "closed": NC_("poll status", "Closed"),
                 "draft": NC_("poll status", "Draft")}
DISCUSSION_STATUSES = {"open": NC_("discussion status", "Open"), "closed": NC_("discussion status", "Closed"),
                       "draft": NC_("discussion status", "Draft")}
AUTHORS = {"organizer": N_("Organizers"), "resident": N_("A resident")}


# The lists of codes a column's values come from (Column.domain) and their names.
CODE_NAMES: dict[str, dict[str, Any]] = {
    "report_status": REPORT_STATUSES, "reject_reason": REJECT_REASONS, "proposal_status": PROPOSAL_STATUSES,
    "proposal_category": PROPOSAL_CATEGORIES, "event_kind": EVENT_KINDS, "event_status": EVENT_STATUSES,
    "poll_status": POLL_STATUSES, "discussion_status": DISCUSSION_STATUSES, "poll_kind": POLL_KINDS,
    "recommendation_status": RECOMMENDATION_STATUSES, "recommendation_how": RECOMMENDATION_HOW,
    "recommendation_answer": RECOMMENDATION_ANSWERS, "author": AUTHORS,
}


def _localized(mapping: dict[str, Any], code: Any) -> str:
    return tr(mapping[code]) if code in mapping else str(code)


def currency_symbol(community: Community, locale: str) -> str | None:
    return get_currency_symbol(community.currency, locale=locale) if community.currency else None


def sheet(table: Table, community: Community, locale: str) -> Sheet:
    def label(domain: str, code: Any) -> str:
        if domain in CODE_NAMES:
            return _localized(CODE_NAMES[domain], code)
        match domain:
            case "language":
                return language_in(str(code), locale)
            case "group":
                if code == "all":
                    return _("Everyone")
                if code == "other":
                    return _("Other districts")
                if len(str(code)) == 1:
                    return _("Opinion group {letter}").format(letter=code)
                return community.district_name(str(code), locale)
        return str(code)

    headers = {key: _(msgid) for key, msgid in HEADERS.items()}
    if table.name == "discussion results":
        headers.update({key: _(msgid) for key, msgid in DISCUSSION_HEADERS.items()})
    if table.name == "recommendations":
        headers.update({key: _(msgid) for key, msgid in RECOMMENDATION_HEADERS.items()})
    return Sheet(title=title(table), headers=headers, label=label, yes=_("yes"), no=_("no"),
                 datetime_format="YYYY-MM-DD HH:MM" if locale == "en" else "DD.MM.YYYY HH:MM",
                 date_format="YYYY-MM-DD" if locale == "en" else "DD.MM.YYYY",
                 currency=currency_symbol(community, locale))


def title(table: Table) -> str:
    return _(TITLES.get(table.name, table.name))


def file_name(table: Table, day: str, fmt: str) -> str:
    """XLSX: in the reader's language ('Звернення 2026-12-02.xlsx'); CSV: the stable machine name."""
    if fmt == "csv":
        return f"hromada-{table.name.replace(' ', '-')}-{day}.csv"
    return f"{title(table)} {day}.xlsx"


def caption(table: Table, fmt: str, locale: str, tz: ZoneInfo) -> str:
    count = len(table.rows)
    what = ngettext("{title}: {count} row", "{title}: {count} rows", count).format(
        title=title(table), count=fmt_number(count, locale))
    if table.period is not None:
        first, last = (fmt_day(moment, locale, tz) for moment in table.period)
        what += ", " + (first if first == last else f"{first} – {last}")
    if fmt == "xlsx":
        note = _("This file is for people: open it in a spreadsheet program (Excel, LibreOffice); "
                 "dates and numbers can be filtered and summed.")
    else:
        note = _("This file is for import into other systems: UTF-8, comma-separated, English column "
                 "names and codes, ISO dates. To read it, take the XLSX file.")
    return f"{what}.\n{note}"


def open311_caption() -> str:
    return _("Open311 GeoReport v2 for city systems: the service list and the requests (withdrawn reports "
             "are not included; photos are not included yet).")


def status_notes(report: Any) -> str:
    """A report's status for Open311's ``status_notes``, in the requester's language."""
    from handlers.reports.texts import status_name

    name = status_name(report.status)
    if report.status == "rejected" and report.reason:
        reason = _(REJECT_REASONS[report.reason]) if report.reason in REJECT_REASONS else report.reason
        return _("{status}: {reason}").format(status=name, reason=reason)
    if report.status == "duplicate" and report.duplicate_of:
        return _("Duplicate of report No. {number}").format(number=report.duplicate_of)
    return name


def open311_service_description(name: str, place: str) -> str:
    return _("{category}: problems residents of {place} report through Hromada").format(category=name, place=place)
