"""A badge at the room's reader during a session marks its holder present — on the real
Mosquitto broker, through the production device wiring (``build_device_stack``), with a reader
speaking Tasmota's own payloads."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from devices.mqtt import PahoTransport
from tests.conftest import make_settings
from tests.hardware.rig import UIDS, Site, build_site, running_stack
from tests.support.mosquitto import MosquittoServer
from tests.support.mqtt import client
from tierslieu.db.types import utcnow
from tierslieu.models import ActivityReport, Attendance, Member, Workshop, WorkshopSession
from tierslieu.programme import registrations
from tierslieu.programme.holders import MemberHolder
from tierslieu.runtime import Runtime

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = make_settings(sqlite_url, tmp_path, mqtt_client_id=f"tierslieu-{random.randrange(1 << 30)}")
    runtime = Runtime.create(settings)
    yield runtime
    runtime.stop()


def _session_in_the_room(rt: Runtime, site: Site) -> int:
    """A session running now in the rig's room, led by Alice (whose booking holds the room)."""
    now = utcnow()
    with rt.db.session(write=True) as session:
        workshop = Workshop(
            title="Tablette", themes=["Maîtrise des outils numériques du quotidien"], publics=["seniors"],
            duration_minutes=60, capacity=10, leader_id=site.members["alice"],
        )  # fmt: skip
        session.add(workshop)
        session.flush()
        assert workshop.id is not None
        ws = WorkshopSession(
            workshop_id=workshop.id, resource_id=site.resources["room"], start=now - timedelta(minutes=5),
            end=now + timedelta(hours=1), capacity=10, leader_id=site.members["alice"],
            booking_id=site.bookings["alice_room"],
        )  # fmt: skip
        session.add(ws)
        session.flush()
        assert ws.id is not None
        bob = session.get(Member, site.members["bob"])
        assert bob is not None
        registrations.register(
            session, actor=bob, session_id=ws.id, holder=MemberHolder(), now=now, programme=rt.programme_events
        )
        session.commit()
        return ws.id


def test_a_badge_at_the_rooms_reader_marks_attendance(rt: Runtime, mosquitto: MosquittoServer) -> None:
    site = build_site(rt)
    session_id = _session_in_the_room(rt, site)
    reader: PahoTransport = client(mosquitto.url, "reader")
    reader.start()
    assert reader.wait_connected(10)
    try:
        with running_stack(rt, client(mosquitto.url, "tierslieu")) as stack:
            assert stack.hub.transport.wait_connected(10)  # type: ignore[attr-defined]
            # Bob (registered), Mona (not registered: a walk-in), Sam (staff passing by: not
            # counted) and Alice (the leader: not counted) scan at the room's reader; Bob twice.
            for who in ("bob", "mona", "sam", "alice", "bob"):
                payload = f'{{"RC522":{{"UID":"{UIDS[who]}"}}}}'.encode()
                reader.publish("tele/lecteur-salle/SENSOR", payload, qos=1)
            assert reader.flush(10)
            deadline = utcnow() + timedelta(seconds=20)
            rows: list[Attendance] = []
            while utcnow() < deadline:
                assert stack.access.audit.wait_idle()
                with rt.db.session() as session:
                    rows = list(session.exec(select(Attendance).where(Attendance.session_id == session_id)).all())
                if len(rows) >= 2:
                    break
                time.sleep(0.1)
    finally:
        reader.stop(timeout=2)
    by_member = {row.member_id: row for row in rows}
    assert set(by_member) == {site.members["bob"], site.members["mona"]}
    bob, mona = by_member[site.members["bob"]], by_member[site.members["mona"]]
    assert (bob.present, bob.source, bob.registration_id is not None) == (True, "badge", True)
    assert (mona.present, mona.source, mona.registration_id) == (True, "walk_in", None)
    with rt.db.session() as session:
        report = session.exec(select(ActivityReport).where(ActivityReport.session_id == session_id)).one()
    assert (report.kind, report.people) == ("collective", 2)


def test_a_failing_hook_loses_neither_the_audit_line_nor_the_attendance(rt: Runtime) -> None:
    from tierslieu.hardware.audit import AuditEntry, AuditWriter
    from tierslieu.models import AccessEvent
    from tierslieu.programme.badges import record_badge_attendance

    site = build_site(rt)
    session_id = _session_in_the_room(rt, site)

    def broken(_session: object, _lines: object) -> None:
        raise RuntimeError("a listener's bug")

    writer = AuditWriter(rt.db, rt.scheduler)
    writer.add_hook(broken)
    writer.add_hook(record_badge_attendance)
    writer.start()
    try:
        line = {"at": utcnow(), "device_id": site.devices["room_reader"], "device_name": "room_reader",
                "space_id": site.spaces["room"], "member_id": site.members["bob"], "badge_uid": UIDS["bob"],
                "decision": "denied", "reason": "no_booking", "booking_id": None, "detail": ""}  # fmt: skip
        writer.log(AuditEntry(line))
        assert writer.wait_idle()
    finally:
        writer.stop()
    with rt.db.session() as session:
        assert len(session.exec(select(AccessEvent)).all()) == 1
        rows = session.exec(select(Attendance).where(Attendance.session_id == session_id)).all()
    assert [(r.member_id, r.present, r.source) for r in rows] == [(site.members["bob"], True, "badge")]
