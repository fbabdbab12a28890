"""Keeping background database work out of the way of badge scans.

Python threads share one interpreter lock: a thread writing a batch of audit lines or
reloading the access facts delays the MQTT thread that must answer the next badge. Background
loops therefore wait until no scan has been seen for a short while — but never longer than a
bound, so they cannot be starved by a stream of scans.
"""

from __future__ import annotations

import threading
import time

__all__ = ["QuietGate"]


class QuietGate:
    def __init__(self, quiet_seconds: float = 0.05, max_wait_seconds: float = 1.0) -> None:
        self.quiet_seconds = quiet_seconds
        self.max_wait_seconds = max_wait_seconds
        self._last_busy = 0.0

    def touch(self) -> None:
        """The hot path is busy now (called for every scan; a plain store, no lock)."""
        self._last_busy = time.monotonic()

    def wait(self, stopping: threading.Event | None = None) -> None:
        """Return once the hot path has been idle for ``quiet_seconds``, or after ``max_wait_seconds``."""
        deadline = time.monotonic() + self.max_wait_seconds
        while True:
            now = time.monotonic()
            idle_for = now - self._last_busy
            if idle_for >= self.quiet_seconds or now >= deadline:
                return
            pause = min(self.quiet_seconds - idle_for, deadline - now)
            if stopping is not None:
                if stopping.wait(pause):
                    return
            else:
                time.sleep(pause)
