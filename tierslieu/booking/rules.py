"""Verdicts on booking requests: is this interval bookable by this member, and why not.

:func:`evaluate_booking` checks a request against :class:`EffectiveRules` (see
:mod:`tierslieu.booking.ruleset`, re-exported here) and returns a :class:`Verdict` with
stable reason codes and French/English messages that show times in the site's local time.

Everything here is pure: the caller passes ``now``, the timezone and the bookings it loaded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from tierslieu.booking import wording as w
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


class Violation(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    message_fr: str
    message_en: str


class Verdict(BaseModel):
    """The answer to a request. ``violations[0]`` is the primary reason (also in ``code``)."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    status: Literal["confirmed", "pending"] | None
    code: str | None
    message_fr: str
    message_en: str
    violations: list[Violation] = Field(default_factory=list)
    overridden: list[str] = Field(default_factory=list)

    def message(self, language: str = "fr") -> str:
        return self.message_en if language.startswith("en") else self.message_fr


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

    @property
    def local_start(self) -> datetime:
        return self.request.start.astimezone(self.tz)

    @property
    def local_end(self) -> datetime:
        return self.request.end.astimezone(self.tz)

    @property
    def minutes(self) -> float:
        return (self.request.end - self.request.start).total_seconds() / 60


def _violation(code: str, text: w.Bilingual) -> Violation:
    return Violation(code=code, message_fr=text[0], message_en=text[1])


def _check_role(ctx: _Context) -> Iterator[Violation]:
    allowed = {str(role) for role in ctx.rules.allowed_roles}
    if not allowed & ctx.member.roles:
        who_fr, who_en = w.roles_fr(sorted(allowed)), w.roles_en(sorted(allowed))
        yield _violation("role_not_allowed", (
            f"Votre profil ne permet pas de réserver cet espace (réservé aux : {who_fr}).",
            f"Your profile cannot book this space (reserved for: {who_en}).",
        ))  # fmt: skip


def _check_training(ctx: _Context) -> Iterator[Violation]:
    booking_day = ctx.local_start.date()
    for training in ctx.rules.required_training:
        if training not in ctx.member.trainings:
            yield _violation("training_required", (
                f"Il faut avoir suivi la formation « {training} » pour réserver. "
                "Renseignez-vous à l'accueil.",
                f"You need the “{training}” training to book this. Ask at the front desk.",
            ))  # fmt: skip
            continue
        expiry = ctx.member.trainings[training]
        if expiry is not None and expiry < booking_day:
            yield _violation("training_required", (
                f"Votre formation « {training} » n'est plus valable après le {w.day_fr(expiry, year=True)}. "
                "Il faut la renouveler pour réserver.",
                f"Your “{training}” training expires on {w.day_en(expiry, year=True)}. "
                "Renew it to book this.",
            ))  # fmt: skip


def _check_time_window(ctx: _Context) -> Iterator[Violation]:
    start, rules = ctx.request.start, ctx.rules
    if start < ctx.now:
        yield _violation("in_the_past", (
            "Ce créneau est déjà passé. Choisissez une heure à venir.",
            "This time has already passed. Choose a time in the future.",
        ))  # fmt: skip
    elif start < ctx.now + timedelta(minutes=rules.min_notice_minutes):
        notice = rules.min_notice_minutes
        yield _violation("min_notice", (
            f"Il faut réserver au moins {w.duration_fr(notice)} à l'avance.",
            f"Bookings must be made at least {w.duration_en(notice)} in advance.",
        ))  # fmt: skip
    if rules.advance_days is not None:
        last_day = ctx.now.astimezone(ctx.tz).date() + timedelta(days=rules.advance_days)
        if ctx.local_start.date() > last_day:
            yield _violation("too_far_ahead", (
                f"On ne peut pas réserver plus de {rules.advance_days} jours à l'avance : "
                f"choisissez une date jusqu'au {w.day_fr(last_day, year=True)}.",
                f"Bookings open {rules.advance_days} days ahead: choose a date up to "
                f"{w.day_en(last_day, year=True)}.",
            ))  # fmt: skip


def _check_duration(ctx: _Context) -> Iterator[Violation]:
    low, high = ctx.rules.min_duration, ctx.rules.max_duration
    if low is not None and ctx.minutes < low:
        yield _violation("min_duration", (
            f"La réservation doit durer au moins {w.duration_fr(low)}.",
            f"A booking must last at least {w.duration_en(low)}.",
        ))  # fmt: skip
    if high is not None and ctx.minutes > high:
        yield _violation("max_duration", (
            f"La réservation ne peut pas dépasser {w.duration_fr(high)}.",
            f"A booking cannot last more than {w.duration_en(high)}.",
        ))  # fmt: skip


def _on_grid(moment: datetime, slot: int) -> bool:
    return moment.second == 0 and moment.microsecond == 0 and (moment.hour * 60 + moment.minute) % slot == 0


def _check_alignment(ctx: _Context) -> Iterator[Violation]:
    slot = ctx.rules.slot_minutes
    if slot is not None and not (_on_grid(ctx.local_start, slot) and _on_grid(ctx.local_end, slot)):
        example = at_local_minute(ctx.local_start.date(), -(-10 * 60 // slot) * slot, ctx.tz)
        yield _violation("slot_alignment", (
            f"Les réservations se font par tranches de {w.duration_fr(slot)} : le début et la fin "
            f"doivent tomber sur une tranche (par exemple {w.hm(example, ctx.tz)}).",
            f"Bookings use {w.duration_en(slot)} slots: start and end must fall on a slot "
            f"(for example {w.hm(example, ctx.tz)}).",
        ))  # fmt: skip


def _check_calendar(ctx: _Context) -> Iterator[Violation]:
    schedule, start = ctx.rules.schedule, ctx.request.start
    closed = False
    for day in local_days(start, ctx.request.end, ctx.tz):
        closure = schedule.day_closure(day)
        if closure is None:
            continue
        closed = True
        if closure.reason == "closed":
            yield _violation("closed", (
                f"L'espace est fermé le {w.day_fr(day)}. Choisissez une autre date.",
                f"The space is closed on {w.day_en(day)}. Choose another date.",
            ))  # fmt: skip
        else:
            name_en = schedule.day_closure(day, language="en")
            yield _violation("holiday", (
                f"Le {w.day_fr(day)} ({closure.name}) est un jour férié : l'espace est fermé.",
                f"{w.day_en(day)} ({name_en.name if name_en else ''}) is a public holiday: "
                "the space is closed.",
            ))  # fmt: skip
    if not closed and not schedule.fits_one_opening(start, ctx.request.end, ctx.tz):
        yield _violation("outside_opening_hours", _opening_hours_text(ctx))


def _opening_hours_text(ctx: _Context) -> w.Bilingual:
    day = ctx.local_start.date()
    ranges = ctx.rules.schedule.regular_intervals(day, ctx.tz)
    if not ranges:
        return (
            f"Ce créneau est en dehors des heures d'ouverture : l'espace est fermé le {w.weekday_fr(day)}.",
            f"This time is outside opening hours: the space is closed on {w.weekday_en(day)}s.",
        )
    hours_fr = " et ".join(f"de {w.hm(a, ctx.tz)} à {w.hm(b, ctx.tz)}" for a, b in ranges)
    hours_en = " and ".join(f"{w.hm(a, ctx.tz)}–{w.hm(b, ctx.tz)}" for a, b in ranges)
    return (
        f"Ce créneau est en dehors des heures d'ouverture. Le {w.weekday_fr(day)}, l'espace est ouvert {hours_fr}.",
        f"This time is outside opening hours. On {w.weekday_en(day)}s the space is open {hours_en}.",
    )


def _counted(bookings: Sequence[ExistingBooking], ctx: _Context, statuses: frozenset[str]) -> list[ExistingBooking]:
    own = ctx.request.booking_id
    return [
        replace(b, start=utc(b.start), end=utc(b.end))
        for b in bookings
        if b.status in statuses and (own is None or b.id != own)
    ]


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
            yield _violation("quota_exceeded", (
                f"Vous avez déjà réservé {w.duration_fr(used)} la semaine du {w.day_fr(monday)}. "
                f"Avec cette réservation ({w.duration_fr(asked)}), vous dépasseriez la limite de "
                f"{w.duration_fr(limit)} par semaine.",
                f"You have already booked {w.duration_en(used)} in the week of {w.day_en(monday)}. "
                f"This booking ({w.duration_en(asked)}) would exceed the limit of "
                f"{w.duration_en(limit)} per week.",
            ))  # fmt: skip


def _check_active_count(ctx: _Context, member_bookings: Sequence[ExistingBooking]) -> Iterator[Violation]:
    limit = ctx.rules.max_active_bookings
    if limit is None:
        return
    upcoming = [b for b in _counted(member_bookings, ctx, ACTIVE_STATUSES) if b.end > ctx.now]
    if len(upcoming) >= limit:
        yield _violation("too_many_bookings", (
            f"Vous avez déjà {len(upcoming)} réservation(s) à venir, le maximum est {limit}. "
            "Annulez-en une pour en faire une nouvelle.",
            f"You already have {len(upcoming)} upcoming booking(s); the maximum is {limit}. "
            "Cancel one to make a new one.",
        ))  # fmt: skip


def _check_overlap(ctx: _Context, existing: Sequence[ExistingBooking]) -> Iterator[Violation]:
    buffer = ctx.rules.buffer_minutes
    request = ctx.request
    for booking in _counted(existing, ctx, ACTIVE_STATUSES):
        if booking.resource_id == request.resource_id and overlaps(
            request.start, request.end, booking.start, booking.end, buffer
        ):
            yield _violation("overlap", _taken_text(ctx, booking))
            return  # one clash is enough to explain


def _taken_text(ctx: _Context, booking: ExistingBooking) -> w.Bilingual:
    tz = ctx.tz
    first_day = booking.start.astimezone(tz).date()
    last_day = (booking.end - timedelta(microseconds=1)).astimezone(tz).date()
    start, end = w.hm(booking.start, tz), w.hm(booking.end, tz)
    if first_day != last_day:
        when_fr = f"du {w.day_fr(first_day)} {start} au {w.day_fr(last_day)} {end}"
        when_en = f"from {w.day_en(first_day)} {start} to {w.day_en(last_day)} {end}"
    elif first_day != ctx.local_start.date():
        when_fr = f"le {w.day_fr(first_day)} de {start} à {end}"
        when_en = f"on {w.day_en(first_day)} from {start} to {end}"
    else:
        when_fr, when_en = f"de {start} à {end}", f"from {start} to {end}"
    buffer = ctx.rules.buffer_minutes
    pad_fr = f" (avec {w.duration_fr(buffer)} de préparation avant et après)" if buffer else ""
    pad_en = f" (with {w.duration_en(buffer)} of setup before and after)" if buffer else ""
    return (
        f"Cet espace est réservé {when_fr}{pad_fr}. Choisissez un autre créneau.",
        f"This space is booked {when_en}{pad_en}. Choose another time.",
    )


# --------------------------------------------------------------------------- the verdict


def _rejected(violations: list[Violation], overridden: list[str]) -> Verdict:
    primary = violations[0]
    return Verdict(
        ok=False,
        status=None,
        code=primary.code,
        message_fr=primary.message_fr,
        message_en=primary.message_en,
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
        return _rejected([_violation("invalid_interval", (
            "L'heure de début et de fin doivent préciser le fuseau horaire.",
            "Start and end times must include a timezone.",
        ))], [])  # fmt: skip
    if utc(end) <= utc(start):
        return _rejected([_violation("invalid_interval", (
            "L'heure de fin doit être après l'heure de début.",
            "The end time must be after the start time.",
        ))], [])  # fmt: skip

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
    day, start, end = ctx.local_start.date(), w.hm(ctx.request.start, ctx.tz), w.hm(ctx.request.end, ctx.tz)
    when_fr = f"le {w.day_fr(day, weekday=True)} de {start} à {end}"
    when_en = f"on {w.day_en(day, weekday=True)} from {start} to {end}"
    if status == "pending":
        text = (
            f"Demande enregistrée {when_fr}. Elle doit encore être validée par l'équipe.",
            f"Request saved {when_en}. It still needs approval from the team.",
        )
    else:
        text = (f"Réservation confirmée {when_fr}.", f"Booking confirmed {when_en}.")
    return Verdict(ok=True, status=status, code=None, message_fr=text[0], message_en=text[1], overridden=overridden)
