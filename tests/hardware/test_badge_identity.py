"""One badge identity on the real (locked-down) broker, through the service's own wiring: a tag
enrolled once by its printed decimal number opens through a Tasmota RDM6300 reader (which
prints hex) and an ESPHome RDM6300 reader (which prints decimal, on a topic its installer
chose); a PN532 read whose authentication failed is denied and audited."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlmodel import col, select

from tests.conftest import make_settings
from tests.hardware.fakes import TasmotaRelay
from tests.hardware.rig import UIDS, Site, build_site
from tests.hardware.test_real_broker import wait_until
from tests.support.mqtt import client
from tierslieu.hardware.wiring import build_device_components, credentials_file, embedded_broker_url_file
from tierslieu.models import AccessEvent, Device, Member
from tierslieu.runtime import Component, Runtime
from tierslieu.services import members as member_service

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]

PRINTED_ON_THE_TAG = "0007616525"  # EM4100 tags carry their 32-bit number in decimal


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.create(make_settings(sqlite_url, tmp_path, door_pulse_seconds=1.0, access_dedupe_seconds=0.5))
    yield runtime
    runtime.stop()


@pytest.fixture
def site(rt: Runtime) -> Site:
    site = build_site(rt)
    with rt.db.session(write=True) as session:
        session.add(
            Device(
                name="Lecteur RDM6300 ESPHome",
                kind="badge_reader",
                bridge="esphome",
                address="lecteur-rdm",
                space_id=site.spaces["building"],
                options={"tag_topic": "lecteurs/rdm/tag"},
            )
        )
        staff = session.get(Member, site.members["sam"])
        assert staff is not None
        member_service.add_badge(session, staff, PRINTED_ON_THE_TAG, label="porte-clés", written="decimal")
        session.commit()
    return site


@pytest.fixture
def service(rt: Runtime, site: Site) -> Iterator[tuple[str, dict[str, str]]]:
    components: list[Component] = build_device_components(rt)
    started: list[Component] = []
    try:
        for component in components:
            component.start()
            started.append(component)
        url = embedded_broker_url_file(rt.settings).read_text().strip()
        yield url, json.loads(credentials_file(rt.settings).read_text())
    finally:
        for component in reversed(started):
            component.stop()


def _as(url: str, passwords: dict[str, str], user: str) -> str:
    return url.replace("mqtt://", f"mqtt://{user}:{quote(passwords[user], safe='')}@")


def _lines(rt: Runtime) -> list[AccessEvent]:
    with rt.db.session() as session:
        return list(session.exec(select(AccessEvent).order_by(col(AccessEvent.id))).all())


def test_one_tag_opens_through_both_firmwares_and_a_failed_authentication_never_does(
    rt: Runtime, service: tuple[str, dict[str, str]]
) -> None:
    url, passwords = service
    door = TasmotaRelay(_as(url, passwords, "tasmota-porte-entree"), "porte-entree").start()
    tasmota = client(_as(url, passwords, "tasmota-lecteur-entree"), "tasmota-rdm6300")
    esphome = client(_as(url, passwords, "esphome-lecteur-rdm"), "esphome-rdm6300")
    try:
        for reader in (tasmota, esphome):
            reader.start()
            assert reader.wait_connected(10)
        # Tasmota's RDM6300 driver prints the tag's 32 bits in hex.
        tasmota.publish("tele/lecteur-entree/SENSOR", b'{"Time":"2024-05-01T08:00:00","RDM6300":{"UID":"0074380D"}}')
        wait_until(lambda: len(_lines(rt)) == 1, "the Tasmota read audited")
        wait_until(lambda: door.on, "the entrance opens for the Tasmota read")
        wait_until(lambda: not door.on, "the pulse ends")
        # ESPHome's rdm6300 on_tag publishes to_string(x): the same tag in decimal.
        esphome.publish("lecteurs/rdm/tag", b"7616525")
        wait_until(lambda: len(_lines(rt)) == 2, "the ESPHome read audited")
        wait_until(lambda: door.on, "the entrance opens for the ESPHome read")
        first, second = _lines(rt)
        assert first.badge_uid == second.badge_uid == "74380D"
        assert (first.decision, second.decision) == ("granted", "granted")
        wait_until(lambda: not door.on, "the pulse ends")
        commands_before = len(door.commands)
        # A cloned UID of a real badge, whose PN532 password check failed.
        uid = UIDS["sam"]
        tasmota.publish("tele/lecteur-entree/SENSOR", f'{{"PN532":{{"UID":"{uid}","Data":"","Auth":"NOk"}}}}'.encode())
        wait_until(lambda: len(_lines(rt)) == 3, "the failed authentication audited")
        refused = _lines(rt)[2]
        assert (refused.decision, refused.reason, refused.badge_uid) == ("denied", "auth_failed", uid)
        time.sleep(0.5)
        assert not door.on and not [c for c in door.commands[commands_before:] if c == ("POWER1", b"ON")]
    finally:
        tasmota.stop(timeout=1)
        esphome.stop(timeout=1)
        door.stop()
