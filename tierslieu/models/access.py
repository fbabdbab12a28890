"""Access control tables: the append-only audit log of badge decisions and staff door
commands, and the overrides staff put on doors (hold unlocked / hold locked).

``access_event`` has no foreign keys on purpose: an audit line must outlive the member, device
or booking it names (their ids and the device's name are copied into it). The migration adds
triggers refusing UPDATE and DELETE on it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from tierslieu.db.types import UTCDateTime, utcnow

__all__ = ["DOOR_MODES", "AccessEvent", "DoorOverride"]

DOOR_MODES = ("unlocked", "locked")


class AccessEvent(SQLModel, table=True):
    __tablename__ = "access_event"
    __table_args__ = (
        Index("ix_access_event_at", "at"),
        Index("ix_access_event_space_at", "space_id", "at"),
        Index("ix_access_event_member_at", "member_id", "at"),
        Index("ix_access_event_device_at", "device_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    device_id: int | None = None
    device_name: str = Field(default="", max_length=120)
    space_id: int | None = None
    member_id: int | None = None
    badge_uid: str | None = Field(default=None, max_length=64)
    # granted | denied | command (a staff door command)
    decision: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str = Field(sa_column=Column(String(40), nullable=False))
    booking_id: int | None = None
    detail: str = Field(default="", max_length=500)


class DoorOverride(SQLModel, table=True):
    __tablename__ = "door_override"

    device_id: int = Field(sa_column=Column(Integer, ForeignKey("device.id", ondelete="CASCADE"), primary_key=True))
    mode: str = Field(sa_column=Column(String(16), nullable=False))  # one of DOOR_MODES
    set_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"), nullable=True)
    )
    set_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
