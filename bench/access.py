"""Badge -> unlock-command latency through a real Mosquitto broker, against a floor.

Two responders serve the same broker, each in a process of its own (its own interpreter, so
neither pays for the other's threads):

- floor: a bare paho client that answers each badge message with an unlock publish;
- tierslieu: the real device stack (hub, Tasmota bridge, access decision on in-memory facts,
  door controller, audit and check-in written afterwards) on SQLite. Each scan is a different
  member with a booking active now, so every scan is a ``granted_booking`` with a check-in.

A prober (this process) sends one scan at a time and times the unlock that comes back,
alternating between the two responders scan after scan, so that whatever else the machine is
doing meanwhile weighs on both alike. Both speak the same MQTT version (``--protocol``, the
transport's default 5 unless told), QoS 1, TCP_NODELAY, paho's threaded loop. Prints one JSON
object.

    .venv/bin/python bench/access.py [--scans 1000] [--protocol 5|3.1.1]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devices.mqtt import PROTOCOLS, MqttSettings, PahoTransport  # noqa: E402
from tests.support.mosquitto import MosquittoServer  # noqa: E402
from tierslieu.booking.store import block_of  # noqa: E402
from tierslieu.db.types import utcnow  # noqa: E402
from tierslieu.hardware.wiring import TransportComponent, build_device_stack  # noqa: E402
from tierslieu.migrations import upgrade_database  # noqa: E402
from tierslieu.models import Badge, Booking, Device, Member, Resource, Space  # noqa: E402
from tierslieu.runtime import Runtime  # noqa: E402
from tierslieu.services.sites import default_site_id  # noqa: E402
from tierslieu.settings import Settings  # noqa: E402

# responder -> (scan topic, unlock topic)
TOPICS = {
    "floor": ("tele/lecteur-floor/SENSOR", "cmnd/porte-floor/POWER1"),
    "tierslieu": ("tele/lecteur-bench/SENSOR", "cmnd/porte-bench/POWER1"),
}
WARMUP = 20  # scans per responder left out of the figures


def _no_delay(client: paho.Client, userdata: Any, sock: Any) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _paho(port: int, name: str, protocol: str) -> paho.Client:
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:6]}", protocol=PROTOCOLS[protocol]
    )
    # TCP_NODELAY, as in our transport; set before connect() opens the socket.
    client.on_socket_open = _no_delay
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


class BenchMosquitto(MosquittoServer):
    """The test broker with Nagle off on its side too (mosquitto's ``set_tcp_nodelay``), as a
    site serving door commands should run it — otherwise both measures include ~40 ms of
    delayed-ACK stalls — and without logging every packet, which no site does either."""

    def _write_config(self) -> Path:
        config = super()._write_config()
        quieter = "\n".join(f"log_type {kind}" for kind in ("error", "warning", "notice", "information"))
        text = config.read_text().replace("log_type all", quieter)
        config.write_text(text + "set_tcp_nodelay true\n")
        return config


# -- the responders, each run in a child process ---------------------------------------------


def _say(out: IO[str], **fields: Any) -> None:
    out.write(json.dumps(fields) + "\n")
    out.flush()


def serve_floor(port: int, protocol: str) -> None:
    scan_topic, unlock_topic = TOPICS["floor"]
    subscribed = threading.Event()

    def answer(client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        client.publish(unlock_topic, b"ON", qos=1)

    client = _paho(port, "floor", protocol)
    client.on_message = answer
    client.on_subscribe = lambda *args: subscribed.set()
    client.subscribe(scan_topic, 1)
    subscribed.wait(10)
    _say(sys.stdout, ready=True)
    sys.stdin.readline()  # until the prober is done
    client.loop_stop()
    client.disconnect()
    _say(sys.stdout, metrics={})


def _site(runtime: Runtime, count: int) -> list[str]:
    now = utcnow()
    uids = []
    with runtime.db.session(write=True) as session:
        building = Space(name="Bâtiment", kind="building", site_id=default_site_id(session, "Europe/Paris"))
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
            uid = _uid(index)
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


def _uid(index: int) -> str:
    # Canonical badge ids (devices.badge_ids): four whole bytes, no leading zero byte.
    return f"{0x10000000 + index + 1:08X}"


def serve_tierslieu(port: int, protocol: str, count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tierslieu-bench-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'bench.db'}"
        upgrade_database(url)
        settings = Settings(
            data_dir=workdir, database_url=url, run_background=False, environment="test", mqtt_client_id="bench"
        )
        runtime = Runtime.create(settings)
        _site(runtime, count)
        mqtt = MqttSettings("127.0.0.1", port, client_id=f"tierslieu-bench-{uuid.uuid4().hex[:6]}", protocol=protocol)
        transport = PahoTransport(replace(mqtt, reconnect_max_delay_s=1))
        stack = build_device_stack(runtime, transport)
        components = stack.components(TransportComponent(transport))
        for component in components:
            component.start()
        try:
            assert transport.wait_connected(10)
            time.sleep(0.5)  # the door controller's first pass (its Lock) is out of the way
            _say(sys.stdout, ready=True)
            sys.stdin.readline()
            stack.access.audit.wait_idle(30)
            metrics = {"audit_lines": stack.access.audit.written, **stack.hub.metrics.as_dict()}
        finally:
            for component in reversed(components):
                component.stop()
            runtime.db.dispose()
    _say(sys.stdout, metrics=metrics)


# -- the prober ------------------------------------------------------------------------------


class Responder:
    """A child process serving one side of the comparison."""

    def __init__(self, role: str, port: int, protocol: str, scans: int) -> None:
        command = [sys.executable, __file__, "--serve", role, "--port", str(port), "--protocol", protocol]
        self.process = subprocess.Popen(
            [*command, "--scans", str(scans)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.role = role

    def wait_ready(self, timeout: float = 120) -> None:
        line = self._read_line(timeout)
        if not json.loads(line).get("ready"):
            raise RuntimeError(f"{self.role} responder did not start: {line!r}")

    def finish(self) -> dict[str, int]:
        assert self.process.stdin is not None
        self.process.stdin.write("done\n")
        self.process.stdin.flush()
        metrics: dict[str, int] = json.loads(self._read_line(60))["metrics"]
        self.process.wait(30)
        return metrics

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _read_line(self, timeout: float) -> str:
        assert self.process.stdout is not None
        timer = threading.Timer(timeout, self.kill)
        timer.start()
        try:
            line = self.process.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            raise RuntimeError(f"{self.role} responder exited ({self.process.poll()})")
        return line


class Prober:
    """Publishes one scan at a time and times the unlock (``ON``) that comes back."""

    def __init__(self, port: int, protocol: str) -> None:
        self._got = threading.Event()
        subscribed = threading.Event()
        self.client = _paho(port, "prober", protocol)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.subscribe([(unlock, 1) for _scan, unlock in TOPICS.values()])
        subscribed.wait(10)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        if message.payload == b"ON":  # a door controller's relock (OFF) is not an answer
            self._got.set()

    def scan(self, role: str, uid: str) -> float:
        scan_topic, _unlock = TOPICS[role]
        self._got.clear()
        start = time.perf_counter()
        self.client.publish(scan_topic, f'{{"PN532":{{"UID":"{uid}"}}}}', qos=1)
        if not self._got.wait(5):
            raise RuntimeError(f"no unlock from {role} for badge {uid}")
        return (time.perf_counter() - start) * 1000

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def measure(port: int, protocol: str, scans: int) -> tuple[dict[str, list[float]], dict[str, int]]:
    responders = [Responder(role, port, protocol, scans) for role in TOPICS]
    try:
        for responder in responders:
            responder.wait_ready()
        prober = Prober(port, protocol)
        samples: dict[str, list[float]] = {role: [] for role in TOPICS}
        try:
            for index in range(scans):
                # Interleaved, first one then the other first: noise falls on both alike.
                order = list(TOPICS) if index % 2 == 0 else list(reversed(TOPICS))
                for role in order:
                    latency = prober.scan(role, _uid(index))
                    if index >= WARMUP:
                        samples[role].append(latency)
                    time.sleep(0.005)
        finally:
            prober.stop()
        metrics = {}
        for responder in responders:
            metrics.update(responder.finish())
        return samples, metrics
    finally:
        for responder in responders:
            responder.kill()


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scans", type=int, default=1000, help="scans per responder")
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="5")
    parser.add_argument("--serve", choices=sorted(TOPICS), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "floor":
        return serve_floor(args.port, args.protocol)
    if args.serve == "tierslieu":
        return serve_tierslieu(args.port, args.protocol, args.scans)
    with tempfile.TemporaryDirectory(prefix="tierslieu-bench-") as tmp, BenchMosquitto(Path(tmp) / "mqtt") as broker:
        samples, metrics = measure(broker.port, args.protocol, args.scans)
    base, mine = _stats(samples["floor"]), _stats(samples["tierslieu"])
    ratio_p50 = round(mine["p50_ms"] / base["p50_ms"], 2)
    ratio_p99 = round(mine["p99_ms"] / base["p99_ms"], 2)
    print(
        json.dumps(
            {
                "benchmark": "badge -> unlock command latency",
                "scans": len(samples["tierslieu"]),
                "mqtt_protocol": args.protocol,
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
