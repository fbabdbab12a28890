"""What the programme achieved over a period: people reached, sessions held, hours, attendance,
by theme, public, age band, place and month, and the advisor's activity reports.

The counts of each session are its :class:`~tierslieu.programme.attendance.Tally`, computed
from the attendance rows while they exist and kept in ``WorkshopSession.tally`` once the
retention purge has reduced them to counts — so a report adds up the same before and after.

People are counted without keeping who they are: each *visit* of a member or a person (present
at a session, or an appointment done) knows when that person came last before. Over a period,
the people reached are the visits whose previous visit is before the period (each person once,
at their first visit in it); first-timers are those with no previous visit at all. The purge
keeps these instants as counts (:func:`keep_visits`, table ``session_visits``) and, per person
still known, the instant of their last purged visit (``visit_trace``). Groups (a class counted
by head) and walk-ins without a name are counted apart.
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
    Resource,
    SessionVisits,
    VisitTrace,
    Workshop,
    WorkshopSession,
)
from tierslieu.models.programme import AppointmentStatus, SessionStatus
from tierslieu.programme.attendance import UNKNOWN, Tally, session_tally
from tierslieu.services.sites import ALL_SITES, SiteScope

__all__ = ["Breakdown", "InclusionReport", "inclusion_report", "keep_visits"]

NONE = "none"  # no previous visit: a first-timer
_SESSION, _APPOINTMENT, _TRACE = 1, 2, 0  # visit kinds; a trace is older than every visit kept


# Visits of people (members and persons) ------------------------------------------------------


@dataclass(frozen=True, order=True)
class _Visit:
    at: datetime
    kind: int
    ident: int


def _who(member_id: int | None, person_id: int | None) -> str | None:
    return f"m{member_id}" if member_id is not None else f"p{person_id}" if person_id is not None else None


def _visits(session: Session, until: datetime) -> dict[str, list[_Visit]]:
    """Every visit still recorded before ``until``, oldest first, per person."""
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
        if (who := _who(member_id, person_id)) is not None:
            by_who[who].append(_Visit(start, _SESSION, session_id))
    appointments = session.exec(
        select(Appointment.id, Appointment.member_id, Appointment.person_id, Appointment.start).where(
            Appointment.status == AppointmentStatus.done.value, col(Appointment.start) < until
        )
    ).all()
    for appointment_id, member_id, person_id, start in appointments:
        if (who := _who(member_id, person_id)) is not None and appointment_id is not None:
            by_who[who].append(_Visit(start, _APPOINTMENT, appointment_id))
    for trace in session.exec(select(VisitTrace)).all():
        by_who[trace.who].append(_Visit(trace.last_visit_at, _TRACE, 0))
    for visits in by_who.values():
        visits.sort()
    return by_who


def _previous(visits: dict[str, list[_Visit]]) -> dict[tuple[int, int], Counter[str]]:
    """Per session ``(_SESSION, id)`` or appointment ``(_APPOINTMENT, id)``: how many of its
    visitors came last before at which instant (``none``: never)."""
    out: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    for person_visits in visits.values():
        previous: _Visit | None = None
        for visit in person_visits:
            if visit.kind != _TRACE:
                out[(visit.kind, visit.ident)][previous.at.isoformat() if previous else NONE] += 1
            previous = visit
    return out


def keep_visits(session: Session, ws: WorkshopSession) -> None:
    """Before the attendance of ``ws`` is deleted (retention purge): keep when each person
    present had come before, as counts, and each one's last purged visit."""
    assert ws.id is not None
    previous = _previous(_visits(session, ws.end)).get((_SESSION, ws.id), Counter())
    row = session.get(SessionVisits, ws.id) or SessionVisits(session_id=ws.id)
    row.previous_visits = dict(previous)
    session.add(row)
    present = session.exec(
        select(Attendance.member_id, Attendance.person_id).where(
            Attendance.session_id == ws.id, col(Attendance.present).is_(True)
        )
    ).all()
    for member_id, person_id in present:
        who = _who(member_id, person_id)
        if who is None:
            continue
        trace = session.exec(select(VisitTrace).where(VisitTrace.who == who)).first()
        if trace is None:
            trace = VisitTrace(who=who, member_id=member_id, person_id=person_id, last_visit_at=ws.start)
        trace.last_visit_at = max(trace.last_visit_at, ws.start)
        session.add(trace)
    session.flush()


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
    group_heads: int = 0  # seats of groups (a class by head count), counted apart
    walk_ins: int = 0
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


def _add(table: dict[str, Breakdown], key: str, hours: float, tally: Tally, *, share: int | None = None) -> None:
    line = table.setdefault(key, Breakdown(key))
    line.sessions += 1
    line.hours += hours
    if share is None:  # the whole session counts under this key
        line.present += tally.present
        line.seats_confirmed += tally.seats_confirmed
        line.registered_present += tally.present - tally.walk_ins
    else:  # only the people of this key (a public, an age band): no seats to compare with
        line.present += share


def _lines(table: dict[str, Breakdown]) -> list[Breakdown]:
    for line in table.values():
        line.hours = round(line.hours, 2)
    return sorted(table.values(), key=lambda b: (b.key == UNKNOWN, b.key))


def _held_sessions(session: Session, start: datetime, end: datetime, now: datetime, scope: SiteScope) -> Sequence[Any]:
    return session.exec(
        select(WorkshopSession, Workshop, Resource.name)
        .join(Workshop, col(Workshop.id) == WorkshopSession.workshop_id)
        .join(Resource, col(Resource.id) == WorkshopSession.resource_id)
        .where(
            WorkshopSession.status == SessionStatus.scheduled.value,
            col(WorkshopSession.start) >= start,
            col(WorkshopSession.start) < end,
            col(WorkshopSession.end) <= now,
            scope.where_resource(WorkshopSession.resource_id),  # a session is at its room's site
        )
        .order_by(col(WorkshopSession.start))
    ).all()


def _people(report: InclusionReport, start: datetime, previous_visits: Iterable[Counter[str]]) -> None:
    """Each person once, at their first visit in the period (see the module's docstring)."""
    for visits in previous_visits:
        for previous, count in visits.items():
            if previous == NONE:
                report.first_time += count
                report.people_reached += count
            elif datetime.fromisoformat(previous) < start:
                report.people_reached += count
    report.returning = report.people_reached - report.first_time


def inclusion_report(
    session: Session,
    first: date,
    last: date,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    tz: ZoneInfo,
    scope: SiteScope = ALL_SITES,
) -> InclusionReport:
    """The report of the local days ``first``…``last`` (``[start, end)`` in UTC) over the
    sessions, appointments and activity reports held at the sites of ``scope``. Whether someone
    came before counts their visits at every site: people are shared across sites."""
    report = InclusionReport(first, last)
    previous = _previous(_visits(session, end))
    tables: dict[str, dict[str, Breakdown]] = {n: {} for n in ("theme", "public", "age", "place", "month")}
    visits: list[Counter[str]] = []
    for ws, workshop, place in _held_sessions(session, start, end, now, scope):
        assert ws.id is not None
        tally = session_tally(session, ws)
        if ws.attendance_purged_at is not None:
            kept = session.get(SessionVisits, ws.id)
            visits.append(Counter(kept.previous_visits if kept else {}))
        else:
            visits.append(previous.get((_SESSION, ws.id), Counter()))
        hours = (ws.end - ws.start).total_seconds() / 3600
        report.sessions_held += 1
        report.session_hours += hours
        report.present += tally.present
        report.absent += tally.absent
        report.no_shows += tally.no_shows
        report.seats_confirmed += tally.seats_confirmed
        report.registered_present += tally.present - tally.walk_ins
        report.group_heads += tally.group_head_count
        report.walk_ins += tally.walk_ins
        for theme in workshop.themes or [UNKNOWN]:
            _add(tables["theme"], theme, hours, tally)
        _add(tables["place"], place, hours, tally)
        _add(tables["month"], ws.start.astimezone(tz).strftime("%Y-%m"), hours, tally)
        for public, people in tally.by_public.items():
            _add(tables["public"], public, hours, tally, share=people)
        for band, people in tally.by_age_band.items():
            _add(tables["age"], band, hours, tally, share=people)
    _appointments(session, report, start, end, previous, visits, scope)
    _people(report, start, visits)
    report.session_hours = round(report.session_hours, 2)
    report.appointment_hours = round(report.appointment_hours, 2)
    report.by_theme, report.by_public, report.by_age_band = (
        _lines(tables["theme"]),
        _lines(tables["public"]),
        _lines(tables["age"]),
    )
    report.by_place, report.by_month = _lines(tables["place"]), _lines(tables["month"])
    report.activities = _activities(session, start, end, tz, scope)
    return report


def _appointments(
    session: Session,
    report: InclusionReport,
    start: datetime,
    end: datetime,
    previous: dict[tuple[int, int], Counter[str]],
    visits: list[Counter[str]],
    scope: SiteScope,
) -> None:
    rows = session.exec(
        select(Appointment, ActivityReport.duration_minutes)
        .join(ActivityReport, col(ActivityReport.appointment_id) == Appointment.id, isouter=True)
        .where(
            Appointment.status == AppointmentStatus.done.value,
            col(Appointment.start) >= start,
            col(Appointment.start) < end,
            scope.where_resource(Appointment.resource_id),
        )
    ).all()
    for appointment, minutes in rows:
        assert appointment.id is not None
        report.appointments_held += 1
        report.appointment_hours += (minutes or (appointment.end - appointment.start).total_seconds() / 60) / 60
        visits.append(previous.get((_APPOINTMENT, appointment.id), Counter()))


def _activities(session: Session, start: datetime, end: datetime, tz: ZoneInfo, scope: SiteScope) -> list[ActivityLine]:
    # A cancelled session accompanied nobody, whatever report it may have.
    cancelled = select(WorkshopSession.id).where(WorkshopSession.status == SessionStatus.cancelled.value)
    rows = session.exec(
        select(ActivityReport, Resource.name)
        .join(Resource, col(Resource.id) == ActivityReport.resource_id, isouter=True)
        .where(
            col(ActivityReport.at) >= start,
            col(ActivityReport.at) < end,
            col(ActivityReport.session_id).is_(None) | col(ActivityReport.session_id).not_in(cancelled),
            scope.where_resource(ActivityReport.resource_id),
        )
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
