"""The outbox as staff see it: who, what, its state; the text and .ics stay in the database."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class OutboxMessagePublic(BaseModel):
    id: int
    kind: str
    status: str
    recipient_name: str
    recipient_email: str | None
    language: str
    has_calendar: bool
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    transport: str
    last_error: str
    error: str | None = None
    created_at: datetime


class OutboxPage(BaseModel):
    total: int
    items: list[OutboxMessagePublic]
