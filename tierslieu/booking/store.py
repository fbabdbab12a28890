"""Database reads the booking engine needs, and the conversions to the pure rules' values.

Every overlap query goes through ``ix_booking_resource_block`` (resource, block_start,
block_end); quota queries through ``ix_booking_member_start``; a booking's judgement reads both
in one statement (:func:`bookings_to_judge`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnClause, ColumnElement, Select
from sqlmodel import Session, col, select

from tierslieu.booking.rules import ACTIVE_STATUSES, EffectiveRules, ExistingBooking, MemberFacts
from tierslieu.db.driver import DriverStatement
from tierslieu.models import Booking, Member, Resource
from tierslieu.services import members as member_service
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import roles_at

__all__ = [
    "IN_PROGRESS_STATUSES",
    "QUOTA_STATUSES",
    "RulesCache",
    "block_of",
    "bookings_to_judge",
    "clashing_bookings",
    "in_progress",
    "member_facts",
]

QUOTA_STATUSES = (*ACTIVE_STATUSES, "completed")
# A booking that is happening: approved (a pending request does not open rooms or printers).
IN_PROGRESS_STATUSES = ("confirmed", "checked_in")
# Quotas look at the ISO weeks a request touches: a week on either side is enough.
_QUOTA_MARGIN = timedelta(days=8)


def _status_in(statuses: Iterable[str]) -> ColumnElement[bool]:
    """``booking.status IN ('pending', …)`` with the statuses written into the SQL: a list of
    values is otherwise a parameter SQLAlchemy expands at every execution (about 0.1 ms of a
    booking's request), even for a statement compiled once."""
    assert all(status.isidentifier() for status in statuses)  # our constants: nothing to quote
    return col(Booking.status).in_([sa.literal_column(f"'{status}'") for status in statuses])


def block_of(start: datetime, end: datetime, buffer_minutes: int) -> tuple[datetime, datetime]:
    """The slot a booking holds: widened by HALF the buffer on each side, so two blocks
    overlap exactly when ``rules.overlaps(..., buffer_minutes)`` says the bookings clash."""
    half = timedelta(minutes=buffer_minutes) / 2
    return start - half, end + half


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


def _clashing(resource_id: Any, blocks_until: Any, blocks_from: Any) -> list[ColumnElement[bool]]:
    """Active bookings of the resource whose block meets ``[blocks_from, blocks_until)`` (values,
    or bound parameters in a statement built once)."""
    return [
        col(Booking.resource_id) == resource_id,
        col(Booking.block_start) < blocks_until,
        col(Booking.block_end) > blocks_from,
        _status_in(ACTIVE_STATUSES),
    ]


def clashing_bookings(
    session: Session, resource_id: int, start: datetime, end: datetime, buffer_minutes: int
) -> Sequence[Booking]:
    """Active bookings of the resource whose block meets ``[start, end)`` plus a full buffer
    (a superset of the real clashes, which ``evaluate_booking`` then decides)."""
    pad = timedelta(minutes=buffer_minutes)
    return session.exec(select(Booking).where(*_clashing(resource_id, end + pad, start - pad))).all()


_JUDGED = tuple(
    col(column)
    for column in (Booking.id, Booking.resource_id, Booking.member_id, Booking.start, Booking.end, Booking.status)
)


@cache
def _judge_statement(week_quota: bool, count_quota: bool) -> DriverStatement:
    """The statement of :func:`bookings_to_judge` for one shape of rules, built once: building
    a select costs more Python than running this one (its parameters are bound at execution)."""
    p = sa.bindparam
    clash: ColumnClause[int] = sa.literal_column("1")
    quota: ColumnClause[int] = sa.literal_column("2")
    parts: list[Select[*tuple[Any, ...]]] = [
        sa.select(clash.label("part"), *_JUDGED).where(*_clashing(p("resource_id"), p("clash_until"), p("clash_from")))
    ]
    if week_quota:
        parts.append(
            sa.select(quota, *_JUDGED).where(
                col(Booking.member_id) == p("member_id"),
                _status_in(QUOTA_STATUSES),
                col(Booking.start) < p("around_until"),
                col(Booking.end) > p("around_from"),
            )
        )
    if count_quota:
        upcoming = (
            sa.select(*_JUDGED)
            .where(col(Booking.member_id) == p("member_id"), _status_in(ACTIVE_STATUSES))
            .where(col(Booking.end) > p("now"))
            .order_by(col(Booking.start))
            .limit(p("upcoming_limit", type_=sa.Integer()))
            .subquery()
        )
        parts.append(sa.select(quota, *upcoming.c))
    return DriverStatement(parts[0] if len(parts) == 1 else sa.union_all(*parts))


def bookings_to_judge(
    session: Session,
    resource_id: int,
    member_id: int,
    start: datetime,
    end: datetime,
    now: datetime,
    rules: EffectiveRules,
) -> tuple[list[ExistingBooking], list[ExistingBooking]]:
    """In one statement (one round trip), as the rules' values: the resource's bookings that may
    clash (see :func:`clashing_bookings`), and the member's bookings the quota rules need, and no
    more — those in the weeks around ``[start, end)`` when there is an hours-per-week limit, up
    to ``max_active_bookings + 1`` upcoming active ones when there is a count limit (a busy
    member may have hundreds)."""
    pad = timedelta(minutes=rules.buffer_minutes)
    statement = _judge_statement(rules.max_hours_per_week is not None, rules.max_active_bookings is not None)
    values = {
        "resource_id": resource_id,
        "clash_until": end + pad,
        "clash_from": start - pad,
        "member_id": member_id,
        "around_until": end + _QUOTA_MARGIN,
        "around_from": start - _QUOTA_MARGIN,
        "now": now,
        "upcoming_limit": (rules.max_active_bookings or 0) + 1,
    }
    existing: list[ExistingBooking] = []
    mine: dict[object, ExistingBooking] = {}
    # On the driver's cursor: a plain read needs none of the ORM's (or SQLAlchemy's) result handling.
    for part, *row in statement.run(session, values).rows:
        booking = ExistingBooking(*row)
        if part == 1:
            existing.append(booking)
        else:
            mine[booking.id] = booking
    return existing, list(mine.values())


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
