"""Fault injection for simulated devices, like OctoPrint's virtual printer: every message may be
delayed, lost, or replaced by garbage (not JSON, truncated, wrong types, random bytes)."""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from devices.model import MqttMessage
from devices.transport import Transport, TransportError

__all__ = ["Faults", "FaultyPublisher", "Timers", "garble"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Faults:
    delay_ms: int = 0  # each message waits up to this long (uniformly drawn)
    loss: float = 0.0  # probability a message is never sent
    garbage: float = 0.0  # probability a message is replaced by garbage on the same topic


def garble(payload: bytes, rng: random.Random) -> bytes:
    """A broken version of a payload, of the kinds real networks and firmwares produce."""
    choices: list[Callable[[], bytes]] = [
        lambda: payload[: max(0, len(payload) // 2)],  # truncated
        lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64))),  # noise
        lambda: b'{"occupancy": "maybe", "contact": 3, "state": []}',  # wrong types
        lambda: b"[1, 2, 3]",  # JSON but not an object
        lambda: b"\xff\xfe" + payload,  # not UTF-8
    ]
    return rng.choice(choices)()


class Timers:
    """One thread running callbacks at given monotonic times (cheaper than a Timer each)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._running = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="simulator-timers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._running = False
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(5)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> None:
        with self._wake:
            heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._order), callback))
            self._wake.notify()

    def _loop(self) -> None:
        while True:
            with self._wake:
                while self._running and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._wake.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                if not self._running:
                    return
                _, _, callback = heapq.heappop(self._heap)
            try:
                callback()
            except Exception:
                log.exception("simulated device callback failed")


class FaultyPublisher:
    def __init__(self, transport: Transport, faults: Faults, timers: Timers, rng: random.Random) -> None:
        self._transport = transport
        self._faults = faults
        self._timers = timers
        self._rng = rng
        self.sent = self.lost = self.garbled = 0

    def publish(self, message: MqttMessage) -> None:
        faults = self._faults
        if faults.loss and self._rng.random() < faults.loss:
            self.lost += 1
            return
        payload = message.payload
        if faults.garbage and self._rng.random() < faults.garbage:
            payload, self.garbled = garble(payload, self._rng), self.garbled + 1
        if faults.delay_ms:
            delay = self._rng.uniform(0, faults.delay_ms / 1000)
            self._timers.call_later(delay, lambda: self._send(message.topic, payload, message.retain))
        else:
            self._send(message.topic, payload, message.retain)

    def _send(self, topic: str, payload: bytes, retain: bool) -> None:
        try:
            self._transport.publish(topic, payload, 1, retain)
            self.sent += 1
        except TransportError as error:
            log.warning("simulated device: %s not sent: %s", topic, error)
