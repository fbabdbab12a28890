"""Sites: the places one deployment serves, each with its timezone and its own spaces."""

from __future__ import annotations

from fastapi import Depends
from sqlmodel import Session

from tierslieu.api.deps import SIGNED_IN, IdPath, SessionDep, SignedIn, SiteScopeDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.site import SitePublic
from tierslieu.models import Site
from tierslieu.services import sites as site_service

router = PrefixRouter(prefix="/sites", tags=["sites"])


def to_public(session: Session, site: Site) -> SitePublic:
    assert site.id is not None
    return SitePublic(
        id=site.id,
        slug=site.slug,
        name=site.name,
        timezone=site.timezone,
        address=site.address.get("street"),
        postal_code=site.postal_code,
        city=site.city,
        opening_hours=site_service.site_opening_hours(session, site) or None,
    )


@router.get("", response_model=list[SitePublic], dependencies=[Depends(SIGNED_IN)])
def list_sites(session: SessionDep, scope: SiteScopeDep) -> list[SitePublic]:
    """The sites the caller works at (every site for admins and members)."""
    return [to_public(session, site) for site in site_service.list_sites(session, scope)]


@router.get("/{site_id}", response_model=SitePublic)
def get_site(site_id: IdPath, session: SessionDep, member: SignedIn) -> SitePublic:
    site_service.scope_for(member).check(site_id)
    return to_public(session, site_service.get_site(session, site_id))
