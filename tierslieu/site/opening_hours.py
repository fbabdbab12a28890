"""Opening hours rules (``mon: ["08:30-12:00", "14:00-18:00"]``) in OpenStreetMap's
``opening_hours`` syntax (``Mo-Fr 08:30-12:00,14:00-18:00; Sa 09:00-12:00; PH off``), as the
national standard's ``horaires`` field expects. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tierslieu.booking.schedule import Weekday

__all__ = ["osm_opening_hours"]

_OSM_DAYS = {
    Weekday.MON: "Mo", Weekday.TUE: "Tu", Weekday.WED: "We", Weekday.THU: "Th",
    Weekday.FRI: "Fr", Weekday.SAT: "Sa", Weekday.SUN: "Su",
}  # fmt: skip
_ORDER = list(_OSM_DAYS)
_ALL_DAY = ("00:00-24:00",)


def _days(first: int, last: int) -> str:
    names = [_OSM_DAYS[_ORDER[i]] for i in range(first, last + 1)]
    return names[0] if len(names) == 1 else f"{names[0]}-{names[-1]}"


def osm_opening_hours(hours: Mapping[str, Sequence[str]], *, public_holidays_closed: bool = False) -> str:
    """Consecutive days with the same hours share one rule; days not listed are closed (and
    need no rule: OSM's days not named are closed)."""
    ranges = [tuple(sorted(hours.get(day.value, ()))) for day in _ORDER]
    if all(r == _ALL_DAY for r in ranges) and not public_holidays_closed:
        return "24/7"
    rules = []
    i = 0
    while i < len(ranges):
        j = i
        while j + 1 < len(ranges) and ranges[j + 1] == ranges[i]:
            j += 1
        if ranges[i]:
            rules.append(f"{_days(i, j)} {','.join(ranges[i])}")
        i = j + 1
    if public_holidays_closed:
        rules.append("PH off")
    return "; ".join(rules) if rules else "closed"
