"""Database reads the booking engine needs, and the conversions to the pure rules' values.

Every overlap query goes through ``ix_booking_resource_block`` (resource, block_start,
block_end); quota queries through ``ix_booking_member_start``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from tierslieu.booking.rules import ACTIVE_STATUSES, EffectiveRules, ExistingBooking, MemberFacts
from tierslieu.models import Booking, Member, Resource
from tierslieu.services import members as member_service
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import roles_at

__all__ = [
    "IN_PROGRESS_STATUSES",
    "QUOTA_STATUSES",
    "RulesCache",
    "block_of",
    "clashing_bookings",
    "in_progress",
    "member_facts",
    "member_quota_bookings",
    "to_existing",
]

QUOTA_STATUSES = (*ACTIVE_STATUSES, "completed")
# A booking that is happening: approved (a pending request does not open rooms or printers).
IN_PROGRESS_STATUSES = ("confirmed", "checked_in")
# Quotas look at the ISO weeks a request touches: a week on either side is enough.
_QUOTA_MARGIN = timedelta(days=8)


def block_of(start: datetime, end: datetime, buffer_minutes: int) -> tuple[datetime, datetime]:
    """The slot a booking holds: widened by HALF the buffer on each side, so two blocks
    overlap exactly when ``rules.overlaps(..., buffer_minutes)`` says the bookings clash."""
    half = timedelta(minutes=buffer_minutes) / 2
    return start - half, end + half


def to_existing(booking: Booking) -> ExistingBooking:
    assert booking.id is not None
    return ExistingBooking(
        id=booking.id,
        resource_id=booking.resource_id,
        member_id=booking.member_id,
        start=booking.start,
        end=booking.end,
        status=booking.status,
    )


def in_progress(session: Session, now: datetime, resource_ids: Iterable[int] | None = None) -> Sequence[Booking]:
    """Approved bookings with ``start <= now < end`` (of the given resources, or all)."""
    query = select(Booking).where(
        col(Booking.status).in_(IN_PROGRESS_STATUSES), col(Booking.start) <= now, col(Booking.end) > now
    )
    if resource_ids is not None:
        query = query.where(col(Booking.resource_id).in_(list(resource_ids)))
    return session.exec(query).all()


def member_facts(session: Session, member: Member, site_id: int | None = None) -> MemberFacts:
    """What the rules know of the member, with their roles at the resource's site."""
    assert member.id is not None
    roles = roles_at(member, site_id) if site_id is not None else frozenset(member.roles)
    return MemberFacts(id=member.id, roles=roles, trainings=member_service.trainings_of(session, member.id))


def clashing_bookings(
    session: Session, resource_id: int, start: datetime, end: datetime, buffer_minutes: int
) -> Sequence[Booking]:
    """Active bookings of the resource whose block meets ``[start, end)`` plus a full buffer
    (a superset of the real clashes, which ``evaluate_booking`` then decides)."""
    pad = timedelta(minutes=buffer_minutes)
    query = select(Booking).where(
        Booking.resource_id == resource_id,
        col(Booking.block_start) < end + pad,
        col(Booking.block_end) > start - pad,
        col(Booking.status).in_(ACTIVE_STATUSES),
    )
    return session.exec(query).all()


def member_quota_bookings(
    session: Session, member_id: int, start: datetime, end: datetime, now: datetime, rules: EffectiveRules
) -> list[Booking]:
    """The member's bookings the quota rules need, and no more: those in the weeks around
    ``[start, end)`` when there is an hours-per-week limit, and up to ``max_active_bookings + 1``
    upcoming active ones when there is a count limit (a busy member may have hundreds)."""
    found: dict[int | None, Booking] = {}
    if rules.max_hours_per_week is not None:
        around = select(Booking).where(
            Booking.member_id == member_id,
            col(Booking.status).in_(QUOTA_STATUSES),
            col(Booking.start) < end + _QUOTA_MARGIN,
            col(Booking.end) > start - _QUOTA_MARGIN,
        )
        found.update((b.id, b) for b in session.exec(around).all())
    if rules.max_active_bookings is not None:
        upcoming = (
            select(Booking)
            .where(Booking.member_id == member_id, col(Booking.status).in_(ACTIVE_STATUSES), col(Booking.end) > now)
            .order_by(col(Booking.start))
            .limit(rules.max_active_bookings + 1)
        )
        found.update((b.id, b) for b in session.exec(upcoming).all())
    return list(found.values())


class RulesCache:
    """Effective rules per resource, computed once per pass or request."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._rules: dict[int, EffectiveRules] = {}

    def __call__(self, resource_id: int) -> EffectiveRules:
        if resource_id not in self._rules:
            resource = space_service.get_resource(self._session, resource_id)
            self._rules[resource_id] = space_service.resource_rules(self._session, resource)
        return self._rules[resource_id]

    def resources(self, resource_ids: Iterable[int]) -> dict[int, Resource]:
        ids = list(resource_ids)
        if not ids:
            return {}
        rows = self._session.exec(select(Resource).where(col(Resource.id).in_(ids))).all()
        return {r.id: r for r in rows if r.id is not None}
