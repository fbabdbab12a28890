"""Dependencies a handler declares by type: ``SessionDep``, ``RuntimeDep``, ``CurrentMember``, ``Allow``.

Every route states who may call it with exactly one ``Allow(...)`` policy; the role × endpoint
matrix test reads those policies from the app and checks each one for real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from tierslieu.api.csrf import Csrf
from tierslieu.api.load import RateLimits
from tierslieu.db import transaction_open
from tierslieu.db.types import utcnow
from tierslieu.errors import AuthenticationFailed, PermissionDenied
from tierslieu.i18n import pick_language
from tierslieu.models import ROLES, Member, Role
from tierslieu.runtime import Runtime
from tierslieu.services import members as member_service
from tierslieu.services.identity import ProvisionalIdentity
from tierslieu.services.members import is_staff as is_staff  # re-exported: routes import it from here
from tierslieu.services.sites import SiteScope, get_site, scope_for

SESSION_COOKIE = "tierslieu_session"
MAX_ID = 2**31 - 1

# Every row id in a path: a positive 32-bit integer (PostgreSQL's INTEGER, SQLite's fast path).
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]

T = TypeVar("T")

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


# Dependencies that do no I/O are ``async def``: FastAPI runs them on the event loop instead of
# handing each one to a worker thread and back (two thread switches per dependency per request).
# The shared ones below (session, caller) take the runtime from the request, not as a dependency
# of their own: FastAPI walks every node of a route's dependency tree on each request, about
# 50 µs a node, and these sit under nearly every route, often twice.
async def get_runtime(request: Request) -> Runtime:
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def request_language(request: Request) -> str:
    """The language of the answer: French unless the client prefers English."""
    return pick_language(request.headers.get("accept-language"))


async def _language(request: Request) -> str:
    return request_language(request)


LanguageDep = Annotated[str, Depends(_language)]


def client_address(request: Request) -> str:
    """The client's address (uvicorn takes it from X-Forwarded-For only when sent by a trusted proxy)."""
    return request.client.host if request.client else "unknown"


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request, committed when the handler returns (before the response is
    sent, so a client never reads its own write late), rolled back on error.

    Opening a session does no I/O, so it happens on the event loop; so does its end when no
    transaction is open any more (a read on PostgreSQL, a handler that committed in its own
    thread with :func:`in_thread`). Otherwise the commit goes to a worker thread."""
    reads = request.method in READ_METHODS
    session = runtime_of(request).db.session(write=not reads, read_only=reads)
    try:
        yield session
    except BaseException:
        await _end(session, False)
        raise
    await _end(session, True)


async def _end(session: Session, commit: bool) -> None:
    if transaction_open(session) or (commit and _PROVISIONAL in session.info):
        await run_in_threadpool(_finish, session, commit)
    else:
        _finish(session, commit)  # nothing to send: no thread switch


def _finish(session: Session, commit: bool) -> None:
    try:
        if commit:
            confirm_identity(session)  # a handler that did not confirm it: nothing commits before
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


async def in_thread(session: Session, work: Callable[[], T]) -> T:
    """Run a handler's blocking ``work`` and commit, both in one worker thread: one thread switch
    where a sync handler takes three (its body, the response's validation, the commit)."""

    def work_and_commit() -> T:
        confirm_identity(session)
        result = work()
        session.commit()
        return result

    return await run_in_threadpool(work_and_commit)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _form_token_checked(request: Request) -> bool:
    """Web pages' forms carry the token as a field, checked by the web router before any policy."""
    return bool(getattr(request.state, "csrf_verified", False))


def _token(request: Request, runtime: Runtime, bearer: str | None) -> str:
    token = bearer or request.cookies.get(SESSION_COOKIE)
    if token and not bearer and request.method not in READ_METHODS and not _form_token_checked(request):
        # The browser sent the session cookie on its own: prove the page is ours (CSRF).
        Csrf(runtime.secrets).check_header(request)
    if not token:
        raise AuthenticationFailed("not_authenticated")
    return token


def _admitted(request: Request, member: Member) -> Member:
    request.state.member = member
    rate_limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
    if rate_limits is not None and member.id is not None:
        rate_limits.check_member(member.id)
    return member


def get_current_member(
    request: Request,
    session: SessionDep,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
) -> Member:
    runtime = runtime_of(request)
    token = _token(request, runtime, bearer)
    return _admitted(request, runtime.identities.member_for_token(session, token, utcnow()))


CurrentMember = Annotated[Member, Depends(get_current_member)]

_PROVISIONAL = "tierslieu.provisional_identity"  # session.info: the identity still to confirm


@dataclass
class _Unconfirmed:
    identity: ProvisionalIdentity
    # The route's policy, checked again should the confirmation find the member changed.
    recheck: Callable[[Member], object] | None = None


async def get_provisional_member(
    request: Request,
    session: SessionDep,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
) -> Member:
    """The caller from the identity cache, on the event loop, to be confirmed by
    :func:`confirm_identity` in the handler's thread; when the cache cannot say, authenticated
    at once in a worker thread (as :func:`get_current_member`)."""
    runtime = runtime_of(request)
    token = _token(request, runtime, bearer)
    identity = runtime.identities.provisional(session, token, utcnow())
    if identity is None:
        member = await run_in_threadpool(runtime.identities.member_for_token, session, token, utcnow())
        return _admitted(request, member)
    session.info[_PROVISIONAL] = _Unconfirmed(identity)
    return _admitted(request, identity.member)


ProvisionalMember = Annotated[Member, Depends(get_provisional_member)]


def confirm_identity(session: Session) -> None:
    """Confirm the request's provisional identity, if any, before the handler acts: the
    generation read is then its first statement. A revoked token or a disabled account raises
    401; a member whose roles changed meanwhile is refreshed and the route's policy is checked
    again (403)."""
    pending: _Unconfirmed | None = session.info.pop(_PROVISIONAL, None)
    if pending is None:
        return
    if not pending.identity.confirm(session, utcnow()) and pending.recheck is not None:
        pending.recheck(pending.identity.member)


class Allow:
    """A route policy: the caller must hold one of ``roles``.

    ``self_param`` names a path parameter holding a member id: the member themself is then
    allowed too (``GET /members/{member_id}``).
    """

    def __init__(self, *roles: str, self_param: str | None = None) -> None:
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles in policy: {unknown}")
        self.roles = frozenset(roles)
        self.self_param = self_param

    async def __call__(self, request: Request, member: CurrentMember) -> Member:
        return self.check(request, member)

    def check(self, request: Request, member: Member) -> Member:
        if self.roles & set(member.roles):
            return member
        if self.self_param is not None and str(request.path_params.get(self.self_param)) == str(member.id):
            return member
        raise PermissionDenied("forbidden", msgid="forbidden.role", extra={"allowed_roles": sorted(self.roles)})

    def __repr__(self) -> str:
        return f"Allow({', '.join(sorted(self.roles))}{', self' if self.self_param else ''})"


class AllowInThread(Allow):
    """``Allow`` for a writing route whose handler runs in :func:`in_thread`: the policy is
    checked on the event loop against the cached identity, which the handler's thread confirms
    (again with the policy if the member changed) before the handler acts — one thread switch
    per request instead of two. Other routes keep ``Allow``: their handlers may act before any
    statement."""

    async def __call__(self, request: Request, member: ProvisionalMember, session: SessionDep) -> Member:  # type: ignore[override]
        pending: _Unconfirmed | None = session.info.get(_PROVISIONAL)
        if pending is not None:
            pending.recheck = lambda fresh: self.check(request, fresh)
        return self.check(request, member)

    def __repr__(self) -> str:
        return "InThread" + super().__repr__()


# Partners (a CCAS, a library) are outside organisations: they only book the advisor's
# appointments, so "everyone" — every role of the place's own users — leaves them out.
SIGNED_IN = Allow(*ROLES)


class PublicAccess:
    """The policy of a route anyone may read without logging in (the public agenda): declared
    on the route like ``Allow``, so being public is a decision, never an omission."""

    def __call__(self) -> None:
        return None

    def __repr__(self) -> str:
        return "PublicAccess()"


PUBLIC = PublicAccess()
EVERYONE = Allow(*(role for role in ROLES if role != Role.partner))
EVERYONE_IN_THREAD = AllowInThread(*EVERYONE.roles)
STAFF = Allow(*sorted(member_service.STAFF_ROLES))
ADMIN = Allow("admin")

AnyMember = Annotated[Member, Depends(EVERYONE)]
SignedIn = Annotated[Member, Depends(SIGNED_IN)]
StaffMember = Annotated[Member, Depends(STAFF)]
AdminMember = Annotated[Member, Depends(ADMIN)]


async def site_scope(
    member: CurrentMember,
    session: SessionDep,
    site_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="only this site (403 outside the caller's sites)")
    ] = None,
) -> SiteScope:
    """The sites the caller may see, narrowed by ``?site_id=``: the one site-scope rule of the API."""
    scope = scope_for(member).narrow(site_id)
    if site_id is not None:
        await run_in_threadpool(get_site, session, site_id)  # 404 for a site that does not exist
    return scope


SiteScopeDep = Annotated[SiteScope, Depends(site_scope)]
