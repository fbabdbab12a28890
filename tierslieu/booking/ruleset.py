"""The rules model: what a level (building, floor, space, resource) may set, and how levels combine.

Each level stores a :class:`BookingRules` where every field is optional (``None`` = inherit).
:func:`merge_rules` resolves the levels into :class:`EffectiveRules`, which the verdicts in
:mod:`tierslieu.booking.rules` read. Import these names from ``tierslieu.booking.rules``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tierslieu.booking.schedule import Schedule, Weekday, parse_opening_ranges

__all__ = [
    "ALL_DAY",
    "BookingRules",
    "Closure",
    "ClosureRange",
    "EffectiveRules",
    "Role",
    "merge_rules",
    "patch_rules",
]

ALL_DAY = "00:00-24:00"


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    ANIMATOR = "animator"
    MUNICIPAL = "municipal"
    MEMBER = "member"


Minutes = Annotated[int, Field(ge=0)]
PositiveMinutes = Annotated[int, Field(ge=1)]


# --------------------------------------------------------------------------- rules model


class ClosureRange(BaseModel):
    """An inclusive range of closed dates, written ``{"from": "2026-12-24", "to": "2027-01-02"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, serialize_by_alias=True)

    from_: date = Field(alias="from")
    to: date

    @model_validator(mode="after")
    def _ordered(self) -> ClosureRange:
        if self.to < self.from_:
            raise ValueError("La fermeture doit finir le même jour ou après son début.")
        return self


Closure = date | ClosureRange


def _closure_bounds(closure: Closure) -> tuple[date, date]:
    return (closure, closure) if isinstance(closure, date) else (closure.from_, closure.to)


def _check_opening_hours(value: Mapping[Weekday, list[str]]) -> None:
    for texts in value.values():
        parse_opening_ranges(texts)  # raises ValueError with a French message


class BookingRules(BaseModel):
    """Rules set at one level; every field is optional and ``None`` means "inherit".

    Durations are whole minutes. ``opening_hours`` maps ``mon``…``sun`` to ``"HH:MM-HH:MM"``
    ranges in the site's timezone; a day missing from a set mapping is closed.
    ``checkin_minutes = 0`` and ``door_open_alert_minutes = 0`` switch the feature off
    explicitly (so a resource can turn off what its space turned on).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    opening_hours: dict[Weekday, list[str]] | None = None
    closures: list[Closure] | None = None
    public_holidays_closed: bool | None = None
    min_duration: PositiveMinutes | None = None
    max_duration: PositiveMinutes | None = None
    slot_minutes: Annotated[int, Field(ge=1, le=1440)] | None = None
    advance_days: Annotated[int, Field(ge=0)] | None = None
    min_notice_minutes: Minutes | None = None
    buffer_minutes: Minutes | None = None
    allowed_roles: list[Role] | None = None
    required_training: list[Annotated[str, Field(min_length=1)]] | None = None
    max_hours_per_week: Annotated[float, Field(ge=0)] | None = None
    max_active_bookings: Annotated[int, Field(ge=0)] | None = None
    requires_approval: list[Role] | None = None
    checkin_minutes: Minutes | None = None
    access_lead_minutes: Minutes | None = None
    overrun_minutes: Minutes | None = None
    walk_in: bool | None = None
    unlock_during_bookings: bool | None = None
    door_open_alert_minutes: Minutes | None = None

    @field_validator("opening_hours")
    @classmethod
    def _valid_opening_hours(cls, value: dict[Weekday, list[str]] | None) -> dict[Weekday, list[str]] | None:
        if value is not None:
            _check_opening_hours(value)
        return value

    @model_validator(mode="after")
    def _durations_consistent(self) -> BookingRules:
        if self.min_duration and self.max_duration and self.min_duration > self.max_duration:
            raise ValueError("La durée minimale dépasse la durée maximale.")
        return self

    def to_json(self) -> dict[str, Any]:
        """The fields that are set, JSON-able, as stored in the database."""
        return self.model_dump(mode="json", exclude_none=True)


class EffectiveRules(BaseModel):
    """Rules with every field resolved; ``None`` here means "no limit" / "feature off"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    opening_hours: dict[Weekday, list[str]] = Field(default_factory=lambda: {day: [ALL_DAY] for day in Weekday})
    closures: list[Closure] = Field(default_factory=list)
    public_holidays_closed: bool = True
    min_duration: int | None = None
    max_duration: int | None = None
    slot_minutes: int | None = None
    advance_days: int | None = None
    min_notice_minutes: int = 0
    buffer_minutes: int = 0
    allowed_roles: list[Role] = Field(default_factory=lambda: list(Role))
    required_training: list[str] = Field(default_factory=list)
    max_hours_per_week: float | None = None
    max_active_bookings: int | None = None
    requires_approval: list[Role] = Field(default_factory=list)
    checkin_minutes: int | None = None
    access_lead_minutes: int = 10
    overrun_minutes: int = 0
    walk_in: bool = False
    unlock_during_bookings: bool = False
    door_open_alert_minutes: int | None = None

    @field_validator("opening_hours")
    @classmethod
    def _valid_opening_hours(cls, value: dict[Weekday, list[str]]) -> dict[Weekday, list[str]]:
        _check_opening_hours(value)
        return value

    @property
    def schedule(self) -> Schedule:
        """Opening hours, closures and holidays as a :class:`Schedule`.

        Looked up by their content on each access (not stored on the instance, so
        ``model_copy(update=...)`` can never return a stale calendar)."""
        hours = tuple((day, tuple(texts)) for day, texts in self.opening_hours.items())
        closures = tuple(_closure_bounds(closure) for closure in self.closures)
        return _schedule(hours, closures, self.public_holidays_closed)


# Parsing opening hours is most of the cost of a place's rules, and the access facts and the
# occupancy view read every place's rules every few seconds: a Schedule (immutable) is built
# once per distinct calendar.
@lru_cache(maxsize=1024)
def _schedule(
    hours: tuple[tuple[Weekday, tuple[str, ...]], ...], closures: tuple[tuple[date, date], ...], holidays_closed: bool
) -> Schedule:
    return Schedule.from_texts(dict(hours), closures, public_holidays_closed=holidays_closed)


_SWITCH_OFF_WITH_ZERO = frozenset({"checkin_minutes", "door_open_alert_minutes"})


def merge_rules(*levels: BookingRules) -> EffectiveRules:
    """Resolve levels given outermost first (building, floor, space, resource).

    A later level's set value replaces the earlier one, field by field — except ``closures``,
    which add up: a building closed on 25 December closes every room in it.
    """
    resolved: dict[str, Any] = {}
    closures: list[Closure] = []
    for level in levels:
        for name in BookingRules.model_fields:
            value = getattr(level, name)
            if value is None:
                continue
            if name == "closures":
                closures.extend(c for c in value if c not in closures)
            else:
                resolved[name] = value
    for name in _SWITCH_OFF_WITH_ZERO:
        if resolved.get(name) == 0:
            resolved[name] = None
    return EffectiveRules(**resolved, closures=closures)


def patch_rules(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Apply a PATCH ``{"rules": {...}}`` body: keys replace, ``null`` removes (= inherit).

    Merged one level deep only: ``opening_hours`` is replaced as a whole. The result is
    validated; a bad value raises ``pydantic.ValidationError`` (a ``ValueError``).
    """
    merged = {key: value for key, value in current.items() if value is not None}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return BookingRules.model_validate(merged).to_json()
