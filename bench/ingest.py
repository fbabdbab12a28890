"""Sensor ingest throughput: sustained events/s into occupancy state, against a bare subscriber.

Prints one JSON object. A private Mosquitto broker is started; ``mosquitto_pub -l`` processes
(C, outside our interpreter) publish a stream of real firmware payloads — Zigbee2MQTT presence
(JSON), ESPHome people counters (text), Tasmota switch inputs (JSON) — as fast as the broker
takes them. The same stream is consumed twice, in the same run:

- floor: a bare paho subscriber that only counts messages;
- ingest: tierslieu's path — ``PahoTransport`` -> each bridge's ``match``/``parse`` ->
  ``DeviceHub`` -> ``OccupancyTracker`` readings (the tracker's thread recomputing statuses
  meanwhile), counted by a transport handler that runs after the hub's.

Rate = messages processed / time between the first and the last one; a consumer slower than the
publishers makes the broker queue messages, so the rate is the consumer's saturated
throughput. The broker keeps every message (no queue limit), so both consumers process the
whole stream and the occupancy state can be checked against its last values. Both speak the
same MQTT version (``--protocol``, the transport's default 5 unless told), QoS 1. Target:
ingest >= 0.5 x floor.

    .venv/bin/python bench/ingest.py [--messages 60000] [--protocol 5|3.1.1]
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devices.mqtt import PROTOCOLS, MqttSettings, PahoTransport  # noqa: E402
from tests.support.mosquitto import MosquittoServer, find_executable  # noqa: E402
from tierslieu.hardware.hub import DeviceHub  # noqa: E402
from tierslieu.migrations import upgrade_database  # noqa: E402
from tierslieu.models import Device, Space  # noqa: E402
from tierslieu.occupancy.tracker import OccupancyTracker  # noqa: E402
from tierslieu.runtime import Runtime  # noqa: E402
from tierslieu.services.sites import default_site_id  # noqa: E402
from tierslieu.settings import Settings  # noqa: E402

SENSORS = 4  # of each kind
QUIET_SECONDS = 1.5


class BenchMosquitto(MosquittoServer):
    """The test broker without a queue limit (a slow consumer gets every message, later) and
    without logging every packet, which would cost the broker as much as the consumers."""

    def _write_config(self) -> Path:
        config = super()._write_config()
        quieter = "\n".join(f"log_type {kind}" for kind in ("error", "warning", "notice", "information"))
        text = config.read_text().replace("log_type all", quieter)
        config.write_text(text.replace("max_queued_messages 10000", "max_queued_messages 0"))
        return config


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self._lock = threading.Lock()

    def tick(self) -> None:
        now = time.perf_counter()
        with self._lock:
            if not self.count:
                self.first = now
            self.count += 1
            self.last = now

    def rate(self) -> float:
        return (self.count - 1) / (self.last - self.first) if self.count > 1 and self.last > self.first else 0.0


def _streams(messages: int) -> list[tuple[str, list[str]]]:
    """(topic, payload lines) per publisher; values change on every message."""
    per = max(1, messages // (3 * SENSORS))
    streams = []
    for i in range(SENSORS):
        streams.append(
            (
                f"zigbee2mqtt/bench_presence_{i}",
                [
                    json.dumps({"occupancy": n % 2 == 0, "battery": 90, "illuminance": n % 500, "linkquality": 120})
                    for n in range(per)
                ],
            )
        )
        streams.append((f"bench-counter-{i}/sensor/personnes/state", [str(n % 40) for n in range(per)]))
        streams.append(
            (
                f"tele/bench-pir-{i}/SENSOR",
                [json.dumps({"Time": "2026-03-10T10:00:00", "Switch1": "ON" if n % 2 else "OFF"}) for n in range(per)],
            )
        )
    return streams


def _publish(port: int, streams: list[tuple[str, list[str]]]) -> None:
    tool = find_executable("mosquitto_pub")
    processes = []
    for index, (topic, lines) in enumerate(streams):
        process = subprocess.Popen(
            [tool, "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", topic, "-l", "-i", f"bench-pub-{index}"],
            stdin=subprocess.PIPE,
        )
        processes.append((process, "\n".join(lines) + "\n"))
    for process, text in processes:
        assert process.stdin is not None
        process.stdin.write(text.encode())
        process.stdin.close()
    for process, _ in processes:
        process.wait(120)


def _wait_quiet(counter: Counter, expected: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    last_count, last_change = -1, time.monotonic()
    while time.monotonic() < deadline and counter.count < expected:
        if counter.count != last_count:
            last_count, last_change = counter.count, time.monotonic()
        elif time.monotonic() - last_change > QUIET_SECONDS and counter.count:
            return
        time.sleep(0.05)


def measure_floor(port: int, streams: list[tuple[str, list[str]]], expected: int, protocol: str) -> Counter:
    counter = Counter()
    ready = threading.Event()
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-floor-{uuid.uuid4().hex[:6]}", protocol=PROTOCOLS[protocol]
    )

    def on_connect(c: paho.Client, u: object, f: object, r: object, p: object) -> None:
        c.subscribe([("zigbee2mqtt/#", 1), ("+/sensor/+/state", 1), ("tele/+/SENSOR", 1)])

    client.on_connect = on_connect
    client.on_subscribe = lambda *args: ready.set()
    client.on_message = lambda c, u, m: counter.tick()
    client.connect("127.0.0.1", port)
    client.loop_start()
    ready.wait(10)
    _publish(port, streams)
    _wait_quiet(counter, expected)
    client.loop_stop()
    client.disconnect()
    return counter


def _bench_site(runtime: Runtime) -> None:
    with runtime.db.session(write=True) as session:
        building = Space(name="Bâtiment", kind="building", site_id=default_site_id(session, "Europe/Paris"))
        session.add(building)
        session.flush()
        for i in range(SENSORS):
            room = Space(name=f"Salle {i}", kind="room", parent_id=building.id, site_id=building.site_id, capacity=30)
            session.add(room)
            session.flush()
            session.add_all(
                [
                    Device(
                        name=f"Présence {i}",
                        kind="occupancy_sensor",
                        bridge="zigbee2mqtt",
                        address=f"bench_presence_{i}",
                        space_id=room.id,
                    ),
                    Device(
                        name=f"Compteur {i}",
                        kind="people_counter",
                        bridge="esphome",
                        address=f"bench-counter-{i}",
                        space_id=room.id,
                        options={"people_sensor": "personnes"},
                    ),
                    Device(
                        name=f"PIR {i}",
                        kind="occupancy_sensor",
                        bridge="tasmota",
                        address=f"bench-pir-{i}",
                        space_id=room.id,
                    ),
                ]
            )
        session.commit()


def measure_ingest(
    port: int, streams: list[tuple[str, list[str]]], expected: int, tmp: Path, protocol: str
) -> dict[str, object]:
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade_database(url)
    settings = Settings(environment="test", database_url=url, data_dir=tmp, run_background=False)
    runtime = Runtime.create(settings)
    _bench_site(runtime)
    client_id = f"bench-ingest-{uuid.uuid4().hex[:6]}"
    transport = PahoTransport(MqttSettings("127.0.0.1", port, client_id=client_id, protocol=protocol))
    hub = DeviceHub(runtime, transport)
    tracker = OccupancyTracker(runtime, hub)
    counter = Counter()
    hub.start()
    tracker.start()

    # On the hub's own filters, after the hub: a message is counted once the hub (and through
    # it the tracker) has processed it. Messages, not events, as the floor counts.
    def tick(topic: str, payload: bytes, retained: bool) -> None:
        counter.tick()

    for topic_filter in hub.registry.subscriptions:
        transport.subscribe(topic_filter, tick)  # one handler: called once a message
    transport.start()
    try:
        transport.wait_connected(10)
        time.sleep(0.3)  # subscriptions acknowledged
        _publish(port, streams)
        _wait_quiet(counter, expected)
        time.sleep(settings.occupancy_debounce_seconds * 3)  # the last recompute
        rooms = [s for s in tracker.snapshot() if s.name.startswith("Salle")]
        last_people = int(streams[1][1][-1])
        return {
            "counter": counter,
            "state_up_to_date": any(s.people == last_people for s in rooms),
            "hub": hub.metrics.as_dict(),
        }
    finally:
        transport.stop()
        tracker.stop()
        hub.stop()
        runtime.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="5")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    streams = _streams(args.messages)
    expected = sum(len(lines) for _, lines in streams)
    with tempfile.TemporaryDirectory(prefix="tierslieu-bench-") as name:
        tmp = Path(name)
        with BenchMosquitto(tmp / "broker") as broker:
            floor = measure_floor(broker.port, streams, expected, args.protocol)
            ingest = measure_ingest(broker.port, streams, expected, tmp, args.protocol)
    counter = ingest["counter"]
    assert isinstance(counter, Counter)
    ratio = counter.rate() / floor.rate() if floor.rate() else 0.0
    print(
        json.dumps(
            {
                "benchmark": "ingest",
                "messages_published": expected,
                "mqtt_protocol": args.protocol,
                "floor_events_per_s": round(floor.rate()),
                "floor_received": floor.count,
                "ingest_events_per_s": round(counter.rate()),
                "ingest_processed": counter.count,
                "ingest_events": ingest["hub"]["events"],  # type: ignore[index]
                "ratio": round(ratio, 3),
                "target_ratio": 0.5,
                "meets_target": ratio >= 0.5,
                "occupancy_state_up_to_date": ingest["state_up_to_date"],
                "hub_metrics": ingest["hub"],
                "path": "PahoTransport -> bridge match/parse -> DeviceHub -> OccupancyTracker (real hub)",
            }
        )
    )


if __name__ == "__main__":
    main()
