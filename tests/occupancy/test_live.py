"""The whole service under uvicorn on a real Mosquitto broker: a sensor message travels
broker -> hub -> tracker -> SSE stream, and Home Assistant finds its discovery configs."""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import create_user, make_settings
from tests.support.mosquitto import MosquittoServer
from tests.support.mqtt import Inbox, client
from tests.support.server import LiveServer, live_server
from tests.support.site import load_trilport
from tierslieu.api import create_app
from tierslieu.migrations import upgrade_database
from tierslieu.runtime import Runtime

REQUIRED_KEYS = {"name", "unique_id", "state_topic", "availability_topic", "device", "value_template"}


@pytest.fixture(scope="module")
def service(mosquitto: MosquittoServer) -> Iterator[tuple[LiveServer, dict[str, dict[str, str]], Any]]:
    tmp = Path(tempfile.mkdtemp(prefix="tierslieu-occupancy-"))
    url = f"sqlite:///{tmp / 'live.db'}"
    upgrade_database(url)
    settings = make_settings(
        url,
        tmp,
        run_background=True,
        mqtt_url=mosquitto.url,
        mqtt_client_id=f"tl-{uuid.uuid4().hex[:8]}",
        occupancy_keepalive_seconds=0.5,
        occupancy_debounce_seconds=0.05,
    )
    # Everything written before the service starts: its background writers would make SQLite
    # refuse create_user's deferred write transaction.
    loader = Runtime.create(settings)
    ids = load_trilport(loader)
    staff = create_user(loader, "staff", email="sse-staff@trilport.test")
    member = create_user(loader, "member", email="sse-member@trilport.test")
    loader.db.dispose()
    with live_server(create_app(settings, migrate=False)) as server:
        yield server, {"staff": staff.headers, "member": member.headers}, ids


def _frames(response: httpx.Response) -> Iterator[tuple[str, str]]:
    """(event name, data) per SSE frame; comments come out as ("comment", text)."""
    event, data = "message", []
    for line in response.iter_lines():
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            yield event, "\n".join(data)
            event, data = "message", []


Service = tuple[LiveServer, dict[str, dict[str, str]], Any]


def test_stream_pushes_sensor_changes(service: Service, mosquitto: MosquittoServer) -> None:
    server, users, ids = service
    headers = users["staff"]
    fablab = ids.spaces["FabLab"]
    device = client(mosquitto.url, "presence-sensor")
    device.start()
    assert device.wait_connected(10)
    try:
        with httpx.stream(
            "GET",
            f"{server.url}/api/v1/occupancy/stream",
            timeout=20,
            headers={**headers, "Accept": "text/event-stream"},
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            frames = _frames(response)
            name, data = next(frames)
            assert name == "snapshot"
            snapshot = {s["space_id"]: s for s in json.loads(data)["spaces"]}
            assert snapshot[fablab]["occupied"] is False
            device.publish("zigbee2mqtt/presence_fablab", b'{"occupancy":true,"battery":88}')
            seen_comment = False
            for name, data in frames:
                if name == "comment":
                    seen_comment = True
                    continue
                body = json.loads(data)
                if name == "space" and body["space_id"] == fablab and body["occupied"]:
                    break
            device.publish("zigbee2mqtt/presence_fablab", b'{"occupancy":false}')
            for name, _data in frames:  # keep-alives keep coming while nothing happens
                if name == "comment":
                    seen_comment = True
                    break
            assert seen_comment
    finally:
        device.stop(timeout=1)


def test_plain_get_of_the_stream_ends_after_the_snapshot(service: Service) -> None:
    server, users, _ids = service
    headers = users["staff"]
    response = httpx.get(f"{server.url}/api/v1/occupancy/stream", headers=headers, timeout=10)
    assert response.status_code == 200
    assert response.text.startswith("event: snapshot")
    refused = httpx.get(
        f"{server.url}/api/v1/occupancy/stream", timeout=10, headers={**users["member"], "Accept": "text/event-stream"}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert httpx.get(f"{server.url}/api/v1/occupancy/stream", timeout=10).status_code == 401


def test_home_assistant_finds_spaces_and_doors(service: Service, mosquitto: MosquittoServer) -> None:
    _server, _headers, ids = service
    watcher, heard = client(mosquitto.url, "home-assistant"), Inbox()
    watcher.subscribe("homeassistant/#", heard)
    watcher.subscribe("tierslieu/#", heard)
    watcher.start()
    try:
        expected = {f"homeassistant/binary_sensor/tierslieu_{sid}_occupancy/config" for sid in ids.spaces.values()}
        expected |= {f"homeassistant/sensor/tierslieu_{sid}_people/config" for sid in ids.spaces.values()}
        entrance = ids.devices["Porte d'entrée"]
        expected |= {
            f"homeassistant/binary_sensor/tierslieu_door_{entrance}_lock/config",
            f"homeassistant/binary_sensor/tierslieu_door_{entrance}_open/config",
        }
        assert heard.wait_for(Inbox.has_topics(expected)), sorted(heard.latest())[:40]
        seen = heard.latest()
        for topic in expected:
            config = json.loads(seen[topic])
            assert set(config) >= REQUIRED_KEYS, topic
            assert config["availability_topic"].endswith("/status")
            assert config["device"]["identifiers"]
        status_topic = json.loads(seen[next(iter(expected))])["availability_topic"]
        fablab = ids.spaces["FabLab"]
        states = {status_topic, f"tierslieu/occupancy/{fablab}/state", f"tierslieu/doors/{entrance}/state"}
        assert heard.wait_for(Inbox.has_topics(states)), sorted(heard.latest())[:40]
        got = heard.latest()
        assert got[status_topic] == b"online"
        state = json.loads(got[f"tierslieu/occupancy/{fablab}/state"])
        assert {"occupied", "people", "capacity"} <= set(state)
        assert json.loads(got[f"tierslieu/doors/{entrance}/state"]).keys() >= {"locked", "open", "online"}
    finally:
        watcher.stop(timeout=1)


@pytest.mark.exclusive  # seen within a second: alone on the machine
def test_a_space_created_through_the_api_joins_the_occupancy_view_at_once(service: Service) -> None:
    """The change feed wakes the tracker's database pass: not the next 30 s pass."""
    server, users, ids = service
    headers = users["staff"]
    assert server.runtime.settings.occupancy_pass_seconds == 30.0  # the default: only a wake can make it
    created = httpx.post(
        f"{server.url}/api/v1/spaces",
        json={"name": "Salle des fêtes", "kind": "room", "parent_id": ids.spaces["FabLab"], "capacity": 80},
        headers=headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    space_id = created.json()["id"]
    started = time.monotonic()
    seen: dict[str, Any] | None = None
    while seen is None and time.monotonic() - started < 5:
        listed = httpx.get(f"{server.url}/api/v1/occupancy", headers=headers, timeout=10)
        assert listed.status_code == 200
        seen = next((s for s in listed.json() if s["space_id"] == space_id), None)
        time.sleep(0.05)
    waited = time.monotonic() - started
    assert seen is not None and seen["capacity"] == 80 and seen["occupied"] is False
    assert waited < 1.0, f"the new space appeared after {waited:.2f} s"
