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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import ColumnElement, true
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from tierslieu.booking.rules import BookingRules, merge_rules
from tierslieu.errors import InvalidInput, NotFound, PermissionDenied
from tierslieu.models import Device, Member, Resource, Site, Space
from tierslieu.services.members import STAFF_ROLES
from tierslieu.services.rules_cache import Place, edited_here, rules_cache_of
from tierslieu.text import slugify

__all__ = [
    "ALL_SITES",
    "SCOPED_ROLES",
    "SiteScope",
    "check_grantable",
    "check_own_or_staff_at",
    "default_site_id",
    "get_site",
    "is_staff_at",
    "list_sites",
    "resource_place",
    "roles_at",
    "scope_for",
    "scope_of",
    "site_by_slug",
    "site_of_device",
    "site_of_resource",
    "site_of_space",
    "site_opening_hours",
    "site_timezone",
    "timezone_of_resource",
    "timezone_of_scope",
    "timezone_of_site",
    "timezone_of_space",
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
        return col(space_column).in_(self._spaces())

    def space_ids(self, session: Session) -> frozenset[int] | None:
        """The ids of the spaces in scope (None: every space), for views filtered in memory."""
        if self.site_ids is None:
            return None
        return frozenset(row for row in session.exec(self._spaces()).all() if row is not None)

    def _spaces(self) -> SelectOfScalar[int] | SelectOfScalar[None]:
        assert self.site_ids is not None
        return select(Space.id).where(col(Space.site_id).in_(sorted(self.site_ids)))

    def where_resource(self, resource_column: Any) -> ColumnElement[bool]:
        """Rows pointing at a resource (``Booking.resource_id``…) of a site in scope."""
        if self.site_ids is None:
            return true()
        in_scope = select(Resource.id).join(Space, col(Space.id) == col(Resource.space_id))
        return col(resource_column).in_(in_scope.where(col(Space.site_id).in_(sorted(self.site_ids))))


ALL_SITES = SiteScope()


def scope_of(roles: Iterable[str], site_ids: Iterable[int] | None) -> SiteScope:
    """The sites where roles apply, from a member's ``roles`` and ``site_ids`` (the door
    decisions read these columns without building a ``Member``)."""
    held, sites = set(roles), frozenset(site_ids or ())
    if "admin" in held or not sites or not SCOPED_ROLES & held:
        return ALL_SITES
    return SiteScope(sites)


def scope_for(member: Member) -> SiteScope:
    """The sites where the member's roles apply."""
    return scope_of(member.roles, member.site_ids)


def roles_at(member: Member, site_id: int | None) -> frozenset[str]:
    """The member's roles at one site: outside their scope, a scoped member is a plain member."""
    if scope_for(member).allows(site_id):
        return frozenset(member.roles)
    return frozenset({"member"})


def is_staff_at(member: Member, site_id: int | None) -> bool:
    """Staff or admin at this site (a scoped staff member elsewhere is a plain member)."""
    return bool(STAFF_ROLES & roles_at(member, site_id))


def check_own_or_staff_at(
    actor: Member, owner_id: int | None, site_id: int | None, scope: SiteScope, not_found: Exception
) -> None:
    """A member's own row (a booking, a waitlist entry: theirs at every site), or any row for
    staff at its site when ``scope`` (theirs, narrowed by ``?site_id=``) holds it. Others get
    ``not_found`` (members cannot probe other people's rows); staff of other sites get 403
    ``site_forbidden``."""
    if owner_id == actor.id:
        return
    if is_staff_at(actor, site_id):
        scope.check(site_id)
        return
    if STAFF_ROLES & set(actor.roles):
        raise PermissionDenied("site_forbidden")
    raise not_found


def check_grantable(
    session: Session, actor: Member, roles: Iterable[str], site_ids: Iterable[int], before: Member | None = None
) -> list[int]:
    """Whether ``actor`` may give a member ``roles`` at ``site_ids`` (the values after the
    change; ``before``: the member as they are). Admins and staff with every site give any
    sites. A scoped staff member keeps what they give within their own sites: site ids of
    theirs only, never "every site" (empty) with an elevated role, and no change to a member
    whose roles reach beyond their sites (403 ``site_forbidden``). Returns the sorted ids
    (404 ``site_not_found`` for an unknown one)."""
    wanted = sorted(set(site_ids))
    for site_id in wanted:
        get_site(session, site_id)
    mine = scope_for(actor)
    if mine.site_ids is None:
        return wanted
    if _reaches_beyond(roles, wanted, mine) or (
        before is not None and _reaches_beyond(before.roles, before.site_ids, mine)
    ):
        raise PermissionDenied("site_forbidden")
    return wanted


def _reaches_beyond(roles: Iterable[str], site_ids: Iterable[int], mine: SiteScope) -> bool:
    """Elevated roles applying at a site outside ``mine`` (plain members reach nowhere)."""
    held = set(roles)
    if not (SCOPED_ROLES | {"admin"}) & held:
        return False
    reach = scope_of(held, site_ids).site_ids
    return reach is None or (mine.site_ids is not None and not reach <= mine.site_ids)


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


def timezone_of_site(session: Session, site_id: int | None, default: ZoneInfo) -> ZoneInfo:
    """The local time of a site (``default`` for none): opening hours, quotas per day, reports."""
    if site_id is None:
        return default
    name = session.exec(select(Site.timezone).where(Site.id == site_id)).first()
    return ZoneInfo(name) if name else default


def timezone_of_scope(session: Session, scope: SiteScope, default: ZoneInfo) -> ZoneInfo:
    """The local time of a report over ``scope``: its site's when it is one site (``?site_id=``,
    or a member scoped to one site), else ``default`` (the deployment's)."""
    if scope.site_ids is not None and len(scope.site_ids) == 1:
        return timezone_of_site(session, next(iter(scope.site_ids)), default)
    return default


def timezone_of_resource(session: Session, resource_id: int | None, default: ZoneInfo) -> ZoneInfo:
    return default if resource_id is None else resource_place(session, resource_id, default)[1]


def timezone_of_space(session: Session, space_id: int | None, default: ZoneInfo) -> ZoneInfo:
    return timezone_of_site(session, site_of_space(session, space_id), default)


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
    return _place_of_resource(session, resource_id)[0]


def resource_place(session: Session, resource_id: int, default_tz: ZoneInfo) -> tuple[int | None, ZoneInfo]:
    """The resource's site and the site's timezone (``default_tz`` without one): a booking's
    roles and local times count at its resource's site."""
    site_id, tz = _place_of_resource(session, resource_id)
    return site_id, ZoneInfo(tz) if tz else default_tz


def _place_of_resource(session: Session, resource_id: int) -> Place:
    """From the rules cache when it holds it: this is on every booking's and registration's path."""

    def load() -> Place:
        query = (
            select(Space.site_id, Site.timezone)
            .join(Resource, col(Resource.space_id) == col(Space.id))
            .join(Site, col(Site.id) == col(Space.site_id))
            .where(Resource.id == resource_id)
        )
        found = session.exec(query).first()
        return (found[0], found[1]) if found else (None, None)

    cache = rules_cache_of(session)
    return load() if cache is None or edited_here(session) else cache.place(resource_id, load)


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
