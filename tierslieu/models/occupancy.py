"""Occupancy history: one row per space and 15-minute bucket (see ``tierslieu.occupancy.history``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from tierslieu.db.types import UTCDateTime, utcnow


class OccupancyBucket(SQLModel, table=True):
    __tablename__ = "occupancy_bucket"
    __table_args__ = (
        UniqueConstraint("space_id", "bucket_start", name="uq_occupancy_bucket_space_start"),
        Index("ix_occupancy_bucket_start", "bucket_start"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # History goes with its space: a deleted space leaves no orphan rows.
    space_id: int = Field(sa_column=Column(Integer, ForeignKey("space.id", ondelete="CASCADE"), nullable=False))
    bucket_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    max_people: int = 0
    occupied_seconds: int = 0
    booked_seconds: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
