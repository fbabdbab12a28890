"""Recurring bookings: expand an RFC 5545 ``RRULE`` into concrete intervals.

Occurrences are computed in the site's local wall time, so a workshop on Tuesdays at 14:00
stays at 14:00 when the clocks change. Only bounded rules are accepted (``COUNT`` or
``UNTIL``) and never more than ``limit`` occurrences, so one request cannot flood the
calendar.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from tierslieu.booking.schedule import Interval
from tierslieu.i18n import render

__all__ = ["DEFAULT_LIMIT", "HORIZON_YEARS", "RecurrenceError", "expand_rrule"]

DEFAULT_LIMIT = 200
HORIZON_YEARS = 10

# A booking repeats at most daily, on whole days: sub-daily parts (BYHOUR…) and the rarely
# useful BYYEARDAY/BYWEEKNO are refused, which also keeps dateutil from searching for dates
# that never come (it would scan up to the year 9999).
_KNOWN_PARTS = frozenset({
    "FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS",
})  # fmt: skip
_FREQUENCIES = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
_MAX_ORDINAL = {"DAILY": 0, "WEEKLY": 0, "MONTHLY": 5, "YEARLY": 53}
_BYDAY_ITEM = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February counts its 29th
_DATE_ONLY = re.compile(r"^\d{8}$")
_LOCAL_DATETIME = re.compile(r"^\d{8}T\d{6}$")


class RecurrenceError(ValueError):
    """A recurrence rule that cannot be used: the catalogue entry ``msgid`` says why."""

    code = "invalid_recurrence"

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params

    def message(self, language: str = "fr") -> str:
        return render(self.msgid, self.params, language)

    def __str__(self) -> str:
        return self.message("en")


def _parts(text: str) -> dict[str, str]:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    if not body or "\n" in body:
        raise RecurrenceError("invalid_recurrence.multiline")
    parts: dict[str, str] = {}
    for item in body.split(";"):
        name, sep, value = item.partition("=")
        name = name.strip().upper()
        if not sep or not value.strip() or name not in _KNOWN_PARTS or name in parts:
            raise _unreadable(item)
        parts[name] = value.strip().upper()
    return parts


def _until_in_utc(value: str, tz: ZoneInfo) -> str:
    # RFC 5545 wants UNTIL in UTC when the start has a timezone; people write local dates.
    if value.endswith("Z"):
        return value
    if _DATE_ONLY.match(value):
        local = datetime.strptime(value, "%Y%m%d").replace(hour=23, minute=59, second=59, tzinfo=tz)
    elif _LOCAL_DATETIME.match(value):
        local = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=tz)
    else:
        raise RecurrenceError("invalid_recurrence.until", value=value)
    return local.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _positive(parts: dict[str, str], name: str) -> int | None:
    if name not in parts:
        return None
    if not parts[name].isdigit() or int(parts[name]) < 1:
        raise RecurrenceError("invalid_recurrence.not_positive", name=name)
    return int(parts[name])


def _bounded_rule(text: str, local_start: datetime, tz: ZoneInfo, horizon: datetime) -> tuple[rrule, int | None]:
    """The rule bounded by ``UNTIL`` (the user's or the horizon), and the user's ``COUNT``."""
    parts = _parts(text)
    if "FREQ" not in parts:
        raise RecurrenceError("invalid_recurrence.no_freq")
    if ("COUNT" in parts) == ("UNTIL" in parts):
        raise RecurrenceError("invalid_recurrence.count_or_until")
    _positive(parts, "INTERVAL")
    _check_reachable(parts)
    count = _positive(parts, "COUNT")
    parts.pop("COUNT", None)
    # Always iterate up to a horizon: dateutil would otherwise search until year 9999 for a
    # COUNT that impossible BY* parts never reach.
    until = _until_in_utc(parts["UNTIL"], tz) if "UNTIL" in parts else None
    if until is not None and datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) > horizon:
        raise _beyond_horizon()
    parts["UNTIL"] = until or horizon.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        rule = rrulestr(";".join(f"{k}={v}" for k, v in parts.items()), dtstart=local_start)
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise RecurrenceError("invalid_recurrence.unreadable", error=error) from error
    if not isinstance(rule, rrule):  # pragma: no cover - a single RRULE line always gives an rrule
        raise RecurrenceError("invalid_recurrence")
    return rule, count


def _integers(parts: dict[str, str], name: str) -> list[int]:
    try:
        return [int(item) for item in parts[name].split(",")] if name in parts else []
    except ValueError:
        raise _unreadable(parts[name]) from None


def _check_reachable(parts: dict[str, str]) -> None:
    """Refuse parts that could never match, before dateutil searches for them forever."""
    frequency = parts["FREQ"]
    if frequency not in _FREQUENCIES:
        raise RecurrenceError("invalid_recurrence.frequency")
    for item in parts.get("BYDAY", "").split(",") if "BYDAY" in parts else []:
        match = _BYDAY_ITEM.match(item)
        if match is None or (match[1] and not 0 < abs(int(match[1])) <= _MAX_ORDINAL[frequency]):
            raise _unreadable(item)
    months = _integers(parts, "BYMONTH") or list(range(1, 13))
    days = _integers(parts, "BYMONTHDAY")
    if any(not 1 <= month <= 12 for month in months) or any(not 1 <= abs(day) <= 31 for day in days):
        raise _unreadable(parts.get("BYMONTH", "") + ";" + parts.get("BYMONTHDAY", ""))
    if days and not any(abs(day) <= _DAYS_IN_MONTH[month - 1] for month in months for day in days):
        raise RecurrenceError("invalid_recurrence.no_dates")
    positions = _integers(parts, "BYSETPOS")
    if positions and (frequency in {"DAILY", "WEEKLY"} or any(not 1 <= abs(p) <= 366 for p in positions)):
        raise _unreadable(parts["BYSETPOS"])


def _unreadable(item: str) -> RecurrenceError:
    return RecurrenceError("invalid_recurrence.near", item=item)


def _beyond_horizon() -> RecurrenceError:
    return RecurrenceError("invalid_recurrence.horizon", HORIZON_YEARS=HORIZON_YEARS)


def expand_rrule(
    rrule_text: str, start: datetime, end: datetime, tz: ZoneInfo, limit: int = DEFAULT_LIMIT
) -> list[Interval]:
    """Expand ``rrule_text`` from the first occurrence ``[start, end)``.

    Returns ``(start, end)`` pairs as UTC datetimes, each occurrence keeping the
    first one's local start time and wall-clock length. As in python-dateutil, ``start``
    itself is listed only if it matches the rule. ``UNTIL`` may be UTC (``…Z``) or local
    (``20260630`` = through that local day). Raises :class:`RecurrenceError` (code
    ``invalid_recurrence``) for bad syntax, rules without ``COUNT``/``UNTIL`` or reaching past
    ``HORIZON_YEARS``, rules giving no or more than ``limit`` occurrences, or occurrences
    overlapping each other.
    """
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise RecurrenceError("invalid_recurrence.first_occurrence")
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    wall_length = local_end.replace(tzinfo=None) - local_start.replace(tzinfo=None)
    horizon = local_start + timedelta(days=366 * HORIZON_YEARS)
    rule, count = _bounded_rule(rrule_text, local_start, tz, horizon)
    if count is not None and count > limit:
        raise _too_many(limit)
    try:
        starts = list(itertools.islice(rule, limit + 1 if count is None else count))
    except ValueError as error:  # dateutil trips on a few impossible BY* combinations
        raise RecurrenceError("invalid_recurrence.unreadable", error=error) from error
    if len(starts) > limit:
        raise _too_many(limit)
    if count is not None and len(starts) < count:
        raise _beyond_horizon()
    if not starts:
        raise RecurrenceError("invalid_recurrence.no_dates")
    occurrences = [_occurrence(s, wall_length, tz) for s in starts]
    for (_, previous_end), (next_start, _) in itertools.pairwise(occurrences):
        if next_start < previous_end:
            raise RecurrenceError("invalid_recurrence.overlapping")
    return occurrences


def _too_many(limit: int) -> RecurrenceError:
    return RecurrenceError("invalid_recurrence.too_many", limit=limit)


def _real(wall: datetime, tz: ZoneInfo) -> datetime:
    # The UTC instant of a wall time; one in the spring gap (02:30) reads as 03:30.
    return wall.replace(tzinfo=tz).astimezone(UTC)


def _occurrence(wall_start: datetime, wall_length: timedelta, tz: ZoneInfo) -> Interval:
    start, end = _real(wall_start, tz), _real(wall_start + wall_length, tz)
    # A start pushed forward by the spring gap must not swallow the occurrence.
    return (start, end) if end > start else (start, start + wall_length)
