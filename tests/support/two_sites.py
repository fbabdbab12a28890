"""The two-site fixture (Trilport tiers-lieu + the partner FabLab in Meaux) in a test database,
and members scoped to some of its sites."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import select

from tests.conftest import ApiUser, create_user
from tierslieu.models import Device, Member, Resource, Site, Space
from tierslieu.runtime import Runtime
from tierslieu.site import check_site_file, load_site

__all__ = ["TWO_SITES", "TwoSites", "load_two_sites", "scope_member", "scoped_user"]

TWO_SITES = Path(__file__).resolve().parents[1] / "fixtures" / "two_sites.yaml"


@dataclass(frozen=True)
class TwoSites:
    sites: dict[str, int]  # slug -> id
    spaces: dict[str, int]
    resources: dict[str, int]
    devices: dict[str, int]
    space_sites: dict[int, int]  # space id -> site id

    @property
    def a(self) -> int:
        """Trilport."""
        return self.sites["trilport"]

    @property
    def b(self) -> int:
        """The FabLab in Meaux."""
        return self.sites["fablab-meaux"]

    def spaces_of(self, site_id: int) -> set[int]:
        return {space for space, site in self.space_sites.items() if site == site_id}


def load_two_sites(runtime: Runtime) -> TwoSites:
    site, problems = check_site_file(TWO_SITES)
    assert site is not None, problems
    with runtime.db.session(write=True) as session:
        load_site(session, runtime.secrets, site)
        session.commit()
        spaces = session.exec(select(Space)).all()
        return TwoSites(
            sites={s.slug: s.id for s in session.exec(select(Site)).all() if s.id},
            spaces={s.name: s.id for s in spaces if s.id},
            resources={r.name: r.id for r in session.exec(select(Resource)).all() if r.id},
            devices={d.name: d.id for d in session.exec(select(Device)).all() if d.id},
            space_sites={s.id: s.site_id for s in spaces if s.id and s.site_id},
        )


def scope_member(runtime: Runtime, member_id: int, site_ids: list[int]) -> None:
    with runtime.db.session(write=True) as session:
        member = session.get(Member, member_id)
        assert member is not None
        member.site_ids = site_ids
        session.add(member)
        session.commit()


def scoped_user(runtime: Runtime, role: str, site_ids: list[int], email: str) -> ApiUser:
    """A member with ``role`` at ``site_ids`` only, with a bearer token."""
    user = create_user(runtime, role, email=email)
    scope_member(runtime, user.id, site_ids)
    return user
