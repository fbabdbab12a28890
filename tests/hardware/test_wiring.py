"""The production wiring of the device side: each process may name its own MQTT session."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from devices.mqtt import PahoTransport
from tests.conftest import make_settings
from tests.support.mosquitto import MosquittoServer
from tests.support.mqtt import Inbox, client
from tierslieu.hardware.wiring import TransportComponent, build_device_components
from tierslieu.runtime import Component, Runtime

pytestmark = [pytest.mark.broker, pytest.mark.timeout(60)]


def _transport(components: list[Component]) -> PahoTransport:
    found = [c.transport for c in components if isinstance(c, TransportComponent)]
    assert len(found) == 1 and isinstance(found[0], PahoTransport)
    return found[0]


def test_two_processes_with_their_own_client_ids_share_one_broker(
    sqlite_url: str, tmp_path: Path, mosquitto: MosquittoServer
) -> None:
    default_id = f"tierslieu-{uuid.uuid4().hex[:8]}"
    settings = make_settings(sqlite_url, tmp_path, mqtt_url=mosquitto.url, mqtt_client_id=default_id)
    runtime = Runtime.create(settings)
    leader = _transport(build_device_components(runtime))
    other = _transport(build_device_components(runtime, client_id=f"{default_id}-api-2"))
    assert (leader.settings.client_id, other.settings.client_id) == (default_id, f"{default_id}-api-2")

    observer, inbox = client(mosquitto.url, "observer"), Inbox()
    observer.subscribe(f"tierslieu/{default_id}/#", inbox)
    observer.subscribe(f"tierslieu/{default_id}-api-2/#", inbox)
    observer.start()
    leader.start()
    other.start()
    try:
        assert observer.wait_connected(10) and leader.wait_connected(10) and other.wait_connected(10)
        assert inbox.wait_for(inbox.has(f"tierslieu/{default_id}/status", b"online"))
        assert inbox.wait_for(inbox.has(f"tierslieu/{default_id}-api-2/status", b"online"))
        time.sleep(0.5)  # one id for both would have the broker throw the first one out by now
        assert leader.connected and other.connected
    finally:
        for transport in (other, leader, observer):
            transport.stop(timeout=1)
        runtime.stop()
