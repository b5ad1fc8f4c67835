"""Texts of project proposals: the resident's wizard and lists, the moderators' card, the news
authors and supporters get. User-supplied text is always escaped."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.community import Community
from bot.i18n import NC_, N_, esc, fmt_day, fmt_number, shorten, tr
from bot.services.errors import DomainError
from bot.services.proposals import LIMITS, ProposalDraft
from storage.models import Proposal, ProposalEvent

STATUS_NAMES = {
    "submitted": NC_("proposal status", "Waiting for the moderators"),
    "changes": NC_("proposal status", "Changes asked for"),
    "published": NC_("proposal status", "Published: collecting support"),
    "review": NC_("proposal status", "Under review by the municipality"),
    "accepted": NC_("proposal status", "Accepted and funded"),
    "in_progress": NC_("proposal status", "In progress"),
    "realised": NC_("proposal status", "Realised"),
    "rejected": NC_("proposal status", "Rejected"),
    "duplicate": NC_("proposal status", "Merged into another proposal"),
    "withdrawn": NC_("proposal status", "Withdrawn by the author"),
}
STATUS_ICONS = {
    "submitted": "⏳", "changes": "✏️", "published": "📣", "review": "🏛", "accepted": "✅",
    "in_progress": "🛠", "realised": "🎉", "rejected": "🚫", "duplicate": "🔁", "withdrawn": "↩️",
}
CATEGORY_NAMES = {
    "infrastructure": N_("Streets, yards and buildings"),
    "environment": N_("Greenery and environment"),
    "education": N_("Education and youth"),
    "culture": N_("Culture and sport"),
    "social": N_("Social support and health"),
    "safety": N_("Safety"),
    "other": N_("Something else"),
}
# What a detail or a card shows of the long texts, so the message stays within Telegram's 4096
# characters in every language: the problem and the proposal, the latest steps, each note.
CARD_TEXT_MAX = 900
HISTORY_SHOWN = 6
NOTE_SHOWN = 150
STATS_ORGS_SHOWN = 15


def status_name(status: str) -> str:
    return f"{STATUS_ICONS.get(status, '')} {tr(STATUS_NAMES[status]) if status in STATUS_NAMES else status}".strip()


def category_name(code: str) -> str:
    return _(CATEGORY_NAMES[code]) if code in CATEGORY_NAMES else code


def district_name(community: Community, code: str | None, locale: str) -> str:
    return community.district_name(code, locale) if code else _("The whole community")


def budget_text(amount: int | None, locale: str) -> str:
    return fmt_number(amount, locale) if amount else _("not estimated")


def progress_bar(percent: int) -> str:
    filled = round(percent / 10)
    return "▰" * filled + "▱" * (10 - filled) + f" {percent}%"


# -- the wizard ----------------------------------------------------------------------------------


def register_first() -> str:
    return _("To propose or support a project, please register first: type /start.")


def ask_title() -> str:
    low, high = LIMITS["title"]
    return _("💡 <b>Propose a project</b> for your neighbourhood. A few short steps; /cancel stops at any "
             "time.\n\nFirst, a short title ({low}–{high} characters), e.g. <i>Benches and shade in the "
             "park by the school</i>.").format(low=low, high=high)


def ask_new_title() -> str:
    return _("Type the new title ({low}–{high} characters).").format(low=LIMITS["title"][0], high=LIMITS["title"][1])


def ask_problem() -> str:
    return _("What is the problem today? Who is affected? (up to {max} characters)").format(max=LIMITS["problem"][1])


def ask_solution() -> str:
    return _("What do you propose to do about it? (up to {max} characters)").format(max=LIMITS["solution"][1])


def ask_district() -> str:
    return _("Where? Choose the district.")


def ask_status() -> str:
    return _("Which proposals? Choose a status.")


def ask_category() -> str:
    return _("What kind of project is it?")


def ask_budget() -> str:
    return _("Roughly how much would it cost? Type a number (e.g. 25000), or Skip if you don't know.")


def ask_photo() -> str:
    return _("A photo of the place helps. Send one, or Skip.")


def ask_org() -> str:
    return _("Who is proposing it?")


def as_myself() -> str:
    return _("👤 Myself")


def text_expected() -> str:
    return _("Please answer with text, or /cancel.")


def photo_expected() -> str:
    return _("Please send a photo, or tap Skip.")


def review(draft: ProposalDraft, community: Community, locale: str, org_name: str | None) -> str:
    lines = [
        _("<b>Please check your proposal</b>"),
        "",
        f"<b>{esc(draft.title)}</b>",
        _("District: {district}").format(district=esc(district_name(community, draft.district, locale))),
        _("Kind: {category}").format(category=category_name(draft.category)),
        _("Estimated budget: {budget}").format(budget=budget_text(draft.budget, locale)),
        _("Photo: {photo}").format(photo=_("yes") if draft.photo else _("no")),
        _("From: {who}").format(who=esc(org_name) if org_name else _("yourself")),
        "",
        _("<b>Problem:</b> {text}").format(text=esc(draft.problem)),
        "",
        _("<b>Proposal:</b> {text}").format(text=esc(draft.solution)),
        "",
        _("Send it to the moderators? They check it before it is published. Anything to change, tap it below."),
    ]
    return "\n".join(lines)


def submitted(number: int, again: bool) -> str:
    if again:
        return _("Thank you! Your reworked proposal #{number} went back to the moderators.").format(number=number)
    return _("Thank you! Your proposal #{number} went to the moderators. I will tell you when it is "
             "published and at every step after that. /myproposals shows where it is.").format(number=number)


def dropped() -> str:
    return _("The proposal was not sent. Nothing is kept.")


def draft_expired() -> str:
    return _("This draft is no longer open. Start again with /propose.")


# -- lists and details ---------------------------------------------------------------------------


def listing(total: int, page: int, per_page: int, district: str | None, status: str | None) -> str:
    parts = [_("💡 <b>Project proposals</b>")]
    filters = [f for f in (district, status_name(status) if status else None) if f]
    if filters:
        parts.append(_("Showing: {filters}").format(filters=esc(", ".join(filters))))
    if total == 0:
        parts.append(_("No proposals here yet. Be the first: tap ➕ Propose a project."))
    else:
        pages = (total + per_page - 1) // per_page
        parts.append(ngettext("{count} proposal, the most supported first.",
                              "{count} proposals, the most supported first.", total).format(count=total)
                     + (" " + _("Page {page} of {pages}.").format(page=page + 1, pages=pages) if pages > 1 else ""))
    return "\n".join(parts)


def list_button(proposal: Proposal) -> str:
    return f"{STATUS_ICONS.get(proposal.status, '')} {shorten(proposal.title, 40)} · 👍 {proposal.supporters}"


def mine(proposals: list[Proposal]) -> str:
    if not proposals:
        return _("You have not proposed a project yet. /propose starts one.")
    lines = [_("<b>Your proposals</b>")]
    for p in proposals:
        lines.append(f"#{p.id} {esc(shorten(p.title, 60))} — {status_name(p.status)}")
    return "\n".join(lines)


def timeline(events: list[ProposalEvent], locale: str, tz: ZoneInfo) -> list[str]:
    """One line per step, with its date (progress notes included)."""
    lines = []
    for e in events:
        when = fmt_day(e.created_at, locale, tz)
        if e.progress is not None and e.old_status == e.new_status:
            what = progress_bar(e.progress)
        else:
            what = status_name(e.new_status)
        note = f" — {esc(shorten(e.note, NOTE_SHOWN))}" if e.note and e.new_status != "changes" else ""
        lines.append(f"• {when}: {what}{note}")
    return lines


def detail(p: Proposal, events: list[ProposalEvent], community: Community, locale: str, tz: ZoneInfo,
           org_name: str | None, supported: bool) -> str:
    lines = [
        f"💡 <b>#{p.id} {esc(p.title)}</b>",
        status_name(p.status),
    ]
    if p.status in ("in_progress", "realised"):
        lines.append(progress_bar(p.progress))
    if org_name:
        lines.append(_("From: {who}").format(who=esc(org_name)))
    lines += [
        _("District: {district}").format(district=esc(district_name(community, p.district, locale))),
        _("Kind: {category}").format(category=category_name(p.category)),
        _("Estimated budget: {budget}").format(budget=budget_text(p.budget, locale)),
        ngettext("👍 {count} supporter", "👍 {count} supporters", p.supporters).format(count=p.supporters)
        + (" " + _("(you too)") if supported else ""),
        "",
        _("<b>Problem:</b> {text}").format(text=esc(shorten(p.problem, CARD_TEXT_MAX))),
        "",
        _("<b>Proposal:</b> {text}").format(text=esc(shorten(p.solution, CARD_TEXT_MAX))),
    ]
    if p.reason and p.status in ("rejected", "changes"):
        lines += ["", _("<b>Moderators:</b> {text}").format(text=esc(shorten(p.reason, 300)))]
    if p.duplicate_of:
        lines += ["", _("Continues as proposal #{number}.").format(number=p.duplicate_of)]
    lines += ["", _("<b>History</b>"), *timeline(events[-HISTORY_SHOWN:], locale, tz)]
    return "\n".join(lines)


def supported_now(count: int) -> str:
    return ngettext("Thank you for your support! {count} supporter now.",
                    "Thank you for your support! {count} supporters now.", count).format(count=count)


def withdrawn_support() -> str:
    return _("Your support was withdrawn.")


def withdrawn() -> str:
    return _("Your proposal was withdrawn.")


# -- the moderators' card ------------------------------------------------------------------------


def card(p: Proposal, events: list[ProposalEvent], community: Community, locale: str, tz: ZoneInfo,
         author: str, org_name: str | None, mediator: str | None = None) -> str:
    """The card in the moderators' group; ``mediator``: who submitted it for an offline resident
    (HTML-escaped), when a mediator did."""
    lines = [
        _("💡 <b>Proposal #{number}</b> — {status}").format(number=p.id, status=status_name(p.status)),
        f"<b>{esc(p.title)}</b>",
        _("From: {who}").format(who=" · ".join(filter(None, (author, esc(org_name) if org_name else None)))),
    ]
    if mediator is not None:
        lines.append(_("🤝 Submitted with a mediator's help for an offline resident (mediator: {name})").format(
            name=mediator))
    lines += [
        _("District: {district}").format(district=esc(district_name(community, p.district, locale))),
        _("Kind: {category}").format(category=category_name(p.category)),
        _("Estimated budget: {budget}").format(budget=budget_text(p.budget, locale)),
        ngettext("👍 {count} supporter", "👍 {count} supporters", p.supporters).format(count=p.supporters),
    ]
    if p.status in ("in_progress", "realised"):
        lines.append(progress_bar(p.progress))
    lines += [
        "",
        _("<b>Problem:</b> {text}").format(text=esc(shorten(p.problem, CARD_TEXT_MAX))),
        "",
        _("<b>Proposal:</b> {text}").format(text=esc(shorten(p.solution, CARD_TEXT_MAX))),
    ]
    if p.reason:
        lines += ["", _("<b>Moderators:</b> {text}").format(text=esc(shorten(p.reason, 300)))]
    lines += ["", *timeline(events[-HISTORY_SHOWN:], locale, tz)]
    return "\n".join(lines)


def ask_text(action: str, number: int) -> str:
    match action:
        case "changes":
            return _("What should the author change in proposal #{number}? Reply to this message "
                     "(/cancel stops).").format(number=number)
        case "reject":
            return _("Why is proposal #{number} rejected? The author and the supporters will read it. "
                     "Reply to this message (/cancel stops).").format(number=number)
        case "duplicate":
            return _("Proposal #{number} repeats which proposal? Reply with its number; the supporters "
                     "move there (/cancel stops).").format(number=number)
    return _("Progress of proposal #{number}: reply with a percentage and a short note, e.g. "
             "<code>40 the benches are ordered</code> (/cancel stops).").format(number=number)


def cancelled() -> str:
    return _("Cancelled.")


def try_again() -> str:
    return _("Try again, or /cancel.")


def saved() -> str:
    return _("Saved. The author and the supporters are told.")


def resubmitted(number: int) -> str:
    return _("✏️ The author reworked proposal #{number} and sent it again.").format(number=number)


def not_allowed() -> str:
    return _("Only moderators can do this.")


def stats(total: Any, by_district: dict[str | None, Any], by_org: dict[int, tuple[dict[str, str], Any]],
          community: Community, locale: str) -> str:
    def row(name: str, c: Any) -> str:
        return _("{name}: proposed {proposed}, published {published}, accepted {accepted}, realised {realised}").format(
            name=name, proposed=c.proposed, published=c.published, accepted=c.accepted, realised=c.realised)

    lines = [_("📈 <b>Proposals in figures</b>"), row(_("In all"), total)]
    if by_district:
        lines += ["", _("<b>By district</b>")]
        for code, c in sorted(by_district.items(), key=lambda kv: -kv[1].proposed):
            lines.append("• " + row(esc(district_name(community, code, locale)), c))
    if by_org:
        lines += ["", _("<b>By organisation</b>")]
        ranked = sorted(by_org.items(), key=lambda kv: -kv[1][1].proposed)
        for _org_id, (names, c) in ranked[:STATS_ORGS_SHOWN]:
            name = names.get(locale) or names.get("en") or next(iter(names.values()), "")
            lines.append("• " + row(esc(shorten(name, 60)), c))
        if len(ranked) > STATS_ORGS_SHOWN:
            lines.append(ngettext("…and {count} more organisation", "…and {count} more organisations",
                                  len(ranked) - STATS_ORGS_SHOWN).format(count=len(ranked) - STATS_ORGS_SHOWN))
    return "\n".join(lines)


# -- news to authors and supporters ---------------------------------------------------------------


def news(payload: dict[str, Any], locale: str) -> str:
    title, number, status = esc(payload["title"]), payload["id"], payload["status"]
    note = esc(payload.get("note") or "")
    match status:
        case "published":
            text = _("📣 Your proposal «{title}» (#{number}) is published. Residents can now support it "
                     "in /proposals: share it with your neighbours!")
        case "changes":
            text = _("✏️ The moderators ask for changes to your proposal «{title}» (#{number}):\n{note}\n\n"
                     "Tap Edit to rework it; nothing you wrote is lost.")
        case "review":
            text = _("🏛 Proposal «{title}» (#{number}) is now under review by the municipality.")
        case "accepted":
            text = _("✅ Good news: proposal «{title}» (#{number}) was accepted and funded.")
        case "in_progress" if payload.get("progress") is not None and payload.get("was") == "in_progress":
            text = _("🛠 Proposal «{title}» (#{number}): progress {progress}%.") + ("\n{note}" if note else "")
        case "in_progress":
            text = _("🛠 Work on proposal «{title}» (#{number}) has started.")
        case "realised":
            text = _("🎉 Proposal «{title}» (#{number}) is realised! Thank you for making it happen.")
        case "rejected":
            text = _("🚫 Proposal «{title}» (#{number}) was rejected. Reason: {note}")
        case "duplicate":
            text = _("🔁 Proposal «{title}» (#{number}) repeats proposal #{other} and was merged into it; "
                     "its supporters now support #{other}.")
        case _:
            text = _("Proposal «{title}» (#{number}): {status}")
    return text.format(title=title, number=number, note=note, progress=payload.get("progress"),
                       other=payload.get("duplicate_of"), status=status_name(status))


def error_text(exc: DomainError) -> str:
    p = exc.params
    match exc.code:
        case "proposal_empty":
            return _("That is empty. Please type a few words.")
        case "proposal_too_short":
            return _("A little more, please: at least {min} characters.").format(min=p["min"])
        case "proposal_too_long":
            return _("That is too long: at most {max} characters, please (you sent {length}). Shorten it "
                     "and send it again.").format(max=fmt_number(int(p["max"]), _locale()),  # type: ignore[arg-type]
                                                 length=fmt_number(int(p["length"]), _locale()))  # type: ignore[arg-type]
        case "proposal_budget":
            return _("Please type the amount as a number, e.g. 25000, or tap Skip.")
        case "proposal_progress":
            return _("Please start with a percentage from 0 to 100, e.g. <code>40 the benches are ordered</code>.")
        case "proposal_number":
            return _("Please type a proposal number, like 12.")
        case "proposal_missing":
            return _("There is no proposal #{number}.").format(number=p.get("number"))
        case "proposal_merge_target":
            return _("Proposal #{number} is not collecting support (not published, or closed): its "
                     "supporters could not follow. Reply with another number, or /cancel.").format(number=p.get("number"))
        case "proposal_duplicate_self":
            return _("A proposal cannot repeat itself.")
        case "proposal_changed":
            return _("Someone else changed this proposal a moment ago. Look at it again.")
        case "proposal_not_allowed":
            return _("This action does not fit the proposal's current status.")
        case "proposal_rate":
            return _("You have sent {limit} proposals today. Please continue tomorrow.").format(limit=p["limit"])
        case "proposal_incomplete":
            return _("The proposal is incomplete. Please start again with /propose.")
        case "proposal_own":
            return _("This is your own proposal: you support it already.")
        case "proposal_support_twice":
            return _("You already support this proposal. Thank you!")
        case "proposal_not_supported":
            return _("You were not supporting this proposal.")
        case "proposal_closed":
            status = p.get("status")
            if status == "rejected":
                return _("This proposal was rejected, so it cannot be supported any more.")
            if status == "realised":
                return _("This proposal is already realised. Thank you!")
            return _("This proposal cannot be supported any more.")
    return _("Sorry, that did not work. Please try again.")


def _locale() -> str:
    from aiogram.utils.i18n import get_i18n

    return get_i18n().current_locale

