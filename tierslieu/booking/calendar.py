"""iCalendar (RFC 5545) feeds of bookings, for calendar clients (Thunderbird, Google, Outlook).

Two feeds: a member's own bookings (by a secret URL, since calendar clients cannot log in),
and a resource's busy times (no names: the resource feed is readable by any member). Feed
URLs carry an HMAC token derived from the secret key (``Secrets.url_token``); rotating
``Member.calendar_salt`` revokes a member's URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Component, Event
from sqlmodel import Session, col, select

from tierslieu.booking.rules import ACTIVE_STATUSES
from tierslieu.models import Booking, Member, Resource
from tierslieu.security import Secrets
from tierslieu.text import CONTROL_CHARACTERS

__all__ = [
    "check_member_feed_token",
    "event_ics",
    "member_feed",
    "member_feed_token",
    "parse_feed",
    "resource_feed",
    "resource_feed_token",
]

PRODID = "-//Tiers-lieu de Trilport//tierslieu//FR"
PAST = timedelta(days=31)
AHEAD = timedelta(days=366)
MAX_EVENTS = 2000
# Clients show a cancelled event as removed; the finished states stay as they happened.
_ICAL_STATUS = {
    "pending": "TENTATIVE",
    "confirmed": "CONFIRMED",
    "checked_in": "CONFIRMED",
    "completed": "CONFIRMED",
    "cancelled": "CANCELLED",
    "no_show": "CANCELLED",
}


def member_feed_token(secrets: Secrets, member: Member) -> str:
    return secrets.url_token("calendar", f"{member.id}:{member.calendar_salt}")


def check_member_feed_token(secrets: Secrets, member: Member, token: str) -> bool:
    return secrets.check_url_token("calendar", f"{member.id}:{member.calendar_salt}", token)


def resource_feed_token(secrets: Secrets, resource_id: int) -> str:
    return secrets.url_token("calendar-resource", str(resource_id))


def _text(value: str) -> str:
    """One line of text: a CR or LF stored before names were checked must not break a feed."""
    return CONTROL_CHARACTERS.sub(" ", value)


def _calendar(name: str, tz: ZoneInfo) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _text(name))
    calendar.add("x-wr-timezone", tz.key)
    # Ask clients to refresh hourly (RFC 7986 REFRESH-INTERVAL and the older Microsoft hint).
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    return calendar


def _event(booking: Booking, summary: str, location: str, now: datetime) -> Event:
    event = Event()
    event.add("uid", f"booking-{booking.id}@tierslieu")
    event.add("dtstamp", now)
    event.add("dtstart", booking.start)
    event.add("dtend", booking.end)
    event.add("summary", _text(summary))
    event.add("location", _text(location))
    event.add("status", _ICAL_STATUS.get(booking.status, "CONFIRMED"))
    event.add("transp", "OPAQUE")
    return event


def event_ics(
    *, uid: str, start: datetime, end: datetime, summary: str, location: str, now: datetime, cancelled: bool = False
) -> bytes:
    """A calendar holding one event (attached to e-mails). The same ``uid`` in a later message
    updates the event in the person's calendar; ``cancelled`` removes it."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    event.add("location", location)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def _window(now: datetime) -> tuple[datetime, datetime]:
    return now - PAST, now + AHEAD


def member_feed(session: Session, member: Member, *, now: datetime, tz: ZoneInfo) -> bytes:
    """The member's bookings from a month ago to a year ahead, cancelled ones included (so
    clients that synced them remove them)."""
    since, until = _window(now)
    rows = session.exec(
        select(Booking, Resource.name)
        .join(Resource, col(Resource.id) == Booking.resource_id)
        .where(Booking.member_id == member.id, col(Booking.end) > since, col(Booking.start) < until)
        .order_by(col(Booking.start))
        .limit(MAX_EVENTS)
    ).all()
    calendar = _calendar(f"Mes réservations — {member.name}", tz)
    for booking, resource_name in rows:
        summary = f"Réservation : {resource_name}"
        if booking.status == "pending":
            summary += " (en attente de validation)"
        calendar.add_component(_event(booking, summary, resource_name, now))
    return bytes(calendar.to_ical())


def resource_feed(session: Session, resource: Resource, *, now: datetime, tz: ZoneInfo) -> bytes:
    """When the resource is taken (active bookings), without saying by whom."""
    since, until = _window(now)
    bookings = session.exec(
        select(Booking)
        .where(
            Booking.resource_id == resource.id,
            col(Booking.status).in_(ACTIVE_STATUSES),
            col(Booking.block_end) > since,
            col(Booking.block_start) < until,
        )
        .order_by(col(Booking.start))
        .limit(MAX_EVENTS)
    ).all()
    calendar = _calendar(f"{resource.name} — réservations", tz)
    labels: Mapping[str, str] = {"pending": "Demande en attente"}
    for booking in bookings:
        calendar.add_component(_event(booking, labels.get(booking.status, "Réservé"), resource.name, now))
    return bytes(calendar.to_ical())


def parse_feed(data: bytes) -> Sequence[Component]:
    """The events of a feed (used by tests to check what clients will read)."""
    return list(Calendar.from_ical(data).walk("VEVENT"))
