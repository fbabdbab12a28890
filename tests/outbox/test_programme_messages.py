"""The programme's events become outbox messages in the change's transaction, through the
listener the runtime subscribes (the production wiring); reminders are written once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from tests.conftest import make_settings
from tests.outbox.test_outbox import Recording
from tests.support.programme_rows import ProgrammeRows
from tierslieu.booking.calendar import parse_feed
from tierslieu.models import OutboxMessage
from tierslieu.outbox.compose import calendar_attachment
from tierslieu.outbox.programme import enqueue_reminders
from tierslieu.outbox.worker import deliver_pass
from tierslieu.programme.events import ProgrammeEvent, ProgrammeEventKind
from tierslieu.runtime import Runtime

TZ = ZoneInfo("Europe/Paris")
START = datetime(2030, 3, 5, 13, 30, tzinfo=UTC)  # 14:30 in Trilport
END = START + timedelta(minutes=90)
SENDER = "Tiers-lieu <ne-pas-repondre@trilport.test>"


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime.create(make_settings(db_url, tmp_path))
    yield rt
    rt.stop()


def _outbox(runtime: Runtime) -> dict[str, OutboxMessage]:
    with runtime.db.session() as session:
        return {m.key: m for m in session.exec(select(OutboxMessage)).all()}


def test_registrations_and_cancellations_write_their_messages(runtime: Runtime) -> None:
    emit = runtime.programme_events.emit
    with runtime.db.session(write=True) as session:
        rows = ProgrammeRows(session)
        room = rows.room("Salle du conseil")
        workshop = rows.workshop(
            "Premiers pas sur la tablette", ["Maîtrise des outils numériques du quotidien"], ["seniors"]
        )
        ws = rows.session_of(workshop, room, START, END)
        alice = rows.register(ws, member=rows.member("Alice Martin", "alice@trilport.test"))
        jeanne = rows.register(ws, person=rows.person("Jeanne Petit"))  # no e-mail given
        classe = rows.register(ws, group=rows.group("M. Durand", "Collège Jean-Jaurès", 8, "scolaires", "11-14"))
        waiting = rows.register(ws, person=rows.person("Marc Roy", email="marc@trilport.test"), status="waitlisted")
        for registration in (alice, jeanne, classe):
            emit(session, ProgrammeEvent(ProgrammeEventKind.registration_confirmed, ws.id, registration.id))
        emit(session, ProgrammeEvent(ProgrammeEventKind.registration_waitlisted, ws.id, waiting.id))
        session.commit()
    with runtime.db.session(write=True) as session:
        emit(session, ProgrammeEvent(ProgrammeEventKind.waitlist_promoted, ws.id, waiting.id))
        session.rollback()  # the promotion did not happen: neither does its message
    outbox = _outbox(runtime)
    assert set(outbox) == {
        f"registration_confirmed:{alice.id}",
        f"registration_confirmed:{jeanne.id}",
        f"registration_confirmed:{classe.id}",
        f"registration_waitlisted:{waiting.id}",
    }
    confirmed = outbox[f"registration_confirmed:{alice.id}"]
    assert (confirmed.status, confirmed.recipient_email, confirmed.params["place"]) == (
        "pending",
        "alice@trilport.test",
        "Salle du conseil",
    )
    ics = calendar_attachment(confirmed)
    assert ics is not None
    (event,) = parse_feed(ics)
    assert event.decoded("dtstart") == START and str(event["summary"]) == "Atelier : Premiers pas sur la tablette"
    assert outbox[f"registration_confirmed:{jeanne.id}"].status == "undeliverable"
    group_message = outbox[f"registration_confirmed:{classe.id}"]
    assert group_message.status == "undeliverable" and group_message.recipient_name == "M. Durand"
    assert outbox[f"registration_waitlisted:{waiting.id}"].params["position"] == 1

    with runtime.db.session(write=True) as session:
        emit(session, ProgrammeEvent(ProgrammeEventKind.waitlist_promoted, ws.id, waiting.id))
        emit(session, ProgrammeEvent(ProgrammeEventKind.session_cancelled, ws.id, alice.id))
        emit(session, ProgrammeEvent(ProgrammeEventKind.session_cancelled, ws.id))  # the session itself: no one
        session.commit()
    outbox = _outbox(runtime)
    assert outbox[f"registration_promoted:{waiting.id}"].recipient_email == "marc@trilport.test"
    cancelled = outbox[f"session_cancelled:{alice.id}"]
    ics = calendar_attachment(cancelled)
    assert ics is not None
    (event,) = parse_feed(ics)
    assert str(event["status"]) == "CANCELLED" and str(event["uid"]) == f"registration-{alice.id}@tierslieu"

    transport = Recording()
    report = deliver_pass(runtime.db, transport, START - timedelta(days=2), sender=SENDER, tz=TZ)
    assert len(report.sent) == 4  # alice ×2, marc ×2; Jeanne and the class get a printed slip
    subjects = sorted(str(email["Subject"]) for _key, email in transport.sent)
    assert "Une place s'est libérée : Premiers pas sur la tablette, mardi 5 mars 2030 à 14:30" in subjects
    assert "Atelier annulé : Premiers pas sur la tablette, mardi 5 mars 2030 à 14:30" in subjects


def test_reminders_the_day_before_are_written_once(runtime: Runtime) -> None:
    with runtime.db.session(write=True) as session:
        rows = ProgrammeRows(session)
        room = rows.room()
        advisor = rows.member("Sophie Conseillère")
        workshop = rows.workshop("Sécuriser ses comptes", ["Utilisation sécurisée du numérique"], ["habitants"])
        tomorrow = rows.session_of(workshop, room, START, END)
        later = rows.session_of(workshop, room, START + timedelta(days=1), END + timedelta(days=1))
        cancelled_session = rows.session_of(workshop, room, START, END, status="cancelled")
        alice = rows.member("Alice Martin", language="en")
        due = rows.register(tomorrow, member=alice)
        rows.register(tomorrow, member=rows.member("Bob"), status="waitlisted")
        rows.register(later, member=alice)
        rows.register(cancelled_session, member=rows.member("Chloé"))
        appointment = rows.appointment(advisor, room, START, START + timedelta(minutes=45), person=rows.person("Léon"))
        session.commit()
    evening_before = START - timedelta(hours=20)  # Monday 18:30 in Trilport
    for _ in range(2):
        with runtime.db.session(write=True) as session:
            enqueue_reminders(session, evening_before, TZ)
            session.commit()
    outbox = _outbox(runtime)
    assert set(outbox) == {f"session_reminder:{due.id}", f"appointment_reminder:{appointment.id}"}
    transport = Recording()
    deliver_pass(runtime.db, transport, evening_before, sender=SENDER, tz=TZ)
    ((_key, email),) = transport.sent  # Léon has no address
    assert email["Subject"] == "Reminder: Sécuriser ses comptes, Tuesday March 5, 2030 at 14:30"
