"""Across the real boundary: recorded device messages go through a real Mosquitto broker (started
by the test on a free port) to the app's subscriptions, are routed with match() and parsed; the
app's encoded commands arrive at the device byte for byte and in order."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devices.errors import PartialPayload, PayloadError
from devices.model import DeviceEvent, DeviceRef
from devices.mqtt import MqttSettings, PahoTransport
from firmware_bridges import BRIDGES
from tests.firmware_bridges.cases import COMMAND_CASES, EVENT_CASES, all_devices
from tests.support.mosquitto import MosquittoServer
from tests.support.mqtt import Inbox, Received
from tierslieu.hardware.registry import DeviceRegistry, RegisteredDevice

pytestmark = [pytest.mark.broker, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoServer]:
    with MosquittoServer(Path(tmp_path_factory.mktemp("bridges-mosquitto"))) as server:
        yield server


Connect = Callable[[str, list[str]], tuple[PahoTransport, "Inbox"]]


@pytest.fixture
def connect(broker: MosquittoServer) -> Iterator[Connect]:
    made: list[PahoTransport] = []

    def build(name: str, filters: list[str]) -> tuple[PahoTransport, Inbox]:
        settings = MqttSettings.from_url(broker.url, client_id=f"{name}-{uuid.uuid4().hex[:8]}")
        transport = PahoTransport(settings)
        inbox = Inbox()
        probe = f"probe/{settings.client_id}"
        for topic_filter in [*filters, probe]:
            transport.subscribe(topic_filter, inbox)
        transport.start()
        made.append(transport)
        assert transport.wait_connected(10), "could not connect to the test broker"
        # Subscriptions are live once our own probe comes back.
        deadline = time.monotonic() + 10
        while not inbox.wait_for(lambda got: any(t == probe for t, _, _ in got), timeout=0.2):
            assert time.monotonic() < deadline, "subscriptions never became active"
            transport.publish(probe, b"?")
        return transport, inbox

    yield build
    for transport in made:
        transport.stop(timeout=2)


def _route(topic: str, payload: bytes, devices: list[DeviceRef]) -> dict[int, list[DeviceEvent] | str]:
    """What the device hub does: the devices whose subscriptions match the topic, parsed for each."""
    registry = DeviceRegistry.build([RegisteredDevice(device, space_id=1) for device in devices], BRIDGES)
    results: dict[int, list[DeviceEvent] | str] = {}
    for bridge, entry in registry.route(topic):
        try:
            results[entry.id] = bridge.parse(entry.ref, topic, payload)
        except PartialPayload as error:
            results[entry.id] = list(error.events)
        except PayloadError as error:
            results[entry.id] = error.code
    return results


def test_device_messages_reach_subscriptions_and_parse_to_the_recorded_events(connect: Connect) -> None:
    devices = all_devices()
    filters = sorted({f for device in devices for f in BRIDGES[device.bridge].subscriptions(device)})
    _app, inbox = connect("app", filters)
    simulated_devices, _ = connect("devices", [])
    cases = [case for case in EVENT_CASES if case.match == case.device.address and (case.events or case.error)]
    for case in cases:
        simulated_devices.publish(case.topic, case.payload, qos=1)

    def all_arrived(got: Received) -> bool:
        arrived = {(topic, payload) for topic, payload, _ in got}
        return all((case.topic, case.payload) in arrived for case in cases)

    assert inbox.wait_for(all_arrived), "some device messages never reached the app's subscriptions"
    for case in cases:
        outcome = _route(case.topic, case.payload, devices)
        assert case.device.id in outcome, case.id
        assert outcome[case.device.id] == (case.events if case.events is not None else case.error), case.id
    assert not any(retained for _, _, retained in inbox.messages)


def test_encoded_commands_reach_the_device_byte_for_byte_and_in_order(connect: Connect) -> None:
    _simulated_devices, inbox = connect("devices", ["#"])
    app, _ = connect("app", [])
    expected = []
    for case in COMMAND_CASES:
        if not case.messages:
            continue
        bridge = BRIDGES[case.device.bridge]
        for message in bridge.encode(case.device, case.command):
            app.publish(message.topic, message.payload, qos=message.qos, retain=message.retain)
            expected.append((message.topic, message.payload, False))
    assert len(expected) > 20

    def commands(got: Received) -> Received:
        return [message for message in got if not message[0].startswith(("probe/", "tierslieu/"))]

    assert inbox.wait_for(lambda got: len(commands(got)) >= len(expected))
    # One publisher, QoS 1: the broker keeps the order, so PulseTime always precedes POWER ON.
    assert commands(inbox.messages) == expected
