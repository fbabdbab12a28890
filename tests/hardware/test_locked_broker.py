"""The embedded broker as `tierslieu serve` builds it (``build_device_components``): a password
file and an ACL generated from the devices; anonymous clients refused; a client that is not
the reader cannot forge a scan; the broker never outlives the service nor runs twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from devices.broker import BrokerSecurity, EmbeddedBroker
from devices.model import DeviceRef
from devices.mqtt import MqttSettings, PahoTransport
from firmware_bridges import BRIDGES
from tests.conftest import make_settings
from tests.hardware.rig import UIDS, Site, build_site
from tests.hardware.test_real_broker import wait_until
from tests.support.mqtt import Inbox
from tierslieu.cluster.wire import PROCESS_TOPICS
from tierslieu.hardware.broker_acl import SERVICE_USER, build_access, overlaps
from tierslieu.hardware.wiring import build_device_components, credentials_file, embedded_broker_url_file
from tierslieu.models import AccessEvent
from tierslieu.runtime import Component, Runtime

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.create(make_settings(sqlite_url, tmp_path, door_pulse_seconds=1.0))
    yield runtime
    runtime.stop()


@pytest.fixture
def served(rt: Runtime) -> Iterator[tuple[Site, str, dict[str, str]]]:
    """The site, the broker's URL (no password) and the accounts' passwords."""
    site = build_site(rt)
    components: list[Component] = build_device_components(rt)
    started: list[Component] = []
    try:
        for component in components:
            component.start()
            started.append(component)
        url = embedded_broker_url_file(rt.settings).read_text().strip()
        yield site, url, json.loads(credentials_file(rt.settings).read_text())
    finally:
        for component in reversed(started):
            component.stop()


def connect(url: str, name: str, user: str | None = None, password: str | None = None) -> PahoTransport:
    settings = MqttSettings.from_url(url, client_id=f"{name}-{os.getpid()}-{time.monotonic_ns()}")
    if user is not None:
        settings = MqttSettings.from_url(
            url.replace("mqtt://", f"mqtt://{user}:{password}@"), client_id=settings.client_id
        )
    transport = PahoTransport(settings)
    transport.start()
    return transport


def _lines(rt: Runtime) -> list[AccessEvent]:
    with rt.db.session() as session:
        return list(session.exec(select(AccessEvent)).all())


def test_acl_gives_each_device_its_own_topics_only() -> None:
    reader = DeviceRef(1, "Lecteur", "badge_reader", "tasmota", "lecteur-entree")  # type: ignore[arg-type]
    door = DeviceRef(2, "Porte", "door", "tasmota", "porte-entree")  # type: ignore[arg-type]
    esp = DeviceRef(3, "Lecteur RDM", "badge_reader", "esphome", "rdm", {"tag_topic": "lecteurs/rdm/tag"})  # type: ignore[arg-type]
    z2m = DeviceRef(4, "Contact", "contact_sensor", "zigbee2mqtt", "c1", {"base_topic": "z2m-fablab"})  # type: ignore[arg-type]
    access = build_access([reader, door, esp, z2m], BRIDGES)
    rules = {account.user: (set(account.write), set(account.read)) for account in access.accounts}
    assert rules["tasmota-lecteur-entree"][0] == {"tele/lecteur-entree/#", "stat/lecteur-entree/#"}
    assert rules["tasmota-porte-entree"][1] == {
        "cmnd/porte-entree/PulseTime1",
        "cmnd/porte-entree/POWER1",
        "cmnd/porte-entree/PowerOnState",
    }
    assert rules["esphome-rdm"][0] == {"rdm/#", "lecteurs/rdm/tag"}
    assert rules["zigbee2mqtt-z2m-fablab"][0] == {"z2m-fablab/#"}
    acl = access.acl()
    assert f"user {SERVICE_USER}\ntopic readwrite #" in acl and "anonymous" not in acl


def test_anonymous_and_other_clients_cannot_forge_a_scan(rt: Runtime, served: tuple[Site, str, dict[str, str]]) -> None:
    _site, url, passwords = served
    # Anonymous: refused at the door of the broker (and so reads no UID either).
    anonymous = connect(url, "anonyme")
    try:
        assert not anonymous.wait_connected(3)
    finally:
        anonymous.stop(timeout=1)
    # The entrance door's own account is a real device, but not the reader.
    door_user = "tasmota-porte-entree"
    door = connect(url, "porte", door_user, passwords[door_user])
    inbox = Inbox()
    door.subscribe("cmnd/porte-entree/#", inbox, 1)
    assert door.wait_connected(10)
    scan = f'{{"PN532":{{"UID":"{UIDS["alice"]}"}}}}'.encode()
    door.publish("tele/lecteur-entree/SENSOR", scan)
    assert door.flush(5)
    time.sleep(1.0)
    assert inbox.messages == [] and _lines(rt) == [], "a scan forged by another client opened a door"
    # The reader itself, with its own account: the same scan opens the entrance.
    reader_user = "tasmota-lecteur-entree"
    reader = connect(url, "lecteur", reader_user, passwords[reader_user])
    try:
        assert reader.wait_connected(10)
        reader.publish("tele/lecteur-entree/SENSOR", scan)
        assert inbox.wait_for(inbox.has("cmnd/porte-entree/POWER1", b"ON"), timeout=10)
        wait_until(lambda: [line.decision for line in _lines(rt)] == ["granted"], "the scan audited")
        # And the reader may not command the door.
        reader.publish("cmnd/porte-entree/POWER1", b"ON")
        assert reader.flush(5)
        time.sleep(0.5)
        assert [m[:2] for m in inbox.messages].count(("cmnd/porte-entree/POWER1", b"ON")) == 1
    finally:
        reader.stop(timeout=1)
        door.stop(timeout=1)


def test_a_device_added_through_the_service_gets_an_account_at_once(
    rt: Runtime, served: tuple[Site, str, dict[str, str]]
) -> None:
    from tierslieu.models import Device

    site, url, _passwords = served
    with rt.db.session(write=True) as session:
        session.add(
            Device(
                name="Lecteur 2",
                kind="badge_reader",
                bridge="tasmota",
                address="lecteur-2",
                space_id=site.spaces["room"],
            )
        )
        session.commit()
    hub = rt.controller.hub
    assert hub is not None
    hub.reload()  # what the devices API does after a change
    passwords = json.loads(credentials_file(rt.settings).read_text())
    assert "tasmota-lecteur-2" in passwords
    assert oct(credentials_file(rt.settings).stat().st_mode & 0o777) == "0o600"
    client = connect(url, "lecteur-2", "tasmota-lecteur-2", passwords["tasmota-lecteur-2"])
    try:
        assert client.wait_connected(10)
    finally:
        client.stop(timeout=1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and b"zombie" not in Path(f"/proc/{pid}/status").read_bytes().lower()


def test_a_broker_left_running_is_stopped_before_a_new_one_starts(tmp_path: Path) -> None:
    (tmp_path / "passwd").write_text("")
    (tmp_path / "acl").write_text("")
    security = BrokerSecurity(tmp_path / "passwd", tmp_path / "acl")
    first = EmbeddedBroker(tmp_path / "mqtt", security=security)
    first.start()
    old_pid = int((tmp_path / "mqtt" / "mosquitto.pid").read_text())
    second = EmbeddedBroker(tmp_path / "mqtt", security=security)  # a new run, the old one never stopped
    try:
        second.start()
        wait_until(lambda: not _alive(old_pid), "the old broker stopped")
        assert int((tmp_path / "mqtt" / "mosquitto.pid").read_text()) != old_pid
    finally:
        second.stop()
        first.stop()


_PARENT = """
import sys, time
from pathlib import Path
from devices.broker import BrokerSecurity, EmbeddedBroker
folder = Path(sys.argv[1])
broker = EmbeddedBroker(folder / "mqtt", security=BrokerSecurity(folder / "passwd", folder / "acl"))
broker.start()
print((folder / "mqtt" / "mosquitto.pid").read_text().strip(), flush=True)
time.sleep(60)
"""


def test_the_broker_dies_with_a_killed_service(tmp_path: Path) -> None:
    (tmp_path / "passwd").write_text("")
    (tmp_path / "acl").write_text("")
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(tmp_path)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert parent.stdout is not None
        broker_pid = int(parent.stdout.readline())
        assert _alive(broker_pid)
        parent.send_signal(signal.SIGKILL)  # no chance to stop its broker
        parent.wait(10)
        wait_until(lambda: not _alive(broker_pid), "the broker died with its parent")
    finally:
        if parent.poll() is None:
            parent.kill()


def test_mqtt_acl_command_gives_an_external_mosquitto_its_accounts(tmp_path: Path) -> None:
    out = tmp_path / "broker"
    root = Path(__file__).resolve().parents[2]
    command = [
        sys.executable,
        "-m",
        "tierslieu",
        "mqtt",
        "acl",
        str(root / "config" / "trilport.yaml"),
        "--out",
        str(out),
    ]
    env = {**os.environ, "PYTHONPATH": str(root), "TIERSLIEU_DATA_DIR": str(tmp_path / "var")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    passwords = json.loads((out / "credentials.json").read_text())
    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert again.returncode == 0 and json.loads((out / "credentials.json").read_text()) == passwords
    broker = EmbeddedBroker(tmp_path / "mqtt", security=BrokerSecurity(out / "passwd", out / "acl"))
    url = broker.start()
    try:
        device = connect(url, "lecteur", "esphome-entree-lecteur", passwords["esphome-entree-lecteur"])
        wrong = connect(url, "faux", "esphome-entree-lecteur", "pas-le-bon")
        try:
            assert device.wait_connected(10)
            assert not wrong.wait_connected(2)
        finally:
            device.stop(timeout=1)
            wrong.stop(timeout=1)
    finally:
        broker.stop()


def test_no_device_account_gets_a_topic_of_the_service() -> None:
    # A gateway or a reader configured onto tierslieu's own topics would forge the processes' events.
    z2m = DeviceRef(1, "Contact", "contact_sensor", "zigbee2mqtt", "c1", {"base_topic": "tierslieu"})  # type: ignore[arg-type]
    esp = DeviceRef(2, "Lecteur", "badge_reader", "esphome", "rdm", {"tag_topic": "tierslieu/x/events/access"})  # type: ignore[arg-type]
    fine = DeviceRef(3, "Porte", "door", "tasmota", "porte-entree")  # type: ignore[arg-type]
    # A Shelly Gen2 answers under tierslieu/<its address>/rpc: its own, not the processes'.
    shelly = DeviceRef(5, "Porte 2", "door", "shelly_gen2", "shellyplus1-entree", {"relay": 0})  # type: ignore[arg-type]
    access = build_access([z2m, esp, fine, shelly], BRIDGES)
    assert [account.user for account in access.accounts] == ["shelly_gen2-shellyplus1-entree", "tasmota-porte-entree"]
    assert len(access.problems) == 2 and all(str(PROCESS_TOPICS) in problem for problem in access.problems)
    assert overlaps("tierslieu/#", "tierslieu") and overlaps("+/a/#", "tierslieu/a") and overlaps("#", "x/y")
    assert not overlaps("tele/x/#", "tierslieu/#") and not overlaps("tierslieu/+", "tierslieu/a/b")


def test_every_tierslieu_process_exchanges_events_and_no_device_can(served: tuple[Site, str, dict[str, str]]) -> None:
    """The processes' own topics (``tierslieu.cluster.wire``) on the locked-down broker: every
    tierslieu process (one account, any client id) publishes and reads them; a device can do neither."""
    _site, url, passwords = served
    base = "tierslieu/tierslieu"
    topics = [f"{base}/events/occupancy", f"{base}/changes", f"{base}/state/occupancy/1", f"{base}/state/spaces"]
    api, heard = connect(url, "api", SERVICE_USER, passwords[SERVICE_USER]), Inbox()
    leader = connect(url, "leader", SERVICE_USER, passwords[SERVICE_USER])
    device_user = "tasmota-porte-entree"
    device, spied = connect(url, "porte", device_user, passwords[device_user]), Inbox()
    try:
        api.subscribe(f"{base}/#", heard, 1)
        device.subscribe(f"{base}/#", spied, 1)
        assert api.wait_connected(10) and leader.wait_connected(10) and device.wait_connected(10)
        for topic in topics:
            device.publish(topic, b'{"v":1,"origin":"forged","data":{}}')
        assert device.flush(5)
        for topic in topics:
            leader.publish(topic, b'{"v":1,"origin":"leader"}', retain="state" in topic)
        api.publish(f"{base}/events/booking", b'{"v":1,"origin":"api"}')
        assert heard.wait_count(len(topics) + 1)
        time.sleep(0.5)
        assert all(b"forged" not in payload for payload in heard.payloads()), "a device forged an event"
        assert spied.messages == [], "a device read the processes' messages"
    finally:
        for transport in (api, leader, device):
            transport.stop(timeout=1)
