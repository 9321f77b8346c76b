"""Who is away and who takes their calls; whether a unit is open right now.

Absences carry their source (manual, calendar, sync) and when they were set, so the
console can show how fresh the information is ("satt för 3 h sedan") instead of trusting
a status nobody has confirmed for a week.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import select
from sqlalchemy.orm import Session

from services import clock
from switchboard.models import ABSENCE_SOURCES, Absence, Contact
from switchboard.operations.directory import DirectoryError

LOCAL_TIME = ZoneInfo("Europe/Stockholm")


@dataclass(frozen=True)
class Interval:
    """An opening interval on a weekday, as the search index keeps it."""

    weekday: int
    opens: time
    closes: time


def set_absence(session: Session, contact: Contact, *, reason: str,
                returns_at: datetime | None, starts_at: datetime | None = None,
                source: str = "manual", set_by: str = "",
                referral_contact_id: uuid.UUID | None = None,
                referral_note: str = "", set_at: datetime | None = None) -> Absence:
    """Record that ``contact`` is away, until when, and who takes the calls meanwhile.

    ``set_at`` is when the source said so (a calendar entry's time); by default, now.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DirectoryError("reason", "Say why the person is away.")
    if source not in ABSENCE_SOURCES:
        raise DirectoryError("source", f"Choose one of {', '.join(ABSENCE_SOURCES)}.")
    starts_at = starts_at or clock.now()
    if returns_at is not None and returns_at <= starts_at:
        raise DirectoryError("returns_at", "The return time must be after the start.")
    if referral_contact_id is not None:
        if referral_contact_id == contact.id:
            raise DirectoryError("referral_contact_id", "Refer calls to someone else.")
        if session.get(Contact, (contact.municipality_id, referral_contact_id)) is None:
            raise DirectoryError("referral_contact_id", "No such contact in this municipality.")
    absence = Absence(municipality_id=contact.municipality_id, contact_id=contact.id,
                      reason=reason, starts_at=starts_at, returns_at=returns_at,
                      source=source, set_at=set_at or clock.now(), set_by=set_by,
                      referral_contact_id=referral_contact_id,
                      referral_note=(referral_note or "").strip())
    session.add(absence)
    session.flush()
    return absence


def end_absence(session: Session, contact: Contact, *, at: datetime | None = None) -> int:
    """End every current absence of ``contact`` (they are back); how many were ended."""
    at = at or clock.now()
    ended = 0
    for absence in current_absences(session, contact.municipality_id, contact.id, at=at):
        absence.ended_at = at
        ended += 1
    session.flush()
    return ended


def current_absences(session: Session, municipality_id: uuid.UUID, contact_id: uuid.UUID,
                     *, at: datetime | None = None) -> list[Absence]:
    """The absences of a contact that are in force at ``at`` (now), latest set first."""
    at = at or clock.now()
    return list(session.scalars(
        select(Absence)
        .where(Absence.municipality_id == municipality_id, Absence.contact_id == contact_id,
               Absence.ended_at.is_(None), Absence.starts_at <= at,
               (Absence.returns_at.is_(None)) | (Absence.returns_at > at))
        .order_by(Absence.set_at.desc())
    ))


def opening_status(hours: Sequence[Interval], at: datetime | None = None) -> dict[str, Any]:
    """Open now, closing when; or closed, why, and when it opens next.

    Public holidays and the eves Swedish offices close on (midsommarafton, julafton,
    nyårsafton) count as closed whatever the weekly hours say.
    """
    now = (at or clock.now()).astimezone(LOCAL_TIME)
    if not hours:
        return {"status": "unknown"}
    today = now.date()
    holiday = holiday_name(today)
    if holiday is None:
        for interval in hours:
            on_today = interval.weekday == today.weekday()
            if on_today and interval.opens <= now.time() < interval.closes:
                return {"status": "open", "closes_at": interval.closes.strftime("%H:%M"),
                        "holiday": None}
    next_opening = _next_opening(hours, now)
    return {
        "status": "closed",
        "holiday": holiday,
        "opens_at": next_opening.isoformat() if next_opening else None,
    }


def holiday_name(day: date) -> str | None:
    """The Swedish name of the public holiday (or closed eve) on ``day``, if any."""
    return _holidays(day.year).get(day)


@functools.cache
def _holidays(year: int) -> holidays.HolidayBase:
    return holidays.Sweden(years=year, language="sv", categories=("public", "de_facto"))


def _next_opening(hours: Sequence[Interval], now: datetime) -> datetime | None:
    for days_ahead in range(0, 15):
        day = now.date() + timedelta(days=days_ahead)
        if holiday_name(day) is not None:
            continue
        for interval in sorted(hours, key=lambda h: h.opens):
            if interval.weekday != day.weekday():
                continue
            opens = datetime.combine(day, interval.opens, tzinfo=LOCAL_TIME)
            if opens > now:
                return opens
    return None
