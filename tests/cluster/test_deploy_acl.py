"""The deployment kit's Mosquitto ACL (``deploy/mosquitto/acl``) on a real Mosquitto: the API and
controller accounts exchange the events and changes between processes and read the leader's
retained state; a device account can neither forge nor read them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.broker import BrokerSecurity, EmbeddedBroker
from devices.mqtt import MqttSettings, PahoTransport
from tests.support.mqtt import Inbox
from tierslieu.hardware.broker_acl import hash_password

pytestmark = [pytest.mark.broker, pytest.mark.timeout(60)]

ROOT = Path(__file__).resolve().parents[2]
USERS = ("tierslieu-api", "tierslieu-controller", "zigbee2mqtt")
BASE = "tierslieu/tierslieu"  # TIERSLIEU_MQTT_CLIENT_ID's default names the deployment


@pytest.fixture
def broker_url(tmp_path: Path) -> Iterator[str]:
    passwords = tmp_path / "passwords"
    passwords.write_text("".join(f"{user}:{hash_password(f'pw-{user}')}\n" for user in USERS))
    broker = EmbeddedBroker(tmp_path / "mqtt", security=BrokerSecurity(passwords, ROOT / "deploy/mosquitto/acl"))
    url = broker.start()
    try:
        yield url
    finally:
        broker.stop()


def _connect(url: str, user: str, name: str) -> PahoTransport:
    settings = MqttSettings.from_url(url.replace("mqtt://", f"mqtt://{user}:pw-{user}@"), client_id=name)
    transport = PahoTransport(settings)
    transport.start()
    assert transport.wait_connected(10), user
    return transport


def test_processes_exchange_events_and_changes_and_devices_cannot(broker_url: str) -> None:
    heard_by_api, heard_by_leader, spied = Inbox(), Inbox(), Inbox()
    api = _connect(broker_url, "tierslieu-api", "tierslieu-api-host-1")
    leader = _connect(broker_url, "tierslieu-controller", "tierslieu")
    device = _connect(broker_url, "zigbee2mqtt", "zigbee2mqtt-gateway")
    try:
        api.subscribe(f"{BASE}/#", heard_by_api, 1)
        leader.subscribe(f"{BASE}/#", heard_by_leader, 1)
        device.subscribe(f"{BASE}/#", spied, 1)
        time.sleep(0.3)  # the subscriptions acknowledged
        for topic in ("events/occupancy", "changes", "state/occupancy/1"):
            device.publish(f"{BASE}/{topic}", b"forged")
        assert device.flush(5)
        leader.publish(f"{BASE}/state/occupancy/1", b"leader-state", retain=True)
        leader.publish(f"{BASE}/events/occupancy", b"leader-event")
        api.publish(f"{BASE}/events/booking", b"api-event")
        api.publish(f"{BASE}/changes", b"api-change")
        api.publish(f"{BASE}/state/occupancy/2", b"api-state")  # only the leader keeps the state
        assert heard_by_leader.wait_for(lambda m: {p for _t, p, _r in m} >= {b"api-event", b"api-change"})
        assert heard_by_api.wait_for(lambda m: {p for _t, p, _r in m} >= {b"leader-state", b"leader-event"})
        time.sleep(0.5)
        everything = heard_by_api.payloads() + heard_by_leader.payloads()
        assert b"forged" not in everything and b"api-state" not in everything
        assert spied.messages == [], "a device read the processes' messages"
    finally:
        for transport in (api, leader, device):
            transport.stop(timeout=1)
