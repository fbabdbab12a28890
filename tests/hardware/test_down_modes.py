"""Down modes through the device stack (in-memory broker): each door is told its fail mode on
(re)connection; a fail-secure door's hold is timed on the device and renewed, a fail-safe
door's is not; an egress door in a fire alarm is held untimed whatever its mode."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from devices.memory import InMemoryTransport
from tests.conftest import make_settings
from tests.hardware.rig import Site, build_site, running_stack
from tests.support.bookings import insert_booking
from tests.support.waiting import eventually
from tierslieu.db.types import utcnow
from tierslieu.models import Device
from tierslieu.runtime import Runtime


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = make_settings(sqlite_url, tmp_path, door_pass_seconds=0.1, door_secure_hold_seconds=2.0)
    runtime = Runtime.create(settings)
    yield runtime
    runtime.stop()


@pytest.fixture
def site(rt: Runtime) -> Site:
    site = build_site(rt)
    with rt.db.session(write=True) as session:
        entrance = session.get(Device, site.devices["entrance_door"])
        assert entrance is not None
        entrance.options = {"fail_mode": "safe"}
        session.add(entrance)
        session.commit()
    return site


def _book_visio(rt: Runtime, site: Site) -> None:
    now = utcnow()
    start, end = now - timedelta(minutes=1), now + timedelta(hours=1)
    insert_booking(rt, site.resources["visio"], site.members["bob"], start, end)


def _commands(bus: InMemoryTransport, door: str) -> list[tuple[str, bytes]]:
    return [(m.topic.rsplit("/", 1)[-1], m.payload) for m in bus.published if m.topic.startswith(f"cmnd/{door}/")]


def _holds(commands: list[tuple[str, bytes]]) -> list[int]:
    """Where the timed (20 × 0.1 s) holds are among a door's commands."""
    return [index for index, command in enumerate(commands) if command == ("PulseTime1", b"20")]


def test_fail_modes_are_set_at_start_and_secure_holds_are_renewed(rt: Runtime, site: Site) -> None:
    now = utcnow()
    insert_booking(
        rt, site.resources["visio"], site.members["bob"], now - timedelta(minutes=1), now + timedelta(hours=1)
    )
    bus = InMemoryTransport()
    with running_stack(rt, bus):
        # The 2 s hold renewed before it ends: a second hold command about 2 s after the first.
        eventually(lambda: len(_holds(_commands(bus, "porte-visio"))) >= 2, 10)
    visio = _commands(bus, "porte-visio")  # fail-secure (default), held open by its booking
    entrance = _commands(bus, "porte-entree")  # fail-safe, locked (no booking)
    assert ("PowerOnState", b"0") in visio and ("PowerOnState", b"1") in entrance
    holds = _holds(visio)
    assert len(holds) >= 2, f"the timed hold was not renewed: {visio}"
    assert all(visio[i + 1] == ("POWER1", b"ON") for i in holds)
    assert ("POWER1", b"OFF") in entrance and ("PulseTime1", b"0") not in entrance


def test_fail_safe_holds_are_untimed(rt: Runtime, site: Site) -> None:
    with rt.db.session(write=True) as session:
        visio = session.get(Device, site.devices["visio_door"])
        assert visio is not None
        visio.options = {"fail_mode": "safe"}
        session.add(visio)
        session.commit()
    now = utcnow()
    insert_booking(
        rt, site.resources["visio"], site.members["bob"], now - timedelta(minutes=1), now + timedelta(hours=1)
    )
    bus = InMemoryTransport()
    with running_stack(rt, bus):
        time.sleep(1.5)
    commands = _commands(bus, "porte-visio")
    assert commands.count(("PulseTime1", b"0")) == 1 and ("POWER1", b"ON") in commands
