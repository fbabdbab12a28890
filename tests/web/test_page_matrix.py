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
from tests.web.two_sites import SitePlaces, load_two_sites
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


def _object_pages(places: SitePlaces, member_id: int) -> list[tuple[str, str, dict[str, str] | None]]:
    """Pages about one object of a site (a space, room, door, booking, session, appointment, printer)."""
    return [
        ("POST", f"/admin/membres/{member_id}/badges/scan", {"device_id": str(places.door_id)}),
        ("POST", f"/accueil/membres/{member_id}/badge", {"device_id": str(places.door_id)}),
        ("GET", f"/reserver?espace={places.building_id}", None),
        ("GET", f"/reserver?ressource={places.room_id}", None),
        ("GET", f"/seances/{places.session_id}", None),
        ("GET", f"/seances/{places.session_id}/appel", None),
        ("GET", f"/rendez-vous/{places.appointment_id}", None),
        ("GET", f"/accueil/fiches/reservation/{places.booking_id}", None),
        ("GET", f"/accueil/fiches/rendez-vous/{places.appointment_id}", None),
        ("POST", f"/occupation/portes/{places.door_id}", {"action": "auto"}),
        ("POST", f"/admin/espaces/{places.building_id}/regles", {"rules": "{}"}),
        ("POST", f"/admin/validations/{places.booking_id}", {"decision": "valider"}),
        ("POST", f"/seances/{places.session_id}/venus", {"seats": "1"}),
        ("POST", f"/rendez-vous/{places.appointment_id}/annuler", {}),
        ("POST", f"/fablab/imprimantes/{places.printer_id}/plateau-libere", {}),
    ]


def test_site_scoped_staff_matrix(api: AppHarness) -> None:
    """A staff member of one site: its objects' pages answer, another site's are the 403 page,
    and no list page shows another site's rows."""
    sites = load_two_sites(api.runtime, api.users["animator"].id)
    login(api.client, sites.scoped_staff)
    token = csrf_of(api.client.get("/connexion").text)
    failures = []
    for places, own in ((sites.kourou, True), (sites.trilport, False)):
        for method, path, form in _object_pages(places, api.users["member"].id):
            data = {"csrf_token": token, **form} if form is not None else None
            response = api.client.request(method, path, data=data, follow_redirects=False)
            forbidden = response.status_code == 403 and "Ce site ne fait pas partie des vôtres" in response.text
            ok = (response.status_code < 500 and not forbidden and response.status_code != 401) if own else forbidden
            if not ok:
                failures.append(f"{method} {path} ({'own' if own else 'other'} site): {response.status_code}")
    for method, path, _policy in page_routes():
        if method != "GET" or "{" in path or path in PUBLIC or path.endswith(".csv"):
            continue
        text = api.client.get(path).text
        leaks = [name for name in ("Grande salle", "Porte d&#39;entrée", "Espace coworking") if name in text]
        if leaks:
            failures.append(f"GET {path} shows another site's {leaks}")
    assert failures == []
