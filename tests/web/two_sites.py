"""A two-site deployment for the web tests: Trilport (the real site file) and a second place in
another timezone, loaded through ``load_site`` from one ``sites:`` file; a staff member scoped
to the second site; a booking, a workshop session and an appointment at each site."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import yaml
from sqlmodel import col, select

from tests.conftest import create_user
from tests.support.programme_rows import ProgrammeRows
from tests.support.site import ALWAYS_OPEN, TRILPORT
from tierslieu.db.types import utcnow
from tierslieu.models import Booking, Device, Member, Printer, Resource, Site, Space
from tierslieu.runtime import Runtime
from tierslieu.site import load_site
from tierslieu.site.schema import parse_site_text

__all__ = ["KOUROU_NAME", "SitePlaces", "TwoSites", "load_two_sites"]

KOUROU_NAME = "Tiers-lieu de Kourou"
KOUROU: dict[str, Any] = {
    "site": {
        "name": KOUROU_NAME,
        "slug": "kourou",
        "timezone": "America/Cayenne",  # UTC−3 all year: its times differ from Trilport's
        "address": {"street": "1 avenue des Roches", "postal_code": "97310", "commune": "Kourou"},
    },
    "spaces": [
        {
            "name": "Maison de Kourou",
            "kind": "building",
            "rules": {"opening_hours": ALWAYS_OPEN, "public_holidays_closed": False},
            "resources": [
                {"name": "Salle de Kourou", "kind": "room", "capacity": 10},
                {
                    "name": "Imprimante de Kourou",
                    "kind": "printer",
                    "printer": {"octoprint_url": "http://127.0.0.1:5009"},
                },
            ],
            "devices": [
                {
                    "name": "Porte de Kourou",
                    "kind": "door",
                    "bridge": "tasmota",
                    "address": "porte-kourou",
                    "options": {"relay": 1},
                },
                {"name": "Lecteur de Kourou", "kind": "badge_reader", "bridge": "tasmota", "address": "lecteur-kourou"},
            ],
        }
    ],
}


@dataclass(frozen=True)
class SitePlaces:
    """One site's rows the tests open: its building, a room, a door, a booking, a session, an appointment."""

    site_id: int
    slug: str
    building_id: int
    room_id: int
    door_id: int
    booking_id: int
    session_id: int
    appointment_id: int
    printer_id: int


@dataclass(frozen=True)
class TwoSites:
    trilport: SitePlaces
    kourou: SitePlaces
    scoped_staff: str  # e-mail of a staff member of Kourou only


def _two_site_file() -> str:
    trilport: dict[str, Any] = yaml.safe_load(TRILPORT.read_text(encoding="utf-8"))
    building = trilport["spaces"][0]
    building["rules"] = {
        **building["rules"],
        "opening_hours": ALWAYS_OPEN,
        "public_holidays_closed": False,
        "closures": [],
    }
    entry = {"site": {**trilport["site"], "slug": "trilport"}, "spaces": trilport["spaces"]}
    return yaml.safe_dump({"sites": [entry, KOUROU]}, allow_unicode=True, sort_keys=False)


def _places(runtime: Runtime, slug: str, names: tuple[str, str, str, str], advisor_id: int) -> SitePlaces:
    """The site's rows, with a booking, a public session and an appointment in its room tomorrow."""
    building, room, door, printer = names
    with runtime.db.session(write=True) as session:
        site = session.exec(select(Site).where(Site.slug == slug)).one()
        printer_row = session.exec(
            select(Printer).join(Resource, col(Resource.id) == Printer.resource_id).where(Resource.name == printer)
        ).one()
        building_row = session.exec(select(Space).where(Space.name == building)).one()
        room_row = session.exec(select(Resource).where(Resource.name == room)).one()
        door_row = session.exec(select(Device).where(Device.name == door)).one()
        start = utcnow().replace(microsecond=0) + timedelta(days=1)
        end = start + timedelta(hours=1)
        assert room_row.id is not None
        booking = Booking(
            resource_id=room_row.id,
            member_id=advisor_id,
            start=start,
            end=end,
            block_start=start,
            block_end=end,
            status="pending",
        )
        session.add(booking)
        rows = ProgrammeRows(session)
        workshop = rows.workshop(f"Atelier de {site.name}", ["Aide aux démarches administratives"], ["habitants"])
        later = start + timedelta(days=1)
        ws = rows.session_of(workshop, room_row, later, later + timedelta(hours=2))
        advisor = session.get(Member, advisor_id)
        assert advisor is not None
        appointment = rows.appointment(advisor, room_row, later + timedelta(hours=3), later + timedelta(hours=4))
        session.flush()
        ids = (site.id, building_row.id, room_row.id, door_row.id, booking.id, ws.id, appointment.id, printer_row.id)
        session.commit()
    assert all(ids)
    return SitePlaces(ids[0] or 0, slug, *(int(i or 0) for i in ids[1:]))


def load_two_sites(runtime: Runtime, advisor_id: int) -> TwoSites:
    """Load the two-site file; ``advisor_id`` (an animator) holds the bookings and appointments."""
    parsed, problems = parse_site_text(_two_site_file())
    assert parsed is not None, problems
    with runtime.db.session(write=True) as session:
        load_site(session, runtime.secrets, parsed)
        session.commit()
    trilport = _places(
        runtime, "trilport", ("Tiers-lieu", "Grande salle", "Porte d'entrée", "Imprimante 1"), advisor_id
    )
    kourou_names = ("Maison de Kourou", "Salle de Kourou", "Porte de Kourou", "Imprimante de Kourou")
    kourou = _places(runtime, "kourou", kourou_names, advisor_id)
    staff = create_user(runtime, "staff", email="agent.kourou@trilport.test", name="Agent de Kourou")
    with runtime.db.session(write=True) as session:
        member = session.get(Member, staff.id)
        assert member is not None
        member.site_ids = [kourou.site_id]
        session.add(member)
        session.commit()
    return TwoSites(trilport, kourou, staff.email)
