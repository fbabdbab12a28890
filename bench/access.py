"""Badge -> unlock-command latency through a real Mosquitto broker, against a floor.

The floor is a bare paho client that answers each badge message with an unlock publish
through the same broker; tierslieu runs its real device stack (hub, Tasmota bridge, access
decision on in-memory facts, door controller, audit and check-in written afterwards) on
SQLite. Each scan is a different member with a booking active now, so every scan is a
``granted_booking`` with a check-in. Prints one JSON object.

    .venv/bin/python bench/access.py [--scans 400]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devices.mqtt import MqttSettings, PahoTransport  # noqa: E402
from tests.support.mosquitto import MosquittoServer  # noqa: E402
from tierslieu.booking.store import block_of  # noqa: E402
from tierslieu.db.types import utcnow  # noqa: E402
from tierslieu.hardware.wiring import TransportComponent, build_device_stack  # noqa: E402
from tierslieu.migrations import upgrade_database  # noqa: E402
from tierslieu.models import Badge, Booking, Device, Member, Resource, Space  # noqa: E402
from tierslieu.runtime import Runtime  # noqa: E402
from tierslieu.settings import Settings  # noqa: E402

SCAN_TOPIC = "tele/lecteur-bench/SENSOR"
UNLOCK_TOPIC = "cmnd/porte-bench/POWER1"


def _no_delay(client: paho.Client, userdata: Any, sock: Any) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _answer(client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
    client.publish(UNLOCK_TOPIC, b"ON", qos=1)


def _paho(url_port: int, name: str) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:6]}")
    # TCP_NODELAY, as in our transport; set before connect() opens the socket.
    client.on_socket_open = _no_delay
    client.connect("127.0.0.1", url_port)
    client.loop_start()
    return client


class NoDelayMosquitto(MosquittoServer):
    """The test broker with Nagle off on its side too (mosquitto's ``set_tcp_nodelay``), as a
    site serving door commands should run it; otherwise both measures include ~40 ms of
    delayed-ACK stalls."""

    def _write_config(self) -> Path:
        config = super()._write_config()
        config.write_text(config.read_text() + "set_tcp_nodelay true\n")
        return config


class Prober:
    """Publishes one scan at a time and times the unlock that comes back."""

    def __init__(self, port: int) -> None:
        self._got = threading.Event()
        self.client = _paho(port, "prober")
        self.client.on_message = lambda c, u, m: self._got.set()
        self.client.subscribe(UNLOCK_TOPIC, 1)
        time.sleep(0.3)

    def measure(self, uids: list[str], warmup: int = 20) -> list[float]:
        samples = []
        for index, uid in enumerate(uids):
            self._got.clear()
            start = time.perf_counter()
            self.client.publish(SCAN_TOPIC, f'{{"PN532":{{"UID":"{uid}"}}}}', qos=1)
            if not self._got.wait(5):
                raise RuntimeError(f"no unlock for scan {index}")
            if index >= warmup:
                samples.append((time.perf_counter() - start) * 1000)
            time.sleep(0.005)
        return samples

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def floor(port: int, uids: list[str]) -> list[float]:
    responder = _paho(port, "floor")
    responder.on_message = _answer
    responder.subscribe(SCAN_TOPIC, 1)
    prober = Prober(port)
    try:
        return prober.measure(uids)
    finally:
        prober.stop()
        responder.loop_stop()
        responder.disconnect()


def _site(runtime: Runtime, count: int) -> list[str]:
    now = utcnow()
    uids = []
    with runtime.db.session(write=True) as session:
        building = Space(name="Bâtiment", kind="building")
        session.add(building)
        session.flush()
        assert building.id is not None
        session.add(Device(name="porte", kind="door", bridge="tasmota", address="porte-bench", space_id=building.id))
        session.add(
            Device(name="lecteur", kind="badge_reader", bridge="tasmota", address="lecteur-bench", space_id=building.id)
        )
        room = Resource(name="Salle", kind="room", space_id=building.id)
        session.add(room)
        session.flush()
        for index in range(count):
            member = Member(name=f"m{index}", email=f"m{index}@bench.test", roles=["member"])
            session.add(member)
            session.flush()
            uid = f"{index + 1:08X}"
            uids.append(uid)
            session.add(Badge(uid=uid, member_id=member.id))
            start, end = now - timedelta(minutes=5), now + timedelta(hours=2)
            block_start, block_end = block_of(start, end, 0)
            assert room.id is not None and member.id is not None
            # Overlapping bookings are fine here: the bench bypasses the booking rules.
            session.add(
                Booking(
                    resource_id=room.id,
                    member_id=member.id,
                    start=start,
                    end=end,
                    block_start=block_start,
                    block_end=block_end,
                    status="confirmed",
                )
            )
        session.commit()
    return uids


def tierslieu(port: int, workdir: Path, count: int) -> tuple[list[float], dict[str, int]]:
    url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade_database(url)
    settings = Settings(
        data_dir=workdir, database_url=url, run_background=False, environment="test", mqtt_client_id="tierslieu-bench"
    )
    runtime = Runtime.create(settings)
    uids = _site(runtime, count)
    mqtt = MqttSettings.from_url(f"mqtt://127.0.0.1:{port}", client_id="tierslieu-bench")
    transport = PahoTransport(replace(mqtt, reconnect_max_delay_s=1))
    stack = build_device_stack(runtime, transport)
    components = stack.components(TransportComponent(transport))
    for component in components:
        component.start()
    try:
        assert transport.wait_connected(10)
        time.sleep(0.5)
        prober = Prober(port)
        try:
            samples = prober.measure(uids)
        finally:
            prober.stop()
        stack.access.audit.wait_idle(30)
        return samples, {"audit_lines": stack.access.audit.written, **stack.hub.metrics.as_dict()}
    finally:
        for component in reversed(components):
            component.stop()
        runtime.db.dispose()


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tierslieu-bench-") as tmp:
        workdir = Path(tmp)
        with NoDelayMosquitto(workdir / "mosquitto") as broker:
            uids = [f"{i + 1:08X}" for i in range(args.scans)]
            floor_samples = floor(broker.port, uids)
            ours, metrics = tierslieu(broker.port, workdir, args.scans)
    base, mine = _stats(floor_samples), _stats(ours)
    ratio_p50 = round(mine["p50_ms"] / base["p50_ms"], 2)
    ratio_p99 = round(mine["p99_ms"] / base["p99_ms"], 2)
    print(
        json.dumps(
            {
                "benchmark": "badge -> unlock command latency",
                "scans": len(ours),
                "floor_bare_paho": base,
                "tierslieu": mine,
                "ratio_p50": ratio_p50,
                "ratio_p99": ratio_p99,
                "target": {"p50_ratio_max": 1.5, "p99_ratio_max": 2.0},
                "target_met": ratio_p50 <= 1.5 and ratio_p99 <= 2.0,
                "metrics": metrics,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
