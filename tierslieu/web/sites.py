"""The site a page is about: the header's site switcher, ``?site=<slug>`` and the remembered choice.

Every page resolves it once (:func:`choose_site`, called by ``get_page``): the pages' lists use
``page.scope`` (the reader's sites narrowed to the one chosen), single objects are checked
against the reader's whole scope (``page.check_site``), so following a link to a room of another
of one's sites still works. Which sites a reader may see is decided in
:mod:`tierslieu.services.sites` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response

from tierslieu.api.csrf import secure_cookies
from tierslieu.errors import NotFound
from tierslieu.models import Member, Resource, Site, Space
from tierslieu.services.sites import (
    ALL_SITES,
    SiteScope,
    list_sites,
    scope_for,
    site_by_slug,
)

__all__ = ["ALL_SLUG", "SITE_COOKIE", "SiteChoice", "SiteFilter", "choose_site", "remember_site"]

SITE_COOKIE = "tierslieu_site"
SITE_PARAM = "site"
ALL_SLUG = "tous"  # "Tous les sites" in the switcher, in the URL and in the cookie
COOKIE_MAX_AGE_S = 365 * 24 * 3600


@dataclass(frozen=True)
class SiteChoice:
    """What a page knows about sites: the one chosen (None: every site of the reader) and the
    choices the switcher offers."""

    site: Site | None = None
    scope: SiteScope = ALL_SITES
    reader_scope: SiteScope = ALL_SITES
    sites: tuple[Site, ...] = ()
    offers_all: bool = True
    # The slug to remember in the cookie (a choice made by ``?site=``), or None.
    remember: str | None = None

    @property
    def switcher(self) -> bool:
        """Shown to signed-in readers who may choose between several sites."""
        return len(self.sites) > 1

    @property
    def selected(self) -> str:
        return self.site.slug if self.site is not None else ALL_SLUG


def _pick(sites: tuple[Site, ...], slug: str | None) -> Site | None:
    return next((s for s in sites if s.slug == slug), None)


def choose_site(session: Session, member: Member | None, request: Request) -> SiteChoice:
    """The site of this request: ``?site=`` (404 unknown, 403 outside the reader's sites), else
    the cookie (ignored when no longer valid), else every site (or the only one, or a scoped
    reader's first)."""
    reader_scope = scope_for(member) if member is not None else ALL_SITES
    sites = tuple(list_sites(session, reader_scope))
    offers_all = reader_scope.site_ids is None
    asked = request.query_params.get(SITE_PARAM)
    remember = None
    if asked is not None:
        site = _asked_site(session, reader_scope, sites, asked, offers_all)
        remember = site.slug if site is not None else ALL_SLUG
    else:
        kept = request.cookies.get(SITE_COOKIE)
        site = _pick(sites, kept)
        if site is None and (len(sites) == 1 or not offers_all) and sites:
            site = sites[0]  # one site to see: the page is about it (its name, its timezone)
    scope = reader_scope.narrow(site.id) if site is not None else reader_scope
    return SiteChoice(site, scope, reader_scope, sites, offers_all, remember)


def _asked_site(
    session: Session, reader_scope: SiteScope, sites: tuple[Site, ...], asked: str, offers_all: bool
) -> Site | None:
    if asked in (ALL_SLUG, ""):
        return None if offers_all or not sites else sites[0]
    site = site_by_slug(session, asked)
    if site is None:
        raise NotFound("site_unknown", slug=asked)
    reader_scope.check(site.id)  # 403 site_forbidden
    return site


def remember_site(request: Request, response: Response, choice: SiteChoice) -> None:
    """Keep the switcher's choice for the next pages (a slug, nothing personal)."""
    if choice.remember is None or request.cookies.get(SITE_COOKIE) == choice.remember:
        return
    response.set_cookie(
        SITE_COOKIE,
        choice.remember,
        max_age=COOKIE_MAX_AGE_S,
        samesite="lax",
        httponly=True,
        secure=secure_cookies(request),
        path="/",
    )


@dataclass
class SiteFilter:
    """Which spaces and resources a scope keeps, read once per page (a page filters several lists)."""

    session: Session
    scope: SiteScope
    _spaces: dict[int, int | None] = field(default_factory=dict)
    _resources: dict[int, int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scope.site_ids is None:
            return
        self._spaces = {sid: site for sid, site in self.session.exec(select(Space.id, Space.site_id)) if sid}
        query = select(Resource.id, Space.site_id).join(Space, col(Space.id) == col(Resource.space_id))
        self._resources = {rid: site for rid, site in self.session.exec(query) if rid}

    def space(self, space_id: int | None) -> bool:
        return self.scope.site_ids is None or self.scope.allows(self._spaces.get(space_id or 0))

    def resource(self, resource_id: int | None) -> bool:
        return self.scope.site_ids is None or self.scope.allows(self._resources.get(resource_id or 0))

    def spaces(self, rows: Any) -> list[Any]:
        """Rows with a ``space_id`` (devices, resources) in scope."""
        return [row for row in rows if self.space(row.space_id)]

    def resources(self, rows: Any) -> list[Any]:
        """Rows with a ``resource_id`` (bookings, sessions, appointments, printers) in scope."""
        return [row for row in rows if self.resource(row.resource_id)]
