"""The public agenda: upcoming public sessions and their seats left, readable without an
account (the town's website, the CCAS, the kiosk). Nothing personal: no names, no leader, no
registrations — only what a poster on the door would say."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlmodel import Session, col, select

from tierslieu.booking.calendar import PRODID
from tierslieu.models import Resource, Workshop, WorkshopSession
from tierslieu.models.programme import SessionStatus
from tierslieu.services.sites import ALL_SITES, SiteScope

__all__ = ["PublicSession", "agenda_ics", "public_sessions"]

MAX_SESSIONS = 500
DEFAULT_AHEAD = timedelta(days=92)


@dataclass(frozen=True)
class PublicSession:
    id: int
    workshop_id: int
    title: str
    description: str
    themes: list[str]
    publics: list[str]
    start: datetime
    end: datetime
    place: str
    capacity: int
    seats_left: int


def public_sessions(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    only_available: bool = False,
    scope: SiteScope = ALL_SITES,
) -> list[PublicSession]:
    """Scheduled public sessions ending after ``since`` and starting before ``until``, in order."""
    query = (
        select(WorkshopSession, Workshop, Resource.name)
        .join(Workshop, col(Workshop.id) == WorkshopSession.workshop_id)
        .join(Resource, col(Resource.id) == WorkshopSession.resource_id)
        .where(
            col(WorkshopSession.public).is_(True),
            col(Workshop.active).is_(True),
            WorkshopSession.status == SessionStatus.scheduled.value,
            col(WorkshopSession.end) > since,
            col(WorkshopSession.start) < until,
            scope.where_resource(WorkshopSession.resource_id),
        )
        .order_by(col(WorkshopSession.start), col(WorkshopSession.id))
        .limit(MAX_SESSIONS)
    )
    found = []
    for ws, workshop, place in session.exec(query).all():
        assert ws.id is not None
        left = max(ws.capacity - ws.seats_taken, 0)
        if only_available and left == 0:
            continue
        found.append(
            PublicSession(
                id=ws.id,
                workshop_id=ws.workshop_id,
                title=workshop.title,
                description=workshop.description,
                themes=list(workshop.themes),
                publics=list(workshop.publics),
                start=ws.start,
                end=ws.end,
                place=place,
                capacity=ws.capacity,
                seats_left=left,
            )
        )
    return found


def agenda_ics(sessions: Sequence[PublicSession], *, name: str, now: datetime, tz_key: str) -> bytes:
    """The same sessions as an iCalendar feed (RFC 5545) that calendars can subscribe to."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", tz_key)
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for item in sessions:
        event = Event()
        event.add("uid", f"session-{item.id}@tierslieu")
        event.add("dtstamp", now)
        event.add("dtstart", item.start)
        event.add("dtend", item.end)
        event.add("summary", item.title)
        event.add("description", item.description)
        event.add("location", item.place)
        event.add("categories", item.themes or ["Atelier"])
        event.add("status", "CONFIRMED")
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return bytes(calendar.to_ical())
