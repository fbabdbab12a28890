"""Admit writing requests to the database a few at a time, queued on the event loop.

A write request holds its database transaction across several worker threads: the
authentication dependency, the policy, the handler and the commit each run in one (40 threads
by default). When more writers arrive than there are threads, threads end up blocked on the
database — SQLite's write lock (``BEGIN IMMEDIATE``), a PostgreSQL row or constraint lock, or
an empty connection pool — while the transactions holding those locks wait for a free thread
to finish: everything stalls until a timeout (503/500). Queuing writers here, *before* they
take a thread or a connection, avoids that: one at a time on SQLite (which runs one writer
anyway), ``POSTGRES_WRITERS`` at a time on PostgreSQL (below the pool size and thread count).

It is an ASGI middleware so that every writer — API and web forms alike — goes through it.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["POSTGRES_WRITERS", "WriteGateMiddleware"]

POSTGRES_WRITERS = 16
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class WriteGateMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._gate: asyncio.Semaphore | None = None

    def _semaphore(self, scope: Scope) -> asyncio.Semaphore:
        if self._gate is None:  # created on the event loop, so two requests cannot race here
            runtime = getattr(scope["app"].state, "runtime", None)
            sqlite = runtime is None or runtime.db.is_sqlite
            self._gate = asyncio.Semaphore(1 if sqlite else POSTGRES_WRITERS)
        return self._gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS:
            await self.app(scope, receive, send)
            return
        async with self._semaphore(scope):
            await self.app(scope, receive, send)
