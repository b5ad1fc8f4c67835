"""The calendar file of an event (📅 Add to calendar), in the reader's language: the speakers in
the description, the community as the ORGANIZER with a contact (the community file's
``contact``, else the bot's t.me link), and DTSTAMP the time the file was made."""
from __future__ import annotations

from datetime import datetime

from aiogram.utils.i18n import gettext as _

from bot.community import Community
from bot.ics import event_ics
from storage.models import Event


def _pick(texts: dict[str, str], locale: str, default: str) -> str:
    return texts.get(locale) or texts.get(default) or next(iter(texts.values()), "")


def contact_uri(community: Community, bot_username: str | None) -> str | None:
    contact = community.contact
    if contact:
        return contact if ":" in contact else (f"mailto:{contact}" if "@" in contact else f"https://{contact}")
    return f"https://t.me/{bot_username}" if bot_username else None


def event_file(event: Event, locale: str, community: Community, now: datetime, bot_username: str | None) -> bytes:
    description = _pick(event.description or {}, locale, event.default_locale)
    if event.speakers:
        speakers = _("Speakers: {names}").format(names=event.speakers)
        description = f"{description}\n\n{speakers}" if description else speakers
    address = contact_uri(community, bot_username)
    return event_ics(
        uid=f"event-{event.id}@hromada", title=_pick(event.title, locale, event.default_locale),
        starts_at=event.starts_at, ends_at=event.ends_at, description=description,
        location=event.venue or event.online_url, url=event.online_url, stamp=now, sequence=event.version - 1,
        geo=(event.latitude, event.longitude) if event.latitude is not None and event.longitude is not None else None,
        cancelled=event.status == "cancelled",
        organizer_name=(community.name(locale) or None) if address else None, organizer_address=address,
    )
