"""Personal data: what the access-log retention keeps once lines are purged, and its marker.

``access_daily_count`` holds, per local day, door (device) and space, decision and reason, how
many access-log lines there were: the reports' totals survive the purge, the people do not.
``access_event_purge`` is the purge marker the append-only triggers recognise: a row lives
only inside the purge's own transaction (inserted, then deleted before commit), and while it
exists the triggers let DELETE through for lines older than its ``cutoff`` — nothing else.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, String
from sqlmodel import Field, SQLModel

from tierslieu.db.types import UTCDateTime

__all__ = ["AccessDailyCount", "AccessEventPurge"]


class AccessDailyCount(SQLModel, table=True):
    __tablename__ = "access_daily_count"
    __table_args__ = (Index("ix_access_daily_count_day", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date
    space_id: int | None = None
    device_id: int | None = None
    device_name: str = Field(default="", max_length=120)
    decision: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str = Field(sa_column=Column(String(40), nullable=False))
    count: int = 0


class AccessEventPurge(SQLModel, table=True):
    __tablename__ = "access_event_purge"

    id: int | None = Field(default=None, primary_key=True)
    cutoff: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
