"""/mydata for people: the names of codes and the note on what is left out (for the machine
JSON of bot.services.mydata), and the same data as a readable HTML document in the person's
language (sections, a small table per item, local times to the minute)."""
from __future__ import annotations

import html
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.i18n import NC_, N_, fmt_moment, language_in, tr
from handlers.audience import ROLE_NAMES
from handlers.events.texts import ANSWER_NAMES
from handlers.proposals.texts import CATEGORY_NAMES as PROPOSAL_CATEGORIES
from handlers.proposals.texts import STATUS_NAMES as PROPOSAL_STATUSES
from handlers.reports.texts import REJECT_REASONS
from handlers.reports.texts import STATUS_NAMES as REPORT_STATUSES
from handlers.shared import TOPIC_NAMES

REPORT_ACTIONS = {
    "created": N_("Report sent"), "accept": N_("Accepted by the moderators"), "progress": N_("Work started"),
    "resolve": N_("Marked as resolved"), "reject": NC_("report status", "Rejected"), "duplicate": N_("Marked as a duplicate"),
    "category": N_("Category changed"), "route": N_("Passed to an organisation"),
    "route_declined": N_("Given back by the organisation"),
    "withdrawn": N_("Withdrawn by you"), "confirmed_fixed": N_("You confirmed it is fixed"),
    "reopened": N_("Reopened: not fixed yet"), "info": N_("You added information"),
    "from_reporter": N_("You wrote to the moderators"), "to_reporter": N_("The moderators wrote to you"),
}
ACTORS = {"you": N_("you"), "moderators": N_("the moderators")}
ORG_ROLES = {"member": N_("member"), "representative": N_("representative")}
ORG_STATUSES = {"confirmed": N_("confirmed"), "pending": N_("waiting for an admin"), "declined": N_("declined")}
STATEMENT_STATUSES = {"approved": N_("approved"), "pending": N_("waiting for the moderators"),
                      "rejected": N_("not added")}
EXTRA_ROLES = {"admin": N_("Admins")}
DOMAINS: dict[str, dict[str, str]] = {
    "report_status": REPORT_STATUSES, "report_action": REPORT_ACTIONS, "reject_reason": REJECT_REASONS,
    "actor": ACTORS, "topic": TOPIC_NAMES, "role": {**ROLE_NAMES, **EXTRA_ROLES},
    "event_answer": {**ANSWER_NAMES, "walkin": N_("Came without answering")}, "org_role": ORG_ROLES,
    "org_status": ORG_STATUSES, "statement_status": STATEMENT_STATUSES, "proposal_status": PROPOSAL_STATUSES,
    "proposal_category": PROPOSAL_CATEGORIES,
}


def label(domain: str, code: Any, locale: str = "") -> str:
    if domain == "language":
        return language_in(str(code), locale or "en")
    names = DOMAINS.get(domain, {})
    return tr(names[code]) if code in names else str(code)


def not_included() -> list[str]:
    return [
        _("Your answers to anonymous polls: they are stored without anything that links them to you, so not "
          "even the bot can find them for you."),
        _("Your votes in online discussions: they are stored under a keyed code, with only your district beside "
          "them."),
        _("Photos and voice notes themselves: only how many there are (they are in your chat with the bot)."),
        _("The names of moderators and organizers who handled your reports."),
        _("Technical records of message delivery, which hold nothing you wrote."),
    ]


SECTIONS = {
    "profile": N_("Your profile"), "roles": N_("Your roles"), "reports": N_("Your reports"),
    "report_history": N_("What happened to your reports"), "poll_answers": N_("Your answers to polls that were "
                                                                             "not anonymous"),
    "events": N_("Events"), "organisations": N_("Organisations"), "working_groups": N_("Working groups"),
    "discussion_statements": N_("Your statements in discussions"), "proposals": N_("Your proposals"),
    "supported_proposals": N_("Proposals you support"),
    "conversation_in_progress": N_("An unfinished conversation with the bot"),
}
FIELDS = {
    "display_name": N_("Name"), "telegram_username": N_("Telegram username"), "telegram_id": N_("Telegram id"),
    "language": N_("Language"), "district": N_("District"), "topics": N_("Topics"), "pseudonym": N_("Pseudonym"),
    "consent_given_at": N_("Consent given"), "registered_at": N_("Registered"), "resident_code": N_("Code"),
    "phone": N_("Phone"), "registered_by_mediator": N_("Registered by a mediator"),
    "linked_to_telegram_at": N_("Linked to Telegram"), "number": N_("No."), "category": N_("Category"),
    "status": N_("Status"), "description": N_("Description"), "address": N_("Address"), "photos": N_("Photos"),
    "voice_note": N_("Voice note"), "reason": N_("Reason"), "created_at": N_("Sent"),
    "updated_at": N_("Last change"), "moderators_may_see_your_name": N_("Moderators may see your name"),
    "report": N_("Report No."), "action": N_("What happened"), "by": N_("By"), "text": N_("Text"),
    "at": N_("When"), "poll_title": N_("Poll"), "question": N_("Question"), "answer": N_("Answer"),
    "title": N_("Title"), "starts_at": N_("Starts"), "attended_at": N_("Came"),
    "feedback_score": N_("Your rating"), "feedback_comment": N_("Your comment"),
    "question_for_speakers": N_("Your question for the speakers"), "organisation": N_("Organisation"),
    "role": N_("Role"), "since": N_("Since"), "group": N_("Group"), "joined_at": N_("Joined"),
    "statement": N_("Statement"), "problem": N_("The problem"), "solution": N_("The proposal"),
    "budget": N_("Estimated budget"), "submitted_at": N_("Submitted"), "proposal": N_("Proposal No."),
}
HIDDEN = ("internal_id", "first_contact_at", "last_updated_at", "unreachable_since", "state", "data", "event",
          "poll", "discussion", "latitude", "longitude", "photo", "feedback_voice_note")


def _value(value: Any, locale: str, tz: ZoneInfo) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(_value(v, locale, tz) for v in value)
    if isinstance(value, str) and len(value) >= 16 and value[4] == "-" and value[10] == "T":
        try:
            return fmt_moment(datetime.fromisoformat(value), locale, tz)
        except ValueError:
            pass
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(v, locale, tz)}" for k, v in value.items())
    return str(value)


def _item(item: dict[str, Any], locale: str, tz: ZoneInfo) -> str:
    rows = []
    for key, value in item.items():
        if key in HIDDEN or key.endswith("_code") or key not in FIELDS:
            continue
        rows.append(f"<tr><th>{html.escape(_(FIELDS[key]))}</th><td>{html.escape(_value(value, locale, tz))}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def document(data: dict[str, Any], locale: str, tz: ZoneInfo, now: datetime) -> bytes:
    """The readable twin of the JSON file: the same data, in the person's language."""
    title = _("Everything Hromada stores about you")
    parts = [f"<h1>{html.escape(title)}</h1>",
             "<p>" + html.escape(_("Made on {day}. Times are in {zone}. The same data for machines is in the "
                                   ".json file.").format(day=fmt_moment(now, locale, tz),
                                                         zone=str(tz))) + "</p>"]
    for key, heading in SECTIONS.items():
        value = data.get(key)
        if not value:
            continue
        parts.append(f"<h2>{html.escape(_(heading))}</h2>")
        if isinstance(value, dict):
            parts.append(_item(value, locale, tz))
        elif all(isinstance(v, str) for v in value):
            parts.append("<p>" + html.escape(", ".join(value)) + "</p>")
        else:
            parts.extend(_item(v, locale, tz) for v in value)
    left_out = _("What is deliberately not in this file")
    parts.append(f"<h2>{html.escape(left_out)}</h2>")
    parts.append("<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in data.get("not_included", [])) + "</ul>")
    parts.append("<p>" + html.escape(_("To erase your data, type /deleteme in the chat with the bot.")) + "</p>")
    style = ("body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:50em;margin:2em auto;padding:0 1em;"
             "line-height:1.4;color:#2b2b2b}table{border-collapse:collapse;width:100%;margin:.5em 0 1em}"
             "th,td{border:1px solid #c8c8c8;padding:.25em .5em;text-align:left;vertical-align:top}"
             "th{width:35%;background:#eef3f9;font-weight:normal}")
    page = (f'<!DOCTYPE html>\n<html lang="{html.escape(locale)}" xmlns="http://www.w3.org/1999/xhtml">\n<head>\n'
            f'<meta charset="utf-8"/>\n<title>{html.escape(title)}</title>\n<style>{style}</style>\n</head>\n'
            "<body>\n" + "\n".join(parts) + "\n</body>\n</html>\n")
    return page.encode("utf-8")


async def send(message: Any, session: Any, user: Any, community: Any, tz: ZoneInfo, now: datetime, stem: str,
               caption: str) -> None:
    """Two files: the readable document first, then the JSON (with the caption)."""
    import json

    from aiogram.types import BufferedInputFile

    from bot.services import mydata as mydata_service

    locale = user.language or "en"
    data = await mydata_service.export(session, user, community, tz, lambda d, c: label(d, c, locale),
                                       not_included())
    await message.answer_document(BufferedInputFile(document(data, locale, tz, now), filename=f"{stem}.html"),
                                  caption=_("To read: open it in a browser."))
    content = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    await message.answer_document(BufferedInputFile(content, filename=f"{stem}.json"), caption=caption)
