"""Fault injection for simulated devices, like OctoPrint's virtual printer: every message may be
delayed, lost, or replaced by garbage (not JSON, truncated, wrong types, random bytes)."""

from __future__ import annotations

import contextlib
import itertools
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError

from devices.model import MqttMessage
from devices.transport import Transport, TransportError
from tierslieu.workers import Scheduler

__all__ = ["Faults", "FaultyPublisher", "Timers", "garble"]

log = logging.getLogger(__name__)
_timer_numbers = itertools.count(1)


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
    """Callbacks run once at a given delay: one-shot jobs on the process's scheduler."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._running = False

    def start(self) -> None:
        self._running = True
        self._scheduler.ensure_started()

    def stop(self) -> None:
        with self._lock:
            self._running = False
            pending, self._pending = self._pending, set()
        for job_id in pending:
            with contextlib.suppress(JobLookupError):  # it ran meanwhile
                self._scheduler.aps.remove_job(job_id)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> None:
        job_id = f"simulator-timer-{next(_timer_numbers)}"

        def run() -> None:
            with self._lock:
                self._pending.discard(job_id)
            try:
                callback()
            except Exception:
                log.exception("simulated device callback failed")

        with self._lock:
            if not self._running:
                return
            self._pending.add(job_id)
            when = datetime.now(UTC) + timedelta(seconds=seconds)
            self._scheduler.aps.add_job(run, "date", run_date=when, id=job_id)


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
