"""The booking engine's messages through the outbox: a waitlist offer, an approved or a
rejected request. Called by the booking services inside their transaction."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from tierslieu.db.types import utcnow
from tierslieu.models import Booking, Member, Resource, WaitlistEntry
from tierslieu.outbox.compose import Invite
from tierslieu.outbox.store import enqueue, recipient_of

__all__ = ["booking_decided", "waitlist_offered"]


def _resource_name(session: Session, resource_id: int) -> str:
    resource = session.get(Resource, resource_id)
    return resource.name if resource else str(resource_id)


def waitlist_offered(session: Session, entry: WaitlistEntry, now: datetime | None = None) -> None:
    """Tell the member a slot they wait for is free, until when it is held for them."""
    member = session.get(Member, entry.member_id)
    if member is None or entry.offer_expires_at is None:
        return
    resource = _resource_name(session, entry.resource_id)
    to = recipient_of(member)
    enqueue(
        session,
        # One message per offer (an entry is offered once: the next offer is a new entry).
        key=f"booking_offered:{entry.id}",
        kind="booking_offered",
        to=to,
        params={
            "resource": resource,
            "start": entry.start.isoformat(),
            "end": entry.end.isoformat(),
            "expires": entry.offer_expires_at.isoformat(),
        },
        invite=Invite(
            uid=f"waitlist-{entry.id}@tierslieu",
            start=entry.start.isoformat(),
            end=entry.end.isoformat(),
            summary="ics.booking_offered",
            location=resource,
        ),
        now=now,
    )


def booking_decided(session: Session, booking: Booking, approved: bool) -> None:
    """Tell the member staff approved (with the .ics) or turned down their request."""
    member = session.get(Member, booking.member_id)
    if member is None:
        return
    kind = "booking_approved" if approved else "booking_rejected"
    resource = _resource_name(session, booking.resource_id)
    now = utcnow()
    to = recipient_of(member)
    enqueue(
        session,
        key=f"{kind}:{booking.id}",
        kind=kind,
        to=to,
        params={
            "resource": resource,
            "start": booking.start.isoformat(),
            "end": booking.end.isoformat(),
            "reason": booking.reason or "",
        },
        invite=Invite(
            uid=f"booking-{booking.id}@tierslieu",
            start=booking.start.isoformat(),
            end=booking.end.isoformat(),
            summary="ics.booking",
            location=resource,
        )
        if approved
        else None,
        now=now,
    )
