"""Making bookings: one, a recurring series, or a walk-in at a desk reader.

Functions work on the caller's session and never commit. **Never a double booking**: on
SQLite the session must be a write session (``db.session(write=True)``, ``BEGIN IMMEDIATE``)
so check and insert are serialized; on PostgreSQL the exclusion constraint ``booking_no_overlap``
decides, and a refused insert (``23P01``, or a deadlock/serialization failure between two
racing inserts) becomes a 409 ``overlap``. After a :class:`RuleViolation` the caller rolls back.

Local time (opening hours, quotas per day, recurrences) is the resource's site's timezone; the
``tz`` the callers pass is only the fallback for a resource outside any site. The actor's and
the member's roles count at that site (``roles_at``): a staff member scoped to another site
books here as a plain member.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from tierslieu.booking import store
from tierslieu.booking.availability import free_intervals
from tierslieu.booking.notify import booking_event, publish_after_commit
from tierslieu.booking.recurrence import RecurrenceError, expand_rrule
from tierslieu.booking.rules import (
    BookingRequest,
    EffectiveRules,
    ExistingBooking,
    MemberFacts,
    Verdict,
    evaluate_booking,
)
from tierslieu.booking.schedule import utc
from tierslieu.db.rows import insert_row, new_row
from tierslieu.errors import InvalidInput, PermissionDenied, RuleViolation
from tierslieu.events import EventHub
from tierslieu.i18n import Message
from tierslieu.models import Booking, BookingSeries, Member, Resource
from tierslieu.services import members as member_service
from tierslieu.services import spaces as space_service
from tierslieu.services.members import is_staff
from tierslieu.services.sites import is_staff_at, resource_place

__all__ = [
    "Occurrence",
    "SeriesResult",
    "create_booking",
    "create_series",
    "create_walk_in",
    "is_staff",
    "occurrence_report",
    "preview_booking",
    "violation_error",
]

# SQLSTATEs meaning "another booking won the race": exclusion violation, deadlock, serialization.
RACE_SQLSTATES = frozenset({"23P01", "40P01", "40001"})
# Sanity bounds that hold whatever the rules say (and keep date arithmetic far from year 9999).
MAX_BOOKING = timedelta(days=31)
MAX_PAST = timedelta(days=366)
MAX_FUTURE = timedelta(days=366 * 11)
DEFAULT_WALK_IN_MINUTES = 240


def violation_error(verdict: Verdict, *, ignore: frozenset[str] = frozenset()) -> RuleViolation:
    """The 409 for a refused verdict: ``code`` names the first rule, every violation is listed
    (except the codes in ``ignore``)."""
    violations = [v for v in verdict.violations if v.code not in ignore]
    first = violations[0] if violations else verdict
    return RuleViolation(
        first.code or "refused",
        msgid=first.msgid,
        extra={"violations": [v.public() for v in violations]},
        **first.params,
    )


def _taken_now() -> RuleViolation:
    return RuleViolation("overlap", msgid="overlap.just_taken", extra={"violations": [{"code": "overlap"}]})


def _check_bounds(start: datetime, end: datetime, now: datetime) -> None:
    if start.utcoffset() is None or end.utcoffset() is None:
        raise InvalidInput("invalid_interval", msgid="invalid_interval.booking_timezone")
    if not (now - MAX_PAST <= start <= now + MAX_FUTURE) or not (start < end <= start + MAX_BOOKING):
        raise InvalidInput("invalid_interval")


@dataclass(frozen=True)
class _Booker:
    """Who books what, checked once: the resource, its rules, the member and their facts."""

    actor: Member
    member: Member
    facts: MemberFacts
    resource: Resource
    rules: EffectiveRules
    tz: ZoneInfo  # the resource's site's local time (opening hours, quotas per day)

    @property
    def resource_id(self) -> int:
        assert self.resource.id is not None
        return self.resource.id

    @property
    def member_id(self) -> int:
        assert self.member.id is not None
        return self.member.id


def _booker(
    session: Session, actor: Member, resource_id: int, member_id: int | None, override: bool, tz: ZoneInfo
) -> _Booker:
    # Roles count at the resource's site: a staff member scoped elsewhere books here as a member.
    site_id, site_tz = resource_place(session, resource_id, tz)
    if member_id is not None and member_id != actor.id and not is_staff_at(actor, site_id):
        raise PermissionDenied("book_for_others_forbidden")
    if override and not is_staff_at(actor, site_id):
        raise PermissionDenied("override_forbidden")
    member = actor if member_id is None or member_id == actor.id else member_service.get_member(session, member_id)
    if not member.active:
        raise RuleViolation("member_inactive")
    # Only read here (active, name, id): the cached row as it is, not a copy into the session.
    resource = space_service.cached_resource(session, resource_id)
    rules = space_service.resource_rules(session, resource)
    if not resource.active:
        raise RuleViolation("resource_unavailable", resource=resource.name)
    facts = store.member_facts(session, member, site_id)
    return _Booker(actor, member, facts, resource, rules, site_tz)


def _judge(
    session: Session,
    who: _Booker,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    override: bool,
    planned: Sequence[ExistingBooking] = (),
) -> Verdict:
    existing, mine = store.bookings_to_judge(session, who.resource_id, who.member_id, start, end, now, who.rules)
    return evaluate_booking(
        BookingRequest(who.resource_id, start, end),
        rules=who.rules,
        member=who.facts,
        existing=existing,
        member_bookings=[*mine, *planned],
        now=now,
        tz=who.tz,
        override=override,
    )


def _checked_and_judged(
    session: Session,
    actor: Member,
    resource_id: int,
    member_id: int | None,
    start: datetime,
    end: datetime,
    now: datetime,
    tz: ZoneInfo,
    override: bool,
) -> tuple[_Booker, Verdict]:
    """One request, as preview and booking both see it: bounds, permissions, then the rules."""
    _check_bounds(start, end, now)
    who = _booker(session, actor, resource_id, member_id, override, tz)
    return who, _judge(session, who, start, end, now=now, override=override)


def _new_booking(who: _Booker, start: datetime, end: datetime, verdict: Verdict, note: str, override: bool) -> Booking:
    block_start, block_end = store.block_of(utc(start), utc(end), who.rules.buffer_minutes)
    return new_row(
        Booking,
        resource_id=who.resource_id,
        member_id=who.member_id,
        start=utc(start),
        end=utc(end),
        block_start=block_start,
        block_end=block_end,
        status=verdict.status or "confirmed",
        note=note,
        override=override and bool(verdict.overridden),
        overridden=list(verdict.overridden),
        created_by=who.actor.id,
    )


def _insert(session: Session, booking: Booking, *, savepoint: bool = False) -> bool:
    """Insert; ``False`` when the database says the slot was taken meanwhile.

    A refused insert aborts the transaction on PostgreSQL. Only a caller that goes on after
    one (a partial series) needs the ``savepoint`` — two more round trips; every other caller
    raises, and the request rolls back."""
    try:
        with session.begin_nested() if savepoint else nullcontext():
            insert_row(session, booking)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) in RACE_SQLSTATES:
            return False
        raise
    return True


def preview_booking(
    session: Session,
    *,
    actor: Member,
    resource_id: int,
    member_id: int | None,
    start: datetime,
    end: datetime,
    override: bool = False,
    now: datetime,
    tz: ZoneInfo,
) -> Verdict:
    """The verdict :func:`create_booking` would give, without booking (same permission checks)."""
    _who, verdict = _checked_and_judged(session, actor, resource_id, member_id, start, end, now, tz, override)
    return verdict


def create_booking(
    session: Session,
    *,
    actor: Member,
    resource_id: int,
    member_id: int | None,
    start: datetime,
    end: datetime,
    note: str = "",
    override: bool = False,
    now: datetime,
    tz: ZoneInfo,
    events: EventHub | None = None,
) -> tuple[Booking, Verdict]:
    """Book ``[start, end)`` of a resource for ``member_id`` (default: the actor).

    Raises ``PermissionDenied`` (booking for someone else or ``override`` without being
    staff), ``NotFound``, ``InvalidInput`` (impossible interval) or ``RuleViolation`` (409,
    ``code`` = the first rule refused, ``extra["violations"]`` = all of them).
    """
    who, verdict = _checked_and_judged(session, actor, resource_id, member_id, start, end, now, tz, override)
    if not verdict.ok:
        raise violation_error(verdict)
    booking = _new_booking(who, start, end, verdict, note, override)
    if not _insert(session, booking):
        raise _taken_now()
    publish_after_commit(session, events, "booking", booking_event("created", booking))
    return booking, verdict


@dataclass
class Occurrence:
    start: datetime
    end: datetime
    verdict: Verdict
    booking: Booking | None = None


@dataclass
class SeriesResult:
    series: BookingSeries | None
    occurrences: list[Occurrence] = field(default_factory=list)

    @property
    def bookings(self) -> list[Booking]:
        return [o.booking for o in self.occurrences if o.booking is not None]


def create_series(
    session: Session,
    *,
    actor: Member,
    resource_id: int,
    member_id: int | None,
    start: datetime,
    end: datetime,
    rrule: str,
    note: str = "",
    override: bool = False,
    allow_partial: bool = False,
    now: datetime,
    tz: ZoneInfo,
    events: EventHub | None = None,
) -> SeriesResult:
    """Book every occurrence of ``rrule`` starting with ``[start, end)``, each judged on its own.

    All or nothing unless ``allow_partial``: a refused occurrence raises a 409 whose
    ``extra["occurrences"]`` lists each verdict. With ``allow_partial`` the accepted ones are
    booked (at least one must be).
    """
    _check_bounds(start, end, now)
    who = _booker(session, actor, resource_id, member_id, override, tz)
    try:
        intervals = expand_rrule(rrule, start, end, who.tz)  # "every Tuesday" in the site's local time
    except RecurrenceError as exc:
        raise InvalidInput(exc.code, msgid=exc.msgid, **exc.params) from exc
    _check_bounds(intervals[-1][0], intervals[-1][1], now)
    occurrences: list[Occurrence] = []
    planned: list[ExistingBooking] = []  # accepted occurrences count against the quotas
    for index, (occ_start, occ_end) in enumerate(intervals):
        verdict = _judge(session, who, occ_start, occ_end, now=now, override=override, planned=planned)
        occurrences.append(Occurrence(occ_start, occ_end, verdict))
        if verdict.ok:
            status = verdict.status or "confirmed"
            planned.append(ExistingBooking(f"new-{index}", who.resource_id, who.member_id, occ_start, occ_end, status))
    result = SeriesResult(None, occurrences)
    refused = [o for o in occurrences if not o.verdict.ok]
    if (refused and not allow_partial) or len(refused) == len(occurrences):
        raise _series_refused(refused, occurrences)
    result.series = BookingSeries(resource_id=who.resource_id, member_id=who.member_id, rrule=rrule)
    session.add(result.series)
    session.flush()
    for occ in occurrences:
        if not occ.verdict.ok:
            continue
        booking = _new_booking(who, occ.start, occ.end, occ.verdict, note, override)
        booking.series_id = result.series.id
        if not _insert(session, booking, savepoint=allow_partial):
            if not allow_partial:
                raise _taken_now()
            occ.verdict = _taken_verdict()
            continue
        occ.booking = booking
        publish_after_commit(session, events, "booking", booking_event("created", booking))
    if not result.bookings:
        raise _taken_now()
    return result


def _taken_verdict() -> Verdict:
    return Verdict(ok=False, status=None, code="overlap", msgid="overlap.just_taken")


def occurrence_report(occurrences: Sequence[Occurrence]) -> list[dict[str, object]]:
    """Each occurrence's verdict, JSON-able (used in the 409 body and the 201 answer)."""
    return [
        {
            "start": o.start.isoformat(),
            "end": o.end.isoformat(),
            "ok": o.verdict.ok,
            "status": o.booking.status if o.booking is not None else o.verdict.status,
            "code": o.verdict.code,
            "message_fr": o.verdict.message_fr,
            "message_en": o.verdict.message_en,
            "booking_id": o.booking.id if o.booking is not None else None,
        }
        for o in occurrences
    ]


def _series_refused(refused: Sequence[Occurrence], occurrences: Sequence[Occurrence]) -> RuleViolation:
    first = refused[0].verdict
    count, total = len(refused), len(occurrences)
    return RuleViolation(
        first.code or "refused",
        msgid="series_refused",
        count=count,
        total=total,
        reason=Message(first.msgid or first.code or "", first.params),
        extra={"occurrences": occurrence_report(occurrences), "violations": [v.public() for v in first.violations]},
    )


def create_walk_in(
    session: Session,
    member_id: int,
    resource_id: int,
    now: datetime,
    tz: ZoneInfo,
    *,
    events: EventHub | None = None,
) -> Booking:
    """A desk taken on the spot by badge: from now (to the minute) until the next booking,
    closing time or the maximum duration, checked in at once. Needs the ``walk_in`` rule;
    grid alignment, minimum duration and notice do not apply to it."""
    member = member_service.get_member(session, member_id)
    who = _booker(session, member, resource_id, None, False, tz)
    if not who.rules.walk_in:
        raise RuleViolation("walk_in_not_allowed", resource=who.resource.name)
    relaxed = who.rules.model_copy(update={"slot_minutes": None, "min_duration": None, "min_notice_minutes": 0})
    who = _Booker(who.actor, who.member, who.facts, who.resource, relaxed, who.tz)
    start = utc(now).replace(second=0, microsecond=0)
    end = start + timedelta(minutes=who.rules.max_duration or DEFAULT_WALK_IN_MINUTES)
    taken = store.clashing_bookings(session, who.resource_id, start, end, relaxed.buffer_minutes)
    busy = [(b.start, b.end) for b in taken]
    free = free_intervals(start, end, rules=relaxed, busy=busy, tz=who.tz)
    if free and free[0][0] == start:
        end = free[0][1]
    verdict = _judge(session, who, start, end, now=start, override=False)
    if not verdict.ok:
        raise violation_error(verdict)
    if verdict.status == "pending":
        raise RuleViolation("approval_required")
    booking = _new_booking(who, start, end, verdict, "", False)
    booking.walk_in, booking.status, booking.checked_in_at = True, "checked_in", utc(now)
    if not _insert(session, booking):
        raise _taken_now()
    publish_after_commit(session, events, "booking", booking_event("walk_in", booking))
    return booking
