"""iCalendar feeds. Calendar clients cannot log in, so feeds are read with a secret token in
the URL (HMAC of the secret key; see ``tierslieu.booking.calendar``):

- ``/calendars/members/{id}/{token}.ics`` — a member's own bookings; ``POST /calendars/feeds/reset``
  gives a new URL and revokes the old one.
- ``/calendars/resources/{id}.ics`` — when a resource is taken, without names; readable by any
  logged-in member, or by anyone holding its ``?token=`` (from ``GET /calendars/feeds``).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response

from tierslieu.api.deps import EVERYONE, SESSION_COOKIE, IdPath, RuntimeDep, SessionDep, SiteScopeDep, oauth2_scheme
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.bookings import FeedLinks, ResourceFeed
from tierslieu.booking import calendar
from tierslieu.db.types import utcnow
from tierslieu.errors import AuthenticationFailed, NotFound
from tierslieu.models import Member
from tierslieu.runtime import Runtime
from tierslieu.services import members as member_service
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import ALL_SITES, SiteScope, timezone_of_resource

router = PrefixRouter(prefix="/calendars", tags=["calendars"])

ICS_MEDIA_TYPE = "text/calendar; charset=utf-8"
ICS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}, "description": "iCalendar (RFC 5545)"}
}
Token = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


def _ics(data: bytes, filename: str) -> Response:
    headers = {"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "private, max-age=300"}
    return Response(content=data, media_type=ICS_MEDIA_TYPE, headers=headers)


def _links(
    request: Request, runtime: Runtime, session: SessionDep, member: Member, scope: SiteScope = ALL_SITES
) -> FeedLinks:
    base = str(request.base_url).rstrip("/") + request.scope.get("root_path", "")
    prefix = f"{base}/api/v1/calendars"
    token = calendar.member_feed_token(runtime.secrets, member)
    resources = [
        ResourceFeed(
            resource_id=r.id,
            name=r.name,
            url=f"{prefix}/resources/{r.id}.ics?token={calendar.resource_feed_token(runtime.secrets, r.id)}",
        )
        for r in space_service.list_resources(session, scope=scope)
        if r.id is not None and r.active
    ]
    return FeedLinks(member_url=f"{prefix}/members/{member.id}/{token}.ics", resources=resources)


@router.get("/feeds", response_model=FeedLinks)
def feed_links(
    request: Request, session: SessionDep, runtime: RuntimeDep, scope: SiteScopeDep, member: Member = Depends(EVERYONE)
) -> FeedLinks:
    """The caller's calendar URLs: their own bookings, and each resource's busy times (of the
    caller's sites)."""
    return _links(request, runtime, session, member, scope)


@router.post("/feeds/reset", response_model=FeedLinks)
def reset_feed(
    request: Request, session: SessionDep, runtime: RuntimeDep, member: Member = Depends(EVERYONE)
) -> FeedLinks:
    """A new secret URL for the caller's feed; the old one stops working at once."""
    member.calendar_salt = secrets.token_hex(8)
    session.add(member)
    session.flush()
    return _links(request, runtime, session, member)


@router.get("/members/{member_id}/{token}.ics", response_class=Response, responses=ICS_RESPONSE)
def member_feed(member_id: IdPath, token: Token, session: SessionDep, runtime: RuntimeDep) -> Response:
    member = session.get(Member, member_id)
    if member is None or not member.active or not calendar.check_member_feed_token(runtime.secrets, member, token):
        # The same answer for a wrong token and an unknown member: nothing to probe.
        raise NotFound("calendar_not_found", id=member_id)
    data = calendar.member_feed(session, member, now=utcnow(), tz=runtime.settings.tz)
    return _ics(data, f"reservations-{member_id}.ics")


@router.get("/resources/{resource_id}.ics", response_class=Response, responses=ICS_RESPONSE)
def resource_feed(
    resource_id: IdPath,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
    token: str | None = Query(default=None, max_length=100),
) -> Response:
    if not (token and runtime.secrets.check_url_token("calendar-resource", str(resource_id), token)):
        credential = bearer or request.cookies.get(SESSION_COOKIE)
        if not credential:
            raise AuthenticationFailed("not_authenticated", msgid="not_authenticated.calendar")
        member_service.member_for_token(session, credential)  # raises 401 when invalid
    resource = space_service.get_resource(session, resource_id)
    tz = timezone_of_resource(session, resource_id, runtime.settings.tz)
    data = calendar.resource_feed(session, resource, now=utcnow(), tz=tz)
    return _ics(data, f"ressource-{resource_id}.ics")
