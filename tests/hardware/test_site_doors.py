"""Two sites on a real broker: a staff member scoped to Trilport opens Trilport's door with
their badge, not the FabLab's in Meaux — there they need a booking, like any member."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from devices.mqtt import PahoTransport
from tests.conftest import make_settings
from tests.hardware.rig import running_stack
from tests.hardware.test_real_broker import service_transport
from tests.support.bookings import insert_booking
from tests.support.mosquitto import MosquittoServer
from tests.support.mqtt import Inbox, client
from tests.support.two_sites import TwoSites, load_two_sites, scope_member
from tierslieu.db.types import utcnow
from tierslieu.models import AccessEvent, Badge, Member
from tierslieu.runtime import Runtime

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]

SAM_UID = "5A5A5A5A"


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = make_settings(
        db_url,
        tmp_path,
        door_pass_seconds=0.5,
        access_dedupe_seconds=0,  # the same badge is scanned again at the FabLab's reader
        mqtt_client_id=f"tierslieu-{random.randrange(1 << 30)}",
    )
    runtime = Runtime.create(settings)
    yield runtime
    runtime.db.dispose()


def _scan(tool: PahoTransport, reader: str) -> None:
    tool.publish(f"tele/{reader}/SENSOR", f'{{"RC522":{{"UID":"{SAM_UID}"}}}}'.encode(), qos=1)


def _decisions(rt: Runtime, member_id: int) -> list[tuple[int | None, str, str]]:
    with rt.db.session() as session:
        rows = session.exec(
            select(AccessEvent).where(AccessEvent.member_id == member_id).order_by(col(AccessEvent.id))
        ).all()
        return [(row.space_id, row.decision, row.reason) for row in rows]


def test_scoped_staff_badge_opens_their_sites_door_only(rt: Runtime, mosquitto: MosquittoServer) -> None:
    two: TwoSites = load_two_sites(rt)
    with rt.db.session(write=True) as session:
        sam = Member(name="Sam", email="sam@trilport.test", roles=["staff"])
        session.add(sam)
        session.flush()
        assert sam.id is not None
        sam_id = sam.id
        session.add(Badge(uid=SAM_UID, member_id=sam_id))
        session.commit()
    scope_member(rt, sam_id, [two.a])
    trilport, meaux = two.spaces["Tiers-lieu"], two.spaces["FabLab Meaux"]
    inbox = Inbox()
    tool = client(mosquitto.url, f"test-tool-{random.randrange(1 << 30)}")
    tool.start()
    try:
        assert tool.wait_connected(10)
        tool.subscribe("cmnd/+/PulseTime1", inbox, 1)
        with running_stack(rt, service_transport(rt, mosquitto.url)) as stack:
            assert stack.hub.transport.wait_connected(10)  # type: ignore[attr-defined]
            _scan(tool, "lecteur-trilport")
            assert inbox.wait_for(lambda m: any(t == "cmnd/porte-trilport/PulseTime1" for t, _p, _r in m), 30)
            _scan(tool, "lecteur-fablab")
            assert stack.access.audit.wait_idle()
            assert tool.flush(10)
            assert stack.access.audit.wait_idle()
            # Denied at Meaux: no pulse for its door.
            assert _decisions(rt, sam_id)[-1:] == [(meaux, "denied", "no_booking")]
            # With a booking at the FabLab, the same badge opens its door.
            now = utcnow()
            insert_booking(
                rt, two.resources["Salle FabLab"], sam_id, now - timedelta(minutes=5), now + timedelta(hours=1)
            )
            _scan(tool, "lecteur-fablab")
            opened = inbox.wait_for(lambda m: any(t == "cmnd/porte-fablab/PulseTime1" for t, _p, _r in m), 30)
            assert opened, (_decisions(rt, sam_id), inbox.messages, stack.access.duplicates, stack.hub.metrics)
            assert stack.access.audit.wait_idle()
    finally:
        tool.stop(timeout=2)
    decisions = _decisions(rt, sam_id)
    assert decisions == [
        (trilport, "granted", "granted_role"),
        (meaux, "denied", "no_booking"),
        (meaux, "granted", "granted_booking"),
    ]
    pulsed = [topic for topic, _payload, _retained in inbox.messages]
    assert pulsed.count("cmnd/porte-fablab/PulseTime1") == 1 and "cmnd/porte-trilport/PulseTime1" in pulsed
