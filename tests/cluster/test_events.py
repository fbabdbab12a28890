"""Events between processes, for real: two controllers (one leads) and two API processes on
PostgreSQL and Mosquitto, started with the real command. An SSE client on one API process sees
what the leader sees — a sensor message, a booking and a new space made through the *other* API
process — within a second; an API process started later gets the snapshot from the broker's
retained state; garbage on the cluster topics is dropped and loses nothing else."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from tests.cli.test_cli import env as env  # the fixture
from tests.cluster.test_takeover import _log_has, _ready, _wait
from tests.cluster.test_takeover import cluster_env as cluster_env  # the fixture
from tests.support.mosquitto import MosquittoServer
from tests.support.mqtt import client
from tests.support.parallel import Alone
from tests.support.serve import tierslieu_process
from tierslieu.models import Resource, Space
from tierslieu.runtime import Runtime
from tierslieu.settings import Settings

pytestmark = [pytest.mark.broker, pytest.mark.postgres, pytest.mark.timeout(300)]

DEPLOYMENT = "tierslieu"  # TIERSLIEU_MQTT_CLIENT_ID's default: topics under tierslieu/tierslieu/
STAFF = {"username": "staff@trilport.fr", "password": "motdepasse-staff"}
LATENCY_LIMIT_S = 1.0

Frame = tuple[float, str, dict[str, Any]]  # (monotonic time received, event name, data)


class SseClient:
    """Reads an SSE stream in a thread of its own, stamping each frame as it arrives."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.frames: queue.Queue[Frame] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url, headers), daemon=True)
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        with httpx.stream(
            "GET", f"{url}/api/v1/occupancy/stream", headers={**headers, "Accept": "text/event-stream"}, timeout=60
        ) as response:
            assert response.status_code == 200
            name, data = "message", []
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line == "" and data:
                    self.frames.put((time.monotonic(), name, json.loads("\n".join(data))))
                    name, data = "message", []

    def wait_for(self, predicate: Callable[[str, dict[str, Any]], bool], timeout: float = 10) -> Frame:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = self.frames.get(timeout=left)
            except queue.Empty:
                break
            if predicate(frame[1], frame[2]):
                return frame
        raise AssertionError("no such frame in time")

    def close(self) -> None:
        self._stop.set()


def _space(space_id: int, **expected: Any) -> Callable[[str, dict[str, Any]], bool]:
    def matches(name: str, data: dict[str, Any]) -> bool:
        return name == "space" and data["space_id"] == space_id and all(data[k] == v for k, v in expected.items())

    return matches


def _ids(database_url: str, data_dir: Path) -> dict[str, int]:
    runtime = Runtime.create(Settings(database_url=database_url, data_dir=data_dir, run_background=False))
    try:
        with runtime.db.session() as session:
            spaces = {s.name: s.id for s in session.exec(select(Space)).all() if s.id is not None}
            visio = session.exec(select(Resource).where(Resource.name == "Salle de visio")).one()
            assert visio.id is not None and visio.space_id is not None
            return {"FabLab": spaces["FabLab"], "visio_space": visio.space_id, "visio_resource": visio.id}
    finally:
        runtime.db.dispose()


def _token(url: str) -> dict[str, str]:
    answer = httpx.post(f"{url}/api/v1/auth/token", data=STAFF, timeout=10)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture
def events_env(cluster_env: dict[str, str]) -> Iterator[dict[str, str]]:
    # No periodic pass within the test: what reaches the leader reaches it as a change event.
    yield {**cluster_env, "TIERSLIEU_OCCUPANCY_PASS_SECONDS": "600", "TIERSLIEU_OCCUPANCY_KEEPALIVE_SECONDS": "1"}


def test_an_sse_client_on_one_api_process_sees_what_the_leader_sees_within_a_second(
    events_env: dict[str, str], pg_url: str, private_mosquitto: MosquittoServer, tmp_path: Path, alone: Alone
) -> None:
    ids = _ids(pg_url, Path(events_env["TIERSLIEU_DATA_DIR"]))
    names = ("controller-1", "controller-2", "api-1", "api-2", "api-3")
    logs = {name: tmp_path / f"{name}.log" for name in names}
    device = client(private_mosquitto.url, "devices")
    device.start()
    assert device.wait_connected(10)
    latencies: dict[str, float] = {}
    with ExitStack() as stack:
        stack.callback(device.stop, 2)

        def start(name: str, ready: Callable[[str], bool] | None = None) -> str:
            url: str = stack.enter_context(
                tierslieu_process(events_env, "serve", "--role", name.split("-")[0], log=logs[name], ready=ready)
            )
            return url

        start("controller-1", _log_has(logs["controller-1"], "controller: leading"))
        start("controller-2", _log_has(logs["controller-2"], "controller: standing by"))
        api_1, api_2 = start("api-1"), start("api-2")
        assert _wait(lambda: all(_ready(url)["broker"] for url in (api_1, api_2)), 20)
        headers = _token(api_1)
        stream = SseClient(api_1, headers)
        stack.callback(stream.close)
        _at, _name, snapshot = stream.wait_for(lambda name, _data: name == "snapshot")
        spaces = {s["space_id"]: s for s in snapshot["spaces"]}
        assert spaces[ids["FabLab"]]["occupied"] is False
        assert spaces[ids["visio_space"]]["booked_now"] is False

        # Latencies under a second: from here on alone on the machine (tests/support/parallel.py);
        # the processes above started beside other tests.
        stack.enter_context(alone())

        # Garbage on every cluster topic first: dropped, logged, and nothing else is lost.
        for topic in ("events/occupancy", "changes", "state/occupancy/1", "state/spaces", "events/booking"):
            device.publish(f"tierslieu/{DEPLOYMENT}/{topic}", b'{"v": 1, "origin": "intruder", "data": 3}')
        device.publish(f"tierslieu/{DEPLOYMENT}/events/occupancy", b"\xff not json")

        # 1. A sensor message, handled by the leader, seen on api-1.
        sent = time.monotonic()
        device.publish("zigbee2mqtt/presence_fablab", b'{"occupancy":true}')
        seen, _name, _data = stream.wait_for(_space(ids["FabLab"], occupied=True))
        latencies["sensor -> leader -> api-1 SSE"] = seen - sent

        # 2. A booking made through api-2: its change reaches the leader, whose tracker sees the
        # room booked now; api-1's stream shows it.
        now = datetime.now(UTC)
        body = {
            "resource_id": ids["visio_resource"],
            "start": (now - timedelta(minutes=1)).isoformat(),
            "end": (now + timedelta(hours=1)).isoformat(),
            "override": True,
        }
        sent = time.monotonic()
        made = httpx.post(f"{api_2}/api/v1/bookings", json=body, headers=headers, timeout=10)
        committed = time.monotonic()
        assert made.status_code == 201, made.text
        seen, _name, _data = stream.wait_for(_space(ids["visio_space"], booked_now=True))
        # Committed before api-2 answers: from its answer is an upper bound of commit -> SSE.
        latencies["booking committed on api-2 -> api-1 SSE"] = seen - committed
        request_s = committed - sent

        # 3. A space created through api-2 joins the leader's occupancy at once (not at its next
        # periodic pass, ten minutes away here), and api-1's stream shows it.
        sent = time.monotonic()
        made = httpx.post(
            f"{api_2}/api/v1/spaces",
            json={"name": "Salle créée en direct", "kind": "room", "parent_id": ids["FabLab"], "capacity": 4},
            headers=headers,
            timeout=10,
        )
        assert made.status_code == 201, made.text
        seen, _name, _data = stream.wait_for(_space(made.json()["id"], occupied=False, capacity=4))
        latencies["space created on api-2 -> leader -> api-1 SSE"] = seen - sent

        # 4. An API process started now gets the current state from the broker's retained
        # messages: the same snapshot as api-1, with what happened before it started.
        api_3 = start("api-3")

        def occupancy(url: str) -> dict[int, Any]:
            answer = httpx.get(f"{url}/api/v1/occupancy", headers=headers, timeout=5).json()
            return {s["space_id"]: s for s in answer}

        # The database alone cannot give this view (it calls the devices never heard of offline,
        # the leader does not until they have been silent for a while): only the retained state can.
        assert _wait(lambda: occupancy(api_3) == occupancy(api_1), 5), "api-3 never got the leader's state"
        late_view = occupancy(api_3)
        assert late_view[ids["FabLab"]]["occupied"] is True
        assert late_view[ids["visio_space"]]["booked_now"] is True
        assert made.json()["id"] in late_view
        # ... and its stream follows the leader too.
        late = SseClient(api_3, headers)
        stack.callback(late.close)
        _at, _name, late_first = late.wait_for(lambda name, _data: name == "snapshot")
        late_spaces = {s["space_id"]: s for s in late_first["spaces"]}
        assert late_spaces.keys() == late_view.keys() and late_spaces[ids["FabLab"]]["occupied"] is True
        sent = time.monotonic()
        device.publish("zigbee2mqtt/presence_fablab", b'{"occupancy":false}')
        seen, _name, _data = late.wait_for(_space(ids["FabLab"], occupied=False))
        latencies["sensor -> leader -> api-3 SSE (late starter)"] = seen - sent

    for what, seconds in latencies.items():
        print(f"{what}: {seconds * 1000:.0f} ms")
    print(f"(the booking request itself took {request_s * 1000:.0f} ms)")
    assert all(seconds <= LATENCY_LIMIT_S for seconds in latencies.values()), latencies
    api_log = logs["api-1"].read_text()
    assert api_log.count("malformed message on tierslieu/tierslieu/") == 6, api_log[-3000:]
    assert "already connected" not in private_mosquitto.log_text(), "a client id was taken over"
