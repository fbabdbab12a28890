"""Two sites in a real browser: the header's site switcher works without JavaScript and the pages
that show it have 0 axe-core WCAG 2.1 A/AA violations at 390 px and at desktop width."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PASSWORD, create_user
from tests.support.server import LiveServer
from tests.web.browser import DESKTOP, check_page, fresh_server, log_in
from tests.web.two_sites import KOUROU_NAME, TwoSites, load_two_sites

pytestmark = pytest.mark.browser


@dataclass
class Deployment:
    server: LiveServer
    sites: TwoSites
    admin: str
    animator_id: int


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Deployment]:
    with fresh_server(tmp_path_factory, sqlite_template, "browser-sites") as server:
        admin = create_user(server.runtime, "admin", email="anne@trilport.test", name="Anne Admin")
        animator = create_user(server.runtime, "animator", email="nadia@trilport.test", name="Nadia Conseillère")
        sites = load_two_sites(server.runtime, animator.id)
        yield Deployment(server, sites, admin.email, animator.id)


def test_pages_with_the_switcher_are_accessible(deployment: Deployment, page: Page) -> None:
    base = deployment.server.url
    log_in(page, base, deployment.admin, PASSWORD)
    kourou = deployment.sites.kourou
    pages = [
        ("/admin/espaces?site=tous", "sites-admin-espaces"),
        ("/occupation", "sites-occupation"),
        ("/reserver?site=kourou", "sites-reserver"),
        ("/accueil", "sites-accueil"),
        ("/fablab", "sites-fablab"),
        ("/admin/membres", "sites-admin-membres"),
        (f"/admin/membres/{deployment.animator_id}", "sites-admin-membre"),
        ("/rendez-vous", "sites-rendez-vous"),
        ("/admin/rapports", "sites-admin-rapports"),
        ("/rapports/inclusion", "sites-bilan"),
    ]
    for path, name in pages:
        page.goto(base + path)
        expect(page.locator("h1")).to_be_visible()
        expect(page.get_by_label("Site", exact=True)).to_be_visible()
        check_page(page, name)  # axe at 390 px and at 1920 px
    page.goto(f"{base}/agenda/kourou")
    expect(page.get_by_text("1 avenue des Roches, 97310 Kourou")).to_be_visible()
    check_page(page, "sites-agenda-kourou")
    page.goto(f"{base}/kiosk/kourou/{kourou.building_id}")
    expect(page.locator("h1")).to_have_text("Maison de Kourou")
    check_page(page, "sites-ecran-kourou")


def test_the_switcher_works_without_javascript(deployment: Deployment, browser: Browser) -> None:
    base = deployment.server.url
    context = browser.new_context(locale="fr-FR", viewport=DESKTOP, java_script_enabled=False)
    tab = context.new_page()
    log_in(tab, base, deployment.admin, PASSWORD)
    tab.goto(f"{base}/admin/espaces?site=tous")
    expect(tab.get_by_role("heading", name="Grande salle d'ateliers")).to_be_visible()
    tab.get_by_label("Site", exact=True).select_option(label=KOUROU_NAME)
    tab.get_by_role("button", name="Changer de site").click()
    tab.wait_for_url(re.compile(r".*/admin/espaces\?site=kourou$"))
    expect(tab.get_by_role("heading", name="Maison de Kourou")).to_be_visible()
    expect(tab.get_by_role("heading", name="Grande salle d'ateliers")).to_have_count(0)
    # The choice is remembered: the next page shows Kourou's devices only.
    tab.goto(f"{base}/admin/appareils")
    expect(tab.get_by_label("Site", exact=True)).to_have_value("kourou")
    expect(tab.get_by_text("Porte de Kourou")).to_be_visible()
    expect(tab.get_by_text("Porte d'entrée")).to_have_count(0)
    context.close()
