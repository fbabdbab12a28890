"""The role × page matrix of the web app: every page route, called by every role, for real.

Like the API's matrix, policies are read from the routes (each page router declares one
``Allow``), so a page added later is covered without editing this file. Posts carry a valid form
token: the policy, not the CSRF guard, is what answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tests.conftest import ROLE_NAMES, AppHarness
from tests.web.support import csrf_of, login
from tierslieu.api.deps import Allow
from tierslieu.web.routes import PAGE_ROUTERS

# Pages without log-in: the log-in form, language switch, password link, kiosks, public agenda,
# the privacy notice.
PUBLIC = {
    "/",
    "/connexion",
    "/langue/{lang}",
    "/mot-de-passe/{token}",
    "/kiosk/{space_id}",
    "/kiosk/{site_slug}/{space_id}",
    "/kiosk/agenda",
    "/kiosk/{site_slug}/agenda",
    "/agenda",
    "/agenda/{site_slug}",
    "/confidentialite",
}
SKIPPED = {("POST", "/deconnexion")}  # ends the caller's session: tested in test_pages


def _policies(dependant: Dependant) -> Iterator[Allow]:
    for dep in dependant.dependencies:
        if isinstance(dep.call, Allow):
            yield dep.call
        yield from _policies(dep)


def page_routes() -> list[tuple[str, str, frozenset[str] | None]]:
    """Every page operation with the roles its policies allow (a route may narrow its router's)."""
    found = []
    for route in (route for router in PAGE_ROUTERS for route in router.routes):
        assert isinstance(route, APIRoute)
        policies = list(_policies(route.dependant))
        allowed = frozenset.intersection(*(p.roles for p in policies)) if policies else None
        for method in sorted(route.methods or ()):
            found.append((method, route.path, allowed))
    return found


def _fill(path: str) -> str:
    path = path.replace("{kind}", "personnes").replace("{lang}", "fr")
    return re.sub(r"\{[^}]+\}", "999999", path)


def test_every_page_declares_a_policy_or_is_public() -> None:
    missing = [(m, p) for m, p, policy in page_routes() if policy is None and p not in PUBLIC and (m, p) not in SKIPPED]
    assert missing == [], f"pages without an Allow policy: {missing}"
    paths = {p for _m, p, _policy in page_routes()}
    for new_page in ("/accueil", "/ateliers", "/seances/{session_id}/appel", "/rendez-vous", "/agenda"):
        assert new_page in paths


@pytest.mark.parametrize("role", ["anonymous", *ROLE_NAMES])
def test_page_matrix(api: AppHarness, role: str) -> None:
    """Forbidden roles get the 403 page, allowed roles never 401/403, visitors go to log in."""
    if role != "anonymous":
        login(api.client, api.users[role].email)
    token = csrf_of(api.client.get("/connexion").text)
    failures = []
    for method, path, policy in page_routes():
        if path in PUBLIC or (method, path) in SKIPPED or method == "HEAD":
            continue
        assert policy is not None
        data = {"csrf_token": token} if method == "POST" else None
        response = api.client.request(method, _fill(path), data=data, follow_redirects=False)
        if role == "anonymous":
            ok = response.status_code == 303 and response.headers["location"].startswith("/connexion")
        elif role in policy:
            ok = response.status_code not in (401, 403) and response.status_code < 500
        else:
            ok = response.status_code == 403 and "Votre rôle ne permet pas cette action." in response.text
        if not ok:
            failures.append(f"{method} {path} as {role}: {response.status_code} (allowed: {sorted(policy)})")
    assert failures == []


def test_public_pages_answer_without_log_in(api: AppHarness) -> None:
    for path in ("/agenda", "/kiosk/agenda", "/connexion", "/confidentialite"):
        response = api.client.get(path)
        assert response.status_code == 200, path
        assert '<html lang="fr">' in response.text
