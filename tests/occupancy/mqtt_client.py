"""A bare paho client for tests: publish like a device, or collect what a topic filter gets."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion


class TestClient:
    __test__ = False  # not a pytest class

    def __init__(self, port: int, subscribe: str | None = None) -> None:
        self.messages: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._filter = subscribe
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._ready.wait(10), "test MQTT client did not connect"

    def _on_connect(self, client: paho.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if self._filter:
            client.subscribe(self._filter, 1)
        self._ready.set()

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages[message.topic] = bytes(message.payload)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def wait_for(self, predicate: Callable[[dict[str, bytes]], bool], timeout: float = 10) -> dict[str, bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                seen = dict(self.messages)
            if predicate(seen):
                return seen
            time.sleep(0.05)
        raise AssertionError(f"timed out; topics seen: {sorted(seen)[:40]}")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
