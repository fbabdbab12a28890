"""Fire alarm release on a real broker: a panel in alarm holds every egress door open through a
booking end and a lock override until staff reset it; then each door does what its bookings
and overrides want. A panel going offline opens nothing."""

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
from tests.hardware.fakes import TasmotaRelay
from tests.hardware.rig import Site, build_site, running_stack
from tests.hardware.test_real_broker import service_transport, wait_until
from tests.support.bookings import insert_booking
from tests.support.mosquitto import MosquittoServer
from tests.support.mqtt import Inbox, client
from tierslieu.api.routes.emergency import reset_emergency
from tierslieu.db.types import utcnow
from tierslieu.errors import Conflict
from tierslieu.models import AccessEvent, Booking, Device, DoorOverride, Member
from tierslieu.runtime import Runtime

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]

PANEL = "zigbee2mqtt/centrale_incendie"


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = make_settings(
        sqlite_url,
        tmp_path,
        door_pass_seconds=0.3,
        door_resend_seconds=1.0,
        mqtt_client_id=f"tierslieu-{random.randrange(1 << 30)}",
    )
    runtime = Runtime.create(settings)
    yield runtime
    runtime.stop()


@pytest.fixture
def site(rt: Runtime) -> Site:
    site = build_site(rt)
    with rt.db.session(write=True) as session:
        panel = Device(
            name="Centrale incendie",
            kind="fire_panel",
            bridge="zigbee2mqtt",
            address="centrale_incendie",
            space_id=site.spaces["building"],
        )
        session.add(panel)
        # The meeting room's lock is not an escape route: it stays as it is.
        room_door = session.get(Device, site.devices["room_door"])
        assert room_door is not None
        room_door.options = {"egress": False}
        session.add(room_door)
        session.flush()
        assert panel.id is not None
        site.devices["panel"] = panel.id
        session.commit()
    return site


@pytest.fixture
def tool(mosquitto: MosquittoServer) -> Iterator[PahoTransport]:
    transport = client(mosquitto.url, "test-tool")
    transport.start()
    assert transport.wait_connected(10)
    yield transport
    transport.stop(timeout=2)


def _emergency_lines(rt: Runtime) -> list[tuple[str, str]]:
    with rt.db.session() as session:
        lines = session.exec(select(AccessEvent).where(AccessEvent.decision == "emergency")).all()
        return [(line.reason, line.device_name) for line in lines]


def _staff(rt: Runtime, site: Site) -> Member:
    with rt.db.session() as session:
        staff = session.get(Member, site.members["sam"])
        assert staff is not None
        session.expunge(staff)
        return staff


def test_alarm_holds_egress_doors_through_booking_end_and_override_until_reset(
    rt: Runtime, site: Site, mosquitto: MosquittoServer, tool: PahoTransport
) -> None:
    inbox = Inbox()
    tool.subscribe("zigbee2mqtt/serrure_salle/set", inbox, 1)
    now = utcnow()
    visio_booking = insert_booking(
        rt, site.resources["visio"], site.members["bob"], now - timedelta(minutes=5), now + timedelta(hours=1)
    )
    with rt.db.session(write=True) as session:
        session.add(DoorOverride(device_id=site.devices["entrance_door"], mode="locked"))
        session.commit()
    visio = TasmotaRelay(mosquitto.url, "porte-visio", on=False).start()
    entrance = TasmotaRelay(mosquitto.url, "porte-entree", on=False).start()
    try:
        with running_stack(rt, service_transport(rt, mosquitto.url)) as stack:
            wait_until(lambda: visio.on, "the visio door is held open during its booking")
            assert not entrance.on  # held locked by staff
            tool.publish(PANEL, b'{"contact": false, "battery": 100}')  # the loop opens: alarm
            wait_until(lambda: entrance.on, "the locked entrance is released by the alarm")
            # The booking ends, the panel's loop closes again: the doors stay released.
            with rt.db.session(write=True) as session:
                booking = session.get(Booking, visio_booking)
                assert booking is not None
                booking.status = "cancelled"
                session.add(booking)
                session.commit()
            stack.facts.refresh()
            tool.publish(PANEL, b'{"contact": true, "battery": 100}')
            time.sleep(1.5)  # several passes
            assert visio.on and entrance.on
            assert stack.doors.emergency.active
            assert not any(b"UNLOCK" in payload for _topic, payload, _retained in inbox.messages), (
                "a non-egress door was opened"
            )
            with rt.db.session(write=True) as session:
                response = reset_emergency(session, rt, _staff(rt, site))
            assert response.alarm is False
            wait_until(lambda: not visio.on and not entrance.on, "each door back to what its bookings want")
            assert not stack.doors.emergency.active
        reasons = _emergency_lines(rt)
        assert ("fire_alarm", "Centrale incendie") in reasons and ("fire_reset", "") in reasons
        released = {name for reason, name in reasons if reason == "fire_release"}
        assert {"entrance_door", "visio_door"} <= released and "room_door" not in released
    finally:
        visio.stop()
        entrance.stop()


def test_an_alarm_survives_a_restart_and_a_panel_still_in_alarm_blocks_the_reset(
    rt: Runtime, site: Site, mosquitto: MosquittoServer, tool: PahoTransport
) -> None:
    entrance = TasmotaRelay(mosquitto.url, "porte-entree", on=False).start()
    try:
        with running_stack(rt, service_transport(rt, mosquitto.url)) as stack:
            wait_until(lambda: stack.doors.passes > 1, "controller running")
            tool.publish(PANEL, b'{"contact": false}')
            wait_until(lambda: entrance.on, "released")
            wait_until(lambda: ("fire_alarm", "Centrale incendie") in _emergency_lines(rt), "alarm logged")
            with rt.db.session(write=True) as session, pytest.raises(Conflict) as refused:
                reset_emergency(session, rt, _staff(rt, site))
            assert refused.value.code == "emergency.still_in_alarm"
        entrance.force(False)  # someone locks it by hand while the service is down
        with running_stack(rt, service_transport(rt, mosquitto.url)) as stack:
            assert stack.doors.emergency.active
            wait_until(lambda: entrance.on, "released again after the restart")
    finally:
        entrance.stop()


def test_a_fire_panel_going_offline_raises_an_alert_and_opens_nothing(
    rt: Runtime, site: Site, mosquitto: MosquittoServer, tool: PahoTransport
) -> None:
    entrance = TasmotaRelay(mosquitto.url, "porte-entree", on=False).start()
    try:
        with running_stack(rt, service_transport(rt, mosquitto.url)) as stack:
            wait_until(lambda: stack.doors.passes > 1, "controller running")
            tool.publish(f"{PANEL}/availability", b'{"state": "offline"}')
            wait_until(lambda: ("fire_panel_offline", "Centrale incendie") in _emergency_lines(rt), "alert logged")
            time.sleep(1.0)
            assert not entrance.on and not stack.doors.emergency.active
    finally:
        entrance.stop()
