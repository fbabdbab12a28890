"""The device stack against a real Mosquitto broker: fuzz, broker restarts, door convergence."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from devices.mqtt import PahoTransport
from tests.conftest import make_settings
from tests.hardware.fakes import TasmotaRelay
from tests.hardware.rig import UIDS, Site, build_site, running_stack
from tests.support.bookings import insert_booking
from tests.support.mosquitto import MosquittoServer
from tests.support.mqtt import Inbox, client
from tierslieu.db.types import utcnow
from tierslieu.runtime import Runtime

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = make_settings(
        sqlite_url,
        tmp_path,
        door_pass_seconds=0.5,
        door_resend_seconds=1.0,
        door_pulse_seconds=1.0,
        mqtt_client_id=f"tierslieu-{random.randrange(1 << 30)}",
    )
    runtime = Runtime.create(settings)
    yield runtime
    runtime.stop()


@pytest.fixture
def site(rt: Runtime) -> Site:
    return build_site(rt)


def service_transport(rt: Runtime, url: str) -> PahoTransport:
    from dataclasses import replace

    from devices.mqtt import MqttSettings

    settings = MqttSettings.from_url(url, client_id=rt.settings.mqtt_client_id)
    return PahoTransport(replace(settings, reconnect_min_delay_s=1, reconnect_max_delay_s=1))


@pytest.fixture
def tool(mosquitto: MosquittoServer) -> Iterator[PahoTransport]:
    """A client for the test itself: publishes like a device, listens like an observer."""
    transport = client(mosquitto.url, "test-tool")
    transport.start()
    assert transport.wait_connected(10)
    yield transport
    transport.stop(timeout=2)


def _malformed(rng: random.Random, index: int) -> tuple[str, bytes]:
    readers = ["tele/lecteur-entree/SENSOR", "poste-1/text_sensor/badge/state", "zigbee2mqtt/contact_entree"]
    kinds: list[Callable[[], tuple[str, bytes]]] = [
        lambda: (rng.choice(readers), rng.randbytes(rng.randrange(1, 64))),
        lambda: (rng.choice(readers), b'{"PN532": {"UID": "A1A1'[: rng.randrange(1, 22)]),
        lambda: (rng.choice(readers), json.dumps({"PN532": {"UID": rng.choice([1, None, [], {}, True])}}).encode()),
        lambda: ("zigbee2mqtt/contact_entree", json.dumps({"contact": rng.choice(["yes", 3, None, []])}).encode()),
        lambda: (rng.choice(readers), b"x" * 70_000),
        lambda: (f"tele/inconnu-{index}/SENSOR", b'{"PN532": {"UID": "A1A1A1A1"}}'),
        # Commands on topics we do not own, and on our own command topics: never acted on.
        lambda: ("cmnd/porte-entree/POWER1", b"ON"),
        lambda: ("zigbee2mqtt/serrure_salle/set", b'{"state": "UNLOCK"}'),
        lambda: (f"random/{index}", b"\x00\x01"),
    ]
    return rng.choice(kinds)()


def test_thousands_of_malformed_messages_then_a_valid_scan_still_unlocks(
    rt: Runtime, site: Site, mosquitto: MosquittoServer, tool: PahoTransport
) -> None:
    inbox = Inbox()
    tool.subscribe("cmnd/porte-entree/PulseTime1", inbox, 1)
    with running_stack(rt, service_transport(rt, mosquitto.url)) as stack:
        assert stack.hub.transport.wait_connected(10)  # type: ignore[attr-defined]
        rng = random.Random(4)
        for index in range(3000):
            topic, payload = _malformed(rng, index)
            tool.publish(topic, payload, qos=rng.choice([0, 1]))
        assert tool.flush(30)
        tool.publish("tele/lecteur-entree/SENSOR", f'{{"RC522":{{"UID":"{UIDS["alice"]}"}}}}'.encode())
        assert inbox.wait_for(inbox.has("cmnd/porte-entree/PulseTime1", b"10"), timeout=30)
        metrics = stack.hub.metrics
        assert metrics.bad_payload + metrics.oversized > 500
        # Topics of unknown devices and command topics are not even subscribed to.
        assert metrics.received < 3000 and metrics.events < 100
        assert stack.access.audit.wait_idle()
        # Only the valid scan opened; random bytes that happen to spell a hex id are unknown badges.
        from sqlmodel import select

        from tierslieu.models import AccessEvent

        with rt.db.session() as session:
            lines = session.exec(select(AccessEvent)).all()
        granted = [(line.reason, line.member_id) for line in lines if line.decision == "granted"]
        assert granted == [("granted_booking", site.members["alice"])]
        assert {line.reason for line in lines if line.decision == "denied"} <= {"unknown_badge"}


def test_broker_restart_mid_stream_loses_no_qos1_event(
    rt: Runtime, site: Site, private_mosquitto: MosquittoServer
) -> None:
    heard: list[str] = []
    publisher = client(private_mosquitto.url, "reader")
    publisher.start()
    assert publisher.wait_connected(10)
    transport = service_transport(rt, private_mosquitto.url)
    with running_stack(rt, transport) as stack:
        stack.hub.add_listener(lambda device, event, at: heard.append(getattr(event, "uid", "")))
        assert transport.wait_connected(10)
        # Our subscriptions are in place once a first scan gets through.
        publisher.publish("tele/lecteur-entree/SENSOR", b'{"PN532":{"UID":"FFFFFFFF"}}', qos=1)
        wait_until(lambda: "FFFFFFFF" in heard, "first scan heard")
        uids = [f"{0x10000000 + i:08X}" for i in range(1, 301)]  # canonical: no leading zero byte
        for index, uid in enumerate(uids):
            publisher.publish("tele/lecteur-entree/SENSOR", f'{{"PN532":{{"UID":"{uid}"}}}}'.encode(), qos=1)
            if index == 100:
                assert publisher.flush(10)
                private_mosquitto.restart()
            if index == 200:
                # The service goes away for a while; the broker keeps its QoS 1 messages.
                transport.stop(timeout=2)
        assert publisher.flush(30)
        transport.start()
        deadline = time.monotonic() + 30
        while set(uids) - set(heard) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sorted(set(uids) - set(heard)) == []
    publisher.stop(timeout=2)


def test_doors_reach_their_wanted_state_after_broker_and_service_restarts(
    rt: Runtime, site: Site, private_mosquitto: MosquittoServer
) -> None:
    visio = TasmotaRelay(private_mosquitto.url, "porte-visio", on=True).start()
    entrance = TasmotaRelay(private_mosquitto.url, "porte-entree", on=False).start()
    try:
        with running_stack(rt, service_transport(rt, private_mosquitto.url)) as stack:
            wait_until(lambda: not visio.on, "the visio door is locked when nothing is booked")
            private_mosquitto.stop()
            now = utcnow()
            insert_booking(
                rt, site.resources["visio"], site.members["bob"], now - timedelta(minutes=1), now + timedelta(hours=1)
            )
            stack.facts.refresh()
            time.sleep(1.0)  # passes run while the broker is away
            private_mosquitto.start()
            wait_until(lambda: visio.on, "held unlocked during the booking once the broker is back", timeout=15)
            assert not entrance.on
            passes_before = stack.doors.passes
        # Service down; someone locks the visio door by hand meanwhile.
        visio.force(False)
        with running_stack(rt, service_transport(rt, private_mosquitto.url)) as stack:
            wait_until(lambda: visio.on, "unlocked again after the service restart")
            assert stack.doors.passes <= passes_before + 3
    finally:
        visio.stop()
        entrance.stop()


def test_a_door_that_does_not_obey_gets_the_command_again_but_not_on_every_pass(
    rt: Runtime, site: Site, mosquitto: MosquittoServer, tool: PahoTransport
) -> None:
    inbox = Inbox()
    tool.subscribe("cmnd/porte-visio/POWER1", inbox, 1)
    visio = TasmotaRelay(mosquitto.url, "porte-visio", on=False).start()
    try:
        with running_stack(rt, service_transport(rt, mosquitto.url)) as stack:
            wait_until(lambda: stack.doors.passes > 2, "controller running")
            visio.deafen()  # deaf from now on...
            time.sleep(0.2)
            start = len(inbox.messages)
            visio.force(True)  # ...and stuck unlocked
            time.sleep(3.2)
            locks = [m for m in inbox.messages[start:] if m[:2] == ("cmnd/porte-visio/POWER1", b"OFF")]
            # Resent every door_resend_seconds (1 s), not on every 0.5 s pass.
            assert 2 <= len(locks) <= 5
    finally:
        visio.stop()


def wait_until(condition: object, why: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out: {why}")
