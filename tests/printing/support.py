"""Shared set-up for the printing tests: a FabLab with one printer, trained members, bookings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.conftest import PASSWORD, ApiUser, password_hashed_once
from tests.support.bookings import insert_booking
from tierslieu.db.types import utcnow
from tierslieu.models import Printer, PrintJob
from tierslieu.runtime import Runtime
from tierslieu.services import members as member_service
from tierslieu.services import printers as printer_service
from tierslieu.services import spaces as space_service

TRAINING = "impression-3d"
# Always open, holidays included: tests must not depend on the day they run.
OPEN_ALWAYS: dict[str, Any] = {
    "opening_hours": {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "public_holidays_closed": False,
    "overrun_minutes": 30,
}


def gcode(seconds: int = 60, filament_mm: float = 1234.5, dwells: int = 10) -> bytes:
    """A small Cura-style file; the virtual printer takes ~0.2 s per dwell."""
    header = f";FLAVOR:Marlin\n;TIME:{seconds}\n;Filament used: {filament_mm / 1000:.4f}m\n"
    return (header + "G28\nG90\n" + "G4 P200\n" * dwells + "M84\n").encode()


@dataclass
class FabLab:
    printer_id: int
    resource_id: int


def make_fablab(
    runtime: Runtime, *, url: str = "http://127.0.0.1:9", api_key: str = "test-key", rules: dict[str, Any] | None = None
) -> FabLab:
    with runtime.db.session(write=True) as session:
        space = space_service.create_space(session, name="FabLab", kind="fablab", rules=rules or OPEN_ALWAYS)
        resource = space_service.create_resource(
            session,
            name="Imprimante 1",
            kind="printer",
            space_id=space.id or 0,
            rules={"required_training": [TRAINING]},
        )
        printer = printer_service.upsert_printer(
            session, runtime.secrets, name="Prusa MK4", resource_id=resource.id or 0, octoprint_url=url, api_key=api_key
        )
        session.commit()
        return FabLab(printer_id=printer.id or 0, resource_id=resource.id or 0)


def user(runtime: Runtime, *roles: str, trained: bool = False, email: str | None = None) -> ApiUser:
    """A member with a bearer token, written with BEGIN IMMEDIATE: background writers may be running."""
    email = email or f"maker-{uuid.uuid4().hex[:12]}@trilport.test"
    roles = roles or ("member",)
    with runtime.db.session(write=True) as session, password_hashed_once(runtime):
        member = member_service.create_member(
            session, runtime.secrets, name=email.split("@")[0], email=email, roles=roles, password=PASSWORD
        )
        if trained:
            member_service.grant_training(session, member, TRAINING, expires_on=None, granted_by=None)
        token = member_service.issue_token(session, member, lifetime=timedelta(hours=1))
        session.commit()
        return ApiUser(member.id or 0, member.email, token, tuple(roles))


def trained_user(runtime: Runtime, *roles: str, email: str | None = None) -> ApiUser:
    return user(runtime, *roles, trained=True, email=email)


def book_now(runtime: Runtime, lab: FabLab, member_id: int, hours: float = 2) -> int:
    now = utcnow()
    return insert_booking(runtime, lab.resource_id, member_id, now - timedelta(minutes=5), now + timedelta(hours=hours))


def job(runtime: Runtime, job_id: int) -> PrintJob:
    with runtime.db.session() as session:
        row = session.get(PrintJob, job_id)
        assert row is not None
        return row


def printer(runtime: Runtime, printer_id: int) -> Printer:
    with runtime.db.session() as session:
        row = session.get(Printer, printer_id)
        assert row is not None
        return row
