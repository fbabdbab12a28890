"""Opening hours, closures and French public holidays (tierslieu.booking.schedule)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from tierslieu.booking.rules import BookingRules, merge_rules
from tierslieu.booking.schedule import (
    OpeningRange,
    Schedule,
    Weekday,
    at_local_minute,
    french_public_holiday,
    local_days,
    merge_intervals,
    parse_opening_range,
    parse_opening_ranges,
)

PARIS = ZoneInfo("Europe/Paris")
SPRING_FORWARD = date(2026, 3, 29)  # 02:00 → 03:00
FALL_BACK = date(2026, 10, 25)  # 03:00 → 02:00


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00-18:00", OpeningRange(540, 1080)),
        ("00:00-24:00", OpeningRange(0, 1440)),
        (" 07:30-08:45 ", OpeningRange(450, 525)),
        ("23:59-24:00", OpeningRange(1439, 1440)),
    ],
)
def test_parse_opening_range_accepts(text: str, expected: OpeningRange) -> None:
    assert parse_opening_range(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("9:00-18:00", "format"),
        ("09:00 - 18:00", "format"),
        ("09h00-18h00", "format"),
        ("", "format"),
        ("25:00-26:00", "impossible"),
        ("09:60-10:00", "impossible"),
        ("24:00-24:00", "impossible"),
        ("10:00-24:30", "impossible"),
        ("18:00-09:00", "après le début"),
        ("10:00-10:00", "après le début"),
    ],
)
def test_parse_opening_range_refuses_with_french_message(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_opening_range(text)


def test_day_ranges_are_sorted_and_touching_ranges_joined() -> None:
    assert parse_opening_ranges(["14:00-18:00", "09:00-12:00", "12:00-13:00"]) == (
        OpeningRange(540, 780),
        OpeningRange(840, 1080),
    )


def test_overlapping_day_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match="se chevauchent"):
        parse_opening_ranges(["09:00-12:00", "11:00-14:00"])


@pytest.mark.parametrize(
    "rules",
    [
        {"opening_hours": {"mon": ["9-18"]}},
        {"opening_hours": {"mon": ["09:00-12:00", "11:00-13:00"]}},
        {"opening_hours": {"monday": ["09:00-12:00"]}},
        {"closures": [{"from": "2026-08-15", "to": "2026-08-01"}]},
        {"closures": [{"from": "2026-08-01"}]},
        {"closures": ["pas une date"]},
        {"min_duration": 120, "max_duration": 60},
        {"slot_minutes": 0},
        {"buffer_minutes": -5},
        {"allowed_roles": ["superuser"]},
        {"unknown_rule": 1},
    ],
)
def test_booking_rules_reject_bad_values(rules: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        BookingRules.model_validate(rules)


@pytest.mark.parametrize(
    ("day", "name_fr", "name_en"),
    [
        (date(2026, 7, 14), "Fête nationale", "National Day"),
        (date(2026, 5, 1), "Fête du Travail", "Labor Day"),
        (date(2026, 4, 6), "Lundi de Pâques", "Easter Monday"),
        (date(2026, 5, 14), "Ascension", "Ascension Day"),
        (date(2026, 12, 25), "Noël", "Christmas Day"),
        (date(2027, 3, 29), "Lundi de Pâques", "Easter Monday"),
    ],
)
def test_french_public_holidays_come_from_the_holidays_package(day: date, name_fr: str, name_en: str) -> None:
    assert french_public_holiday(day) == name_fr
    assert french_public_holiday(day, language="en") == name_en


@pytest.mark.parametrize("day", [date(2026, 7, 13), date(2026, 4, 5), date(2026, 12, 26)])
def test_ordinary_days_are_not_holidays(day: date) -> None:
    assert french_public_holiday(day) is None


def test_day_closure_reports_closures_before_holidays_and_respects_the_switch() -> None:
    schedule = Schedule.from_texts(
        {Weekday.TUE: ["09:00-18:00"]},
        [(date(2026, 8, 1), date(2026, 8, 15)), (date(2026, 12, 24), date(2026, 12, 24))],
    )
    assert schedule.day_closure(date(2026, 8, 1)) is not None
    assert schedule.day_closure(date(2026, 8, 15)).reason == "closed"  # type: ignore[union-attr]
    assert schedule.day_closure(date(2026, 8, 16)) is None
    assert schedule.day_closure(date(2026, 12, 24)).reason == "closed"  # type: ignore[union-attr]
    holiday = schedule.day_closure(date(2026, 7, 14))
    assert holiday is not None and (holiday.reason, holiday.name) == ("holiday", "Fête nationale")
    open_on_holidays = Schedule.from_texts({}, public_holidays_closed=False)
    assert open_on_holidays.day_closure(date(2026, 7, 14)) is None


@pytest.mark.parametrize(
    ("day", "texts", "hours"),
    [
        (SPRING_FORWARD, ["09:00-18:00"], 9),
        (FALL_BACK, ["09:00-18:00"], 9),
        (SPRING_FORWARD, ["00:00-24:00"], 23),
        (FALL_BACK, ["00:00-24:00"], 25),
        (date(2026, 7, 12), ["00:00-24:00"], 24),
    ],
)
def test_opening_ranges_are_local_wall_time_on_dst_days(day: date, texts: list[str], hours: int) -> None:
    schedule = Schedule.from_texts({Weekday.of(day): texts})
    [(start, end)] = schedule.regular_intervals(day, PARIS)
    assert end - start == timedelta(hours=hours)
    assert start.astimezone(PARIS).time().hour == int(texts[0][:2]) % 24


def test_at_local_minute_moves_skipped_wall_times_forward() -> None:
    moment = at_local_minute(SPRING_FORWARD, 2 * 60 + 30, PARIS).astimezone(PARIS)
    assert (moment.hour, moment.minute, moment.utcoffset()) == (3, 30, timedelta(hours=2))
    assert at_local_minute(FALL_BACK, 150, PARIS, fold=1) - at_local_minute(FALL_BACK, 150, PARIS) == timedelta(hours=1)


def test_open_intervals_join_across_midnight_and_skip_closed_days() -> None:
    schedule = Schedule.from_texts(
        {
            Weekday.MON: ["18:00-24:00"],
            Weekday.TUE: ["00:00-02:00", "09:00-10:00"],
            Weekday.WED: ["09:00-10:00"],
        },
        [(date(2026, 7, 22), date(2026, 7, 22))],
    )
    assert schedule.open_intervals(at(2026, 7, 20), at(2026, 7, 24), PARIS) == [
        (at(2026, 7, 20, 18), at(2026, 7, 21, 2)),
        (at(2026, 7, 21, 9), at(2026, 7, 21, 10)),
    ]
    # The week of 14 July: Tuesday is a public holiday, so Monday evening ends at midnight.
    assert schedule.open_intervals(at(2026, 7, 13), at(2026, 7, 15), PARIS) == [
        (at(2026, 7, 13, 18), at(2026, 7, 14, 0)),
    ]


def test_open_intervals_are_clipped_to_the_window() -> None:
    schedule = Schedule.from_texts({Weekday.MON: ["09:00-18:00"]}, public_holidays_closed=False)
    assert schedule.open_intervals(at(2026, 7, 13, 10), at(2026, 7, 13, 12), PARIS) == [
        (at(2026, 7, 13, 10), at(2026, 7, 13, 12))
    ]


@pytest.mark.parametrize(
    ("start", "end", "fits"),
    [
        (at(2026, 7, 20, 9), at(2026, 7, 20, 12), True),
        (at(2026, 7, 20, 14), at(2026, 7, 20, 18), True),
        (at(2026, 7, 20, 8, 59), at(2026, 7, 20, 10), False),
        (at(2026, 7, 20, 11), at(2026, 7, 20, 15), False),  # crosses the lunch break
        (at(2026, 7, 20, 23), at(2026, 7, 21, 1), True),  # both days open around midnight
        (at(2026, 7, 20, 23), at(2026, 7, 21, 3), False),  # Tuesday closes at 02:00
        (at(2026, 7, 23, 23), at(2026, 7, 24, 1), False),  # Friday is closed
        (at(2026, 7, 13, 23), at(2026, 7, 14, 1), False),  # 14 July is a public holiday
    ],
)
def test_fits_one_opening(start: datetime, end: datetime, fits: bool) -> None:
    schedule = Schedule.from_texts(
        {
            Weekday.MON: ["09:00-12:00", "14:00-18:00", "22:00-24:00"],
            Weekday.TUE: ["00:00-02:00"],
            Weekday.THU: ["00:00-24:00"],
        }
    )
    assert schedule.fits_one_opening(start, end, PARIS) is fits


def test_local_days_and_merge_intervals() -> None:
    assert local_days(at(2026, 7, 13, 23), at(2026, 7, 14, 0), PARIS) == [date(2026, 7, 13)]
    assert local_days(at(2026, 7, 13, 23), at(2026, 7, 15, 1), PARIS) == [
        date(2026, 7, 13),
        date(2026, 7, 14),
        date(2026, 7, 15),
    ]
    assert merge_intervals([(at(2026, 1, 1, 10), at(2026, 1, 1, 11)), (at(2026, 1, 1, 9), at(2026, 1, 1, 10))]) == [
        (at(2026, 1, 1, 9), at(2026, 1, 1, 11))
    ]


def test_effective_schedule_defaults_to_always_open_but_closed_on_holidays() -> None:
    schedule = merge_rules().schedule
    assert schedule.fits_one_opening(at(2026, 7, 13, 3), at(2026, 7, 13, 23), PARIS)
    assert schedule.day_closure(date(2026, 7, 14)) is not None


def test_a_remembered_day_is_remembered_per_time_zone() -> None:
    schedule = Schedule.from_texts({Weekday.MON: ["09:00-10:00"]}, public_holidays_closed=False)
    instant = datetime(2031, 3, 3, 8, 30, tzinfo=ZoneInfo("UTC"))  # a Monday, 9:30 in Paris
    paris, utc_zone = ZoneInfo("Europe/Paris"), ZoneInfo("UTC")
    for _asked_again in range(2):
        assert schedule.fits_one_opening(instant, instant + timedelta(minutes=20), paris)
        assert not schedule.fits_one_opening(instant, instant + timedelta(minutes=20), utc_zone)
