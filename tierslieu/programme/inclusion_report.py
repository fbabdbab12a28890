"""What the programme achieved over a period: people reached, sessions held, hours, attendance,
by theme, public, age band, place and month, and the advisor's activity reports.

Counts come from one :class:`SessionCounts` per session held: computed from the attendance
rows while they exist, read back from ``WorkshopSession.tally`` once the retention purge has
reduced them to counts (the purge stores :meth:`SessionCounts.as_tally`), so a report adds up
the same before and after the purge.

People are counted without keeping who they are: each *visit* of a member or a person (present
at a session, or an appointment done) knows the day of that person's previous visit. Over a
period, the people reached are the visits whose previous visit is before the period (each
person once, at their first visit in it); first-timers are those with no previous visit at all.
Groups (a class counted by head) and anonymous walk-ins are counted apart, as head counts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from tierslieu.models import (
    ActivityReport,
    Appointment,
    Attendance,
    GroupRegistration,
    Person,
    Registration,
    Resource,
    Workshop,
    WorkshopSession,
)
from tierslieu.models.programme import AppointmentStatus, RegistrationStatus, SessionStatus

__all__ = [
    "AGE_BANDS",
    "Breakdown",
    "InclusionReport",
    "SessionCounts",
    "age_band",
    "inclusion_report",
    "session_counts",
]

UNKNOWN = "inconnu"
NONE = "none"  # no previous visit: a first-timer
# The age bands of the national activity report of digital-mediation advisors.
AGE_BANDS = (("0-11", 0, 11), ("12-17", 12, 17), ("18-24", 18, 24), ("25-39", 25, 39), ("40-59", 40, 59),
             ("60-69", 60, 69), ("70+", 70, 200))  # fmt: skip


def age_band(birth_year: int | None, on: date) -> str:
    if birth_year is None:
        return UNKNOWN
    age = on.year - birth_year
    return next((name for name, low, high in AGE_BANDS if low <= age <= high), UNKNOWN)


# Visits of people (members and persons) ------------------------------------------------------


@dataclass(frozen=True, order=True)
class _Visit:
    start: datetime
    order: int  # 0 session, 1 appointment: a stable order between visits at the same instant
    ident: int
    who: str  # "m12" or "p7": never leaves this module


def _visits(session: Session, until: datetime) -> dict[str, list[_Visit]]:
    """Every visit of every identified person still recorded, oldest first, per person."""
    by_who: dict[str, list[_Visit]] = defaultdict(list)
    rows = session.exec(
        select(Attendance.session_id, Attendance.member_id, Attendance.person_id, WorkshopSession.start)
        .join(WorkshopSession, col(WorkshopSession.id) == Attendance.session_id)
        .where(
            col(Attendance.present).is_(True),
            WorkshopSession.status == SessionStatus.scheduled.value,
            col(WorkshopSession.start) < until,
        )
    ).all()
    for session_id, member_id, person_id, start in rows:
        who = f"m{member_id}" if member_id is not None else f"p{person_id}" if person_id is not None else None
        if who is not None:
            by_who[who].append(_Visit(start, 0, session_id, who))
    appointments = session.exec(
        select(Appointment.id, Appointment.member_id, Appointment.person_id, Appointment.start).where(
            Appointment.status == AppointmentStatus.done.value, col(Appointment.start) < until
        )
    ).all()
    for appointment_id, member_id, person_id, start in appointments:
        who = f"m{member_id}" if member_id is not None else f"p{person_id}" if person_id is not None else None
        if who is not None and appointment_id is not None:
            by_who[who].append(_Visit(start, 1, appointment_id, who))
    for visits in by_who.values():
        visits.sort()
    return by_who


def _previous_days(visits: dict[str, list[_Visit]], tz: ZoneInfo) -> dict[tuple[int, int], Counter[str]]:
    """For each session (0, id) or appointment (1, id): how many of its visitors came last on
    which local day before (``none``: never)."""
    out: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    for person_visits in visits.values():
        previous: _Visit | None = None
        for visit in person_visits:
            day = previous.start.astimezone(tz).date().isoformat() if previous else NONE
            out[(visit.order, visit.ident)][day] += 1
            previous = visit
    return out


# Counts of one session ------------------------------------------------------------------------


@dataclass
class SessionCounts:
    """The counts of one session held, the same from its attendance rows or from its tally."""

    seats_confirmed: int = 0
    present: int = 0  # people present: registered (groups by head) and walk-ins
    absent: int = 0
    walk_ins: int = 0
    groups_present: int = 0  # heads present in groups (counted apart from people)
    anonymous_present: int = 0  # walk-ins without a name
    by_public: Counter[str] = field(default_factory=Counter)
    by_age_band: Counter[str] = field(default_factory=Counter)
    previous_visits: Counter[str] = field(default_factory=Counter)  # day of each visitor's previous visit

    @property
    def registered_present(self) -> int:
        return self.present - self.walk_ins

    @property
    def no_shows(self) -> int:
        return max(self.seats_confirmed - self.registered_present, 0)

    def as_tally(self) -> dict[str, Any]:
        """What the retention purge keeps in ``WorkshopSession.tally`` (counts only)."""
        return {
            "seats_confirmed": self.seats_confirmed,
            "present": self.present,
            "absent": self.absent,
            "walk_ins": self.walk_ins,
            "no_shows": self.no_shows,
            "groups_present": self.groups_present,
            "anonymous_present": self.anonymous_present,
            "by_public": dict(self.by_public),
            "by_age_band": dict(self.by_age_band),
            "previous_visits": dict(self.previous_visits),
        }

    @classmethod
    def from_tally(cls, tally: dict[str, Any]) -> SessionCounts:
        return cls(
            seats_confirmed=int(tally.get("seats_confirmed", 0)),
            present=int(tally.get("present", 0)),
            absent=int(tally.get("absent", 0)),
            walk_ins=int(tally.get("walk_ins", 0)),
            groups_present=int(tally.get("groups_present", 0)),
            anonymous_present=int(tally.get("anonymous_present", 0)),
            by_public=Counter({str(k): int(v) for k, v in dict(tally.get("by_public", {})).items()}),
            by_age_band=Counter({str(k): int(v) for k, v in dict(tally.get("by_age_band", {})).items()}),
            previous_visits=Counter({str(k): int(v) for k, v in dict(tally.get("previous_visits", {})).items()}),
        )


def _default_public(workshop: Workshop) -> str:
    return workshop.publics[0] if len(workshop.publics) == 1 else UNKNOWN


def session_counts(
    session: Session, ws: WorkshopSession, tz: ZoneInfo, previous: Counter[str] | None = None
) -> SessionCounts:
    """The counts of ``ws`` from its rows (or its tally once purged). ``previous``: the
    previous-visit days of its visitors, when the caller has computed them for many sessions."""
    if ws.attendance_purged_at is not None and ws.tally is not None:
        return SessionCounts.from_tally(ws.tally)
    workshop = session.get(Workshop, ws.workshop_id)
    assert workshop is not None
    counts = SessionCounts()
    registrations = {
        r.id: r
        for r in session.exec(
            select(Registration).where(
                Registration.session_id == ws.id, Registration.status == RegistrationStatus.confirmed.value
            )
        ).all()
    }
    counts.seats_confirmed = sum(r.seats for r in registrations.values())
    day = ws.start.astimezone(tz).date()
    for row in session.exec(select(Attendance).where(Attendance.session_id == ws.id)).all():
        registration = registrations.get(row.registration_id) if row.registration_id else None
        group = (
            session.get(GroupRegistration, registration.group_id) if registration and registration.group_id else None
        )
        if not row.present:
            counts.absent += registration.seats if registration else 1
            continue
        counts.present += row.seats
        if row.registration_id is None:
            counts.walk_ins += row.seats
        if group is not None:
            counts.groups_present += row.seats
            counts.by_public[group.public or _default_public(workshop)] += row.seats
            counts.by_age_band[group.age_band or UNKNOWN] += row.seats
            continue
        if row.member_id is None and row.person_id is None:
            counts.anonymous_present += row.seats
        counts.by_public[row.public or _default_public(workshop)] += row.seats
        person = session.get(Person, row.person_id) if row.person_id is not None else None
        counts.by_age_band[row.age_band or age_band(person.birth_year if person else None, day)] += row.seats
    if previous is None:
        assert ws.id is not None
        previous = _previous_days(_visits(session, ws.end), tz).get((0, ws.id), Counter())
    counts.previous_visits = Counter(previous)
    return counts


# The report -------------------------------------------------------------------------------------


@dataclass
class Breakdown:
    key: str
    sessions: int = 0
    hours: float = 0.0
    present: int = 0
    seats_confirmed: int = 0
    registered_present: int = 0

    @property
    def attendance_rate(self) -> float | None:
        return round(self.registered_present / self.seats_confirmed, 4) if self.seats_confirmed else None


@dataclass(frozen=True)
class ActivityLine:
    """One accompaniment, with the fields of the national activity report."""

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


@dataclass
class InclusionReport:
    first: date
    last: date
    people_reached: int = 0  # distinct members and persons
    first_time: int = 0
    returning: int = 0
    group_heads: int = 0  # counted apart
    anonymous_walk_ins: int = 0
    sessions_held: int = 0
    appointments_held: int = 0
    session_hours: float = 0.0
    appointment_hours: float = 0.0
    present: int = 0
    absent: int = 0
    no_shows: int = 0
    seats_confirmed: int = 0
    registered_present: int = 0
    by_theme: list[Breakdown] = field(default_factory=list)
    by_public: list[Breakdown] = field(default_factory=list)
    by_age_band: list[Breakdown] = field(default_factory=list)
    by_place: list[Breakdown] = field(default_factory=list)
    by_month: list[Breakdown] = field(default_factory=list)
    activities: list[ActivityLine] = field(default_factory=list)

    @property
    def hours(self) -> float:
        return round(self.session_hours + self.appointment_hours, 2)

    @property
    def attendance_rate(self) -> float | None:
        return round(self.registered_present / self.seats_confirmed, 4) if self.seats_confirmed else None


def _add(
    table: dict[str, Breakdown], key: str, hours: float, counts: SessionCounts, *, share: int | None = None
) -> None:
    line = table.setdefault(key, Breakdown(key))
    line.sessions += 1
    line.hours += hours
    if share is None:  # the whole session counts under this key
        line.present += counts.present
        line.seats_confirmed += counts.seats_confirmed
        line.registered_present += counts.registered_present
    else:  # the people of this key only (public, age band): no seats to compare with
        line.present += share


def _lines(table: dict[str, Breakdown]) -> list[Breakdown]:
    for line in table.values():
        line.hours = round(line.hours, 2)
    return sorted(table.values(), key=lambda b: (b.key == UNKNOWN, b.key))


def _held_sessions(session: Session, start: datetime, end: datetime, now: datetime) -> Sequence[Any]:
    return session.exec(
        select(WorkshopSession, Workshop, Resource.name)
        .join(Workshop, col(Workshop.id) == WorkshopSession.workshop_id)
        .join(Resource, col(Resource.id) == WorkshopSession.resource_id)
        .where(
            WorkshopSession.status == SessionStatus.scheduled.value,
            col(WorkshopSession.start) >= start,
            col(WorkshopSession.start) < end,
            col(WorkshopSession.end) <= now,
        )
        .order_by(col(WorkshopSession.start))
    ).all()


def _people(report: InclusionReport, previous_days: Iterable[Counter[str]]) -> None:
    """Each person once, at their first visit in the period (see the module's docstring)."""
    first = report.first.isoformat()
    for days in previous_days:
        for day, count in days.items():
            if day == NONE:
                report.first_time += count
                report.people_reached += count
            elif day < first:
                report.people_reached += count
    report.returning = report.people_reached - report.first_time


def inclusion_report(
    session: Session, first: date, last: date, *, start: datetime, end: datetime, now: datetime, tz: ZoneInfo
) -> InclusionReport:
    """The report of the local days ``first``…``last`` (``[start, end)`` in UTC)."""
    report = InclusionReport(first, last)
    previous = _previous_days(_visits(session, end), tz)
    tables: dict[str, dict[str, Breakdown]] = {n: {} for n in ("theme", "public", "age", "place", "month")}
    visit_days: list[Counter[str]] = []
    for ws, workshop, place in _held_sessions(session, start, end, now):
        assert ws.id is not None
        counts = session_counts(session, ws, tz, previous.get((0, ws.id), Counter()))
        hours = (ws.end - ws.start).total_seconds() / 3600
        report.sessions_held += 1
        report.session_hours += hours
        report.present += counts.present
        report.absent += counts.absent
        report.no_shows += counts.no_shows
        report.seats_confirmed += counts.seats_confirmed
        report.registered_present += counts.registered_present
        report.group_heads += counts.groups_present
        report.anonymous_walk_ins += counts.anonymous_present
        visit_days.append(counts.previous_visits)
        for theme in workshop.themes or [UNKNOWN]:
            _add(tables["theme"], theme, hours, counts)
        _add(tables["place"], place, hours, counts)
        _add(tables["month"], ws.start.astimezone(tz).strftime("%Y-%m"), hours, counts)
        for public, people in counts.by_public.items():
            _add(tables["public"], public, hours, counts, share=people)
        for band, people in counts.by_age_band.items():
            _add(tables["age"], band, hours, counts, share=people)
    _appointments(session, report, start, end, previous, visit_days)
    _people(report, visit_days)
    report.session_hours = round(report.session_hours, 2)
    report.appointment_hours = round(report.appointment_hours, 2)
    report.by_theme, report.by_public, report.by_age_band = (
        _lines(tables["theme"]),
        _lines(tables["public"]),
        _lines(tables["age"]),
    )
    report.by_place, report.by_month = _lines(tables["place"]), _lines(tables["month"])
    report.activities = _activities(session, start, end, tz)
    return report


def _appointments(
    session: Session,
    report: InclusionReport,
    start: datetime,
    end: datetime,
    previous: dict[tuple[int, int], Counter[str]],
    visit_days: list[Counter[str]],
) -> None:
    rows = session.exec(
        select(Appointment, ActivityReport.duration_minutes)
        .join(ActivityReport, col(ActivityReport.appointment_id) == Appointment.id, isouter=True)
        .where(
            Appointment.status == AppointmentStatus.done.value,
            col(Appointment.start) >= start,
            col(Appointment.start) < end,
        )
    ).all()
    for appointment, minutes in rows:
        assert appointment.id is not None
        report.appointments_held += 1
        report.appointment_hours += (minutes or (appointment.end - appointment.start).total_seconds() / 60) / 60
        visit_days.append(previous.get((1, appointment.id), Counter()))


def _activities(session: Session, start: datetime, end: datetime, tz: ZoneInfo) -> list[ActivityLine]:
    rows = session.exec(
        select(ActivityReport, Resource.name)
        .join(Resource, col(Resource.id) == ActivityReport.resource_id, isouter=True)
        .where(col(ActivityReport.at) >= start, col(ActivityReport.at) < end)
        .order_by(col(ActivityReport.at), col(ActivityReport.id))
    ).all()
    return [
        ActivityLine(
            date=activity.at.astimezone(tz).date(),
            kind=activity.kind,
            duration_minutes=activity.duration_minutes,
            people=activity.people,
            themes=list(activity.themes),
            publics=list(activity.publics),
            place=place or "",
            referred_to=list(activity.referred_to),
            session_id=activity.session_id,
            appointment_id=activity.appointment_id,
        )
        for activity, place in rows
    ]
