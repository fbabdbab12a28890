"""A period of local days asked in a query (``from``/``to``), checked once for every report:
start before the end, at most ``max_days`` long, and within the years a calendar can hold."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tierslieu.booking.schedule import at_local_minute
from tierslieu.errors import InvalidInput

__all__ = ["local_period"]

FIRST_YEAR, LAST_YEAR = 1900, 9998


def local_period(first: date, last: date, tz: ZoneInfo, *, max_days: int) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC from local midnight of ``first`` to the midnight after ``last``;
    a 422 ``invalid_period`` otherwise."""
    if first > last or (last - first).days > max_days or first.year < FIRST_YEAR or last.year > LAST_YEAR:
        raise InvalidInput("invalid_period", first=first, last=last, max_days=max_days)
    return at_local_minute(first, 0, tz), at_local_minute(last + timedelta(days=1), 0, tz)
