"""When a space is open: weekly opening hours, closure dates and French public holidays.

Everything here is pure and works on local calendar days of the site's timezone. Opening
ranges are stored as ``"HH:MM-HH:MM"`` strings (the contract of the ``opening_hours`` rule);
:class:`Schedule` turns them into timezone-aware instants, doing the arithmetic in local wall
time so that a 09:00-18:00 day stays 09:00-18:00 on the nights the clocks change.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "ClosureReason",
    "DayClosure",
    "Interval",
    "OpeningRange",
    "Schedule",
    "Weekday",
    "at_local_minute",
    "french_public_holiday",
    "local_days",
    "merge_intervals",
    "parse_opening_range",
    "parse_opening_ranges",
    "utc",
]

Interval = tuple[datetime, datetime]
ClosureReason = Literal["closed", "holiday"]

MINUTES_PER_DAY = 24 * 60
_RANGE_PATTERN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class Weekday(StrEnum):
    """Days of the week as used in ``opening_hours`` keys (index = ``date.weekday()``)."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @classmethod
    def of(cls, day: date) -> Weekday:
        return list(cls)[day.weekday()]


@dataclass(frozen=True, slots=True)
class OpeningRange:
    """One opening range of a local day, in minutes since local midnight (end may be 1440)."""

    start_minute: int
    end_minute: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start_minute)}-{_hhmm(self.end_minute)}"


@dataclass(frozen=True, slots=True)
class DayClosure:
    """Why a whole local day is closed; ``name`` is the holiday name in the asked language."""

    reason: ClosureReason
    day: date
    name: str | None = None


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_opening_range(text: str) -> OpeningRange:
    """Parse ``"HH:MM-HH:MM"``; ``24:00`` is allowed only as an end. Raises ``ValueError`` (French)."""
    match = _RANGE_PATTERN.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"Plage horaire « {text} » invalide : le format attendu est HH:MM-HH:MM.")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m != 0):
        raise ValueError(f"Plage horaire « {text} » invalide : heure impossible.")
    opening = OpeningRange(start_h * 60 + start_m, end_h * 60 + end_m)
    if opening.end_minute <= opening.start_minute:
        raise ValueError(f"Plage horaire « {text} » invalide : la fin doit être après le début.")
    return opening


def parse_opening_ranges(texts: Iterable[str]) -> tuple[OpeningRange, ...]:
    """Parse one day's ranges, sorted; overlapping ranges are refused, touching ones are joined."""
    ranges = sorted((parse_opening_range(text) for text in texts), key=lambda r: r.start_minute)
    joined: list[OpeningRange] = []
    for current in ranges:
        if joined and current.start_minute < joined[-1].end_minute:
            raise ValueError(f"Les plages horaires {joined[-1]} et {current} se chevauchent.")
        if joined and current.start_minute == joined[-1].end_minute:
            # 09:00-12:00 + 12:00-14:00 is one continuous opening: a booking may span both.
            joined[-1] = OpeningRange(joined[-1].start_minute, current.end_minute)
        else:
            joined.append(current)
    return tuple(joined)


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC. Internal arithmetic is done in UTC: Python subtracts and compares two
    datetimes sharing one ``ZoneInfo`` by wall time, which is wrong across a DST change."""
    return moment.astimezone(UTC)


def at_local_minute(day: date, minute: int, tz: ZoneInfo, *, fold: int = 0) -> datetime:
    """The instant (in UTC) at ``minute`` past local midnight of ``day`` (1440 = next midnight).

    Wall times that do not exist (the skipped hour in spring) are moved forward by the gap,
    the way a wall clock would read them; ambiguous ones use ``fold`` (0 = first occurrence).
    """
    wall = datetime.combine(day, time(), tzinfo=tz) + timedelta(minutes=minute)
    return wall.replace(fold=fold).astimezone(UTC)


def local_days(start: datetime, end: datetime, tz: ZoneInfo) -> list[date]:
    """Local calendar days touched by the half-open interval ``[start, end)`` (at least one)."""
    first = start.astimezone(tz).date()
    last = max(first, (end - timedelta(microseconds=1)).astimezone(tz).date())
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and join overlapping or touching intervals."""
    merged: list[Interval] = []
    for start, end in sorted((utc(start), utc(end)) for start, end in intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


_REMEMBERED_DAYS = 4096  # per schedule: eleven years of days


@functools.cache
def _french_holidays(year: int, language: str) -> Mapping[date, str]:
    # Metropolitan France (no subdivision). Cached because building a calendar costs a few ms.
    calendar = holidays.country_holidays("FR", years=year, language=language)
    return MappingProxyType(dict(calendar.items()))


def french_public_holiday(day: date, *, language: str = "fr") -> str | None:
    """The public holiday name on ``day`` in metropolitan France, or ``None`` (``language``: fr/en)."""
    return _french_holidays(day.year, "en_US" if language.startswith("en") else "fr").get(day)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A space's calendar: weekly opening ranges, closed days and whether holidays close it.

    ``closures`` are inclusive ``(first, last)`` date ranges (a single day is ``(d, d)``); a
    weekday absent from ``weekly`` is closed.
    """

    weekly: Mapping[Weekday, tuple[OpeningRange, ...]]
    closures: tuple[tuple[date, date], ...] = ()
    public_holidays_closed: bool = True
    # A day's openings, per (day, tz), remembered: every booking request, the access facts and
    # the print dispatcher ask for the same few days again and again.
    _days: dict[tuple[date, ZoneInfo], tuple[Interval, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @classmethod
    def from_texts(
        cls,
        opening_hours: Mapping[Weekday, Sequence[str]],
        closures: Iterable[tuple[date, date]] = (),
        *,
        public_holidays_closed: bool = True,
    ) -> Schedule:
        weekly = {Weekday(day): parse_opening_ranges(texts) for day, texts in opening_hours.items()}
        return cls(MappingProxyType(weekly), tuple(closures), public_holidays_closed)

    def day_closure(self, day: date, *, language: str = "fr") -> DayClosure | None:
        """Why ``day`` is entirely closed by a closure date or a public holiday, if it is."""
        if any(first <= day <= last for first, last in self.closures):
            return DayClosure("closed", day)
        if self.public_holidays_closed:
            name = french_public_holiday(day, language=language)
            if name is not None:
                return DayClosure("holiday", day, name)
        return None

    def regular_intervals(self, day: date, tz: ZoneInfo) -> list[Interval]:
        """The weekly opening ranges of ``day`` as UTC instants, ignoring closures and holidays."""
        return [
            (at_local_minute(day, r.start_minute, tz), at_local_minute(day, r.end_minute, tz))
            for r in self.weekly.get(Weekday.of(day), ())
        ]

    def open_intervals(self, start: datetime, end: datetime, tz: ZoneInfo) -> list[Interval]:
        """Open time within ``[start, end)``: merged across midnight, minus closed days (UTC)."""
        start, end = utc(start), utc(end)
        return [
            (max(open_start, start), min(open_end, end))
            for open_start, open_end in merge_intervals(self._open_on(local_days(start, end, tz), tz))
            if open_start < end and open_end > start
        ]

    def _open_on(self, days: Iterable[date], tz: ZoneInfo) -> Iterator[Interval]:
        for day in days:
            yield from self._open_on_day(day, tz)

    def _open_on_day(self, day: date, tz: ZoneInfo) -> tuple[Interval, ...]:
        found = self._days.get((day, tz))
        if found is None:
            found = () if self.day_closure(day) is not None else tuple(self.regular_intervals(day, tz))
            if len(self._days) >= _REMEMBERED_DAYS:
                self._days.clear()  # rare; cheaper than an LRU's bookkeeping
            self._days[day, tz] = found
        return found

    def fits_one_opening(self, start: datetime, end: datetime, tz: ZoneInfo) -> bool:
        """Whether ``[start, end)`` lies inside one continuous opening (which may cross midnight)."""
        opened = merge_intervals(self._open_on(local_days(start, end, tz), tz))
        start, end = utc(start), utc(end)
        return any(open_start <= start and end <= open_end for open_start, open_end in opened)
