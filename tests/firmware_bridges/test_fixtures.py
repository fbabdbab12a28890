"""Table-driven: every recorded payload and command in tests/fixtures/<firmware>/, through the
production wiring: the fixture devices are rows in a database, the device hub the service
builds (``build_device_stack``, the production bridges) loads them, subscribes and routes by
their own options; the messages go over an in-memory broker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import pytest

from devices.memory import InMemoryTransport
from devices.model import DeviceEvent, DeviceRef
from tests.conftest import make_settings
from tests.firmware_bridges.cases import COMMAND_CASES, EVENT_CASES, CommandCase, EventCase
from tierslieu.hardware.hub import DeviceHub
from tierslieu.hardware.wiring import build_device_stack
from tierslieu.models import Device, Space
from tierslieu.runtime import Runtime
from tierslieu.services.sites import default_site_id


@dataclass
class Wired:
    hub: DeviceHub
    bus: InMemoryTransport
    rows: dict[DeviceRef, int]  # fixture device -> its row id
    heard: list[tuple[int, DeviceEvent]] = field(default_factory=list)

    def hear(self, device: DeviceRef, event: DeviceEvent, at: datetime) -> None:
        self.heard.append((device.id, event))


@pytest.fixture(scope="module")
def wired(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Wired]:
    folder = tmp_path_factory.mktemp("fixtures-hub")
    database = folder / "tierslieu.db"
    database.write_bytes(sqlite_template.read_bytes())
    runtime = Runtime.create(make_settings(f"sqlite:///{database}", folder))
    devices = list(dict.fromkeys([case.device for case in EVENT_CASES] + [case.device for case in COMMAND_CASES]))
    rows: dict[DeviceRef, int] = {}
    with runtime.db.session(write=True) as session:
        space = Space(name="Banc d'essai", kind="building", site_id=default_site_id(session, "Europe/Paris"))
        session.add(space)
        session.flush()
        for index, ref in enumerate(devices):
            row = Device(
                name=f"{ref.name} #{index}",
                kind=str(ref.kind),
                bridge=ref.bridge,
                address=ref.address,
                space_id=space.id,
                options=dict(ref.options),
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            rows[ref] = row.id
        session.commit()
    bus = InMemoryTransport()
    stack = build_device_stack(runtime, bus)  # what `tierslieu serve` builds, minus the broker
    result = Wired(stack.hub, bus, rows)
    stack.hub.add_listener(result.hear)
    stack.hub.start()
    bus.start()
    assert set(stack.hub.registry.devices) == set(rows.values()), "a fixture device was refused at load"
    yield result
    stack.hub.stop()
    runtime.stop()


@pytest.mark.parametrize("case", EVENT_CASES, ids=[case.id for case in EVENT_CASES])
def test_incoming_payload(wired: Wired, case: EventCase) -> None:
    row = wired.rows[case.device]
    wired.heard.clear()
    bad_before = wired.hub.metrics.bad_payload
    wired.bus.publish(case.topic, case.payload)
    got = [event for device_id, event in wired.heard if device_id == row]
    expected = [replace(event, device_id=row) for event in case.events or []]
    routed = any(entry.id == row for _bridge, entry in wired.hub.registry.route(case.topic))
    if case.match is None:
        assert not routed and got == [], "a topic the device does not own reached it"
        return
    if expected or case.error is not None:
        assert routed, f"{case.topic} is not routed to the device"
    assert got == expected
    if case.error is not None:
        assert wired.hub.metrics.bad_payload > bad_before, "the bad field was not reported"


@pytest.mark.parametrize("case", COMMAND_CASES, ids=[case.id for case in COMMAND_CASES])
def test_outgoing_command(wired: Wired, case: CommandCase) -> None:
    row = wired.rows[case.device]
    before = len(wired.bus.published)
    sent = wired.hub.try_send(row, case.command)
    published = [(m.topic, m.payload, m.qos, m.retain) for m in wired.bus.published[before:]]
    if case.error is not None:
        assert not sent and published == []
    else:
        assert case.messages is not None
        assert sent and published == [(m.topic, m.payload, m.qos, m.retain) for m in case.messages]
