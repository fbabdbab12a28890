"""The web app with several sites (real app, SQLite): the header's switcher, ``?site=`` and the
remembered choice, every list narrowed to the chosen site, the kiosk URL naming its site, the
public agenda of one site in its timezone, and the members' sites in the administration."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from tests.conftest import AppHarness
from tests.support.site import load_trilport
from tests.web.support import csrf_of, login
from tests.web.two_sites import KOUROU_NAME, TwoSites, load_two_sites
from tierslieu.models import Member, WorkshopSession
from tierslieu.web.i18n import Formatter
from tierslieu.web.sites import SITE_COOKIE

TRILPORT_NAME = "Tiers-lieu de Trilport"
FORBIDDEN = "Ce site ne fait pas partie des vôtres"

# (page, what only Trilport's list shows, what only Kourou's list shows)
LISTS = [
    ("/occupation", "Grande salle d&#39;ateliers", "Maison de Kourou"),
    ("/reserver", "Espace coworking", "Maison de Kourou"),
    ("/admin/espaces", "Grande salle d&#39;ateliers", "Maison de Kourou"),
    ("/admin/appareils", "Porte d&#39;entrée", "Porte de Kourou"),
    ("/admin/validations", "Grande salle", "Salle de Kourou"),
    ("/accueil", f"Atelier de {TRILPORT_NAME}", f"Atelier de {KOUROU_NAME}"),
    ("/ateliers", f"Atelier de {TRILPORT_NAME}", f"Atelier de {KOUROU_NAME}"),
    ("/rendez-vous", "Grande salle", "Salle de Kourou"),
    ("/fablab", "Imprimante 1", "Imprimante de Kourou"),
]


@pytest.fixture
def api(api_any_db: AppHarness) -> AppHarness:
    """These pages filter in SQL too (reports, agenda): once on SQLite, once on PostgreSQL."""
    return api_any_db


@pytest.fixture
def sites(api: AppHarness) -> TwoSites:
    return load_two_sites(api.runtime, api.users["animator"].id)


def _switcher(html: str) -> list[str]:
    """The switcher's options as the reader sees them (empty: no switcher)."""
    found = re.search(r'<select id="choix-site" name="site">(.*?)</select>', html, re.S)
    return re.findall(r">([^<]+)</option>", found.group(1)) if found else []


def test_one_site_shows_no_switcher(api: AppHarness) -> None:
    load_trilport(api.runtime)
    login(api.client, api.users["admin"].email)
    page = api.client.get("/admin/espaces")
    assert page.status_code == 200
    assert _switcher(page.text) == [] and 'name="site"' not in page.text


def test_switching_site_changes_every_list_and_is_remembered(api: AppHarness, sites: TwoSites) -> None:
    login(api.client, api.users["admin"].email)
    first = api.client.get("/admin/espaces")
    assert _switcher(first.text) == ["Tous les sites", KOUROU_NAME, TRILPORT_NAME]
    assert '<label for="choix-site">Site</label>' in first.text and "Changer de site" in first.text
    assert "Maison de Kourou" in first.text and "Grande salle d&#39;ateliers" in first.text  # every site

    chosen = api.client.get("/admin/espaces?site=kourou")
    cookie = chosen.headers["set-cookie"]
    assert f"{SITE_COOKIE}=kourou" in cookie and "samesite=lax" in cookie.lower() and "path=/" in cookie.lower()
    assert '<option value="kourou" selected>' in chosen.text

    for path, trilport_only, kourou_only in LISTS:  # the cookie carries the choice to every page
        page = api.client.get(path)
        assert page.status_code == 200, path
        assert kourou_only in page.text and trilport_only not in page.text, path
    for path, trilport_only, kourou_only in LISTS:  # ?site= wins over the cookie
        page = api.client.get(f"{path}?site=trilport")
        assert page.status_code == 200, path
        assert trilport_only in page.text and kourou_only not in page.text, path
    assert api.client.cookies.get(SITE_COOKIE) == "trilport"
    every = api.client.get("/admin/espaces?site=tous")
    assert "Maison de Kourou" in every.text and "Grande salle d&#39;ateliers" in every.text
    assert '<option value="tous" selected>' in every.text


def test_unknown_site_is_a_clear_404_and_reports_answer_per_site(api: AppHarness, sites: TwoSites) -> None:
    login(api.client, api.users["admin"].email)
    unknown = api.client.get("/admin/espaces?site=nulle-part")
    assert unknown.status_code == 404
    assert "Site « nulle-part » inconnu" in unknown.text and '<html lang="fr">' in unknown.text
    for path in ("/admin", "/admin/rapports", "/admin/rapports.csv", "/rapports/inclusion", "/admin/membres"):
        for slug in ("kourou", "trilport", "tous"):
            assert api.client.get(f"{path}?site={slug}").status_code == 200, (path, slug)


def test_site_scoped_staff_sees_only_their_site(api: AppHarness, sites: TwoSites) -> None:
    login(api.client, sites.scoped_staff)
    page = api.client.get("/admin/espaces")
    assert _switcher(page.text) == []  # one site: nothing to choose
    for path, trilport_only, kourou_only in LISTS:
        page = api.client.get(path)
        assert page.status_code == 200, path
        assert kourou_only in page.text and trilport_only not in page.text, path
    forbidden = api.client.get("/occupation?site=trilport")
    assert forbidden.status_code == 403 and FORBIDDEN in forbidden.text
    assert api.client.get("/occupation?site=tous").status_code == 200  # "every site" is theirs: Kourou


def test_kiosk_url_names_its_site(api: AppHarness, sites: TwoSites) -> None:
    trilport, kourou = sites.trilport, sites.kourou
    moved = api.client.get(f"/kiosk/{trilport.building_id}", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == f"/kiosk/trilport/{trilport.building_id}"
    screen = api.client.get(f"/kiosk/kourou/{kourou.building_id}")
    assert screen.status_code == 200 and "Maison de Kourou" in screen.text and KOUROU_NAME in screen.text
    assert f"Atelier de {KOUROU_NAME}" in screen.text and f"Atelier de {TRILPORT_NAME}" not in screen.text
    assert api.client.get(f"/kiosk/kourou/{trilport.building_id}").status_code == 404  # another site's space
    assert api.client.get(f"/kiosk/nulle-part/{kourou.building_id}").status_code == 404
    assert api.client.get("/kiosk/999999", follow_redirects=False).status_code == 404
    agenda_screen = api.client.get("/kiosk/kourou/agenda")
    assert agenda_screen.status_code == 200 and f"Atelier de {KOUROU_NAME}" in agenda_screen.text
    assert f"Atelier de {TRILPORT_NAME}" not in agenda_screen.text


def test_public_agenda_of_one_site_in_its_timezone(api: AppHarness, sites: TwoSites) -> None:
    with api.runtime.db.session() as session:
        ws = session.get(WorkshopSession, sites.kourou.session_id)
        assert ws is not None
        start, end = ws.start, ws.end
    in_kourou = Formatter("fr", ZoneInfo("America/Cayenne")).span(start, end)
    in_paris = Formatter("fr", ZoneInfo("Europe/Paris")).span(start, end)
    for path in ("/agenda/kourou", "/agenda?site=kourou"):
        page = api.client.get(path)
        assert page.status_code == 200, path
        assert KOUROU_NAME in page.text and "1 avenue des Roches, 97310 Kourou" in page.text
        assert f"Atelier de {KOUROU_NAME}" in page.text and f"Atelier de {TRILPORT_NAME}" not in page.text
        assert in_kourou.capitalize() in page.text and in_paris.capitalize() not in page.text
    every = api.client.get("/agenda?site=tous")
    assert f"Atelier de {KOUROU_NAME}" in every.text and f"Atelier de {TRILPORT_NAME}" in every.text
    missing = api.client.get("/agenda/nulle-part")
    assert missing.status_code == 404 and "Site « nulle-part » inconnu" in missing.text


def _save_member(api: AppHarness, member_id: int, **extra: str | list[str]) -> int:
    page = api.client.get(f"/admin/membres/{member_id}")
    with api.runtime.db.session() as session:
        member = session.get(Member, member_id)
        assert member is not None
        fields: dict[str, str | list[str]] = {"name": member.name, "email": member.email, "roles": list(member.roles)}
    form = {"csrf_token": csrf_of(page.text), **fields, "active": "1", "language": "fr", **extra}
    response = api.client.post(f"/admin/membres/{member_id}", data=form, follow_redirects=False)
    return int(response.status_code)


def _sites_of(api: AppHarness, member_id: int) -> list[int]:
    with api.runtime.db.session() as session:
        member = session.get(Member, member_id)
        assert member is not None
        return list(member.site_ids)


def test_members_sites_in_the_member_forms(api: AppHarness, sites: TwoSites) -> None:
    """Admins tick any sites; a site-scoped staff member only their own (the API's rule)."""
    animator = api.users["animator"].id
    login(api.client, api.users["admin"].email)
    form = api.client.get(f"/admin/membres/{animator}").text
    assert "Sites où les rôles s&#39;appliquent" in form and 'name="site_ids"' in form
    assert _save_member(api, animator, sites_shown="1", site_ids=[str(sites.kourou.site_id)]) == 303
    assert _sites_of(api, animator) == [sites.kourou.site_id]
    listing = api.client.get("/admin/membres?q=animator").text
    assert f"<td>{KOUROU_NAME}</td>" in listing
    assert _save_member(api, animator, sites_shown="1") == 303  # none ticked: every site
    assert _sites_of(api, animator) == []

    login(api.client, sites.scoped_staff)
    assert _save_member(api, animator) == 403  # an every-site animator is beyond a Kourou agent
    with api.runtime.db.session(write=True) as session:
        member = session.get(Member, animator)
        assert member is not None
        member.site_ids = [sites.kourou.site_id]
        session.commit()
    form = api.client.get(f"/admin/membres/{animator}").text
    boxes = re.findall(r'name="site_ids" value="(\d+)"', form)
    assert boxes == [str(sites.kourou.site_id)]
    assert _save_member(api, animator, sites_shown="1", site_ids=[str(sites.trilport.site_id)]) == 403
    assert _save_member(api, animator, sites_shown="1") == 303  # none ticked: the agent's sites
    assert _sites_of(api, animator) == [sites.kourou.site_id]
    # A new staff member made by the Kourou agent works at Kourou.
    page = api.client.get("/admin/membres")
    form_data = {
        "csrf_token": csrf_of(page.text),
        "name": "Nouvel agent",
        "email": "nouvel.agent@trilport.test",
        "roles": ["staff"],
        "language": "fr",
    }
    assert api.client.post("/admin/membres", data=form_data, follow_redirects=False).status_code == 303
    with api.runtime.db.session() as session:
        created = session.exec(select(Member).where(Member.email == "nouvel.agent@trilport.test")).one()
        assert created.site_ids == [sites.kourou.site_id]
