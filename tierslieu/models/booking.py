"""Bookings. The slot a booking holds is ``[block_start, block_end)``: its interval widened by
half the resource's buffer on each side, so that two bookings' blocks overlap exactly when
``tierslieu.booking.rules.overlaps`` says they clash. PostgreSQL enforces it with an exclusion
constraint (see migration 0002); SQLite with ``BEGIN IMMEDIATE`` around check and insert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from tierslieu.db.types import UTCDateTime, utcnow

ACTIVE_STATUSES = ("pending", "confirmed", "checked_in")


def _instant(name: str | None = None, *, nullable: bool = False) -> Any:
    if name is None:
        return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))
    return Field(default=None, sa_column=Column(name, UTCDateTime(), nullable=nullable))


class BookingSeries(SQLModel, table=True):
    __tablename__ = "booking_series"

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(sa_column=Column(Integer, ForeignKey("resource.id", ondelete="RESTRICT"), nullable=False))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="RESTRICT"), nullable=False))
    rrule: str = Field(max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Booking(SQLModel, table=True):
    __table_args__ = (
        Index("ix_booking_resource_block", "resource_id", "block_start", "block_end"),
        Index("ix_booking_member_start", "member_id", "starts_at"),
        Index("ix_booking_status_start", "status", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(sa_column=Column(Integer, ForeignKey("resource.id", ondelete="RESTRICT"), nullable=False))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="RESTRICT"), nullable=False))
    start: datetime = _instant("starts_at")
    end: datetime = _instant("ends_at")
    block_start: datetime = _instant()
    block_end: datetime = _instant()
    status: str = Field(default="confirmed", sa_column=Column(String(16), nullable=False))
    series_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("booking_series.id", ondelete="SET NULL"), nullable=True, index=True),
    )
    note: str = Field(default="", max_length=500)
    walk_in: bool = False
    override: bool = False
    overridden: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    checked_in_at: datetime | None = _instant(nullable=True)
    ended_at: datetime | None = _instant(nullable=True)
    decided_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"), nullable=True)
    )
    reason: str = Field(default="", max_length=500)


WAITLIST_OPEN_STATUSES = ("waiting", "offered")


class WaitlistEntry(SQLModel, table=True):
    """A member waiting for a taken slot. The scheduler offers it (``offered``, with a deadline)
    to the first one waiting when the slot frees up; accepting it makes a normal booking."""

    __tablename__ = "booking_waitlist"
    __table_args__ = (
        Index("ix_waitlist_resource_status", "resource_id", "status", "starts_at"),
        Index("ix_waitlist_member", "member_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(sa_column=Column(Integer, ForeignKey("resource.id", ondelete="CASCADE"), nullable=False))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False))
    start: datetime = _instant("starts_at")
    end: datetime = _instant("ends_at")
    # waiting → offered → accepted | expired; or cancelled by the member at any time.
    status: str = Field(default="waiting", sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    offered_at: datetime | None = _instant(nullable=True)
    offer_expires_at: datetime | None = _instant(nullable=True)
    booking_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("booking.id", ondelete="SET NULL"), nullable=True)
    )
