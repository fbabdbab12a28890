"""Admit writing requests to the database a few at a time, queued on the event loop.

A write request holds its database transaction across several worker threads: the
authentication dependency, the policy, the handler and the commit each run in one (40 threads
by default). When more writers arrive than there are threads, threads end up blocked on the
database — SQLite's write lock (``BEGIN IMMEDIATE``), a PostgreSQL row or constraint lock, or
an empty connection pool — while the transactions holding those locks wait for a free thread
to finish: everything stalls until a timeout (503/500). Queuing writers here, *before* they
take a thread or a connection, avoids that: one at a time on SQLite (which runs one writer
anyway), ``POSTGRES_WRITERS`` at a time on PostgreSQL (below the pool size and thread count).

Use as a router (or app) dependency so it is resolved before the session:
``APIRouter(..., dependencies=[WRITE_GATE])``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import Depends, Request

from tierslieu.api.deps import READ_METHODS

__all__ = ["POSTGRES_WRITERS", "WRITE_GATE", "write_gate"]

POSTGRES_WRITERS = 16


def _gate(request: Request, is_sqlite: bool) -> asyncio.Semaphore:
    state = request.app.state
    gate: asyncio.Semaphore | None = getattr(state, "write_gate", None)
    if gate is None:  # created on the event loop, so two requests cannot race here
        gate = state.write_gate = asyncio.Semaphore(1 if is_sqlite else POSTGRES_WRITERS)
    return gate


async def write_gate(request: Request) -> AsyncIterator[None]:
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None or request.method in READ_METHODS:
        yield
        return
    async with _gate(request, runtime.db.is_sqlite):
        yield


WRITE_GATE = Depends(write_gate, scope="function")
