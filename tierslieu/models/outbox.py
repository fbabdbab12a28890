"""The notifications outbox, and the site's public profile (what the national export needs).

A message is written in the same transaction as the change it announces (a rollback drops it)
and delivered later by the outbox worker (``tierslieu.outbox.worker``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text
from sqlmodel import Field, SQLModel

from tierslieu.db.types import UTCDateTime, utcnow

# pending → sending → sent; a failed try goes back to pending (later), then to failed.
# undeliverable: the person has no e-mail address (the front desk prints a slip instead).
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "undeliverable")


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # One message per key ("booking-offer:12"): writing it twice keeps the first.
    key: str = Field(max_length=200, unique=True, index=True)
    kind: str = Field(max_length=40, index=True)
    status: str = Field(default="pending", max_length=16)
    member_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"), nullable=True, index=True),
    )
    recipient_name: str = Field(default="", max_length=200)
    recipient_email: str | None = Field(default=None, max_length=320)
    language: str = Field(default="fr", max_length=8)
    # Parameters of the message texts (codes in the catalogue), rendered when it is sent.
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    ics: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    claim_token: str | None = Field(default=None, max_length=32)
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    transport: str = Field(default="", max_length=8)
    last_error: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class SessionVisits(SQLModel, table=True):
    """For a session whose attendance was purged: when each person present had come before
    (``{"2025-02-10T13:00:00+00:00": 1, "none": 2}``) — counts, no one named — so the inclusion
    report still counts each person once and tells first-timers apart."""

    __tablename__ = "session_visits"

    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("workshop_session.id", ondelete="CASCADE"), primary_key=True)
    )
    previous_visits: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class VisitTrace(SQLModel, table=True):
    """The last purged visit of a person still known (one instant, nothing else), so a visit
    after the purge is not taken for a first one. Deleted with the member or the person."""

    __tablename__ = "visit_trace"

    id: int | None = Field(default=None, primary_key=True)
    who: str = Field(max_length=24, unique=True)  # "m12" or "p7"
    member_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=True)
    )
    person_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=True)
    )
    last_visit_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
