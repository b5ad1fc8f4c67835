"""Exports for organizers and the city: CSV files and Open311 GeoReport v2 JSON. No aiogram here.

CSV is UTF-8 with a byte order mark, so spreadsheet programs open Cyrillic correctly. Personal
data (a reporter's or author's name) is in admins' exports only, and a reporter's name only when
they allowed moderators to see it; the others get the pseudonym or nothing. Times are ISO 8601
in the community's time zone, with the offset.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community import Community
from bot.services.users import pseudonym
from storage.models import Organisation, Proposal, Report, ReportPhoto, User

BOM = "\ufeff"
OPEN311_OPEN = ("new", "accepted", "in_progress", "reopened")


def local(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else ""


def to_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue().encode("utf-8")


async def _people(session: AsyncSession, ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id: u for u in await session.scalars(select(User).where(User.id.in_(ids)))}


async def reports_csv(session: AsyncSession, community: Community, tz: ZoneInfo, locale: str,
                      personal: bool) -> bytes:
    reports = list(await session.scalars(select(Report).order_by(Report.id)))
    photos = dict((await session.execute(
        select(ReportPhoto.report_id, func.count()).group_by(ReportPhoto.report_id))).all())
    people = await _people(session, {r.user_id for r in reports if r.user_id}) if personal else {}
    header = ["number", "created", "updated", "status", "category", "category_name", "district", "district_name",
              "description", "address", "latitude", "longitude", "photos", "reason", "routed_to", "duplicate_of"]
    if personal:
        header.append("reporter")
    rows = []
    for r in reports:
        category = community.category(r.category)
        row = [r.id, local(r.created_at, tz), local(r.updated_at, tz), r.status, r.category,
               category.name(locale) if category else r.category, r.district or "",
               community.district_name(r.district, locale) if r.district else "", r.description, r.address,
               r.latitude, r.longitude, photos.get(r.id, 0), r.reason, r.routed_to, r.duplicate_of]
        if personal:
            person = people.get(r.user_id or 0)
            row.append("" if person is None else (
                person.display_name or pseudonym(person)) if r.show_identity else pseudonym(person))
        rows.append(row)
    return to_csv(header, rows)


async def proposals_csv(session: AsyncSession, community: Community, tz: ZoneInfo, locale: str,
                        personal: bool) -> bytes:
    proposals = list(await session.scalars(select(Proposal).order_by(Proposal.id)))
    orgs = {o.id: o for o in await session.scalars(select(Organisation))}
    people = await _people(session, {p.user_id for p in proposals if p.user_id}) if personal else {}
    header = ["number", "title", "status", "district", "district_name", "category", "budget", "supporters",
              "progress", "organisation", "problem", "proposal", "submitted", "published", "accepted", "realised",
              "reason", "duplicate_of"]
    if personal:
        header.append("author")
    rows = []
    for p in proposals:
        org = orgs.get(p.org_id or 0)
        row = [p.id, p.title, p.status, p.district or "", community.district_name(p.district, locale) if p.district
               else "", p.category, p.budget, p.supporters, p.progress,
               (org.name.get(locale) or next(iter(org.name.values()), "")) if org else "", p.problem, p.solution,
               local(p.created_at, tz), local(p.published_at, tz), local(p.accepted_at, tz),
               local(p.realised_at, tz), p.reason, p.duplicate_of]
        if personal:
            person = people.get(p.user_id or 0)
            row.append((person.display_name or pseudonym(person)) if person else "")
        rows.append(row)
    return to_csv(header, rows)


def open311_services(community: Community, locale: str) -> list[dict[str, Any]]:
    """GeoReport v2 service list: one service per report category."""
    return [{"service_code": c.code, "service_name": c.name(locale), "description": c.name(locale),
             "metadata": False, "type": "realtime", "keywords": "", "group": ""} for c in community.categories]


async def open311_requests(session: AsyncSession, community: Community, tz: ZoneInfo,
                           locale: str) -> list[dict[str, Any]]:
    """GeoReport v2 service requests (withdrawn reports are not requests any more). No media_url:
    a Telegram file link would carry the bot's token. No names: Open311 has no place for them."""
    out = []
    for r in await session.scalars(select(Report).where(Report.status != "withdrawn").order_by(Report.id)):
        category = community.category(r.category)
        notes = {"rejected": r.reason, "duplicate": f"duplicate of {r.duplicate_of}" if r.duplicate_of else None}
        out.append({
            "service_request_id": str(r.id),
            "status": "open" if r.status in OPEN311_OPEN else "closed",
            "status_notes": notes.get(r.status) or r.status.replace("_", " "),
            "service_name": category.name(locale) if category else r.category,
            "service_code": r.category,
            "description": r.description,
            "agency_responsible": r.routed_to or "",
            "service_notice": "",
            "requested_datetime": local(r.created_at, tz),
            "updated_datetime": local(r.updated_at, tz),
            "expected_datetime": "",
            "address": r.address or "",
            "address_id": "",
            "zipcode": "",
            "lat": r.latitude,
            "long": r.longitude,
        })
    return out
