"""Booking rows written straight to the database, as the booking engine stores them, for tests
that need a booking in place without going through the rules (past starts, no opening hours)."""

from __future__ import annotations

from datetime import datetime

from tierslieu.booking.store import block_of
from tierslieu.models import Booking
from tierslieu.runtime import Runtime

__all__ = ["insert_booking"]


def insert_booking(
    runtime: Runtime,
    resource_id: int,
    member_id: int,
    start: datetime,
    end: datetime,
    *,
    status: str = "confirmed",
    buffer_minutes: int = 0,
) -> int:
    """Insert and commit one booking; its block is widened by the buffer like the engine's."""
    block_start, block_end = block_of(start, end, buffer_minutes)
    with runtime.db.session(write=True) as session:
        booking = Booking(
            resource_id=resource_id,
            member_id=member_id,
            start=start,
            end=end,
            block_start=block_start,
            block_end=block_end,
            status=status,
        )
        session.add(booking)
        session.commit()
        assert booking.id is not None
        return booking.id
