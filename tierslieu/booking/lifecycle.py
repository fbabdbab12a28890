"""What happens to a booking after it is made: cancel, check in, approve, reject — and the
queries the door/desk access controller asks (who may be in this room now?).

Transitions lock the row (``FOR UPDATE`` on PostgreSQL; SQLite write sessions are already
serialized) so a member checking in and the scheduler releasing a no-show cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from tierslieu.booking import store
from tierslieu.booking.notify import booking_event, publish_after_commit
from tierslieu.booking.rules import ACTIVE_STATUSES
from tierslieu.booking.schedule import utc
from tierslieu.booking.service import is_staff
from tierslieu.booking.waitlist import offer_freed_slots
from tierslieu.errors import Conflict, NotFound, PermissionDenied
from tierslieu.events import EventHub
from tierslieu.i18n import Message
from tierslieu.models import Booking, Member
from tierslieu.outbox.booking import booking_decided
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import ALL_SITES, SiteScope, check_own_or_staff_at, is_staff_at, site_of_resource

__all__ = [
    "BookingFilter",
    "active_bookings_at",
    "approve",
    "bookings_in_space_now",
    "cancel",
    "checkin",
    "checkin_active_booking",
    "get_visible",
    "list_bookings",
    "reject",
]

# Statuses that open a door: a pending request does not.
ACCESS_STATUSES = ("confirmed", "checked_in")
# The longest access lead we look back for when asking "who is booked now?" (rules cap it lower).
_MAX_LOOKAHEAD = timedelta(days=1)


def get_visible(
    session: Session, actor: Member, booking_id: int, *, lock: bool = False, scope: SiteScope = ALL_SITES
) -> Booking:
    """The booking if the actor may see it (their own, or any of their sites for staff); 404
    otherwise, so members cannot probe other people's bookings — 403 ``site_forbidden`` for
    staff asking for another site's (or for a site left out by ``?site_id=``)."""
    booking = session.get(Booking, booking_id, with_for_update=lock or None)
    not_found = NotFound("booking_not_found", id=booking_id)
    if booking is None:
        raise not_found
    check_own_or_staff_at(actor, booking.member_id, site_of_resource(session, booking.resource_id), scope, not_found)
    return booking


@dataclass(frozen=True)
class BookingFilter:
    resource_id: int | None = None
    member_id: int | None = None
    space_id: int | None = None
    start: datetime | None = None  # bookings ending after this instant
    end: datetime | None = None  # bookings starting before this instant
    statuses: Sequence[str] = ()
    limit: int = 500
    offset: int = 0


def list_bookings(
    session: Session, actor: Member, wanted: BookingFilter, scope: SiteScope = ALL_SITES
) -> Sequence[Booking]:
    """Bookings matching the filter, by start. Members only list their own (asking for
    someone else's is a 403); staff list everyone's at the sites of ``scope``."""
    member_id = wanted.member_id
    if not is_staff(actor):
        if member_id is not None and member_id != actor.id:
            raise PermissionDenied("forbidden", msgid="forbidden.own_bookings")
        member_id = actor.id
    query = select(Booking).where(scope.where_resource(Booking.resource_id))
    if wanted.resource_id is not None:
        query = query.where(Booking.resource_id == wanted.resource_id)
    if member_id is not None:
        query = query.where(Booking.member_id == member_id)
    if wanted.space_id is not None:
        resources = [r.id for r in space_service.list_resources(session, space_id=wanted.space_id)]
        query = query.where(col(Booking.resource_id).in_(resources))
    if wanted.start is not None:
        query = query.where(col(Booking.end) > wanted.start)
    if wanted.end is not None:
        query = query.where(col(Booking.start) < wanted.end)
    if wanted.statuses:
        query = query.where(col(Booking.status).in_(list(wanted.statuses)))
    query = query.order_by(col(Booking.start), col(Booking.id)).offset(wanted.offset).limit(wanted.limit)
    return session.exec(query).all()


def _cannot(booking: Booking, msgid: str) -> Conflict:
    status = Message(f"booking_status.{booking.status}")
    return Conflict("invalid_transition", msgid=msgid, status=status, extra={"status": booking.status})


def cancel(
    session: Session,
    actor: Member,
    booking_id: int,
    *,
    now: datetime,
    reason: str = "",
    events: EventHub | None = None,
    offer_minutes: int | None = None,
) -> Booking:
    """Cancel a pending or confirmed booking (the member's own, or any for staff). A booking
    in progress is ended early instead (``completed``), which frees the rest of the slot.
    With ``offer_minutes`` the freed slot is offered to the waitlist at once."""
    booking = get_visible(session, actor, booking_id, lock=True)
    if booking.status == "checked_in":
        booking.status, booking.ended_at = "completed", utc(now)
    elif booking.status in ("pending", "confirmed") and booking.end > now:
        booking.status = "cancelled"
    else:
        raise _cannot(booking, msgid="invalid_transition.cancel")
    booking.reason, booking.decided_by = reason, actor.id
    _saved(session, booking, "cancelled", events)
    if offer_minutes is not None:
        offer_freed_slots(session, now, offer_minutes=offer_minutes, events=events, resource_ids=[booking.resource_id])
    return booking


def checkin(
    session: Session, actor: Member, booking_id: int, *, now: datetime, events: EventHub | None = None
) -> Booking:
    """The member says they are here (in the app). Allowed from ``access_lead_minutes`` before
    the start until the end; checking in twice is harmless."""
    booking = get_visible(session, actor, booking_id, lock=True)
    if booking.status == "checked_in":
        return booking
    if booking.status == "pending":
        raise Conflict("not_approved")
    if booking.status != "confirmed":
        raise _cannot(booking, msgid="invalid_transition.checkin")
    lead = timedelta(minutes=store.RulesCache(session)(booking.resource_id).access_lead_minutes)
    if not booking.start - lead <= now < booking.end:
        raise Conflict("checkin_not_open")
    booking.status, booking.checked_in_at = "checked_in", utc(now)
    return _saved(session, booking, "checked_in", events)


def _decide(session: Session, actor: Member, booking_id: int, approve: bool, reason: str) -> Booking:
    booking = get_visible(session, actor, booking_id, lock=True)
    if not is_staff_at(actor, site_of_resource(session, booking.resource_id)):
        raise PermissionDenied("site_forbidden")  # their own request, at a site they do not run
    if booking.status != "pending":
        raise _cannot(booking, msgid="invalid_transition.approve" if approve else "invalid_transition.reject")
    booking.status = "confirmed" if approve else "cancelled"
    booking.decided_by, booking.reason = actor.id, reason
    return booking


def approve(
    session: Session, actor: Member, booking_id: int, *, reason: str = "", events: EventHub | None = None
) -> Booking:
    """Staff confirm a pending request (the caller's policy ensures the actor is staff)."""
    booking = _saved(session, _decide(session, actor, booking_id, True, reason), "approved", events)
    booking_decided(session, booking, approved=True)
    return booking


def reject(
    session: Session, actor: Member, booking_id: int, *, reason: str = "", events: EventHub | None = None
) -> Booking:
    """Staff turn down a pending request: it becomes ``cancelled`` with the reason given."""
    booking = _saved(session, _decide(session, actor, booking_id, False, reason), "rejected", events)
    booking_decided(session, booking, approved=False)
    return booking


def _saved(session: Session, booking: Booking, action: str, events: EventHub | None) -> Booking:
    session.add(booking)
    session.flush()
    publish_after_commit(session, events, "booking", booking_event(action, booking))
    return booking


# --------------------------------------------------------------------------- access queries


def active_bookings_at(session: Session, resource_ids: Iterable[int], at: datetime) -> list[Booking]:
    """Confirmed or checked-in bookings that let their member in at ``at``: from
    ``access_lead_minutes`` before the start until ``overrun_minutes`` after the end."""
    ids = list(resource_ids)
    if not ids:
        return []
    rules = store.RulesCache(session)
    query = select(Booking).where(
        col(Booking.resource_id).in_(ids),
        col(Booking.status).in_(ACCESS_STATUSES),
        col(Booking.start) <= at + _MAX_LOOKAHEAD,
        col(Booking.end) > at - _MAX_LOOKAHEAD,
    )
    found = []
    for booking in session.exec(query.order_by(col(Booking.start))).all():
        effective = rules(booking.resource_id)
        opens = booking.start - timedelta(minutes=effective.access_lead_minutes)
        closes = booking.end + timedelta(minutes=effective.overrun_minutes)
        if opens <= at < closes:
            found.append(booking)
    return found


def bookings_in_space_now(session: Session, space_id: int, at: datetime) -> list[Booking]:
    """:func:`active_bookings_at` for every resource in the space and the spaces inside it."""
    resources = space_service.list_resources(session, space_id=space_id)
    return active_bookings_at(session, [r.id for r in resources if r.id is not None], at)


def checkin_active_booking(
    session: Session, member_id: int, resource_ids: Iterable[int], now: datetime, *, events: EventHub | None = None
) -> Booking | None:
    """For the badge readers: check the member in on their booking active now on one of
    ``resource_ids`` (already checked in counts too). ``None`` when they have none."""
    for booking in active_bookings_at(session, resource_ids, now):
        if booking.member_id != member_id:
            continue
        locked = session.get(Booking, booking.id, with_for_update=True, populate_existing=True)
        if locked is None or locked.status not in ACTIVE_STATUSES:
            continue
        if locked.status == "confirmed":
            locked.status, locked.checked_in_at = "checked_in", utc(now)
            _saved(session, locked, "checked_in", events)
        return locked
    return None
