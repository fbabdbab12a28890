"""What anyone may read without an account: no names, no contact, no registrations."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class PublicSessionOut(BaseModel):
    id: int
    workshop_id: int
    title: str
    description: str
    themes: list[str]
    publics: list[str]
    start: datetime
    end: datetime
    place: str
    capacity: int
    seats_left: int
