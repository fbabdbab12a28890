"""Free intervals and the day grid (tierslieu.booking.availability)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierslieu.booking.availability import align_down, align_up, free_intervals, grid_points, slot_grid
from tierslieu.booking.rules import (
    BookingRequest,
    BookingRules,
    EffectiveRules,
    ExistingBooking,
    MemberFacts,
    evaluate_booking,
    merge_rules,
)

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 7, 20)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def rules(**values: Any) -> EffectiveRules:
    return merge_rules(BookingRules.model_validate(values))


def shown(intervals: list[tuple[datetime, datetime]]) -> list[str]:
    return [f"{a.astimezone(PARIS):%d %H:%M}-{b.astimezone(PARIS):%d %H:%M}" for a, b in intervals]


SPLIT_DAY = {"mon": ["09:00-12:00", "14:00-18:00"], "tue": ["09:00-12:00"]}


def test_free_intervals_remove_bookings_widened_by_the_buffer() -> None:
    busy = [(at(2026, 7, 20, 10), at(2026, 7, 20, 11))]
    free = free_intervals(
        at(2026, 7, 20),
        at(2026, 7, 22),
        rules=rules(opening_hours=SPLIT_DAY, buffer_minutes=15),
        busy=busy,
        tz=PARIS,
    )
    assert shown(free) == ["20 09:00-20 09:45", "20 11:15-20 12:00", "20 14:00-20 18:00", "21 09:00-21 12:00"]
    assert all(a.utcoffset() == timedelta(0) for a, _ in free)


def test_free_intervals_are_aligned_to_the_slot_grid() -> None:
    busy = [(at(2026, 7, 20, 10), at(2026, 7, 20, 11))]
    effective = rules(opening_hours=SPLIT_DAY, buffer_minutes=15, slot_minutes=30)
    free = free_intervals(at(2026, 7, 20), at(2026, 7, 21), rules=effective, busy=busy, tz=PARIS)
    assert shown(free) == ["20 09:00-20 09:30", "20 11:30-20 12:00", "20 14:00-20 18:00"]


def test_free_intervals_skip_closures_and_holidays_and_join_midnight() -> None:
    effective = rules(
        opening_hours={day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu")}, closures=["2026-07-16"]
    )
    free = free_intervals(at(2026, 7, 13, 20), at(2026, 7, 17), rules=effective, busy=[], tz=PARIS)
    # 14 July is a public holiday, 16 July a closure.
    assert shown(free) == ["13 20:00-14 00:00", "15 00:00-16 00:00"]


def test_free_intervals_clip_to_the_window_and_ignore_far_bookings() -> None:
    busy = [(at(2026, 7, 27, 10), at(2026, 7, 27, 11))]
    free = free_intervals(at(2026, 7, 20, 10), at(2026, 7, 20, 11), rules=rules(), busy=busy, tz=PARIS)
    assert shown(free) == ["20 10:00-20 11:00"]


def test_grid_points_follow_wall_time_on_dst_days() -> None:
    spring = [p.astimezone(PARIS).strftime("%H:%M") for p in grid_points(date(2026, 3, 29), 60, PARIS)]
    assert spring[:4] == ["00:00", "01:00", "03:00", "04:00"] and len(spring) == 23
    autumn = [p.astimezone(PARIS).strftime("%H:%M") for p in grid_points(date(2026, 10, 25), 60, PARIS)]
    assert autumn[:5] == ["00:00", "01:00", "02:00", "02:00", "03:00"] and len(autumn) == 25
    points = grid_points(date(2026, 10, 25), 30, PARIS)
    assert all(b - a == timedelta(minutes=30) for a, b in itertools.pairwise(points))


def test_align_up_and_down() -> None:
    assert align_up(at(2026, 7, 20, 10, 10), 30, PARIS) == at(2026, 7, 20, 10, 30)
    assert align_down(at(2026, 7, 20, 10, 10), 30, PARIS) == at(2026, 7, 20, 10)
    assert align_up(at(2026, 7, 20, 10), 30, PARIS) == at(2026, 7, 20, 10)
    assert align_up(at(2026, 7, 20, 23, 30), 50, PARIS) == at(2026, 7, 21)  # the grid restarts at midnight
    # 02:50 CEST on the autumn night: the next boundary is 02:00 CET, ten minutes later.
    first_pass = at(2026, 10, 25, 2, 50).astimezone(UTC)
    assert align_up(first_pass, 30, PARIS) - first_pass == timedelta(minutes=10)


@pytest.mark.parametrize(("day", "texts", "count"), [
    (date(2026, 3, 29), ["09:00-18:00"], 18),
    (date(2026, 10, 25), ["09:00-18:00"], 18),
    (date(2026, 3, 29), ["00:00-24:00"], 46),
    (date(2026, 10, 25), ["00:00-24:00"], 50),
])  # fmt: skip
def test_day_grid_on_dst_days_has_no_holes(day: date, texts: list[str], count: int) -> None:
    grid = slot_grid(day, rules(opening_hours={"sun": texts}), [], PARIS, now=at(2026, 1, 1))
    assert len(grid) == count
    assert all(slot.end - slot.start == timedelta(minutes=30) and slot.free for slot in grid)
    assert all(a.end == b.start for a, b in itertools.pairwise(grid))


def test_day_grid_reasons() -> None:
    effective = rules(opening_hours=SPLIT_DAY, buffer_minutes=15, min_notice_minutes=60, slot_minutes=60)
    busy = [(at(2026, 7, 20, 15), at(2026, 7, 20, 16))]
    grid = slot_grid(MONDAY, effective, busy, PARIS, now=at(2026, 7, 20, 9, 30))
    assert [(f"{s.start.astimezone(PARIS):%H}", s.reason_code) for s in grid] == [
        ("09", "in_the_past"),
        ("10", "min_notice"),
        ("11", None),
        ("12", "outside_opening_hours"),
        ("13", "outside_opening_hours"),
        ("14", "overlap"),
        ("15", "overlap"),
        ("16", "overlap"),
        ("17", None),
    ]
    assert [s.free for s in grid] == [s.reason_code is None for s in grid]


@pytest.mark.parametrize(("day", "extra", "reason"), [
    (date(2026, 7, 14), {}, "holiday"),
    (MONDAY, {"closures": ["2026-07-20"]}, "closed"),
    (MONDAY, {"advance_days": 3}, "too_far_ahead"),
])  # fmt: skip
def test_day_grid_whole_day_reasons(day: date, extra: dict[str, Any], reason: str) -> None:
    effective = rules(opening_hours={"mon": ["09:00-12:00"], "tue": ["09:00-12:00"]}, **extra)
    grid = slot_grid(day, effective, [], PARIS, now=at(2026, 7, 1))
    assert len(grid) == 6 and {slot.reason_code for slot in grid} == {reason}


def test_day_grid_is_empty_on_a_day_without_hours() -> None:
    assert slot_grid(date(2026, 7, 19), rules(opening_hours=SPLIT_DAY), [], PARIS, now=at(2026, 7, 1)) == []


# Property: whatever the bookings, a request lying inside a free interval is accepted.
_BASE = at(2026, 7, 20)
_times = st.integers(min_value=0, max_value=2 * 96).map(lambda q: _BASE + timedelta(minutes=15 * q))
_busy = st.lists(st.tuples(_times, st.integers(min_value=1, max_value=12)), max_size=5)


@settings(max_examples=100, deadline=None)
@given(_busy, st.sampled_from([0, 15, 30]), st.sampled_from([None, 30]))
def test_everything_free_is_bookable(raw: list[tuple[datetime, int]], buffer: int, slot: int | None) -> None:
    effective = rules(opening_hours=SPLIT_DAY, buffer_minutes=buffer, slot_minutes=slot)
    busy = [(start, start + timedelta(minutes=15 * n)) for start, n in raw]
    existing = [ExistingBooking(i, "salle", 99, a, b, "confirmed") for i, (a, b) in enumerate(busy)]
    for start, end in free_intervals(at(2026, 7, 20), at(2026, 7, 22), rules=effective, busy=busy, tz=PARIS):
        verdict = evaluate_booking(
            BookingRequest("salle", start, end),
            rules=effective,
            member=MemberFacts(1, frozenset({"member"})),
            existing=existing,
            member_bookings=[],
            now=at(2026, 7, 1),
            tz=PARIS,
        )
        assert verdict.ok, verdict.violations
