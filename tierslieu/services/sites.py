"""Sites, and the one place where a member's site scope is decided and applied.

A deployment serves several sites (the tiers-lieu, a hall, a partner FabLab…). Members are shared
across sites. Staff, municipal agents, animators and partners may be **scoped** to some sites
(``member.site_ids``; empty = every site): their elevated roles apply there only, and every list,
report, occupancy view and admin page they open is narrowed to those sites. Admins and plain
members see every site.

Routes never test ``site_ids`` themselves: they take a :class:`SiteScope` (``SiteScopeDep`` in
``tierslieu.api.deps``, narrowed by ``?site_id=``), filter queries with :meth:`SiteScope.where`
and check single objects with :meth:`SiteScope.check`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import ColumnElement, true
from sqlmodel import Session, col, select

from tierslieu.booking.rules import BookingRules, merge_rules
from tierslieu.errors import InvalidInput, NotFound, PermissionDenied
from tierslieu.models import Device, Member, Resource, Site, Space
from tierslieu.text import slugify

__all__ = [
    "ALL_SITES",
    "SCOPED_ROLES",
    "SiteScope",
    "confine_to_actor",
    "default_site_id",
    "get_site",
    "list_sites",
    "roles_at",
    "scope_for",
    "set_member_sites",
    "site_by_slug",
    "site_of_device",
    "site_of_resource",
    "site_of_space",
    "site_opening_hours",
    "site_timezone",
]

# The roles a site scope narrows; admin is deployment-wide, member is everyone's.
SCOPED_ROLES = frozenset({"staff", "municipal", "animator", "partner"})
DEFAULT_SITE_NAME = "Site principal"


@dataclass(frozen=True)
class SiteScope:
    """The sites a caller may see: ``site_ids`` None means every site."""

    site_ids: frozenset[int] | None = None

    def allows(self, site_id: int | None) -> bool:
        return self.site_ids is None or site_id in self.site_ids

    def check(self, site_id: int | None) -> None:
        """403 ``site_forbidden`` for an object of a site outside the scope."""
        if not self.allows(site_id):
            raise PermissionDenied("site_forbidden")

    def narrow(self, site_id: int | None) -> SiteScope:
        """The scope reduced to one site (``?site_id=``); 403 if that site is outside it."""
        if site_id is None:
            return self
        self.check(site_id)
        return SiteScope(frozenset({site_id}))

    def where(self, site_column: Any) -> ColumnElement[bool]:
        """A WHERE clause keeping the rows whose site column is in scope."""
        if self.site_ids is None:
            return true()
        return col(site_column).in_(sorted(self.site_ids))

    def where_space(self, space_column: Any) -> ColumnElement[bool]:
        """Rows pointing at a space (``Device.space_id``, ``Resource.space_id``) of a site in scope."""
        if self.site_ids is None:
            return true()
        in_scope = select(Space.id).where(col(Space.site_id).in_(sorted(self.site_ids)))
        return col(space_column).in_(in_scope)

    def where_resource(self, resource_column: Any) -> ColumnElement[bool]:
        """Rows pointing at a resource (``Booking.resource_id``…) of a site in scope."""
        if self.site_ids is None:
            return true()
        in_scope = select(Resource.id).join(Space, col(Space.id) == col(Resource.space_id))
        return col(resource_column).in_(in_scope.where(col(Space.site_id).in_(sorted(self.site_ids))))


ALL_SITES = SiteScope()


def scope_for(member: Member) -> SiteScope:
    """The sites where the member's roles apply."""
    if "admin" in member.roles or not member.site_ids or not SCOPED_ROLES & set(member.roles):
        return ALL_SITES
    return SiteScope(frozenset(member.site_ids))


def roles_at(member: Member, site_id: int | None) -> frozenset[str]:
    """The member's roles at one site: outside their scope, a scoped member is a plain member."""
    if scope_for(member).allows(site_id):
        return frozenset(member.roles)
    return frozenset({"member"})


def set_member_sites(session: Session, actor: Member, member: Member, site_ids: Sequence[int]) -> None:
    """Scope a member to some sites (none: every site). Only an admin may: a scoped member
    could otherwise widen their own reach."""
    if "admin" not in actor.roles:
        raise PermissionDenied("site_assign_admin_only")
    wanted = sorted(set(site_ids))
    known = set(session.exec(select(Site.id).where(col(Site.id).in_(wanted))).all())
    for site_id in wanted:
        if site_id not in known:
            raise NotFound("site_not_found", id=site_id)
    member.site_ids = wanted
    session.add(member)


def confine_to_actor(actor: Member, member: Member) -> None:
    """Roles handed out by a scoped member apply within that member's sites only (a staff member
    of one site cannot make an every-site staff member)."""
    sites = scope_for(actor).site_ids
    if sites is None or not SCOPED_ROLES & set(member.roles):
        return
    member.site_ids = sorted(set(member.site_ids) & sites) or sorted(sites)


# Reading sites --------------------------------------------------------------------


def list_sites(session: Session, scope: SiteScope = ALL_SITES) -> Sequence[Site]:
    return session.exec(select(Site).where(scope.where(Site.id)).order_by(col(Site.name))).all()


def get_site(session: Session, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound("site_not_found", id=site_id)
    return site


def site_by_slug(session: Session, slug: str) -> Site | None:
    return session.exec(select(Site).where(Site.slug == slug)).first()


def site_timezone(site: Site) -> ZoneInfo:
    return ZoneInfo(site.timezone)


def site_opening_hours(session: Session, site: Site) -> str:
    """The site's opening hours in OSM ``opening_hours`` syntax, from its first building's rules."""
    # Imported here: the site package loads site files, which create spaces through this module.
    from tierslieu.site.opening_hours import osm_opening_hours

    buildings = session.exec(
        select(Space).where(Space.site_id == site.id, col(Space.parent_id).is_(None)).order_by(col(Space.id))
    ).all()
    for space in buildings:
        try:
            rules = merge_rules(BookingRules.model_validate(space.rules))
        except ValidationError:
            continue
        hours = {str(day): list(ranges) for day, ranges in rules.opening_hours.items()}
        return osm_opening_hours(hours, public_holidays_closed=rules.public_holidays_closed)
    return ""


def site_of_space(session: Session, space_id: int | None) -> int | None:
    if space_id is None:
        return None
    return session.exec(select(Space.site_id).where(Space.id == space_id)).first()


def site_of_resource(session: Session, resource_id: int | None) -> int | None:
    if resource_id is None:
        return None
    query = select(Space.site_id).join(Resource, col(Resource.space_id) == col(Space.id))
    return session.exec(query.where(Resource.id == resource_id)).first()


def site_of_device(session: Session, device_id: int | None) -> int | None:
    if device_id is None:
        return None
    query = select(Space.site_id).join(Device, col(Device.space_id) == col(Space.id))
    return session.exec(query.where(Device.id == device_id)).first()


def default_site_id(session: Session, timezone: str) -> int:
    """The site of a top-level space created without one: the only site, created on first need
    (an install that never loaded a site file); with several sites the caller must choose."""
    ids = session.exec(select(Site.id).limit(2)).all()
    if len(ids) > 1:
        raise InvalidInput("site_required")
    if ids and ids[0] is not None:
        return ids[0]
    site = Site(name=DEFAULT_SITE_NAME, slug=slugify(DEFAULT_SITE_NAME), timezone=timezone)
    session.add(site)
    session.flush()
    assert site.id is not None
    return site.id
