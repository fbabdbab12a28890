"""Keeping background database work out of the way of badge scans.

Python threads share one interpreter lock: a thread writing a batch of audit lines or
reloading the access facts delays the MQTT thread that must answer the next badge. Background
loops therefore wait until no scan has been seen for a short while — but never longer than a
bound, so they cannot be starved by a stream of scans.

Once they run, they hand the lock over often (``paced``): a thread woken by a socket otherwise
waits for the running one to be preempted, which CPython does only every 5 ms (the switch
interval) — measured, that was the whole p99 of a badge scan behind a facts reload.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

__all__ = ["QuietGate", "chunked", "let_others_run", "paced"]

T = TypeVar("T")

# Rows handled between two hand-overs: a few tens of microseconds of work.
_PACE = 32


def let_others_run() -> None:
    """Release the interpreter lock for a moment: a thread waiting for it runs now."""
    time.sleep(0)


def chunked(items: Sequence[T], size: int = _PACE) -> Iterator[Sequence[T]]:
    """``items`` in slices of ``size``: work done a chunk at a time, handing over in between."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def paced(items: Iterable[T], every: int = _PACE) -> Iterator[T]:
    """``items``, letting other threads run after every ``every`` of them."""
    for index, item in enumerate(items, 1):
        yield item
        if index % every == 0:
            let_others_run()


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
