"""Privacy: after the retention period, a session's attendance list becomes counts — the same
counts, the same activity report — on SQLite and PostgreSQL. And the scheduler runs it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select

from tests.booking.factory import at, future_weekday
from tests.conftest import AppHarness
from tests.programme.support import make_room, make_session, make_workshop
from tierslieu.models import (
    ActivityReport,
    Attendance,
    GroupRegistration,
    Member,
    Person,
    Registration,
    WorkshopSession,
)
from tierslieu.privacy.maintenance import MaintenanceScheduler
from tierslieu.programme import attendance, registrations
from tierslieu.programme.holders import GroupHolder, Holder, MemberHolder, PersonHolder
from tierslieu.programme.retention import months_before, purge_attendance


def test_months_before() -> None:
    assert months_before(datetime(2027, 3, 31, 10), 1) == datetime(2027, 2, 28, 10)
    assert months_before(datetime(2027, 1, 15), 12) == datetime(2026, 1, 15)
    assert months_before(datetime(2028, 3, 30), 1) == datetime(2028, 2, 29)


def _roll_call(api: AppHarness) -> tuple[int, datetime]:
    """A past session (as the service sees it at ``then``): a member present, a person absent,
    a class of 20 of 24 present, a walk-in of the 70+ band."""
    room = make_room(api.runtime)
    workshop = make_workshop(api, capacity=40, leader_id=api.users["animator"].id)
    start = at(future_weekday(1), "14:00")
    ws = make_session(api, workshop["id"], room, start)
    then = start + timedelta(minutes=30)
    runtime = api.runtime
    with runtime.db.session(write=True) as session:
        staff = session.get(Member, api.users["staff"].id)
        assert staff is not None
        events = runtime.programme_events
        holders: list[Holder] = [
            MemberHolder(api.users["member"].id),
            PersonHolder("Odette", birth_year=1950, consent=False),
            GroupHolder("Mme Leroy", 24, "Collège de Trilport", "scolaires", "12-17"),
        ]
        regs = [
            registrations.register(session, actor=staff, session_id=ws["id"], holder=h, now=then, programme=events)
            for h in holders
        ]
        for registration, present, seats in zip(regs, (True, False, True), (None, None, 20), strict=True):
            assert registration.id is not None
            attendance.mark(
                session, actor=staff, session_id=ws["id"], registration_id=registration.id, present=present,
                seats=seats, now=then,
            )  # fmt: skip
        attendance.walk_in(session, actor=staff, session_id=ws["id"], public="seniors", age_band="70+", now=then)
        session.commit()
    return ws["id"], start


def test_purge_keeps_the_counts_and_forgets_the_people(api_any_db: AppHarness) -> None:
    api = api_any_db
    session_id, start = _roll_call(api)
    with api.runtime.db.session() as session:
        ws = session.get(WorkshopSession, session_id)
        assert ws is not None
        before = attendance.session_tally(session, ws)
        report_before = session.exec(select(ActivityReport).where(ActivityReport.session_id == session_id)).one()
    assert (before.present, before.absent, before.walk_ins, before.seats_confirmed) == (22, 1, 1, 26)
    assert (before.registrations, before.group_head_count, before.no_shows) == (2, 24, 5)
    assert before.by_public == {"scolaires": 20, "seniors": 2}
    assert before.by_age_band == {"12-17": 20, "70+": 1, "non_renseigne": 1}
    assert report_before.people == 22
    # Eleven months later nothing is purged; thirteen months later it is.
    with api.runtime.db.session(write=True) as session:
        assert purge_attendance(session, now=start + timedelta(days=335), months=12) == []
        assert purge_attendance(session, now=start + timedelta(days=400), months=12) == [session_id]
        session.commit()
    with api.runtime.db.session() as session:
        ws = session.get(WorkshopSession, session_id)
        assert ws is not None and ws.attendance_purged_at is not None
        assert attendance.session_tally(session, ws) == before
        report = session.exec(select(ActivityReport).where(ActivityReport.session_id == session_id)).one()
        assert (report.people, report.duration_minutes, report.themes) == (22, 90, report_before.themes)
        assert session.exec(select(Attendance)).all() == []
        assert session.exec(select(Registration)).all() == []
        assert session.exec(select(GroupRegistration)).all() == []
        assert session.exec(select(Person)).all() == []  # Odette had nothing else with us
    with api.runtime.db.session(write=True) as session:
        assert purge_attendance(session, now=start + timedelta(days=400), months=12) == []


def test_the_scheduler_runs_the_purge_with_the_setting(api: AppHarness) -> None:
    session_id, _start = _roll_call(api)
    with api.runtime.db.session(write=True) as session:
        ws = session.get(WorkshopSession, session_id)
        assert ws is not None
        ws.start, ws.end = ws.start - timedelta(days=800), ws.end - timedelta(days=800)  # long past
        session.add(ws)
        session.commit()
    assert api.runtime.settings.attendance_retention_months == 12
    assert MaintenanceScheduler(api.runtime).purge_attendance() == 1
    with api.runtime.db.session() as session:
        ws = session.get(WorkshopSession, session_id)
        assert ws is not None and ws.tally is not None and ws.tally["present"] == 22
