"""End to end in a real browser: booking a desk, queueing a print, and every page checked by
axe-core (zero WCAG 2.1 A/AA violations) with screenshots at phone and desktop sizes."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from tests.conftest import PASSWORD, create_user, make_settings
from tests.support.server import LiveServer, live_server
from tests.support.site import load_trilport
from tests.web.browser import DESKTOP, PHONE, check_page, log_in
from tests.web.support import next_open_weekday
from tierslieu.api import create_app
from tierslieu.db.types import utcnow
from tierslieu.models import Space
from tierslieu.services import members as member_service

pytestmark = pytest.mark.browser

GCODE = (
    b";FLAVOR:Marlin\n;TIME:5400\n;Filament used: 1.25m\n;Generated with Cura_SteamEngine 5.7.1\n"
    b"G28\nG1 X10 Y10 Z0.2 F3000\nM104 S0\n"
)


@dataclass
class Site:
    server: LiveServer
    member: str
    animator: str
    staff: str
    coworking_id: int
    staff_id: int


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser")
    shutil.copyfile(sqlite_template, folder / "tierslieu.db")
    settings = make_settings(f"sqlite:///{folder / 'tierslieu.db'}", folder)
    with live_server(create_app(settings, migrate=False)) as server:
        runtime = server.runtime
        load_trilport(runtime, always_open=None)
        member = create_user(runtime, "member", email="marie@trilport.test", name="Marie Dupont")
        animator = create_user(runtime, "animator", email="paul@trilport.test", name="Paul Martin")
        staff = create_user(runtime, "staff", email="sophie@trilport.test", name="Sophie Bernard")
        with runtime.db.session(write=True) as session:
            paul = member_service.get_member(session, animator.id)
            member_service.grant_training(session, paul, "impression-3d", expires_on=None, granted_by=staff.id)
            coworking = session.exec(select(Space).where(Space.name == "Espace coworking")).one()
            assert coworking.id is not None
            coworking_id = coworking.id
            session.commit()
        yield Site(server, member.email, animator.email, staff.email, coworking_id, staff.id)


def test_member_books_a_desk_and_sees_it(site: Site, page: Page) -> None:
    base = site.server.url
    log_in(page, base, site.member, PASSWORD)
    day = next_open_weekday(utcnow().date(), days_ahead=2)
    page.get_by_label("Espace", exact=True).select_option(label="Espace coworking")
    page.get_by_label("Jour", exact=True).fill(day.isoformat())
    page.get_by_role("button", name="Afficher les créneaux").click()
    expect(page.get_by_role("heading", name="Poste 1", exact=True)).to_be_visible()
    check_page(page, "reserver")

    page.get_by_role("button", name="08:00 — réserver Poste 1", exact=True).click()
    page.wait_for_url(re.compile(r".*/mes-reservations\?nouvelle=\d+"))
    row = page.get_by_role("row").filter(has_text="Poste 1")
    expect(row).to_contain_text("08:00–12:00")
    expect(row).to_contain_text("Confirmée")
    check_page(page, "mes-reservations")

    # The same slot again: refused, with the rule's own words next to the grid.
    page.goto(f"{base}/reserver?espace={site.coworking_id}&jour={day.isoformat()}")
    expect(page.get_by_text("Réservé", exact=False).first).to_be_visible()
    mine = page.locator("section", has=page.get_by_role("heading", name="Poste 1", exact=True))
    expect(mine).to_contain_text("À vous")


def test_refusal_shows_the_rule_message(site: Site, page: Page) -> None:
    log_in(page, site.server.url, site.member, PASSWORD)
    day = next_open_weekday(utcnow().date(), days_ahead=3)
    page.goto(f"{site.server.url}/reserver?espace={site.coworking_id}&jour={day.isoformat()}")
    # 10:00 + the half-day length would run over the lunch closure: not offered at all.
    expect(page.get_by_role("button", name="10:00 — réserver Poste 2", exact=True)).to_have_count(0)
    # Someone else takes 14:00 while the page is open: the engine says why in plain French.
    api = httpx.Client(base_url=site.server.url)
    token = api.post("/api/v1/auth/token", data={"username": site.staff, "password": PASSWORD}).json()["access_token"]
    desk = api.get(
        "/api/v1/resources", params={"space_id": site.coworking_id}, headers={"Authorization": f"Bearer {token}"}
    ).json()
    poste_2 = next(r["id"] for r in desk if r["name"] == "Poste 2")
    start = datetime.combine(day, time(14), tzinfo=ZoneInfo("Europe/Paris"))
    taken = api.post(
        "/api/v1/bookings",
        json={"resource_id": poste_2, "start": start.isoformat(), "end": (start + timedelta(hours=4)).isoformat()},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert taken.status_code == 201, taken.text
    page.get_by_role("button", name="14:00 — réserver Poste 2", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Impossible")
    expect(alert).to_contain_text("réservé")
    check_page(page, "reserver-refus")


def test_animator_uploads_gcode_and_sees_it_queued(site: Site, page: Page, tmp_path: Path) -> None:
    log_in(page, site.server.url, site.animator, PASSWORD)
    page.goto(f"{site.server.url}/fablab")
    check_page(page, "fablab")
    gcode = tmp_path / "porte-cles.gcode"
    gcode.write_bytes(GCODE)
    page.get_by_label("Imprimante", exact=True).select_option(label="Imprimante 1")
    page.get_by_label(re.compile("Fichier G-code")).set_input_files(str(gcode))
    page.get_by_role("button", name="Voir l'estimation").click()
    expect(page.get_by_role("heading", name="Vérifier avant impression")).to_be_visible()
    expect(page.locator("dl")).to_contain_text("1 h 30")
    check_page(page, "fablab-apercu")
    page.get_by_role("button", name="Confirmer et mettre dans la file").click()
    page.wait_for_url(re.compile(r".*/fablab\?message=file"))
    queue = page.get_by_role("table", name=re.compile("Imprimante 1"))
    expect(queue).to_contain_text("porte-cles.gcode")
    expect(queue).to_contain_text("1 h 30")
    expect(page.get_by_role("status")).to_contain_text("file")


STAFF_PAGES = [
    ("/occupation", "occupation"),
    ("/admin", "admin"),
    ("/admin/membres", "admin-membres"),
    ("/admin/espaces", "admin-espaces"),
    ("/admin/appareils", "admin-appareils"),
    ("/admin/validations", "admin-validations"),
    ("/admin/rapports", "admin-rapports"),
    ("/page-inconnue", "erreur-404"),
]


def test_every_staff_page_is_accessible(site: Site, page: Page) -> None:
    log_in(page, site.server.url, site.staff, PASSWORD)
    for path, name in [*STAFF_PAGES, (f"/admin/membres/{site.staff_id}", "admin-membre")]:
        page.goto(site.server.url + path)
        expect(page.locator("h1")).to_be_visible()
        check_page(page, name)


def test_public_pages_are_accessible(site: Site, page: Page) -> None:
    page.goto(f"{site.server.url}/connexion")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    check_page(page, "connexion")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("Adresse e-mail ou mot de passe incorrect")).to_be_visible()
    check_page(page, "connexion-erreur")
    page.goto(f"{site.server.url}/kiosk/{site.coworking_id}")
    expect(page.locator("h1")).to_have_text("Espace coworking")
    check_page(page, "ecran-accueil")


def test_keyboard_skip_link_and_english(site: Site, page: Page) -> None:
    log_in(page, site.server.url, site.member, PASSWORD)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Book")
    check_page(page, "book-english")


def test_narrow_screen_and_zoom_have_no_sideways_scroll(site: Site, page: Page) -> None:
    log_in(page, site.server.url, site.member, PASSWORD)
    # 320 CSS px is what a 1280 px window shows at 400 % zoom (WCAG 1.4.10 reflow).
    page.set_viewport_size({"width": 320, "height": 640})
    for path in ("/reserver", "/mes-reservations", "/fablab"):
        page.goto(site.server.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 320px"
    page.set_viewport_size({"width": 960, "height": 540})  # 1920×1080 at 200 %
    page.goto(site.server.url + "/reserver")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_staff_see_the_fire_alarm_and_reset_it_without_javascript(site: Site, browser: Browser) -> None:
    from tierslieu.hardware.emergency import FIRE_ALARM, FIRE_RELEASE, emergency_line

    runtime = site.server.runtime
    with runtime.db.session(write=True) as session:
        now = utcnow()
        session.add(emergency_line(FIRE_ALARM, now, None, None, "Centrale incendie"))
        session.add(emergency_line(FIRE_RELEASE, now, None, None))
        session.commit()
    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(locale="fr-FR", viewport=viewport)  # axe runs as a script
        tab = context.new_page()
        log_in(tab, site.server.url, site.staff, PASSWORD)
        tab.goto(f"{site.server.url}/occupation")
        expect(tab.get_by_role("alert")).to_contain_text("toutes les portes d'évacuation sont maintenues ouvertes")
        check_page(tab, f"occupation-alarme-{viewport['width']}")
        context.close()
    context = browser.new_context(locale="fr-FR", viewport=DESKTOP, java_script_enabled=False)
    tab = context.new_page()
    log_in(tab, site.server.url, site.staff, PASSWORD)
    tab.goto(f"{site.server.url}/occupation")
    tab.get_by_role("button", name="Réarmer l'alarme incendie").click()
    tab.wait_for_url(re.compile(r".*/occupation\?urgence=reinitialisee"))
    expect(tab.get_by_role("alert")).to_have_count(0)
    expect(tab.locator(".fire-log")).to_contain_text("alarme réarmée par l'équipe")
    context.close()


def test_public_agenda_is_accessible_on_a_phone_and_a_desktop(site: Site, page: Page) -> None:
    """The agenda without log-in, with a session that has seats and one that is full."""
    from tests.support.programme_rows import ProgrammeRows

    now = utcnow().replace(microsecond=0)
    with site.server.runtime.db.session(write=True) as session:
        rows = ProgrammeRows(session)
        room = rows.room("Salle des ateliers")
        themes = ["Maîtrise des outils numériques du quotidien", "Utilisation sécurisée du numérique"]
        workshop = rows.workshop("Premiers pas sur la tablette", themes, ["seniors"])
        workshop.description = "Allumer, toucher, photographier : on prend le temps."
        rows.session_of(workshop, room, now + timedelta(days=2), now + timedelta(days=2, hours=2))
        full = rows.session_of(workshop, room, now + timedelta(days=9), now + timedelta(days=9, hours=2), capacity=1)
        rows.register(full, person=rows.person("Quelqu'un"))
        session.commit()
    page.goto(f"{site.server.url}/agenda")
    expect(page.locator("h1")).to_have_text("Agenda des ateliers")
    expect(page.get_by_text("Complet : liste d'attente")).to_be_visible()
    check_page(page, "agenda")  # axe at 390 px and at desktop width


def test_programme_report_page_is_accessible_on_a_phone_and_a_desktop(site: Site, page: Page) -> None:
    log_in(page, site.server.url, site.staff, PASSWORD)
    page.goto(f"{site.server.url}/rapports/inclusion")
    expect(page.locator("h1")).to_have_text("Bilan du programme")
    check_page(page, "bilan-programme")  # axe at 390 px and at desktop width
