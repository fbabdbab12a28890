"""The inclusion report as the API shows it (counts only: no one is named)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class BreakdownOut(_Out):
    key: str
    sessions: int
    hours: float
    present: int
    seats_confirmed: int
    registered_present: int
    attendance_rate: float | None


class ActivityOut(_Out):
    """One accompaniment with the national activity report's fields."""

    date: date
    kind: str
    duration_minutes: int
    people: int
    themes: list[str]
    publics: list[str]
    place: str
    referred_to: list[str]
    session_id: int | None
    appointment_id: int | None


class InclusionReportOut(_Out):
    first: date
    last: date
    people_reached: int
    first_time: int
    returning: int
    group_heads: int
    walk_ins: int
    sessions_held: int
    appointments_held: int
    hours: float
    session_hours: float
    appointment_hours: float
    present: int
    absent: int
    no_shows: int
    seats_confirmed: int
    registered_present: int
    attendance_rate: float | None
    by_theme: list[BreakdownOut]
    by_public: list[BreakdownOut]
    by_age_band: list[BreakdownOut]
    by_place: list[BreakdownOut]
    by_month: list[BreakdownOut]
    activities: list[ActivityOut]
