"""The command catalogue: one place for /help, Telegram menus and role checks."""
from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_


@dataclass(frozen=True)
class CommandSpec:
    name: str
    description: str  # msgid, translated where shown
    roles: frozenset[str] = frozenset()  # empty: everyone; otherwise any of these roles
    where: str = "private"  # "private" or "group" (the moderators' / organizers' chat)
    # Where /help lists it (PURPOSES); "" takes part for everyone, manages for staff.
    purpose: str = ""

    @property
    def section(self) -> str:
        return self.purpose or ("manage" if self.roles else "take_part")


# /help's sections, in order: what residents do, then staff's (handlers/profile/texts.py names them).
# "session" (/start, /help, /cancel) is listed apart: /start only before registration.
PURPOSES = ("take_part", "mine", "create", "follow", "manage")

RESIDENT = frozenset()
ADMIN = frozenset({"admin"})
# Organizers, and confirmed representatives acting for their organisation (handlers/acting.py).
ORGANIZING = frozenset({"organizer", "representative"})

COMMANDS: list[CommandSpec] = [
    CommandSpec("start", N_("Start or resume registration"), purpose="session"),
    CommandSpec("help", N_("What I can do"), purpose="session"),
    CommandSpec("profile", N_("Your profile"), purpose="mine"),
    CommandSpec("language", N_("Change language"), purpose="mine"),
    CommandSpec("privacy", N_("What we store and why"), purpose="mine"),
    CommandSpec("mydata", N_("Download your data"), purpose="mine"),
    CommandSpec("deleteme", N_("Delete your data"), purpose="mine"),
    CommandSpec("cancel", N_("Cancel the current step"), purpose="session"),
    CommandSpec("grant", N_("Give a role: /grant organizer @user"), ADMIN),
    CommandSpec("revoke", N_("Take a role: /revoke moderator @user"), ADMIN),
    CommandSpec("roles", N_("Who has which role"), ADMIN),
]


def register(*specs: CommandSpec) -> None:
    """Features add their commands here when their router module is imported."""
    known = {c.name for c in COMMANDS}
    for spec in specs:
        if spec.name not in known:
            COMMANDS.append(spec)
            known.add(spec.name)


def effective_roles(user_roles: set[str], telegram_id: int, admin_ids: list[int]) -> set[str]:
    roles = set(user_roles)
    if telegram_id in admin_ids:
        roles.add("admin")
    return roles


def allowed(spec: CommandSpec, roles: set[str]) -> bool:
    return not spec.roles or bool(spec.roles & roles) or "admin" in roles


def commands_for(roles: set[str], where: str = "private") -> list[CommandSpec]:
    return [c for c in COMMANDS if c.where == where and allowed(c, roles)]


def spec(name: str) -> CommandSpec | None:
    return next((c for c in COMMANDS if c.name == name), None)


# Issue reports (handlers/reports, handlers/moderation)
register(
    CommandSpec("report", N_("Report a local problem")),
    CommandSpec("myreports", N_("Your reports and their status"), purpose="mine"),
    CommandSpec("queue", N_("Open reports, oldest first"), frozenset({"moderator"}), where="group", purpose="follow"),
)


# Organizer announcements (handlers/announce)
register(
    CommandSpec("announce", N_("Send an announcement to residents"), ORGANIZING, purpose="create"),
    CommandSpec("campaigns", N_("Scheduled and running announcements"), ORGANIZING, purpose="follow"),
)
