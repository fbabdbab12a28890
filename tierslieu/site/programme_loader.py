"""Load the ``programme:`` section: upsert the workshops by title, then create the sessions of the
coming weeks that do not exist yet — through the programme's services, so each session books its
room through the booking engine like any session. A refused session (a public holiday, a taken
room) is reported and skipped; the rest loads. Groups are registered on each session created.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from tierslieu.errors import TiersLieuError
from tierslieu.events import EventHub
from tierslieu.models import Member, Resource
from tierslieu.models.programme import Workshop, WorkshopSession
from tierslieu.programme import registrations as registration_service
from tierslieu.programme import sessions as session_service
from tierslieu.programme import workshops as workshop_service
from tierslieu.programme.events import ProgrammeEvents
from tierslieu.programme.holders import GroupHolder
from tierslieu.programme.sessions import SessionPlan
from tierslieu.services import members as member_service
from tierslieu.services.sites import is_staff_at
from tierslieu.site.programme import WEEKDAYS, ProgrammeSpec, ScheduleSpec, WorkshopSpec

__all__ = ["ProgrammeReport", "load_programme", "occurrences"]

Progress = Callable[[str], None]


@dataclass
class ProgrammeReport:
    workshops_created: int = 0
    workshops_updated: int = 0
    sessions_created: int = 0
    sessions_existing: int = 0
    refused: list[str] = field(default_factory=list)  # "title, start: message"

    def summary(self) -> str:
        return (
            f"workshops: {self.workshops_created} created, {self.workshops_updated} updated; "
            f"sessions: {self.sessions_created} created, {self.sessions_existing} already there, "
            f"{len(self.refused)} refused"
        )


def occurrences(schedule: ScheduleSpec, today: date, weeks_ahead: int, tz: ZoneInfo) -> Iterator[datetime]:
    """The local start times a schedule entry asks for, from tomorrow to ``weeks_ahead`` weeks on
    (``once``: only the first)."""
    weekday = WEEKDAYS.index(schedule.weekday)
    first = today + timedelta(days=1)
    first += timedelta(days=(weekday - first.weekday()) % 7)
    at = time(schedule.minute_of_day // 60, schedule.minute_of_day % 60)
    day = first
    while day <= today + timedelta(weeks=weeks_ahead):
        yield datetime.combine(day, at, tzinfo=tz)
        if schedule.repeat == "once":
            return
        day += timedelta(weeks=1)


def _booker(session: Session, site_id: int | None) -> Member | None:
    """Sessions from the file are booked by the first active admin or staff account of the site."""
    for member in member_service.list_members(session):
        if member.active and is_staff_at(member, site_id):
            return member
    return None


def _upsert_workshop(session: Session, actor: Member, spec: WorkshopSpec, report: ProgrammeReport) -> Workshop:
    leader = member_service.find_by_email(session, spec.leader) if spec.leader else None
    values: dict[str, object] = {
        "description": spec.description,
        "themes": [str(theme) for theme in spec.themes],
        "publics": [str(public) for public in spec.publics],
        "duration_minutes": spec.duration_minutes,
        "capacity": spec.capacity,
        "leader_id": leader.id if leader else None,
    }
    existing = session.exec(select(Workshop).where(col(Workshop.title) == spec.title)).first()
    if existing is None:
        report.workshops_created += 1
        return workshop_service.create_workshop(session, actor=actor, title=spec.title, **values)  # type: ignore[arg-type]
    changes = {key: value for key, value in values.items() if getattr(existing, key) != value}
    if changes:
        report.workshops_updated += 1
        return workshop_service.update_workshop(session, actor=actor, workshop_id=existing.id or 0, changes=changes)
    return existing


def _resource_id(session: Session, name: str) -> int:
    resource = session.exec(select(Resource).where(col(Resource.name) == name)).one()
    return resource.id or 0


def _exists(session: Session, workshop_id: int, start: datetime) -> bool:
    query = select(WorkshopSession.id).where(
        col(WorkshopSession.workshop_id) == workshop_id, col(WorkshopSession.start) == start
    )
    return session.exec(query).first() is not None


def _already_planned_once(session: Session, workshop_id: int, now: datetime) -> bool:
    query = select(WorkshopSession.id).where(
        col(WorkshopSession.workshop_id) == workshop_id, col(WorkshopSession.start) > now
    )
    return session.exec(query).first() is not None


def load_programme(
    session: Session,
    spec: ProgrammeSpec,
    *,
    now: datetime,
    tz: ZoneInfo,
    events: EventHub | None,
    programme: ProgrammeEvents,
    progress: Progress | None = None,
    site_id: int | None = None,
) -> ProgrammeReport:
    """Upsert the workshops and create the missing sessions, inside the caller's transaction.
    ``tz``: the local time of the schedule (the site's); ``site_id``: the site whose rooms it books."""
    say = progress or (lambda _msg: None)
    report = ProgrammeReport()
    actor = _booker(session, site_id)
    if actor is None:
        say("programme: no staff or admin account to book the sessions as; create one, then load again")
        return report
    today = now.astimezone(tz).date()
    for spec_workshop in spec.workshops:
        say(f"atelier {spec_workshop.title}")
        workshop = _upsert_workshop(session, actor, spec_workshop, report)
        workshop_id = workshop.id or 0
        room_id = _resource_id(session, spec_workshop.room)
        printer_ids = tuple(_resource_id(session, name) for name in spec_workshop.printers)
        for schedule in spec_workshop.schedule:
            if schedule.repeat == "once" and _already_planned_once(session, workshop_id, now):
                report.sessions_existing += 1
                continue
            for start in occurrences(schedule, today, spec.weeks_ahead, tz):
                if _exists(session, workshop_id, start):
                    report.sessions_existing += 1
                    continue
                _create_session(
                    session,
                    actor,
                    spec_workshop,
                    workshop_id,
                    SessionPlan(resource_id=room_id, start=start, printer_ids=printer_ids),
                    now=now,
                    tz=tz,
                    events=events,
                    programme=programme,
                    report=report,
                )
    return report


def _create_session(
    session: Session,
    actor: Member,
    spec: WorkshopSpec,
    workshop_id: int,
    plan: SessionPlan,
    *,
    now: datetime,
    tz: ZoneInfo,
    events: EventHub | None,
    programme: ProgrammeEvents,
    report: ProgrammeReport,
) -> None:
    # A savepoint per session: a refusal (even the database's own) undoes that session only.
    savepoint = session.begin_nested()
    try:
        created = session_service.create_sessions(
            session, actor=actor, workshop_id=workshop_id, plan=plan, now=now, tz=tz, events=events
        )
        for ws in created:
            for group in spec.groups:
                holder = GroupHolder(
                    contact_name=group.name,
                    organisation=group.organisation,
                    head_count=group.head_count,
                    public=str(spec.publics[0]),
                )
                registration_service.register(
                    session, actor=actor, session_id=ws.id or 0, holder=holder, now=now, programme=programme
                )
        savepoint.commit()
        report.sessions_created += len(created)
    except TiersLieuError as exc:
        savepoint.rollback()
        report.refused.append(f"{spec.title}, {plan.start.isoformat()}: {exc.message('fr')}")
