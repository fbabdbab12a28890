"""The waitlist: members wait for a taken slot; when it frees up, the first one waiting is
offered it and has ``offer_minutes`` to accept (which books it through the normal rules).

An offer does not hold the slot: anyone may still book it first, and accepting then fails with
``overlap`` (the member is told so, the entry stays expired). :func:`offer_freed_slots` is
level-triggered — it derives everything from the database — and runs in each scheduler pass
and right after a cancellation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from tierslieu.booking import store
from tierslieu.booking.notify import publish_after_commit
from tierslieu.booking.rules import overlaps
from tierslieu.booking.service import create_booking, is_staff, preview_booking, violation_error
from tierslieu.errors import Conflict, NotFound
from tierslieu.events import EventHub
from tierslieu.models import Booking, Member, WaitlistEntry
from tierslieu.models.booking import WAITLIST_OPEN_STATUSES
from tierslieu.outbox.booking import waitlist_offered
from tierslieu.services.sites import ALL_SITES, SiteScope, check_own_or_staff_at, site_of_resource

__all__ = ["accept_offer", "join", "leave", "list_entries", "offer_freed_slots"]


def _event(action: str, entry: WaitlistEntry) -> dict[str, Any]:
    return {
        "action": action,
        "entry_id": entry.id,
        "resource_id": entry.resource_id,
        "member_id": entry.member_id,
        "start": entry.start.isoformat(),
        "end": entry.end.isoformat(),
        "status": entry.status,
        "offer_expires_at": entry.offer_expires_at.isoformat() if entry.offer_expires_at else None,
    }


def join(
    session: Session,
    *,
    actor: Member,
    resource_id: int,
    member_id: int | None,
    start: datetime,
    end: datetime,
    now: datetime,
    tz: ZoneInfo,
) -> WaitlistEntry:
    """Wait for ``[start, end)``. Only a slot that is taken can be waited for (a free one is
    a 409 ``slot_available``: book it), and every other rule must already pass."""
    verdict = preview_booking(
        session, actor=actor, resource_id=resource_id, member_id=member_id, start=start, end=end, now=now, tz=tz
    )
    if verdict.ok:
        raise Conflict("slot_available")
    if any(v.code != "overlap" for v in verdict.violations):
        raise violation_error(verdict, ignore=frozenset({"overlap"}))
    who = member_id if member_id is not None else actor.id
    assert who is not None
    duplicate = session.exec(
        select(WaitlistEntry.id).where(
            WaitlistEntry.member_id == who,
            WaitlistEntry.resource_id == resource_id,
            WaitlistEntry.start == start,
            WaitlistEntry.end == end,
            col(WaitlistEntry.status).in_(WAITLIST_OPEN_STATUSES),
        )
    ).first()
    if duplicate is not None:
        raise Conflict("already_waiting")
    entry = WaitlistEntry(resource_id=resource_id, member_id=who, start=start, end=end, created_at=now)
    session.add(entry)
    session.flush()
    return entry


def _visible(session: Session, actor: Member, entry_id: int) -> WaitlistEntry:
    entry = session.get(WaitlistEntry, entry_id, with_for_update=True)
    not_found = NotFound("waitlist_entry_not_found", id=entry_id)
    if entry is None:
        raise not_found
    check_own_or_staff_at(actor, entry.member_id, site_of_resource(session, entry.resource_id), ALL_SITES, not_found)
    return entry


def list_entries(
    session: Session, actor: Member, *, open_only: bool = True, scope: SiteScope = ALL_SITES
) -> Sequence[WaitlistEntry]:
    """The actor's entries (staff: everyone's at the sites of ``scope``), oldest first."""
    query = select(WaitlistEntry).where(scope.where_resource(WaitlistEntry.resource_id))
    if not is_staff(actor):
        query = query.where(WaitlistEntry.member_id == actor.id)
    if open_only:
        query = query.where(col(WaitlistEntry.status).in_(WAITLIST_OPEN_STATUSES))
    return session.exec(query.order_by(col(WaitlistEntry.created_at), col(WaitlistEntry.id)).limit(1000)).all()


def leave(session: Session, actor: Member, entry_id: int) -> WaitlistEntry:
    entry = _visible(session, actor, entry_id)
    if entry.status in WAITLIST_OPEN_STATUSES:
        entry.status = "cancelled"
        session.add(entry)
        session.flush()
    return entry


def accept_offer(
    session: Session, actor: Member, entry_id: int, *, now: datetime, tz: ZoneInfo, events: EventHub | None = None
) -> Booking:
    """Book the offered slot (all booking rules apply again). A missed or withdrawn offer is a
    409 ``offer_expired``; a slot someone booked meanwhile is a 409 ``overlap``."""
    entry = _visible(session, actor, entry_id)
    if entry.status != "offered" or entry.offer_expires_at is None or entry.offer_expires_at <= now:
        raise Conflict("offer_expired", extra={"status": entry.status})
    booking, _verdict = create_booking(
        session,
        actor=actor,
        resource_id=entry.resource_id,
        member_id=entry.member_id,
        start=entry.start,
        end=entry.end,
        note="liste d'attente",
        now=now,
        tz=tz,
        events=events,
    )
    entry.status, entry.booking_id = "accepted", booking.id
    session.add(entry)
    session.flush()
    publish_after_commit(session, events, "waitlist", _event("accepted", entry))
    return booking


def _expire(session: Session, now: datetime, events: EventHub | None) -> list[WaitlistEntry]:
    stale = session.exec(
        select(WaitlistEntry).where(
            col(WaitlistEntry.status).in_(WAITLIST_OPEN_STATUSES),
            (col(WaitlistEntry.start) <= now) | (col(WaitlistEntry.offer_expires_at) <= now),
        )
    ).all()
    for entry in stale:
        entry.status = "expired"
        session.add(entry)
        publish_after_commit(session, events, "waitlist", _event("expired", entry))
    return list(stale)


def offer_freed_slots(
    session: Session,
    now: datetime,
    *,
    offer_minutes: int,
    events: EventHub | None = None,
    resource_ids: Sequence[int] | None = None,
) -> list[WaitlistEntry]:
    """Expire stale entries and offers, then offer each free slot to the first member waiting
    for it. Returns the entries offered in this call (none when run again at once)."""
    _expire(session, now, events)
    query = select(WaitlistEntry).where(col(WaitlistEntry.status).in_(WAITLIST_OPEN_STATUSES))
    if resource_ids is not None:
        query = query.where(col(WaitlistEntry.resource_id).in_(list(resource_ids)))
    entries = session.exec(query.order_by(col(WaitlistEntry.created_at), col(WaitlistEntry.id))).all()
    rules = store.RulesCache(session)
    held = [e for e in entries if e.status == "offered"]
    offered = []
    for entry in entries:
        if entry.status != "waiting":
            continue
        buffer = rules(entry.resource_id).buffer_minutes
        if any(e.resource_id == entry.resource_id and overlaps(e.start, e.end, entry.start, entry.end) for e in held):
            continue  # someone ahead in the queue already has this slot on offer
        taken = store.clashing_bookings(session, entry.resource_id, entry.start, entry.end, buffer)
        if any(overlaps(entry.start, entry.end, b.start, b.end, buffer) for b in taken):
            continue
        entry.status, entry.offered_at = "offered", now
        entry.offer_expires_at = min(now + timedelta(minutes=offer_minutes), entry.start)
        session.add(entry)
        held.append(entry)
        offered.append(entry)
        publish_after_commit(session, events, "waitlist", _event("offered", entry))
    session.flush()
    for entry in offered:
        waitlist_offered(session, entry, now)
    return offered
