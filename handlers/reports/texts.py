"""Texts of issue reports: the resident's side, the moderators' card, notifications."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.community import Community
from bot.i18n import NC_, N_, esc, fmt_moment, shorten, tr
from bot.services.errors import DomainError
from bot.services.reports import MAX_PHOTOS, Draft
from storage.models import Report, ReportEvent

STATUS_NAMES = {
    "new": NC_("report status", "New"),
    "accepted": NC_("report status", "Accepted"),
    "in_progress": NC_("report status", "In progress"),
    "resolved": NC_("report status", "Resolved"),
    "rejected": NC_("report status", "Rejected"),
    "duplicate": NC_("report status", "Duplicate"),
    "withdrawn": NC_("report status", "Withdrawn by the resident"),
    "reopened": NC_("report status", "Reopened: not fixed yet"),
}
STATUS_ICONS = {
    "new": "🆕", "accepted": "✅", "in_progress": "🛠", "resolved": "🎉", "rejected": "🚫",
    "duplicate": "🔁", "withdrawn": "↩️", "reopened": "🔄",
}
# Reasons a moderator can pick when rejecting; anything else is typed.
REJECT_REASONS = {
    "area": N_("Outside our community's area"),
    "info": N_("Not enough information to act on"),
    "private": N_("A private matter, not a community problem"),
    "abuse": N_("Spam or abusive content"),
}
CARD_DESCRIPTION_MAX = 1500
LIST_DESCRIPTION_MAX = 60
SKIP = N_("Skip")
SEND_LOCATION = N_("📍 Send my location")


def status_name(status: str) -> str:
    return tr(STATUS_NAMES[status]) if status in STATUS_NAMES else status


def category_name(community: Community, code: str, locale: str) -> str:
    found = community.category(code)
    return found.name(locale) if found else code


def reason_text(reason: str | None) -> str:
    if reason is None:
        return "—"
    return _(REJECT_REASONS[reason]) if reason in REJECT_REASONS else esc(reason)


def map_link(lat: float, lon: float) -> str:
    return f'<a href="https://maps.google.com/?q={lat:.6f},{lon:.6f}">{lat:.5f}, {lon:.5f}</a>'


def place(lat: float | None, lon: float | None, address: str | None) -> str:
    if lat is not None and lon is not None:
        return map_link(lat, lon)
    if address:
        return esc(address)
    return _("not given")


# -- resident's side -----------------------------------------------------------------------------


def register_first() -> str:
    return _("Reports are for registered residents. Please register first: /start")


def ask_category() -> str:
    return _("📝 <b>Report a problem</b>\n\nWhat kind of problem is it?")


def ask_description() -> str:
    return _(
        "Describe the problem: what is wrong and where exactly. "
        "Type it, or record a voice note.\n\n/cancel stops the report."
    )


def description_not_text() -> str:
    return _("Please describe the problem in words or with a voice note. Photos come in the next step.")


def ask_photos() -> str:
    return _("📷 Add up to {max} photos of the problem, or press Skip.").format(max=MAX_PHOTOS)


def photo_added(count: int) -> str:
    if count >= MAX_PHOTOS:
        return _("That is {max} photos, the most a report can have. Press Done to continue.").format(max=MAX_PHOTOS)
    return ngettext(
        "{count} photo added. Send more or press Done.",
        "{count} photos added. Send more or press Done.",
        count,
    ).format(count=count)


def too_many_photos() -> str:
    return _("A report can have at most {max} photos; I kept the first {max}. Press Done to continue.").format(
        max=MAX_PHOTOS)


def photo_as_file() -> str:
    return _("Please send the picture as a photo, not as a file (in Telegram: choose “Photo”), or press Done.")


def photo_wrong_kind() -> str:
    return _("Only photos can be added here. Send a photo, or tap the button below to go on.")


def ask_location(community: Community, locale: str) -> str:
    example = community.example_address(locale)
    if example:
        return _("📍 Where is it? Tap “Send my location”, or type the address (e.g. “{example}”), "
                 "or tap Skip.").format(example=esc(example))
    return _("📍 Where is it? Tap “Send my location”, or type the street and house number, or tap Skip.")


def location_wrong_kind() -> str:
    return _("Please send a location, type an address, or tap Skip.")


def far_away(km: float) -> str:
    return _("This place is about {km} km from the centre of our community, outside its area. "
             "Is the location right?").format(km=round(km))


def ask_district(current: str) -> str:
    return _("🏘 District: <b>{district}</b>. Keep it, or choose another.").format(district=esc(current))


def ask_identity(pseudonym: str) -> str:
    return _(
        "🙈 May the moderators see your name?\n\n"
        "If not, they see you only as “Resident {pseudonym}”. They can still write to you through the bot."
    ).format(pseudonym=pseudonym)


def review(draft: Draft, community: Community, locale: str, pseudonym: str, name: str) -> str:
    lines = [_("<b>Please check your report</b>"), ""]
    lines.append(_("Category: {category}").format(category=esc(category_name(community, draft.category, locale))))
    lines.append(_("District: {district}").format(district=esc(community.district_name(draft.district, locale))))
    if draft.description:
        lines.append(_("Description: {text}").format(text=esc(shorten(draft.description, 1500))))
    if draft.voice_file_id:
        lines.append(_("🎤 A voice note"))
    lines.append(ngettext("📷 {count} photo", "📷 {count} photos", len(draft.photos)).format(count=len(draft.photos)))
    lines.append(_("Place: {place}").format(place=place(draft.latitude, draft.longitude, draft.address)))
    who = esc(name) if draft.show_identity else _("Resident {pseudonym}").format(pseudonym=pseudonym)
    lines.append(_("Moderators see you as: {who}").format(who=who))
    return "\n".join(lines)


def sent(number: int) -> str:
    return _(
        "✅ Thank you! Your report number is <b>#{number}</b>.\n"
        "The moderators will look at it; I will tell you about every change. /myreports shows your reports."
    ).format(number=number)


def cancelled() -> str:
    return _("The report was not sent.")


def rate_limited(limit: int) -> str:
    return ngettext(
        "You can send at most {limit} report per hour. Please try again a bit later; nothing was lost.",
        "You can send at most {limit} reports per hour. Please try again a bit later; nothing was lost.",
        limit,
    ).format(limit=limit)


def my_reports(reports: list[Report], community: Community, locale: str, tz: ZoneInfo) -> str:
    if not reports:
        return _("You have not reported any problems yet. Use /report to send one.")
    lines = [_("<b>Your reports</b>"), ""]
    for report in reports:
        lines.append(
            _("{icon} <b>#{number}</b> {category}: {status}\n    last update {when}").format(
                icon=STATUS_ICONS.get(report.status, "•"),
                number=report.id,
                category=esc(category_name(community, report.category, locale)),
                status=status_name(report.status),
                when=fmt_moment(report.updated_at, locale, tz),
            )
        )
    lines.append("")
    lines.append(_("Tap a number to add information or withdraw the report."))
    return "\n".join(lines)


def report_detail(report: Report, community: Community, locale: str, tz: ZoneInfo) -> str:
    lines = [
        _("<b>Report #{number}</b>: {category}").format(
            number=report.id, category=esc(category_name(community, report.category, locale))),
        _("Status: {status}").format(status=status_name(report.status)),
        _("Last update: {when}").format(when=fmt_moment(report.updated_at, locale, tz)),
    ]
    if report.description:
        lines.append(esc(shorten(report.description, 1000)))
    return "\n".join(lines)


def ask_info(number: int) -> str:
    return _("Type what you want to add to report #{number} (or /cancel).").format(number=number)


def info_added(number: int) -> str:
    return _("Added to report #{number}. The moderators can see it.").format(number=number)


def confirm_withdraw(number: int) -> str:
    return _("Withdraw report #{number}? The moderators will stop working on it.").format(number=number)


def withdrawn(number: int) -> str:
    return _("Report #{number} was withdrawn.").format(number=number)


def relayed_to_moderators() -> str:
    return _("✉️ Sent to the moderators.")


def ask_reply(number: int) -> str:
    return _("Type your answer to the moderators about report #{number} (or /cancel).").format(number=number)


def from_moderators(number: int, text: str, limit: int = 3500) -> str:
    return _("💬 <b>The moderators about your report #{number}:</b>\n\n{text}\n\n"
             "<i>Reply to this message to answer them.</i>").format(number=number, text=esc(shorten(text, limit)))


def report_ref(number: int, category: str | None, excerpt: str | None) -> str:
    """Which report a notification is about: its number, category and first words (escaped)."""
    if excerpt and category:
        return _("#{number} ({category}: “{excerpt}”)").format(
            number=number, category=esc(category), excerpt=esc(excerpt))
    if excerpt:
        return _("#{number} (“{excerpt}”)").format(number=number, excerpt=esc(excerpt))
    if category:
        return _("#{number} ({category})").format(number=number, category=esc(category))
    return f"#{number}"


def followup_question(number: int, category: str, excerpt: str | None = None) -> str:
    return _("🎉 A few days ago your report {report} was marked as resolved. "
             "Is the problem really fixed?").format(report=report_ref(number, category, excerpt))


def followup_thanks() -> str:
    return _("Thank you for confirming! 🙌")


def followup_reopened(number: int) -> str:
    return _("Sorry to hear that. Report #{number} is open again; the moderators will look at it.").format(
        number=number)


def status_notification(payload: dict, category: str) -> str:
    """A change of the resident's report, naming it: number, category, first words."""
    number = payload["report_id"]
    action = payload["action"]
    excerpt = payload.get("excerpt")  # (notifications queued before it was kept have none)
    # after a change of category the new one is named in the sentence itself
    report = report_ref(number, None if action == "category" else category, excerpt)
    if action == "accept":
        return _("✅ Your report {report} was accepted by the moderators.").format(report=report)
    if action == "progress":
        return _("🛠 Work has started on your report {report}.").format(report=report)
    if action == "resolve":
        return _("🎉 Your report {report} is marked as resolved. Thank you for reporting it!").format(report=report)
    if action == "reject":
        return _("🚫 Your report {report} was declined. Reason: {reason}").format(
            report=report, reason=reason_text(payload.get("reason")))
    if action == "duplicate":
        return _("🔁 Your report {report} describes the same problem as report #{other}; "
                 "they are handled together.").format(report=report, other=payload.get("duplicate_of"))
    if action == "category":
        return _("Your report {report} was moved to the category “{category}”.").format(
            report=report, category=esc(category))
    if action == "route":
        return _("🏛 Your report {report} was passed on to: {organisation}.").format(
            report=report, organisation=esc(payload.get("routed_to") or ""))
    return _("Your report {report} was updated: {status}.").format(
        report=report, status=status_name(payload.get("status", "")))


def error_text(exc: DomainError) -> str:
    p = exc.params
    match exc.code:
        case "report_empty":
            return _("That is empty. Please type a few words.")
        case "report_too_short":
            return _("Please describe the problem in a few more words.")
        case "report_too_long":
            return _("That is too long: at most {max} characters, please (you sent {length}).").format(
                max=p["max"], length=p["length"])
        case "report_number":
            return _("Please type a report number, like 12.")
        case "report_missing":
            return _("There is no report #{number}.").format(number=p.get("number"))
        case "report_duplicate_self":
            return _("A report cannot be a duplicate of itself.")
        case "report_final":
            return _("This report is already closed ({status}).").format(status=status_name(str(p.get("status"))))
        case "report_changed":
            return _("Someone else changed this report a moment ago. Look at the card again.")
        case "report_not_allowed":
            return _("This action does not fit the report's current status.")
        case "report_rate":
            return rate_limited(int(p["limit"]))  # type: ignore[arg-type]
        case "report_incomplete":
            return _("The report is incomplete. Please start again with /report.")
        case "report_not_routed":
            return _("Report #{number} is no longer passed on to your organisation.").format(number=p.get("number"))
        case "org_missing":
            return _("This organisation is no longer in the network: choose another one.")
    return _("Sorry, that did not work. Please try again.")


# -- moderators' side ----------------------------------------------------------------------------


def card(
    report: Report,
    *,
    community: Community,
    locale: str,
    tz: ZoneInfo,
    reporter: str,
    photo_count: int,
    duplicates: list[int],
    last: ReportEvent | None,
    mediator: str | None = None,
) -> str:
    """The card in the moderators' group (always under 4096 characters). ``mediator``: who filed
    it for an offline resident (HTML-escaped), when a mediator did."""
    lines = [
        _("{icon} <b>Report #{number}</b> · {category}").format(
            icon=STATUS_ICONS.get(report.status, "📝"), number=report.id,
            category=esc(category_name(community, report.category, locale))),
        _("🏘 {district}").format(district=esc(community.district_name(report.district, locale))),
        "",
    ]
    if report.description:
        lines.append(esc(shorten(report.description, CARD_DESCRIPTION_MAX)))
    if report.voice_file_id:
        lines.append(_("🎤 Voice note below"))
    if photo_count:
        lines.append(ngettext("📷 {count} photo below", "📷 {count} photos below", photo_count).format(
            count=photo_count))
    lines.append(_("📍 {place}").format(place=place(report.latitude, report.longitude, report.address)))
    lines.append(_("👤 {reporter}").format(reporter=reporter))
    if mediator is not None:
        lines.append(assisted_note(mediator))
    if duplicates:
        lines.append(_("⚠️ Possible duplicates: {numbers}").format(
            numbers=", ".join(f"#{n}" for n in duplicates)))
    if report.routed_to:
        lines.append(_("🏛 Passed on to: {organisation}").format(organisation=esc(report.routed_to)))
    lines.append("")
    status = _("Status: <b>{status}</b>").format(status=status_name(report.status))
    if last is not None and last.action != "created":
        when = fmt_moment(last.created_at, locale, tz)
        status += " — " + (
            _("{who}, {when}").format(who=esc(last.actor_name), when=when) if last.actor_name else when)
    lines.append(status)
    if report.status == "rejected":
        lines.append(_("Reason: {reason}").format(reason=reason_text(report.reason)))
    if report.status == "duplicate" and report.duplicate_of:
        lines.append(_("Duplicate of #{number}").format(number=report.duplicate_of))
    return "\n".join(lines)[:4096]


def assisted_note(mediator: str) -> str:
    return _("🤝 Filed with a mediator's help for an offline resident (mediator: {name})").format(name=mediator)


def mediator_label(name: str | None, username: str | None, pseudonym: str) -> str:
    """A mediator as moderators see them: name and @username (escaped), or the pseudonym."""
    handle = f"@{esc(username)}" if username else ""
    return " ".join(filter(None, (esc(name or ""), handle))) or pseudonym


def reporter_label(name: str | None, username: str | None, pseudonym: str, show: bool) -> str:
    if show and (name or username):
        handle = f" @{esc(username)}" if username else ""
        return f"{esc(name or '')}{handle} ({pseudonym})".strip()
    return _("Resident {pseudonym}").format(pseudonym=pseudonym)


def ask_reject_reason(number: int) -> str:
    return _("Type the reason for rejecting #{number} as a reply to this message (or /cancel).").format(number=number)


def ask_duplicate(number: int) -> str:
    return _("Type the number of the report that #{number} duplicates, as a reply to this message "
             "(or /cancel).").format(number=number)


def no_organisations() -> str:
    return _("There are no organisations in /orgs yet to pass it on to: an admin adds them with /neworg.")


def people_list(people: list[str]) -> str:
    return ", ".join(esc(p) for p in people) or "—"


def not_delivered(number: int, organisation: str, contact: str | None) -> str:
    """Under the card: the organisation has no representative the bot can write to (escaped)."""
    text = _("⚠️ {organisation} has no representative the bot can reach, so report #{number} did not "
             "reach it. An admin confirms representatives from /orgs.").format(
        organisation=esc(organisation), number=number)
    if contact:
        text += "\n" + _("Its contact: {contact}").format(contact=esc(contact))
    return text


def passing_on(number: int, organisation: str, people: list[str]) -> str:
    return _("🏛 Report #{number}: on its way to {organisation} ({people})…").format(
        number=number, organisation=esc(organisation), people=people_list(people))


def passed_on(number: int, organisation: str, people: list[str], sent: int, total: int,
              contact: str | None) -> str:
    """Under the card: who of the organisation's representatives got the report (escaped)."""
    names = people_list(people)
    if total and sent >= total:
        return _("🏛 Report #{number} was delivered to {organisation}: {people}.").format(
            number=number, organisation=esc(organisation), people=names)
    if sent:
        return ngettext("🏛 Report #{number} was delivered to {sent} of the {total} representative of "
                        "{organisation} ({people}).",
                        "🏛 Report #{number} was delivered to {sent} of the {total} representatives of "
                        "{organisation} ({people}).", total).format(
            number=number, sent=sent, total=total, organisation=esc(organisation), people=names)
    return not_delivered(number, organisation, contact)


def passed_on_card(payload: dict, category: str, district: str, with_photo: bool) -> str:
    """What a representative of the organisation gets: the report, never who reported it."""
    lines = [
        _("🏛 <b>Report #{number}</b> · {category}").format(number=payload["report_id"], category=esc(category)),
        _("The moderators passed it on to {organisation}, which you represent.").format(
            organisation=esc(payload.get("org_label") or "")),
        _("🏘 {district}").format(district=esc(district)),
        "",
    ]
    if payload.get("description"):
        lines.append(esc(shorten(payload["description"], 600 if with_photo else CARD_DESCRIPTION_MAX)))
    if payload.get("voice"):
        lines.append(_("🎤 It came with a voice note: the moderators can pass it on."))
    photos = int(payload.get("photos") or 0)
    if photos > 1:
        lines.append(ngettext("📷 {count} photo: the moderators can pass the others on.",
                              "📷 {count} photos: the moderators can pass the others on.", photos).format(count=photos))
    lines.append(_("📍 {place}").format(place=place(payload.get("latitude"), payload.get("longitude"),
                                                   payload.get("address"))))
    lines.append("")
    lines.append(_("Status: <b>{status}</b>").format(status=status_name(payload.get("status") or "")))
    return "\n".join(lines)


def organisation_acted(number: int, organisation: str, who: str, status: str) -> str:
    """Under the card: a representative changed the report's status (escaped)."""
    return _("🏛 {organisation} ({who}) on report #{number}: {status}.").format(
        organisation=esc(organisation), who=esc(who), number=number, status=status_name(status))


def organisation_gave_back(number: int, organisation: str, who: str) -> str:
    return _("↩️ {organisation} ({who}) says report #{number} is not theirs: pass it on elsewhere, "
             "or handle it here.").format(organisation=esc(organisation), who=esc(who), number=number)


def gave_back(number: int) -> str:
    return _("↩️ You gave report #{number} back to the moderators.").format(number=number)


def resident_wrote(number: int, who: str, text: str, limit: int = 3500) -> str:
    return _("💬 <b>{who} about #{number}:</b>\n\n{text}").format(number=number, who=who, text=esc(shorten(text, limit)))


def resident_added(number: int, who: str, text: str, limit: int = 3500) -> str:
    return _("➕ <b>{who} added to #{number}:</b>\n\n{text}").format(number=number, who=who, text=esc(shorten(text, limit)))


def resident_withdrew(number: int) -> str:
    return _("↩️ The resident withdrew report #{number}.").format(number=number)


def reopened_in_group(number: int) -> str:
    return _("🔄 The resident says report #{number} is not fixed; it is open again.").format(number=number)


def stale(number: int, hours: int) -> str:
    return ngettext(
        "⏰ Report #{number} has had no update for {hours} hour.",
        "⏰ Report #{number} has had no update for {hours} hours.",
        hours,
    ).format(number=number, hours=hours)


def queue(reports: list[Report], community: Community, locale: str, now: datetime, stale_hours: int,
          links: dict[int, str] | None = None) -> str:
    """/queue: the open reports, oldest first; ``links``: report number -> the URL of its card
    (a report without one gets a button under the message instead)."""
    if not reports:
        return _("No open reports. 🎉")
    links = links or {}
    lines = [ngettext("<b>{count} open report</b>, oldest first:", "<b>{count} open reports</b>, oldest first:",
                      len(reports)).format(count=len(reports))]
    if len(links) == len(reports):
        lines.append(_("Tap a number to go to the report's card."))
    elif links:
        lines.append(_("Tap a number, or a report's button below, to go to its card."))
    else:
        lines.append(_("Tap a report's button below to go to its card."))
    shown = 0
    for report in reports:
        hours = int((now - report.created_at).total_seconds() // 3600)
        age = ngettext("{n} h", "{n} h", hours).format(n=hours) if hours < 48 else \
            ngettext("{n} day", "{n} days", hours // 24).format(n=hours // 24)
        mark = " ⏰" if (now - report.updated_at).total_seconds() >= stale_hours * 3600 else ""
        url = links.get(report.id)
        number = f'<a href="{esc(url)}">#{report.id}</a>' if url else f"#{report.id}"
        line = (f"• {number} · {esc(category_name(community, report.category, locale))} · "
                f"{status_name(report.status)} · {age}{mark}")
        if sum(len(x) + 1 for x in lines) + len(line) > 3900:  # whole lines only: no tag is ever cut
            break
        lines.append(line)
        shown += 1
    if shown < len(reports):
        left = len(reports) - shown
        lines.append(ngettext("…and {count} more", "…and {count} more", left).format(count=left))
    return "\n".join(lines)


def card_here(number: int) -> str:
    return _("⬆️ The card of report #{number}").format(number=number)


def card_coming(number: int) -> str:
    return _("The card of report #{number} is being posted now.").format(number=number)


def moderators_help(stale_hours: int, can_act: bool) -> str:
    """/help in the moderators' group: what moderators can do there. The buttons are named with
    the cards' own labels."""
    lines = [
        _("🛡 <b>Moderating in this group</b>"),
        "",
        _("Every new report arrives here as a card. Its buttons:"),
        _("{accept} · {progress} · {resolved}: the status changes and the reporter is told.").format(
            accept=_("✅ Accept"), progress=_("🛠 In progress"), resolved=_("🎉 Resolved")),
        _("{reject}: pick a reason or type one; the reporter is told it.").format(reject=_("🚫 Reject")),
        _("{duplicate}: type the number of the report it repeats.").format(duplicate=_("🔁 Duplicate")),
        _("{category}: move it to another category.").format(category=_("🗂 Category")),
        _("{route}: pass it on to an organisation of /orgs; its representatives get it and can act on it.").format(
            route=_("🏛 Pass on")),
        "",
        _("↩️ Reply to a card (or to a reporter's message under it) to write to the reporter: text, a photo "
          "or a voice note. The reporter does not see who you are; their answers arrive under the card."),
        ngettext("⏰ A report with no update for {hours} hour is raised again under its card.",
                 "⏰ A report with no update for {hours} hours is raised again under its card.",
                 stale_hours).format(hours=stale_hours),
        _("Proposals and discussion statements to check arrive here as cards too."),
        "",
        _("/queue: the open reports, oldest first, each leading to its card"),
        _("/cancel: stop typing a reason or a number"),
        _("/help: this message"),
    ]
    if not can_act:
        lines += ["", _("Only moderators can use the buttons and these commands. An admin gives the role "
                        "with /grant moderator @username.")]
    return "\n".join(lines)


def not_allowed_alert() -> str:
    return _("Only moderators can do this.")


def already_resolved_alert() -> str:
    return _("This report is already resolved.")


def answered_from_dashboard(number: int, who: str, text: str, limit: int = 3500) -> str:
    """Under the card: a moderator's words to the reporter, sent from the dashboard (escaped)."""
    return _("💬 {who} answered the reporter of #{number} from the dashboard:\n\n{text}").format(
        who=esc(who), number=number, text=esc(shorten(text, limit)))


def relayed_ok() -> str:
    return _("Sent to the reporter.")


def erased_message() -> str:
    return _("🗑 Removed: the resident deleted their data.")
