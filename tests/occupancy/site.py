"""The Trilport site in a test database, with names -> ids, and the opening hours a test wants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import select

from tierslieu.booking.store import block_of
from tierslieu.models import Booking, Device, Member, Resource, Space
from tierslieu.runtime import Runtime
from tierslieu.site import check_site_file, load_site

ROOT = Path(__file__).resolve().parents[2]
TRILPORT = ROOT / "config" / "trilport.yaml"
ALWAYS_OPEN = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@dataclass
class Ids:
    spaces: dict[str, int]
    resources: dict[str, int]
    devices: dict[str, int]


def load_trilport(runtime: Runtime, *, always_open: bool | None = True) -> Ids:
    """Load config/trilport.yaml. ``always_open`` True: open day and night; False: never open;
    None: the real opening hours (then results depend on the time of day)."""
    site, problems = check_site_file(TRILPORT)
    assert site is not None, problems
    with runtime.db.session(write=True) as session:
        load_site(session, runtime.secrets, site)
        if always_open is not None:
            building = session.exec(select(Space).where(Space.parent_id == None)).one()  # noqa: E711
            building.rules = {
                **building.rules,
                "opening_hours": ALWAYS_OPEN if always_open else {},
                "public_holidays_closed": False,
                "closures": [],
            }
            session.add(building)
        session.commit()
        return Ids(
            spaces={s.name: s.id for s in session.exec(select(Space)).all() if s.id},
            resources={r.name: r.id for r in session.exec(select(Resource)).all() if r.id},
            devices={d.name: d.id for d in session.exec(select(Device)).all() if d.id},
        )


def add_booking(
    runtime: Runtime, resource_id: int, start: datetime, end: datetime, *, status: str = "confirmed"
) -> int:
    with runtime.db.session(write=True) as session:
        member = Member(name="Réservante", email=f"booker-{start.timestamp()}-{resource_id}@trilport.test")
        session.add(member)
        session.flush()
        assert member.id is not None
        block_start, block_end = block_of(start, end, 0)
        booking = Booking(
            resource_id=resource_id,
            member_id=member.id,
            start=start,
            end=end,
            block_start=block_start,
            block_end=block_end,
            status=status,
        )
        session.add(booking)
        session.commit()
        assert booking.id is not None
        return booking.id
