"""What is still free: open intervals minus bookings, and a day grid for the booking page.

``busy`` is the list of intervals of active bookings (pending, confirmed, checked in) on the
resource; each is widened by the rules' buffer, as in :func:`~tierslieu.booking.rules.overlaps`.
Grid boundaries are wall-clock times counted from local midnight; on the nights the clocks
change they are listed in real (UTC) order, so a grid never has holes or double slots.
Returned datetimes are UTC; show them with ``.astimezone(tz)``.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tierslieu.booking.rules import EffectiveRules, buffered_interval, overlaps
from tierslieu.booking.schedule import Interval, merge_intervals, utc

__all__ = [
    "DEFAULT_SLOT_MINUTES",
    "Slot",
    "align_down",
    "align_up",
    "free_intervals",
    "grid_points",
    "slot_grid",
]

DEFAULT_SLOT_MINUTES = 30


@dataclass(frozen=True, slots=True)
class Slot:
    """One cell of the day grid; ``reason_code`` (a verdict code) says why it is not free."""

    start: datetime
    end: datetime
    free: bool
    reason_code: str | None = None


def grid_points(day: date, slot_minutes: int, tz: ZoneInfo) -> list[datetime]:
    """Instants of ``day`` whose local wall time is a multiple of ``slot_minutes`` past midnight.

    Returned in UTC, sorted; a wall time that happens twice (autumn) is listed twice, one
    that does not exist (spring) is skipped.
    """
    points: set[datetime] = set()
    midnight = datetime.combine(day, time())
    for minute in range(0, 24 * 60, slot_minutes):
        wall = midnight + timedelta(minutes=minute)
        for fold in (0, 1):
            moment = wall.replace(tzinfo=tz, fold=fold)
            if moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall:
                points.add(moment.astimezone(UTC))
    return sorted(points)


def _points_around(moment: datetime, slot_minutes: int, tz: ZoneInfo) -> list[datetime]:
    day = moment.astimezone(tz).date()
    return [point for offset in (-1, 0, 1) for point in grid_points(day + timedelta(days=offset), slot_minutes, tz)]


def align_up(moment: datetime, slot_minutes: int, tz: ZoneInfo) -> datetime:
    """The first grid boundary at or after ``moment`` (UTC)."""
    points = _points_around(moment, slot_minutes, tz)
    return points[bisect.bisect_left(points, utc(moment))]


def align_down(moment: datetime, slot_minutes: int, tz: ZoneInfo) -> datetime:
    """The last grid boundary at or before ``moment`` (UTC)."""
    points = _points_around(moment, slot_minutes, tz)
    return points[bisect.bisect_right(points, utc(moment)) - 1]


def _subtract(intervals: Iterable[Interval], blocked: Sequence[Interval]) -> list[Interval]:
    free: list[Interval] = []
    for start, end in intervals:
        cursor = start
        for block_start, block_end in blocked:
            if block_end <= cursor or block_start >= end:
                continue
            if block_start > cursor:
                free.append((cursor, block_start))
            cursor = max(cursor, block_end)
        if cursor < end:
            free.append((cursor, end))
    return free


def free_intervals(
    day_from: datetime,
    day_to: datetime,
    *,
    rules: EffectiveRules,
    busy: Sequence[Interval],
    tz: ZoneInfo,
) -> list[Interval]:
    """Free time within ``[day_from, day_to)``: opening hours minus closed days and holidays,
    minus ``busy`` widened by the buffer; shrunk to the slot grid when ``slot_minutes`` is set.

    Any booking lying inside one returned interval passes the overlap and opening-hours
    checks (intervals across midnight are joined when both days are open).
    """
    opened = rules.schedule.open_intervals(day_from, day_to, tz)  # UTC, like everything below
    blocked = merge_intervals(buffered_interval(start, end, rules.buffer_minutes) for start, end in busy)
    free = _subtract(opened, blocked)
    slot = rules.slot_minutes
    if slot is None:
        return free
    aligned = [(align_up(start, slot, tz), align_down(end, slot, tz)) for start, end in free]
    return [(start, end) for start, end in aligned if start < end]


def slot_grid(
    day: date,
    rules: EffectiveRules,
    busy: Sequence[Interval],
    tz: ZoneInfo,
    now: datetime,
) -> list[Slot]:
    """The grid of one local day from its first opening to its last closing time.

    Slots last ``slot_minutes`` (30 by default). A slot is not free when the day is closed
    (``closed``, ``holiday``), it falls in a break (``outside_opening_hours``), it starts
    before ``now`` (``in_the_past``) or within the notice (``min_notice``), the day is beyond
    the booking horizon (``too_far_ahead``), or it clashes with a booking (``overlap``). A
    weekday without opening hours gives an empty grid.
    """
    schedule = rules.schedule
    regular = schedule.regular_intervals(day, tz)
    if not regular:
        return []
    span_start, span_end = regular[0][0], regular[-1][1]
    slot = rules.slot_minutes or DEFAULT_SLOT_MINUTES
    boundaries = [
        point
        for point in [*grid_points(day, slot, tz), *grid_points(day + timedelta(days=1), slot, tz)[:1]]
        if span_start <= point <= span_end
    ]
    closure = schedule.day_closure(day)
    now = utc(now)
    notice_end = now + timedelta(minutes=rules.min_notice_minutes)
    too_far = rules.advance_days is not None and day > now.astimezone(tz).date() + timedelta(days=rules.advance_days)
    slots = []
    for start, end in itertools.pairwise(boundaries):
        reason: str | None
        if closure is not None:
            reason = closure.reason
        elif not any(open_start <= start and end <= open_end for open_start, open_end in regular):
            reason = "outside_opening_hours"
        elif start < now:
            reason = "in_the_past"
        elif start < notice_end:
            reason = "min_notice"
        elif too_far:
            reason = "too_far_ahead"
        elif any(overlaps(start, end, b_start, b_end, rules.buffer_minutes) for b_start, b_end in busy):
            reason = "overlap"
        else:
            reason = None
        slots.append(Slot(start, end, reason is None, reason))
    return slots
