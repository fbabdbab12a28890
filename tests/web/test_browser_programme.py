"""The programme's pages in a real Chromium on the real server: the front desk flow (find or
create a person, register, print view), the roll-call on a 390 px phone, and axe-core on every
new page at both widths."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from tests.conftest import PASSWORD, create_user, make_settings
from tests.support.server import LiveServer, live_server
from tests.support.site import load_trilport
from tests.web.browser import PHONE, SCREENSHOTS, check_page, log_in
from tests.web.support import next_open_weekday
from tierslieu.api import create_app
from tierslieu.db.types import utcnow
from tierslieu.models import Resource
from tierslieu.programme import appointments as appointment_service
from tierslieu.programme import registrations as registration_service
from tierslieu.programme import sessions as session_service
from tierslieu.programme import workshops as workshop_service
from tierslieu.programme.holders import MemberHolder, PersonHolder
from tierslieu.programme.sessions import SessionPlan
from tierslieu.services import members as member_service
from tierslieu.web.password_reset import reset_token

pytestmark = pytest.mark.browser

# A6 is 105 × 148 mm: 297.6 × 419.5 PostScript points.
A6_POINTS = (297.6, 419.5)


@dataclass
class Site:
    server: LiveServer
    staff: str
    leader: str
    partner: str
    member_id: int
    workshop_id: int
    soon_id: int  # a session starting within the hour: its roll-call is open
    later_id: int
    registration_id: int
    appointment_id: int
    reset_path: str
    hall_space_id: int


def _starting_soon() -> datetime:
    now = utcnow()
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=30 - now.minute % 30)
    return start + timedelta(minutes=30) if start - now < timedelta(minutes=5) else start


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser-programme")
    shutil.copyfile(sqlite_template, folder / "tierslieu.db")
    settings = make_settings(f"sqlite:///{folder / 'tierslieu.db'}", folder)
    with live_server(create_app(settings, migrate=False)) as server:
        runtime = server.runtime
        load_trilport(runtime)  # open day and night: the roll-call test runs at any hour
        staff = create_user(runtime, "staff", email="sophie@trilport.test", name="Sophie Bernard")
        leader = create_user(runtime, "animator", email="karim@trilport.test", name="Karim Benali")
        partner = create_user(runtime, "partner", email="ccas@trilport.test", name="CCAS de Trilport")
        member = create_user(runtime, "member", email="marie@trilport.test", name="Marie Dupont")
        tz = runtime.settings.tz
        now = utcnow()
        with runtime.db.session(write=True) as session:
            actor = member_service.get_member(session, staff.id)
            hall = session.exec(select(Resource).where(Resource.name == "Grande salle")).one()
            advisor_room = session.exec(
                select(Resource).where(Resource.name == "Salle de la conseillère numérique")
            ).one()
            workshop = workshop_service.create_workshop(
                session,
                actor=actor,
                title="Atelier numérique seniors",
                description="On apprend ensemble à se servir de sa tablette.",
                themes=["Maîtrise des outils numériques du quotidien"],
                publics=["seniors"],
                duration_minutes=60,
                capacity=12,
                leader_id=leader.id,
            )
            workshop_id = workshop.id or 0
            (soon,) = session_service.create_sessions(
                session,
                actor=actor,
                workshop_id=workshop_id,
                plan=SessionPlan(resource_id=hall.id or 0, start=_starting_soon()),
                now=now,
                tz=tz,
                events=runtime.events,
            )
            later_start = datetime.combine(next_open_weekday(now.date(), days_ahead=3), time(14), tzinfo=tz)
            (later,) = session_service.create_sessions(
                session,
                actor=actor,
                workshop_id=workshop_id,
                plan=SessionPlan(resource_id=hall.id or 0, start=later_start),
                now=now,
                tz=tz,
                events=runtime.events,
            )
            # The advisor receives on Thursday mornings (her room's hours in the site file).
            day = next_open_weekday(now.date(), days_ahead=3)
            while day.weekday() != 3:
                day = next_open_weekday(day, days_ahead=1)
            thursday = datetime.combine(day, time(10), tzinfo=tz)
            registration = registration_service.register(
                session,
                actor=actor,
                session_id=soon.id or 0,
                holder=MemberHolder(member.id),
                now=now,
                programme=runtime.programme_events,
            )
            appointment = appointment_service.book_appointment(
                session,
                actor=member_service.get_member(session, partner.id),
                advisor_id=leader.id,
                resource_id=advisor_room.id or 0,
                start=thursday,
                end=thursday + timedelta(hours=1),
                person=PersonHolder(name="Paulette Durand"),
                referred_by="CCAS de Trilport",
                now=now,
                tz=tz,
                events=runtime.events,
                programme=runtime.programme_events,
            )
            reset_path = f"/mot-de-passe/{reset_token(runtime.secrets, actor)}"
            hall_space_id = hall.space_id or 0
            session.commit()
            ids = (soon.id or 0, later.id or 0, registration.id or 0, appointment.id or 0)
        yield Site(
            server, staff.email, leader.email, partner.email, member.id, workshop_id, *ids, reset_path, hall_space_id
        )


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="fr-FR", viewport=PHONE, is_mobile=True, has_touch=True)
    tab = context.new_page()
    yield tab
    context.close()


def test_front_desk_finds_or_creates_registers_and_prints(site: Site, page: Page) -> None:
    base = site.server.url
    log_in(page, base, site.staff, PASSWORD)
    page.get_by_role("link", name="Accueil", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accueil")
    check_page(page, "accueil")

    page.get_by_label("Nom ou numéro de téléphone").fill("Germaine")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("status")).to_contain_text("Personne n'a été trouvé")
    check_page(page, "accueil-recherche-vide")

    page.get_by_label("Prénom et nom").fill("Germaine Roux")
    page.get_by_label("Téléphone (facultatif)").fill("06 11 22 33 44")
    page.get_by_label("Année de naissance (facultatif)").fill("1946")
    page.get_by_label(re.compile("La personne accepte")).check()
    page.get_by_role("button", name="Enregistrer la personne").click()
    page.wait_for_url(re.compile(r".*/accueil/personnes/\d+\?message=cree"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Germaine Roux")
    check_page(page, "accueil-personne")

    # Found again by her phone, typed another way.
    page.goto(f"{base}/accueil?q=0611223344")
    page.get_by_role("link", name="Germaine Roux").click()
    page.get_by_label("Séance", exact=True).select_option(index=1)
    page.get_by_role("button", name="Inscrire et imprimer la fiche").click()
    page.wait_for_url(re.compile(r".*/accueil/fiches/inscription/\d+"))
    slip = page.locator("article.slip")
    expect(slip).to_contain_text("Vous êtes inscrit")
    expect(slip).to_contain_text("Atelier numérique seniors")
    expect(slip).to_contain_text("Karim Benali")
    expect(slip).to_contain_text("Grande salle")
    expect(slip).to_contain_text("appelez l'accueil au 01 60 09 78 10")
    check_page(page, "fiche-inscription")

    # The print view: only the slip, on an A6 sheet.
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".no-print")).to_be_hidden()
    expect(slip).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 352, "height": 514})  # an A6 sheet less its margins, in CSS px
    page.screenshot(path=str(SCREENSHOTS / "fiche-inscription-impression-a6.png"), full_page=True)
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (SCREENSHOTS / "fiche-inscription.pdf").write_bytes(pdf)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes, "no page in the printed slip"
    width, height = (float(v) for v in boxes[0])
    assert abs(width - A6_POINTS[0]) < 2 and abs(height - A6_POINTS[1]) < 2, (width, height)
    assert len(boxes) == 1, f"the slip takes {len(boxes)} A6 pages"


def test_roll_call_on_a_phone(site: Site, phone: Page) -> None:
    base = site.server.url
    log_in(phone, base, site.leader, PASSWORD)
    phone.goto(f"{base}/seances/{site.soon_id}/appel")
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Appel")
    check_page(phone, "appel-telephone")
    overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the roll-call scrolls sideways by {overflow}px at 390px"

    present = phone.get_by_role("button", name="Présent — Marie Dupont")
    box = present.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 120  # a thumb-sized target
    present.tap()
    expect(phone.locator(f"#inscription-{site.registration_id}")).to_contain_text("présent")
    expect(phone.get_by_role("button", name="Présent — Marie Dupont")).to_have_attribute("aria-pressed", "true")

    # A walk-in: one tap on the roll-call page (the second tap of "two taps").
    phone.get_by_role("button", name="Ajouter une personne venue").tap()
    expect(phone.locator("p.counts")).to_contain_text("Présents : 2")
    expect(phone.get_by_role("status").filter(has_text="ajoutée")).to_be_visible()
    check_page(phone, "appel-apres")


def test_every_programme_page_is_accessible(site: Site, page: Page) -> None:
    base = site.server.url
    log_in(page, base, site.staff, PASSWORD)
    pages = [
        ("/accueil", "accueil-liste"),
        (f"/accueil/membres/{site.member_id}", "accueil-membre"),
        (f"/accueil/fiches/inscription/{site.registration_id}?format=a4", "fiche-a4"),
        (f"/accueil/fiches/rendez-vous/{site.appointment_id}", "fiche-rendez-vous"),
        ("/ateliers", "ateliers"),
        (f"/ateliers/{site.workshop_id}", "atelier"),
        (f"/seances/{site.later_id}", "seance"),
        (f"/seances/{site.later_id}/appel", "seance-appel-bureau"),
        ("/rendez-vous", "rendez-vous"),
        (f"/rendez-vous/{site.appointment_id}", "rendez-vous-detail"),
        ("/rapports/inclusion", "rapport-inclusion"),
        ("/agenda", "agenda-connecte"),
    ]
    for path, name in pages:
        page.goto(base + path)
        expect(page.locator("h1")).to_be_visible()
        check_page(page, name)

    # A room booked for a member at the desk, and its slip.
    page.goto(f"{base}/accueil/membres/{site.member_id}")
    page.get_by_label("Salle, poste ou équipement").select_option(label="Salle de visio")
    page.locator("#res-jour").fill(next_open_weekday(utcnow().date(), days_ahead=4).isoformat())
    page.locator("#res-heure").fill("10:00")
    page.locator("#res-duree").fill("60")
    page.get_by_role("button", name="Réserver et imprimer la fiche").last.click()
    page.wait_for_url(re.compile(r".*/accueil/fiches/reservation/\d+"))
    expect(page.locator("article.slip")).to_contain_text("Salle de visio")
    check_page(page, "fiche-reservation")

    # The door's screen shows the coming workshops under the day's schedule.
    page.goto(f"{base}/kiosk/{site.hall_space_id}")
    expect(page.get_by_role("heading", name="Prochains ateliers")).to_be_visible()
    check_page(page, "ecran-accueil-ateliers")

    # A refused session: the engine's words by the form, still accessible.
    page.goto(f"{base}/ateliers/{site.workshop_id}")
    page.get_by_label("Premier jour").fill(utcnow().date().isoformat())
    page.get_by_label("Heure de début").fill("00:00")
    page.get_by_role("button", name="Programmer et réserver la salle").click()
    expect(page.get_by_role("alert")).to_contain_text("Impossible")
    check_page(page, "atelier-refus")


def test_partner_and_public_pages_are_accessible(site: Site, page: Page) -> None:
    base = site.server.url
    page.goto(f"{base}/agenda")
    expect(page.locator("h1")).to_have_text("Agenda des ateliers")
    expect(page.get_by_role("link", name=re.compile("iCalendar"))).to_have_attribute(
        "href", "/api/v1/public/sessions.ics"
    )
    check_page(page, "agenda-public")
    page.goto(f"{base}/kiosk/agenda")
    expect(page.locator("h1")).to_have_text("Prochains ateliers")
    check_page(page, "ecran-agenda")
    page.goto(base + site.reset_path)
    expect(page.locator("h1")).to_be_visible()
    check_page(page, "mot-de-passe-nouveau")

    page.goto(f"{base}/connexion")
    page.get_by_label("Adresse e-mail").fill(site.partner)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r".*/rendez-vous$"))
    expect(page.get_by_role("table")).to_contain_text("Paulette Durand")
    nav = page.get_by_role("navigation", name="Menu principal")
    expect(nav.get_by_role("link", name="Réserver")).to_have_count(0)
    check_page(page, "partenaire-rendez-vous")
    page.get_by_role("link", name=re.compile(r"\d{2}:\d{2}")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rendez-vous")
    check_page(page, "partenaire-rendez-vous-detail")
