"""Verdicts on booking requests: is this interval bookable by this member, and why not.

:func:`evaluate_booking` checks a request against :class:`EffectiveRules` (see
:mod:`tierslieu.booking.ruleset`, re-exported here) and returns a :class:`Verdict` with
stable reason codes and the parameters of their messages (rendered from the catalogue by
:mod:`tierslieu.i18n`; times are kept in the site's local time).

Everything here is pure: the caller passes ``now``, the timezone and the bookings it loaded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from tierslieu.booking.ruleset import (
    ALL_DAY,
    BookingRules,
    Closure,
    ClosureRange,
    EffectiveRules,
    Role,
    merge_rules,
    patch_rules,
)
from tierslieu.booking.schedule import Interval, at_local_minute, local_days, utc
from tierslieu.i18n import Localized, Message, render

__all__ = [
    "ACTIVE_STATUSES",
    "ALL_DAY",
    "BookingRequest",
    "BookingRules",
    "BookingStatus",
    "Closure",
    "ClosureRange",
    "EffectiveRules",
    "ExistingBooking",
    "Id",
    "MemberFacts",
    "Role",
    "Verdict",
    "Violation",
    "buffered_interval",
    "evaluate_booking",
    "merge_rules",
    "overlaps",
    "patch_rules",
]

Id = int | str | UUID


class BookingStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


ACTIVE_STATUSES: frozenset[str] = frozenset({BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN})
"""Statuses that hold a slot. A booking completed early is ``completed`` and frees the rest."""

# Hours already used this week: active bookings plus the ones that took place.
_QUOTA_STATUSES = ACTIVE_STATUSES | {BookingStatus.COMPLETED}


# --------------------------------------------------------------------------- intervals


def buffered_interval(start: datetime, end: datetime, buffer_minutes: int = 0) -> Interval:
    """``[start, end)`` widened by the setup/cleaning buffer on both sides."""
    pad = timedelta(minutes=buffer_minutes)
    return utc(start) - pad, utc(end) + pad


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime, buffer_minutes: int = 0) -> bool:
    """Whether two half-open bookings clash once either one's buffer is added around it.

    Nobody else may use the resource during the buffer before and after a booking, so two
    bookings need a gap of at least ``buffer_minutes`` (10:00–11:00 and 11:00–12:00 are fine
    with no buffer). Symmetric. The DB query is: ``b_start < a_end + buffer AND
    b_end > a_start - buffer``.
    """
    padded_start, padded_end = buffered_interval(a_start, a_end, buffer_minutes)
    return utc(b_start) < padded_end and padded_start < utc(b_end)


# --------------------------------------------------------------------------- verdict inputs


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """What a member asks for. ``booking_id`` is set when an existing booking is being moved,
    so it does not clash with or count against itself."""

    resource_id: Id
    start: datetime
    end: datetime
    booking_id: Id | None = None


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What the rules need to know about the member: roles and trainings (expiry date or
    ``None`` for a training that never expires; valid through its expiry day)."""

    id: Id
    roles: frozenset[str]
    trainings: Mapping[str, date | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExistingBooking:
    id: Id
    resource_id: Id
    member_id: Id
    start: datetime
    end: datetime
    status: str

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class _Said(BaseModel):
    """A message not yet put into words: ``msgid`` (default: the code) and its parameters."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    msgid: str = ""
    params: dict[str, Any] = Field(default_factory=dict)

    def message(self, language: str = "fr") -> str:
        return render(self.msgid or getattr(self, "code", None) or "", self.params, language)

    @property
    def message_fr(self) -> str:
        return self.message("fr")

    @property
    def message_en(self) -> str:
        return self.message("en")


class Violation(_Said):
    code: str

    def public(self) -> dict[str, str]:
        """The violation as the API shows it (the 409 body lists them)."""
        return {"code": self.code, "message_fr": self.message_fr, "message_en": self.message_en}


class Verdict(_Said):
    """The answer to a request. ``violations[0]`` is the primary reason (also in ``code``)."""

    ok: bool
    status: Literal["confirmed", "pending"] | None
    code: str | None
    violations: list[Violation] = Field(default_factory=list)
    overridden: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------- the checks

# Codes an override cannot lift: a malformed interval, and a double booking.
_NEVER_OVERRIDDEN = frozenset({"invalid_interval", "overlap"})


@dataclass(frozen=True, slots=True)
class _Context:
    request: BookingRequest
    rules: EffectiveRules
    member: MemberFacts
    now: datetime
    tz: ZoneInfo
    # The request's bounds in local time, converted once (the checks read them a dozen times).
    local_start: datetime = field(init=False)
    local_end: datetime = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "local_start", self.request.start.astimezone(self.tz))
        object.__setattr__(self, "local_end", self.request.end.astimezone(self.tz))

    @property
    def minutes(self) -> float:
        return (self.request.end - self.request.start).total_seconds() / 60


def _violation(code: str, *, msgid: str = "", **params: Any) -> Violation:
    return Violation(code=code, msgid=msgid or code, params=params)


def _check_role(ctx: _Context) -> Iterator[Violation]:
    allowed = {str(role) for role in ctx.rules.allowed_roles}
    if not allowed & ctx.member.roles:
        yield _violation("role_not_allowed", roles=sorted(allowed))


def _check_training(ctx: _Context) -> Iterator[Violation]:
    booking_day = ctx.local_start.date()
    for training in ctx.rules.required_training:
        if training not in ctx.member.trainings:
            yield _violation("training_required", training=training)
            continue
        expiry = ctx.member.trainings[training]
        if expiry is not None and expiry < booking_day:
            yield _violation("training_required", msgid="training_required.expired", training=training, expiry=expiry)


def _check_time_window(ctx: _Context) -> Iterator[Violation]:
    start, rules = ctx.request.start, ctx.rules
    if start < ctx.now:
        yield _violation("in_the_past")
    elif start < ctx.now + timedelta(minutes=rules.min_notice_minutes):
        notice = rules.min_notice_minutes
        yield _violation("min_notice", notice=notice)
    if rules.advance_days is not None:
        last_day = ctx.now.astimezone(ctx.tz).date() + timedelta(days=rules.advance_days)
        if ctx.local_start.date() > last_day:
            yield _violation("too_far_ahead", days=rules.advance_days, last_day=last_day)


def _check_duration(ctx: _Context) -> Iterator[Violation]:
    low, high = ctx.rules.min_duration, ctx.rules.max_duration
    if low is not None and ctx.minutes < low:
        yield _violation("min_duration", minutes=low)
    if high is not None and ctx.minutes > high:
        yield _violation("max_duration", minutes=high)


def _on_grid(moment: datetime, slot: int) -> bool:
    return moment.second == 0 and moment.microsecond == 0 and (moment.hour * 60 + moment.minute) % slot == 0


def _check_alignment(ctx: _Context) -> Iterator[Violation]:
    slot = ctx.rules.slot_minutes
    if slot is not None and not (_on_grid(ctx.local_start, slot) and _on_grid(ctx.local_end, slot)):
        example = at_local_minute(ctx.local_start.date(), -(-10 * 60 // slot) * slot, ctx.tz)
        yield _violation("slot_alignment", slot=slot, example=example.astimezone(ctx.tz))


def _check_calendar(ctx: _Context) -> Iterator[Violation]:
    schedule, start = ctx.rules.schedule, ctx.request.start
    closed = False
    for day in local_days(start, ctx.request.end, ctx.tz):
        closure = schedule.day_closure(day)
        if closure is None:
            continue
        closed = True
        if closure.reason == "closed":
            yield _violation("closed", msgid="closed.day", day=day)
        else:
            name_en = schedule.day_closure(day, language="en")
            names = {"fr": closure.name or "", "en": name_en.name or "" if name_en else ""}
            yield _violation("holiday", day=day, name=Localized(names))
    if not closed and not schedule.fits_one_opening(start, ctx.request.end, ctx.tz):
        yield _opening_hours(ctx)


def _opening_hours(ctx: _Context) -> Violation:
    day = ctx.local_start.date()
    ranges = ctx.rules.schedule.regular_intervals(day, ctx.tz)
    if not ranges:
        return _violation("outside_opening_hours", msgid="outside_opening_hours.closed_day", day=day)
    hours = [
        Message("opening_hours.range", {"start": a.astimezone(ctx.tz), "end": b.astimezone(ctx.tz)}) for a, b in ranges
    ]
    return _violation("outside_opening_hours", day=day, hours=hours)


def _counted(bookings: Sequence[ExistingBooking], ctx: _Context, statuses: frozenset[str]) -> list[ExistingBooking]:
    own = ctx.request.booking_id
    return [_in_utc(b) for b in bookings if b.status in statuses and (own is None or b.id != own)]


def _in_utc(booking: ExistingBooking) -> ExistingBooking:
    # Usually UTC already (as the database gives them): no copy then, and no dataclasses.replace
    # (which costs more than the quota checks themselves).
    if booking.start.tzinfo is UTC and booking.end.tzinfo is UTC:
        return booking
    b = booking
    return ExistingBooking(b.id, b.resource_id, b.member_id, utc(b.start), utc(b.end), b.status)


def _iso_weeks(ctx: _Context) -> Iterator[Interval]:
    monday = ctx.local_start.date() - timedelta(days=ctx.local_start.weekday())
    while (week_start := at_local_minute(monday, 0, ctx.tz)) < ctx.request.end:
        yield week_start, at_local_minute(monday + timedelta(days=7), 0, ctx.tz)
        monday += timedelta(days=7)


def _minutes_within(start: datetime, end: datetime, window: Interval) -> float:
    return max(0.0, (min(end, window[1]) - max(start, window[0])).total_seconds() / 60)


def _check_quota(ctx: _Context, member_bookings: Sequence[ExistingBooking]) -> Iterator[Violation]:
    limit_hours = ctx.rules.max_hours_per_week
    if limit_hours is None:
        return
    counted = _counted(member_bookings, ctx, _QUOTA_STATUSES)
    for week in _iso_weeks(ctx):
        used = sum(_minutes_within(b.start, b.end, week) for b in counted)
        asked = _minutes_within(ctx.request.start, ctx.request.end, week)
        if asked > 0 and used + asked > limit_hours * 60 + 1e-9:
            monday = week[0].astimezone(ctx.tz).date()
            limit = limit_hours * 60
            yield _violation("quota_exceeded", used=used, monday=monday, asked=asked, limit=limit)


def _check_active_count(ctx: _Context, member_bookings: Sequence[ExistingBooking]) -> Iterator[Violation]:
    limit = ctx.rules.max_active_bookings
    if limit is None:
        return
    upcoming = [b for b in _counted(member_bookings, ctx, ACTIVE_STATUSES) if b.end > ctx.now]
    if len(upcoming) >= limit:
        yield _violation("too_many_bookings", count=len(upcoming), limit=limit)


def _check_overlap(ctx: _Context, existing: Sequence[ExistingBooking]) -> Iterator[Violation]:
    buffer = ctx.rules.buffer_minutes
    request = ctx.request
    for booking in _counted(existing, ctx, ACTIVE_STATUSES):
        if booking.resource_id == request.resource_id and overlaps(
            request.start, request.end, booking.start, booking.end, buffer
        ):
            yield _taken(ctx, booking)
            return  # one clash is enough to explain


def _taken(ctx: _Context, booking: ExistingBooking) -> Violation:
    tz = ctx.tz
    start, end = booking.start.astimezone(tz), booking.end.astimezone(tz)
    first_day, last_day = start.date(), (booking.end - timedelta(microseconds=1)).astimezone(tz).date()
    times = {"start": start, "end": end, "first": first_day, "last": last_day}
    if first_day != last_day:
        when = Message("overlap.from_day_to_day", times)
    elif first_day != ctx.local_start.date():
        when = Message("overlap.on_day", times)
    else:
        when = Message("overlap.same_day", times)
    buffer = ctx.rules.buffer_minutes
    padding = Message("overlap.padding", {"buffer": buffer}) if buffer else ""
    return _violation("overlap", when=when, padding=padding)


# --------------------------------------------------------------------------- the verdict


def _rejected(violations: list[Violation], overridden: list[str]) -> Verdict:
    primary = violations[0]
    return Verdict(
        ok=False,
        status=None,
        code=primary.code,
        msgid=primary.msgid,
        params=primary.params,
        violations=violations,
        overridden=overridden,
    )


def _needs_approval(rules: EffectiveRules, member: MemberFacts) -> bool:
    # Pending only when every role of the member needs approval: an animator who is also a
    # member is trusted as an animator.
    gated = {str(role) for role in rules.requires_approval}
    return bool(member.roles) and member.roles <= gated


def evaluate_booking(
    request: BookingRequest,
    *,
    rules: EffectiveRules,
    member: MemberFacts,
    existing: Sequence[ExistingBooking],
    member_bookings: Sequence[ExistingBooking],
    now: datetime,
    tz: ZoneInfo,
    override: bool = False,
) -> Verdict:
    """Judge a booking request.

    ``existing``: bookings of the requested resource around the interval (others and inactive
    ones are ignored). ``member_bookings``: the member's bookings that count against the
    quotas (at least the ISO weeks touched and everything upcoming). ``override`` (staff,
    admin) lifts every rule except ``invalid_interval`` and ``overlap``; the lifted codes are
    listed in ``Verdict.overridden`` and the booking is confirmed without approval.
    """
    start, end = request.start, request.end
    if start.utcoffset() is None or end.utcoffset() is None:
        return _rejected([_violation("invalid_interval", msgid="invalid_interval.naive")], [])
    if utc(end) <= utc(start):
        return _rejected([_violation("invalid_interval", msgid="invalid_interval.end_before_start")], [])

    # From here on, every instant is UTC (see schedule.utc for why).
    ctx = _Context(replace(request, start=utc(start), end=utc(end)), rules, member, utc(now), tz)
    violations = [
        *_check_role(ctx),
        *_check_training(ctx),
        *_check_time_window(ctx),
        *_check_duration(ctx),
        *_check_alignment(ctx),
        *_check_calendar(ctx),
        *_check_overlap(ctx, existing),
        *_check_quota(ctx, member_bookings),
        *_check_active_count(ctx, member_bookings),
    ]
    overridden: list[str] = []
    if override:
        overridden = list(dict.fromkeys(v.code for v in violations if v.code not in _NEVER_OVERRIDDEN))
        violations = [v for v in violations if v.code in _NEVER_OVERRIDDEN]
    if violations:
        return _rejected(violations, overridden)
    pending = not override and _needs_approval(rules, member)
    return _accepted(ctx, "pending" if pending else "confirmed", overridden)


def _accepted(ctx: _Context, status: Literal["confirmed", "pending"], overridden: list[str]) -> Verdict:
    when = {"day": ctx.local_start.date(), "start": ctx.local_start, "end": ctx.local_end}
    return Verdict(
        ok=True,
        status=status,
        code=None,
        msgid="booking.pending" if status == "pending" else "booking.confirmed",
        params=when,
        overridden=overridden,
    )
