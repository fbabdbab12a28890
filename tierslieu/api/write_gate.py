"""Admit writing requests to the database a few at a time, queued on the event loop.

A write request holds its database transaction across several worker threads: the
authentication dependency, the policy, the handler and the commit each run in one (40 threads
by default). When more writers arrive than there are threads, threads end up blocked on the
database — SQLite's write lock (``BEGIN IMMEDIATE``), a PostgreSQL row or constraint lock, or
an empty connection pool — while the transactions holding those locks wait for a free thread
to finish: everything stalls until a timeout (503/500). Queuing writers here, *before* they
take a thread or a connection, avoids that: one at a time on SQLite (which runs one writer
anyway), ``Settings.postgres_writers`` at a time on PostgreSQL (at most half the worker threads,
which the connection pool covers: see ``Settings._sized_together``).

It is an ASGI middleware so that every writer — API and web forms alike — goes through it.

A writer's body is read completely *before* it queues for the gate, within a size limit (413)
and a read deadline (408): a client trickling its body one byte at a time then holds nothing
but its own connection, never the slot every other writer waits for. Bodies are spooled to a
temporary file past ``SPOOL_IN_MEMORY`` (uploads), then replayed to the application.
"""

from __future__ import annotations

import asyncio
import tempfile
from typing import IO

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tierslieu.api.problems import problem
from tierslieu.i18n import pick_language, render

__all__ = ["BODY_TIMEOUT_S", "WriteGateMiddleware"]

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BODY_TIMEOUT_S = 60.0
SPOOL_IN_MEMORY = 1024 * 1024
REPLAY_CHUNK = 64 * 1024
_TITLES = {408: "Request timeout", 413: "Content too large"}


class _BodyRefused(Exception):
    def __init__(self, status: int, code: str, **params: object) -> None:
        super().__init__(code)
        self.status, self.code, self.params = status, code, params


def _too_large(limit: int) -> _BodyRefused:
    return _BodyRefused(413, "request_too_large", megabytes=round(limit / 1024 / 1024))


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _read_body(receive: Receive, scope: Scope, limit: int, timeout_s: float) -> IO[bytes] | None:
    """The whole body in a spooled file, or ``None`` when the client left; raises ``_BodyRefused``."""
    declared = _declared_length(scope)
    if declared is not None and declared > limit:
        raise _too_large(limit)
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed by caller
    size = 0
    # One deadline for the whole body (a client trickling bytes cannot stretch it); a timeout
    # scope rather than ``wait_for``, which wraps every ``receive()`` in a task of its own.
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _BodyRefused(408, "request_timeout") from None
            if message["type"] == "http.disconnect":
                spool.close()
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            spool.write(chunk)
            if not message.get("more_body", False):
                spool.seek(0)
                return spool
    except BaseException:
        spool.close()
        raise


def _replay(spool: IO[bytes], receive: Receive) -> Receive:
    """A ``receive`` that hands the buffered body out again, then waits for the real disconnect."""
    size = spool.seek(0, 2)
    spool.seek(0)
    finished = False

    async def replayed() -> Message:
        nonlocal finished
        if finished:
            return await receive()
        chunk = spool.read(REPLAY_CHUNK)
        finished = spool.tell() >= size
        return {"type": "http.request", "body": chunk, "more_body": not finished}

    return replayed


class WriteGateMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_timeout_s: float = BODY_TIMEOUT_S) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self._gate: asyncio.Semaphore | None = None

    def _semaphore(self, scope: Scope) -> asyncio.Semaphore:
        if self._gate is None:  # created on the event loop, so two requests cannot race here
            runtime = getattr(scope["app"].state, "runtime", None)
            sqlite = runtime is None or runtime.db.is_sqlite
            self._gate = asyncio.Semaphore(1 if sqlite or runtime is None else runtime.settings.postgres_writers)
        return self._gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS:
            await self.app(scope, receive, send)
            return
        try:
            spool = await _read_body(receive, scope, self.max_body_bytes, self.body_timeout_s)
        except _BodyRefused as refused:
            request = Request(scope)
            detail = render(refused.code, refused.params, pick_language(request.headers.get("accept-language")))
            response = problem(request, refused.status, refused.code, _TITLES[refused.status], detail)
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        if spool is None:
            return  # the client left before sending its whole body
        with spool:
            async with self._semaphore(scope):
                await self.app(scope, _replay(spool, receive), send)
