"""How booking messages show dates, times, durations and roles, in French and English.

Kept apart from the rules so the verdict code reads as rules, not string formatting. Times
are always shown in the site's local time (the caller converts before formatting).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

__all__ = [
    "Bilingual",
    "day_en",
    "day_fr",
    "duration_en",
    "duration_fr",
    "hm",
    "roles_en",
    "roles_fr",
    "weekday_en",
    "weekday_fr",
]

Bilingual = tuple[str, str]
"""A message as ``(french, english)``."""

_MONTHS_FR = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_WEEKDAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ROLES_FR = {
    "admin": "administrateurs",
    "staff": "équipe du tiers-lieu",
    "animator": "animateurs",
    "municipal": "agents municipaux",
    "member": "adhérents",
    "partner": "partenaires prescripteurs",
}
_ROLES_EN = {
    "admin": "administrators",
    "staff": "staff",
    "animator": "workshop leaders",
    "municipal": "municipal staff",
    "member": "members",
    "partner": "referring partners",
}


def hm(moment: datetime, tz: ZoneInfo) -> str:
    """``10:00`` — the site's wall-clock time of ``moment``."""
    local = moment.astimezone(tz)
    return f"{local.hour:02d}:{local.minute:02d}"


def day_fr(day: date, *, weekday: bool = False, year: bool = False) -> str:
    """``14 juillet``, ``1er mai``, ``mardi 14 juillet 2026``."""
    number = "1er" if day.day == 1 else str(day.day)
    text = f"{number} {_MONTHS_FR[day.month - 1]}"
    if weekday:
        text = f"{_WEEKDAYS_FR[day.weekday()]} {text}"
    return f"{text} {day.year}" if year else text


def day_en(day: date, *, weekday: bool = False, year: bool = False) -> str:
    """``July 14``, ``Tuesday July 14, 2026``."""
    text = f"{_MONTHS_EN[day.month - 1]} {day.day}"
    if weekday:
        text = f"{_WEEKDAYS_EN[day.weekday()]} {text}"
    return f"{text}, {day.year}" if year else text


def weekday_fr(day: date) -> str:
    return _WEEKDAYS_FR[day.weekday()]


def weekday_en(day: date) -> str:
    return _WEEKDAYS_EN[day.weekday()]


def duration_fr(minutes: float) -> str:
    """``45 min``, ``2 h``, ``1 h 30``."""
    hours, rest = divmod(round(minutes), 60)
    if hours == 0:
        return f"{rest} min"
    return f"{hours} h" if rest == 0 else f"{hours} h {rest:02d}"


def duration_en(minutes: float) -> str:
    """``45 min``, ``2 h``, ``1 h 30 min``."""
    hours, rest = divmod(round(minutes), 60)
    if hours == 0:
        return f"{rest} min"
    return f"{hours} h" if rest == 0 else f"{hours} h {rest} min"


def roles_fr(roles: Iterable[str]) -> str:
    return ", ".join(_ROLES_FR.get(role, role) for role in roles) or "personne"


def roles_en(roles: Iterable[str]) -> str:
    return ", ".join(_ROLES_EN.get(role, role) for role in roles) or "nobody"
