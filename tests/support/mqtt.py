"""MQTT helpers for tests: a client of the test's own on a real broker, and a handler that records
messages and lets a test wait for them."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import replace

from devices.mqtt import MqttSettings, PahoTransport

__all__ = ["Inbox", "Received", "client"]

Received = list[tuple[str, bytes, bool]]


def client(url: str, name: str) -> PahoTransport:
    """A test's own client (publishes like a device, listens like an observer): a unique client id
    and a one-second reconnect, so tests that restart the broker do not wait."""
    settings = MqttSettings.from_url(url, client_id=f"{name}-{uuid.uuid4().hex[:8]}")
    return PahoTransport(replace(settings, reconnect_min_delay_s=1, reconnect_max_delay_s=1))


class Inbox:
    """A message handler that records (topic, payload, retained) and lets the test wait for it."""

    def __init__(self) -> None:
        self.messages: Received = []
        self._changed = threading.Condition()

    def __call__(self, topic: str, payload: bytes, retained: bool) -> None:
        with self._changed:
            self.messages.append((topic, payload, retained))
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 10) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.messages), timeout)

    def wait_count(self, count: int, timeout: float = 10) -> bool:
        return self.wait_for(lambda messages: len(messages) >= count, timeout)

    def payloads(self) -> list[bytes]:
        with self._changed:
            return [payload for _topic, payload, _retained in self.messages]

    def latest(self) -> dict[str, bytes]:
        """The last payload heard on each topic."""
        with self._changed:
            return {topic: payload for topic, payload, _retained in self.messages}

    @staticmethod
    def has(topic: str, payload: bytes) -> Callable[[Received], bool]:
        """A predicate for `wait_for`: this payload was heard on this topic."""
        return lambda messages: any(m[:2] == (topic, payload) for m in messages)

    @staticmethod
    def has_topics(topics: set[str]) -> Callable[[Received], bool]:
        """A predicate for `wait_for`: something was heard on each of these topics."""
        return lambda messages: topics <= {topic for topic, _payload, _retained in messages}
