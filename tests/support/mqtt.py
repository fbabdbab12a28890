"""MQTT helpers for tests: a handler that records messages and lets a test wait for them."""

from __future__ import annotations

import threading
from collections.abc import Callable

Received = list[tuple[str, bytes, bool]]


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
