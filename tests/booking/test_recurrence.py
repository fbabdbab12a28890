"""RRULE expansion in local wall time (tierslieu.booking.recurrence)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tierslieu.booking.recurrence import RecurrenceError, expand_rrule

PARIS = ZoneInfo("Europe/Paris")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def local(moment: datetime) -> tuple[str, str]:
    shown = moment.astimezone(PARIS)
    return shown.date().isoformat(), shown.strftime("%H:%M")


def test_tuesday_workshop_stays_at_14h_across_both_dst_changes() -> None:
    spring = expand_rrule("FREQ=WEEKLY;BYDAY=TU;COUNT=10", at(2026, 3, 17, 14), at(2026, 3, 17, 16), PARIS)
    assert len(spring) == 10
    assert [local(start)[1] for start, _ in spring] == ["14:00"] * 10
    assert [local(end)[1] for _, end in spring] == ["16:00"] * 10
    assert all(end - start == timedelta(hours=2) for start, end in spring)
    assert spring[1][0] - spring[0][0] == timedelta(days=7)
    assert spring[2][0] - spring[1][0] == timedelta(days=7, hours=-1)  # clocks went forward
    autumn = expand_rrule("RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=3", at(2026, 10, 20, 14), at(2026, 10, 20, 16), PARIS)
    assert [local(start) for start, _ in autumn] == [
        ("2026-10-20", "14:00"),
        ("2026-10-27", "14:00"),
        ("2026-11-03", "14:00"),
    ]
    assert all(start.utcoffset() == timedelta(0) for start, _ in autumn)  # returned in UTC


@pytest.mark.parametrize(
    ("rule", "count", "last_day"),
    [
        ("FREQ=WEEKLY;BYDAY=TU;UNTIL=20260331", 3, "2026-03-31"),  # a local date: through that day
        ("FREQ=WEEKLY;BYDAY=TU;UNTIL=20260331T120000Z", 3, "2026-03-31"),  # 14:00 Paris is after noon UTC
        ("FREQ=WEEKLY;BYDAY=TU;UNTIL=20260331T110000Z", 2, "2026-03-24"),  # 13:00 Paris: the 31st is left out
        ("FREQ=WEEKLY;BYDAY=TU;UNTIL=20260331T140000", 3, "2026-03-31"),  # local date-time
        ("freq=daily;interval=2;count=4", 4, "2026-03-23"),
        ("FREQ=WEEKLY;BYDAY=TU,TH;COUNT=4", 4, "2026-03-26"),
        ("FREQ=MONTHLY;BYDAY=-1TU;COUNT=3", 3, "2026-05-26"),
        ("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=1;COUNT=2", 2, "2026-05-05"),
        ("FREQ=YEARLY;COUNT=2", 2, "2027-03-17"),
    ],
)
def test_bounded_rules_expand(rule: str, count: int, last_day: str) -> None:
    occurrences = expand_rrule(rule, at(2026, 3, 17, 14), at(2026, 3, 17, 16), PARIS)
    assert len(occurrences) == count
    assert local(occurrences[-1][0]) == (last_day, "14:00")


def test_occurrence_in_the_spring_gap_moves_forward_and_keeps_its_length() -> None:
    occurrences = expand_rrule("FREQ=DAILY;COUNT=3", at(2026, 3, 28, 2, 30), at(2026, 3, 28, 3, 30), PARIS)
    assert [local(start)[1] for start, _ in occurrences] == ["02:30", "03:30", "02:30"]
    assert all(end > start for start, end in occurrences)


def test_limit_is_enforced_exactly() -> None:
    assert len(expand_rrule("FREQ=DAILY;COUNT=5", at(2026, 1, 5, 9), at(2026, 1, 5, 10), PARIS, limit=5)) == 5
    with pytest.raises(RecurrenceError, match="at most 5"):
        expand_rrule("FREQ=DAILY;COUNT=6", at(2026, 1, 5, 9), at(2026, 1, 5, 10), PARIS, limit=5)
    with pytest.raises(RecurrenceError):
        expand_rrule("FREQ=DAILY;UNTIL=20261231", at(2026, 1, 5, 9), at(2026, 1, 5, 10), PARIS)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY",  # unbounded
        "FREQ=WEEKLY;BYDAY=TU",
        "FREQ=WEEKLY;COUNT=3;UNTIL=20261231",
        "COUNT=3",
        "FREQ=FORTNIGHTLY;COUNT=3",
        "FREQ=HOURLY;COUNT=3",
        "FREQ=WEEKLY;BYDAY=XX;COUNT=3",
        "FREQ=MONTHLY;BYDAY=6MO;COUNT=3",
        "FREQ=WEEKLY;BYDAY=2TU;COUNT=3",
        "FREQ=WEEKLY;COUNT=abc",
        "FREQ=WEEKLY;COUNT=0",
        "FREQ=WEEKLY;INTERVAL=0;COUNT=3",
        "FREQ=WEEKLY;COUNT=3;COUNT=4",
        "FREQ=WEEKLY;BYHOUR=10;COUNT=3",
        "FREQ=WEEKLY;UNTIL=demain",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;COUNT=2",  # never happens
        "FREQ=MONTHLY;BYMONTHDAY=32;COUNT=2",
        "FREQ=YEARLY;UNTIL=20500101",  # beyond the horizon
        "FREQ=WEEKLY;UNTIL=20200101",  # no occurrence at all
        "FREQ=DAILY;COUNT=3\nEXDATE:20260318",
        "",
        "pas une règle",
    ],
)
def test_bad_rules_raise_invalid_recurrence(rule: str) -> None:
    with pytest.raises(RecurrenceError) as caught:
        expand_rrule(rule, at(2026, 3, 17, 14), at(2026, 3, 17, 16), PARIS)
    assert caught.value.code == "invalid_recurrence"
    assert caught.value.message("fr") and caught.value.message("en") != caught.value.message("fr")


def test_overlapping_occurrences_and_bad_first_interval_are_refused() -> None:
    with pytest.raises(RecurrenceError, match="overlap"):
        expand_rrule("FREQ=DAILY;COUNT=3", at(2026, 3, 17, 14), at(2026, 3, 18, 16), PARIS)
    with pytest.raises(RecurrenceError):
        expand_rrule("FREQ=DAILY;COUNT=3", at(2026, 3, 17, 16), at(2026, 3, 17, 14), PARIS)
    with pytest.raises(RecurrenceError):
        expand_rrule("FREQ=DAILY;COUNT=3", datetime(2026, 3, 17, 14), datetime(2026, 3, 17, 16), PARIS)


def test_impossible_rules_fail_fast() -> None:
    began = time.perf_counter()
    with pytest.raises(RecurrenceError):
        expand_rrule("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31;COUNT=2", at(2026, 3, 17, 14), at(2026, 3, 17, 16), PARIS)
    assert time.perf_counter() - began < 1


def test_utc_input_is_expanded_in_the_site_wall_time() -> None:
    start = at(2026, 3, 24, 14).astimezone(UTC)
    occurrences = expand_rrule("FREQ=WEEKLY;COUNT=2", start, start + timedelta(hours=1), PARIS)
    assert [local(s)[1] for s, _ in occurrences] == ["14:00", "14:00"]
