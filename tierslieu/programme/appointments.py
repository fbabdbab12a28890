"""Individual appointments with the advisor (1–3 people, 30–90 minutes, in her room).

Booked by the front desk (staff), the advisor herself, or a referring ``partner`` — who sees
only the appointments it made. The room is booked through the booking engine in the advisor's
name (her badge opens it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from tierslieu.events import EventHub
from tierslieu.models import ActivityReport, Appointment, Member
from tierslieu.programme.events import ProgrammeEvents
from tierslieu.programme.holders import PersonHolder

__all__ = ["book_appointment", "cancel_appointment", "get_appointment", "list_appointments", "report_appointment"]


def book_appointment(
    session: Session,
    *,
    actor: Member,
    advisor_id: int,
    resource_id: int,
    start: datetime,
    end: datetime,
    member_id: int | None = None,
    person: PersonHolder | None = None,
    people: int = 1,
    referred_by: str | None = None,
    note: str = "",
    now: datetime,
    tz: ZoneInfo,
    events: EventHub | None = None,
    programme: ProgrammeEvents,
) -> Appointment:
    raise NotImplementedError


def list_appointments(
    session: Session, *, actor: Member, start: datetime | None = None, end: datetime | None = None
) -> Sequence[Appointment]:
    raise NotImplementedError


def get_appointment(session: Session, *, actor: Member, appointment_id: int) -> Appointment:
    raise NotImplementedError


def cancel_appointment(
    session: Session,
    *,
    actor: Member,
    appointment_id: int,
    now: datetime,
    events: EventHub | None = None,
    programme: ProgrammeEvents,
) -> Appointment:
    raise NotImplementedError


def report_appointment(
    session: Session,
    *,
    actor: Member,
    appointment_id: int,
    kind: str,
    duration_minutes: int,
    themes: Sequence[str],
    publics: Sequence[str] = (),
    referred_to: Sequence[str] = (),
) -> ActivityReport:
    """The advisor's activity report of an appointment (one per appointment; writing it again
    replaces it)."""
    raise NotImplementedError
