"""The HTTP/1.1 protocol ``tierslieu serve`` runs uvicorn with: h11, plus a deadline on headers.

uvicorn cancels its keep-alive timer on every byte received and arms no timer while a request's
headers arrive, so a client sending one header byte every few seconds holds a connection
forever (slow loris). Here a request's headers must be complete ``HEADER_TIMEOUT_S`` after the
connection opens (or after the previous response on a kept-alive connection); otherwise the
connection is closed. Bodies are bounded by the write gate (a size limit and a read deadline).
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HEADER_TIMEOUT_S", "KEEP_ALIVE_S", "MAX_HEADER_BYTES", "GuardedH11Protocol"]

HEADER_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5
# h11 refuses a request line plus headers longer than this (431/400): no header floods.
MAX_HEADER_BYTES = 16 * 1024


class GuardedH11Protocol(H11Protocol):
    _header_timer: asyncio.TimerHandle | None = None

    def _arm_header_deadline(self) -> None:
        self._cancel_header_deadline()
        self._header_timer = self.loop.call_later(HEADER_TIMEOUT_S, self._headers_too_slow)

    def _cancel_header_deadline(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        # Still waiting for (the rest of) a request line and headers: cut the connection.
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_header_deadline()

    def on_response_complete(self) -> None:
        self._arm_header_deadline()
        super().on_response_complete()
        if self.conn.their_state is not h11.IDLE:  # a pipelined request was already complete
            self._cancel_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)
