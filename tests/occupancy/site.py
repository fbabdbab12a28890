"""A booking by a member of its own, written straight to the database, for the occupancy tests."""

from __future__ import annotations

from datetime import datetime

from tests.support.bookings import insert_booking
from tierslieu.models import Member
from tierslieu.runtime import Runtime


def add_booking(
    runtime: Runtime, resource_id: int, start: datetime, end: datetime, *, status: str = "confirmed"
) -> int:
    with runtime.db.session(write=True) as session:
        member = Member(name="Réservante", email=f"booker-{start.timestamp()}-{resource_id}@trilport.test")
        session.add(member)
        session.commit()
        assert member.id is not None
        member_id = member.id
    return insert_booking(runtime, resource_id, member_id, start, end, status=status)
