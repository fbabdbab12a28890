"""Sessions: dated occurrences of a workshop, each holding its room through the booking engine.

Creating a session books its room with the engine's rules and refusals (409 with the engine's
``code``); a series books one room booking per occurrence, all or nothing. Cancelling frees
the room (and printers) and tells the registered (one ``session_cancelled`` event each).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from tierslieu.events import EventHub
from tierslieu.models import Member, WorkshopSession
from tierslieu.programme.events import ProgrammeEvents

__all__ = ["SessionFilter", "SessionPlan", "cancel_session", "create_sessions", "get_session", "list_sessions"]


@dataclass(frozen=True)
class SessionPlan:
    """What ``POST /workshops/{id}/sessions`` asks: ``end`` defaults to the workshop's
    duration, ``capacity`` to the workshop's (and never above the room's)."""

    resource_id: int
    start: datetime
    end: datetime | None = None
    capacity: int | None = None
    recurrence: str | None = None  # RRULE, like bookings
    printer_ids: tuple[int, ...] = ()  # printer resources a FabLab session holds
    leader_id: int | None = None  # default: the workshop's leader
    public: bool = True


@dataclass(frozen=True)
class SessionFilter:
    start: datetime | None = None  # sessions ending after
    end: datetime | None = None  # sessions starting before
    workshop_id: int | None = None
    include_cancelled: bool = False
    public_only: bool = False
    limit: int = 500
    offset: int = 0


def create_sessions(
    session: Session,
    *,
    actor: Member,
    workshop_id: int,
    plan: SessionPlan,
    now: datetime,
    tz: ZoneInfo,
    events: EventHub | None = None,
) -> list[WorkshopSession]:
    """Book the room (and printers) and create the session(s): one, or one per occurrence of
    ``plan.recurrence``. Raises the engine's ``RuleViolation`` (409) when the room refuses."""
    raise NotImplementedError


def get_session(session: Session, session_id: int) -> WorkshopSession:
    raise NotImplementedError


def list_sessions(session: Session, wanted: SessionFilter) -> Sequence[WorkshopSession]:
    raise NotImplementedError


def cancel_session(
    session: Session,
    *,
    actor: Member,
    session_id: int,
    reason: str,
    now: datetime,
    events: EventHub | None,
    programme: ProgrammeEvents,
) -> WorkshopSession:
    """Cancel the session, its room and printer bookings, and its open registrations."""
    raise NotImplementedError
