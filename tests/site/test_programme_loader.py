"""Loading the programme section: workshops upserted by title, the coming weeks' sessions booked
through the programme's services (rooms, printers, groups), idempotent on a second load."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import yaml
from sqlmodel import col, select

from tests.support.site import TRILPORT, load_trilport
from tierslieu.db.types import utcnow
from tierslieu.models import Member
from tierslieu.models.programme import Registration, Workshop, WorkshopSession
from tierslieu.programme.sessions import session_printers
from tierslieu.runtime import Runtime
from tierslieu.simulator.demo import ensure_demo_people
from tierslieu.site import check_site_file
from tierslieu.site.programme_loader import ProgrammeReport, load_programme


def _load(runtime: Runtime, now: datetime) -> ProgrammeReport:
    site, _problems = check_site_file(TRILPORT)
    assert site is not None and site.programme is not None
    with runtime.db.session(write=True) as session:
        report = load_programme(
            session,
            site.programme,
            now=now,
            tz=runtime.settings.tz,
            events=runtime.events,
            programme=runtime.programme_events,
        )
        session.commit()
    return report


def test_trilport_programme_loads_its_sessions_once(runtime: Runtime) -> None:
    ensure_demo_people(runtime)
    load_trilport(runtime)  # open day and night: no session is refused for the hour it is
    tz = runtime.settings.tz
    today = utcnow().astimezone(tz).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    now = datetime.combine(monday, time(8), tzinfo=tz)

    first = _load(runtime, now)
    assert first.refused == [] and first.workshops_created == 4
    with runtime.db.session() as session:
        workshops = {w.title: w for w in session.exec(select(Workshop)).all()}
        karim = session.exec(select(Member).where(Member.email == "karim.demo@trilport.test")).one()
        seniors = workshops["Atelier numérique seniors"]
        assert seniors.leader_id == karim.id and seniors.publics == ["seniors"]
        tuesdays = session.exec(select(WorkshopSession).where(col(WorkshopSession.workshop_id) == seniors.id)).all()
        starts = sorted(ws.start.astimezone(tz) for ws in tuesdays)
        weeks = yaml.safe_load(TRILPORT.read_text(encoding="utf-8"))["programme"]["weeks_ahead"]
        assert len(starts) == weeks and all(s.weekday() == 1 and s.time() == time(14) for s in starts)
        assert all(ws.booking_id is not None for ws in tuesdays)  # each booked its room

        fablab = workshops["Fabriquer un objet avec l'imprimante 3D"]
        (class_session,) = session.exec(
            select(WorkshopSession).where(col(WorkshopSession.workshop_id) == fablab.id)
        ).all()
        assert class_session.start.astimezone(tz).weekday() == 3
        assert len(session_printers(session, class_session.id or 0)) == 2
        (group,) = session.exec(select(Registration).where(col(Registration.session_id) == class_session.id)).all()
        assert group.seats == 28 and group.status == "confirmed" and group.group_id is not None
        assert class_session.seats_taken == 28

    second = _load(runtime, now)
    assert (second.workshops_created, second.workshops_updated, second.sessions_created) == (0, 0, 0)
    assert second.sessions_existing == first.sessions_created
