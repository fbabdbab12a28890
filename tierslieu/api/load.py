"""Staying up under load: request rate limits, a cap on live streams, the worker-thread pool.

How the pieces fit (README, "Sizing under load"):

- every blocking handler runs in one of ``Settings.worker_threads`` threads (anyio's default
  limiter);
- a request holds its database session across several thread hops (authentication, policy,
  handler, commit) and keeps its connection while it waits for the next thread: with more
  requests in flight than connections, the pool runs dry although threads are free. So at most
  ``worker_threads`` requests are *admitted* at once (:class:`AdmissionMiddleware`); the others
  wait on the event loop, holding nothing, at most ``db_pool_timeout_seconds`` (then 503 +
  Retry-After). A request leaves as soon as its response starts (its session is closed by then);
- the connection pool has a connection for every admitted request plus the background
  components, so an admitted request never waits for one;
- the write gate lets one writer in at a time on SQLite, ``postgres_writers`` on PostgreSQL;
- a live stream (SSE) holds no thread and no connection while idle, only one of the
  ``sse_max_streams`` slots (``sse_max_streams_per_member`` per member);
- one member, or one address, cannot take it all: ``rate_limit_member`` and
  ``rate_limit_address`` (the ``limits`` library's sliding-window counters) answer 429 + Retry-After;
- ``GET /api/v1/health/live`` is answered on the event loop, so it answers whatever the above.
"""

from __future__ import annotations

import asyncio
import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

import anyio.to_thread
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tierslieu.api.problems import language_of, problem
from tierslieu.errors import Overloaded, TooManyRequests
from tierslieu.i18n import render
from tierslieu.settings import Settings

__all__ = ["AddressRateLimitMiddleware", "AdmissionMiddleware", "RateLimits", "StreamSlots", "set_worker_threads"]

STREAM_RETRY_S = 15
ADMISSION_RETRY_S = 2
SWITCH_INTERVAL_S = 0.001
LIVE_PATH = "/api/v1/health/live"
# Liveness and readiness probes are never limited: an orchestrator must always get an answer.
UNLIMITED_PREFIXES = ("/api/v1/health",)


def set_worker_threads(count: int) -> None:
    """Size the thread pool that runs every blocking handler and dependency (anyio's default
    limiter, 40 unless told); called on the event loop at start."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = count
    # The event loop shares the interpreter lock with those threads; it asks for it far more
    # often than they do (every socket event). A shorter switch interval (default 5 ms) lets it
    # through sooner, so the liveness probe and stream keep-alives stay prompt under load.
    sys.setswitchinterval(SWITCH_INTERVAL_S)


class _MemoryStorage(MemoryStorage):
    """The ``limits`` memory storage, minus a thread per few requests: it schedules a timer
    thread 10 ms after each hit (unless one is pending) to drop expired entries, so a busy API
    started a thread every two or three requests (~0.2 ms each on the request's path, measured).
    Here the request that finds the last pass over a second old drops them itself."""

    EXPIRE_EVERY_S = 1.0

    def __init__(self) -> None:
        super().__init__()
        self._next_expiry = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # overrides the private scheduler
        now = time.monotonic()
        if now >= self._next_expiry:
            self._next_expiry = now + self.EXPIRE_EVERY_S
            getattr(self, "_MemoryStorage__expire_events")()  # noqa: B009 - a name-mangled method


class RateLimits:
    """Per-member and per-address request rates, counted in memory (one process).

    Sliding-window counters (two counters per key and window, the previous one weighted by how
    much of it still overlaps the window): a moving window keeps one timestamp per request, so
    each address at its limit held 1,200 objects and every hit moved them all (~15 µs a hit at
    18,000), and the collector walked them all."""

    def __init__(self, member: str, address: str) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(_MemoryStorage())
        self._member = parse_many(member)
        self._address = parse_many(address)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(settings.rate_limit_member, settings.rate_limit_address)

    def _retry_after(self, items: list[RateLimitItem], *key: str) -> int | None:
        """None when the request may go on (it is counted), else the seconds to wait."""
        for item in items:
            if not self._limiter.hit(item, *key):
                reset_at = self._limiter.get_window_stats(item, *key).reset_time
                return max(1, math.ceil(reset_at - time.time()))
        return None

    def check_member(self, member_id: int) -> None:
        """Raise ``TooManyRequests`` past the member's rate (called once they are authenticated)."""
        wait = self._retry_after(self._member, "member", str(member_id))
        if wait is not None:
            raise TooManyRequests("rate_limited", retry_after=wait, seconds=wait)

    def address_retry_after(self, address: str) -> int | None:
        return self._retry_after(self._address, "address", address)


class AdmissionMiddleware:
    """At most ``capacity`` requests between their start and their response's first byte."""

    def __init__(self, app: ASGIApp, *, capacity: int, wait_s: float) -> None:
        self.app = app
        self.capacity = capacity
        self.wait_s = wait_s
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == LIVE_PATH:
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # created on the event loop, so two requests cannot race here
            self._slots = asyncio.Semaphore(self.capacity)
        slots = self._slots
        try:
            await asyncio.wait_for(slots.acquire(), self.wait_s)
        except TimeoutError:
            await _busy(scope, receive, send)
            return
        held = True

        def leave() -> None:
            nonlocal held
            if held:
                held = False
                slots.release()

        async def send_and_leave(message: Message) -> None:
            if message["type"] == "http.response.start":
                leave()  # the session is closed by now; a stream then holds nothing here
            await send(message)

        try:
            await self.app(scope, receive, send_and_leave)
        finally:
            leave()


async def _busy(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope)
    detail = render("database_busy", {}, language_of(request))
    response = problem(request, 503, "database_busy", "Service unavailable", detail)
    response.headers["Retry-After"] = str(ADMISSION_RETRY_S)
    await response(scope, receive, send)


class AddressRateLimitMiddleware:
    """Counts every API request per client address before anything else runs (event loop only)."""

    def __init__(self, app: ASGIApp, *, limits: RateLimits, prefix: str = "/api/") -> None:
        self.app = app
        self.limits = limits
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(self.prefix) or path.startswith(UNLIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.limits.address_retry_after(client[0] if client else "unknown")
        if wait is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        detail = render("rate_limited", {"seconds": wait}, language_of(request))
        response = problem(request, 429, "rate_limited", "Too many requests", detail, {"retry_after": wait})
        response.headers["Retry-After"] = str(wait)
        await response(scope, receive, send)


class StreamSlots:
    """Open live streams, in total and per member; thread-safe (taken in a worker thread,
    given back on the event loop when the stream ends)."""

    def __init__(self, total: int, per_member: int) -> None:
        self.total = total
        self.per_member = per_member
        self._open: Counter[int] = Counter()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamSlots:
        return cls(settings.sse_max_streams, settings.sse_max_streams_per_member)

    def take(self, member_id: int) -> Callable[[], None]:
        """A slot for one stream, or ``Overloaded`` (503 + Retry-After); returns its release."""
        with self._lock:
            if self._open[member_id] >= self.per_member:
                raise Overloaded("too_many_streams_member", retry_after=STREAM_RETRY_S, limit=self.per_member)
            if self._open.total() >= self.total:
                raise Overloaded("too_many_streams", retry_after=STREAM_RETRY_S)
            self._open[member_id] += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if not released:
                    released = True
                    self._open[member_id] -= 1
                    if self._open[member_id] <= 0:
                        del self._open[member_id]

        return release

    @property
    def open_streams(self) -> int:
        with self._lock:
            return self._open.total()
