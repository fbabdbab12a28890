"""The Trilport site description in a test database, with names -> ids and the opening hours a test wants."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import select

from tierslieu.models import Device, Resource, Space
from tierslieu.runtime import Runtime
from tierslieu.site import check_site_file, load_site

__all__ = ["ALWAYS_OPEN", "TRILPORT", "Ids", "load_trilport"]

TRILPORT = Path(__file__).resolve().parents[2] / "config" / "trilport.yaml"
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
