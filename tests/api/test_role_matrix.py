"""The role × endpoint matrix: every route of the app, called by every role, for real.

Policies are read from the routes themselves (each declares one ``Allow``), so a route added
later is covered without editing this file; a route without a policy must be listed as public.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tests.conftest import ROLE_NAMES, AppHarness
from tests.support.two_sites import scope_member
from tierslieu.api.deps import Allow, PublicAccess, site_scope
from tierslieu.api.routes import ROUTERS
from tierslieu.app import API_PREFIX
from tierslieu.models import Site
from tierslieu.services.sites import SCOPED_ROLES
from tierslieu.text import slugify

# Routes anyone may call without a token (log in, health, feeds protected by a URL secret, kiosk).
PUBLIC = {
    ("POST", "/api/v1/auth/token"),
}
PUBLIC_PREFIXES = ("/api/v1/calendars/", "/api/v1/kiosk", "/docs", "/openapi", "/api/v1/openapi")


def _policies(dependant: Dependant) -> Iterator[Allow | PublicAccess]:
    for dep in dependant.dependencies:
        if isinstance(dep.call, (Allow, PublicAccess)):
            yield dep.call
        yield from _policies(dep)


def api_routes(app: object) -> list[tuple[str, str, Allow | PublicAccess | None]]:
    """Every API operation with its policy, read from the routers the app includes."""
    found = []
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            policies = list(_policies(route.dependant))
            for method in sorted(route.methods or ()):
                found.append((method, API_PREFIX + route.path, policies[0] if policies else None))
    # Cross-check with the published OpenAPI document: no operation escapes the matrix.
    published = {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for method in item
        # The health probes are public and live outside the routers (app.py).
        if path.startswith(API_PREFIX) and not path.startswith(f"{API_PREFIX}/health")
    }
    assert published == {(m, p) for m, p, _ in found}
    return found


def _fill(path: str) -> str:
    # Ids that exist for nobody: a permitted caller then gets 404/422, a forbidden one 403.
    return re.sub(r"\{[^}]+\}", "999999", path)


def _is_public(method: str, path: str, policy: Allow | PublicAccess | None = None) -> bool:
    return isinstance(policy, PublicAccess) or (method, path) in PUBLIC or path.startswith(PUBLIC_PREFIXES)


def test_every_route_declares_a_policy_or_is_public(api: AppHarness) -> None:
    missing = [(m, p) for m, p, policy in api_routes(api.client.app) if policy is None and not _is_public(m, p)]
    assert missing == [], f"routes without an Allow policy: {missing}"


def test_declared_public_routes_answer_without_a_token(api: AppHarness) -> None:
    """A route declaring ``PublicAccess`` is read anonymously (and by every role alike)."""
    public = [(m, p) for m, p, policy in api_routes(api.client.app) if isinstance(policy, PublicAccess)]
    assert ("GET", "/api/v1/public/sessions") in public and ("GET", "/api/v1/public/sessions.ics") in public
    for method, path in public:
        for headers in [{}, *(user.headers for user in api.users.values())]:
            response = api.client.request(method, _fill(path), headers=headers)
            assert response.status_code == 200, (method, path, response.status_code, response.text)


def test_policies_are_consistent_per_route(api: AppHarness) -> None:
    routes = api_routes(api.client.app)
    assert len(routes) >= 20
    for method, path, _policy in routes:
        assert path.startswith("/api/v1/"), (method, path)


def _matrix() -> list[tuple[str, str]]:
    return [("anonymous", ""), *[(role, role) for role in ROLE_NAMES]]


@pytest.mark.parametrize(("caller", "role"), _matrix())
def test_role_matrix(api: AppHarness, caller: str, role: str) -> None:
    """Forbidden roles get 403, allowed roles never get 401/403, anonymous callers get 401."""
    failures = []
    checked = 0
    # Logging out revokes the caller's token: keep it for last.
    routes = sorted(api_routes(api.client.app), key=lambda r: r[1] == "/api/v1/auth/logout")
    for method, path, policy in routes:
        if _is_public(method, path, policy):
            continue
        assert isinstance(policy, Allow)
        headers = api.users[role].headers if role else {}
        response = api.client.request(method, _fill(path), headers=headers, json={})
        checked += 1
        if not role:
            expected_ok = response.status_code == 401
        elif role in policy.roles:
            expected_ok = response.status_code not in (401, 403)
        elif policy.self_param is not None:
            expected_ok = response.status_code == 403  # 999999 is not the caller's own id
        else:
            expected_ok = response.status_code == 403
        if not expected_ok or response.status_code >= 500:
            failures.append(f"{method} {path} as {caller}: {response.status_code} (policy {policy!r})")
        if response.status_code in (401, 403):
            body = response.json()
            assert body["code"] and body["detail"] and body["status"] == response.status_code
    assert checked >= 15
    assert failures == []


def test_self_access_is_allowed(api: AppHarness) -> None:
    member = api.users["member"]
    response = api.client.get(f"/api/v1/members/{member.id}", headers=member.headers)
    assert response.status_code == 200
    other = api.users["staff"]
    response = api.client.get(f"/api/v1/members/{other.id}", headers=member.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_expired_and_bogus_tokens(api: AppHarness) -> None:
    from datetime import timedelta

    from tierslieu.services import members as member_service

    response = api.client.get("/api/v1/spaces", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert response.headers["www-authenticate"] == "Bearer"
    with api.runtime.db.session() as session:
        member = member_service.get_member(session, api.users["member"].id)
        expired = member_service.issue_token(session, member, lifetime=timedelta(seconds=-1))
        session.commit()
    response = api.client.get("/api/v1/spaces", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


# Site scopes ------------------------------------------------------------------------------

# Collections read without a site filter, and why (every other GET collection takes ?site_id=).
SHARED_COLLECTIONS = {
    "/api/v1/members": "members are shared across sites",
    "/api/v1/members/me": "the caller themself",
    "/api/v1/members/me/access-events": "the caller's own passages, at every site",
    "/api/v1/persons": "people without an account are shared, like members",
    "/api/v1/registrations": "the caller's own registrations, at every site",
    "/api/v1/outbox": "messages carry no site: admins and staff of every site only",
}


def _takes_site_scope(dependant: Dependant) -> bool:
    return any(dep.call is site_scope or _takes_site_scope(dep) for dep in dependant.dependencies)


def _route_scopes(app: object) -> dict[tuple[str, str], bool]:
    """(method, path) -> whether the route reads the caller's site scope (``SiteScopeDep``)."""
    api_routes(app)  # the cross-check with the published document
    return {
        (method, API_PREFIX + route.path): _takes_site_scope(route.dependant)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }


def test_every_collection_takes_the_site_scope(api: AppHarness) -> None:
    scopes = _route_scopes(api.client.app)
    policies = {(m, p): policy for m, p, policy in api_routes(api.client.app)}
    collections = [
        path
        for (method, path), _ in scopes.items()
        if method == "GET" and "{" not in path and not _is_public(method, path, policies[(method, path)])
    ]
    unscoped = sorted(p for p in collections if not scopes[("GET", p)] and p not in SHARED_COLLECTIONS)
    assert unscoped == [], f"lists without ?site_id= nor a reason in SHARED_COLLECTIONS: {unscoped}"
    assert {p for p in SHARED_COLLECTIONS if ("GET", p) in scopes} == set(SHARED_COLLECTIONS)
    assert sum(scopes[("GET", p)] for p in collections) >= 15


@pytest.mark.parametrize("role", sorted(SCOPED_ROLES))
def test_site_scope_matrix(api: AppHarness, role: str) -> None:
    """A member scoped to site A, on every route reading the scope: ``?site_id=`` of another
    site is a 403 ``site_forbidden``, of their own never a 401/403 (nor a 5xx)."""
    with api.runtime.db.session(write=True) as session:
        sites = [Site(name=name, slug=slugify(name)) for name in ("Tiers-lieu de Trilport", "FabLab de Meaux")]
        session.add_all(sites)
        session.flush()
        own, other = (site.id or 0 for site in sites)
        session.commit()
    user = api.user(role, email=f"scoped-{role}@trilport.test")
    scope_member(api.runtime, user.id, [own])
    failures, checked = [], 0
    for method, path, policy in api_routes(api.client.app):
        if not _route_scopes(api.client.app)[(method, path)] or not isinstance(policy, Allow):
            continue
        if role not in policy.roles:
            continue
        checked += 1
        url = _fill(path)
        elsewhere = api.client.request(method, f"{url}?site_id={other}", headers=user.headers, json={})
        if (elsewhere.status_code, elsewhere.json().get("code")) != (403, "site_forbidden"):
            failures.append(f"{method} {path}?site_id=other as {role}: {elsewhere.status_code}")
        at_home = api.client.request(method, f"{url}?site_id={own}", headers=user.headers, json={})
        if at_home.status_code in (401, 403) or at_home.status_code >= 500:
            failures.append(f"{method} {path}?site_id=own as {role}: {at_home.status_code} {at_home.text[:120]}")
    assert checked >= (10 if role in ("staff", "animator") else 2)
    assert failures == []
