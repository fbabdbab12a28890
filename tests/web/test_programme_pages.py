"""The programme's pages through the real app (TestClient, SQLite, plain form posts as a browser
without JavaScript sends them): the front desk, the slip, workshops and sessions, the roll-call,
appointments and the partner's view, the public agenda and the kiosk."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import httpx
import pytest
from sqlmodel import col, select

from tests.conftest import AppHarness, create_user
from tests.support.site import load_trilport
from tests.web.support import csrf_of, login, next_open_weekday
from tierslieu.db.types import utcnow
from tierslieu.models import Member, Resource
from tierslieu.models.programme import Attendance, Person, Registration, WorkshopSession
from tierslieu.programme import sessions as session_service
from tierslieu.programme import workshops as workshop_service
from tierslieu.programme.sessions import SessionPlan
from tierslieu.services import members as member_service


@dataclass
class Programme:
    api: AppHarness
    session_id: int
    workshop_id: int
    leader_email: str
    start: datetime


def make_session(
    api: AppHarness, *, capacity: int, title: str = "Atelier numérique seniors", start: datetime | None = None
) -> Programme:
    """One public session in the Grande salle (by default at 14:00 three open days ahead), led by
    an animator."""
    leader = create_user(api.runtime, "animator", email=f"leader-{capacity}@trilport.test", name="Karim Benali")
    tz = api.runtime.settings.tz
    start = start or datetime.combine(next_open_weekday(utcnow().date(), days_ahead=3), time(14), tzinfo=tz)
    with api.runtime.db.session(write=True) as session:
        actor = member_service.get_member(session, api.users["staff"].id)
        room = session.exec(select(Resource).where(Resource.name == "Grande salle")).one()
        workshop = workshop_service.create_workshop(
            session,
            actor=actor,
            title=title,
            description="On apprend ensemble à se servir de sa tablette.",
            themes=["Maîtrise des outils numériques du quotidien"],
            publics=["seniors"],
            duration_minutes=120,
            capacity=capacity,
            leader_id=leader.id,
        )
        created = session_service.create_sessions(
            session,
            actor=actor,
            workshop_id=workshop.id or 0,
            plan=SessionPlan(resource_id=room.id or 0, start=start),
            now=utcnow(),
            tz=tz,
            events=api.runtime.events,
        )
        session.commit()
        return Programme(api, created[0].id or 0, workshop.id or 0, leader.email, start)


@pytest.fixture
def programme(api: AppHarness) -> Programme:
    load_trilport(api.runtime, always_open=None)
    return make_session(api, capacity=3)


def post(api: AppHarness, page: str, action: str, data: dict[str, object]) -> httpx.Response:
    """Submit a form as a browser does: the token from the page the form is on."""
    token = csrf_of(api.client.get(page).text)
    response: httpx.Response = api.client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)
    return response


# The front desk ------------------------------------------------------------------------------


def test_front_desk_records_finds_registers_and_prints(programme: Programme) -> None:
    api = programme.api
    login(api.client, api.users["staff"].email)
    desk = api.client.get("/accueil?q=Lucienne")
    assert desk.status_code == 200 and "Personne n'a été trouvé" in html.unescape(desk.text)
    created = post(
        api,
        "/accueil",
        "/accueil/personnes",
        {"name": "Lucienne Moreau", "phone": "06 12 34 56 78", "birth_year": "1948", "consent": "1"},
    )
    assert created.status_code == 303, created.text
    person_page = created.headers["location"]
    assert re.fullmatch(r"/accueil/personnes/\d+\?message=cree", person_page)
    # Found again by her phone typed another way, and by part of her name.
    for query in ("06.12.34.56.78", "moreau"):
        found = api.client.get(f"/accueil?q={query}")
        assert "Lucienne Moreau" in found.text and "sans compte" in found.text, query

    registered = post(
        api, person_page, person_page.split("?")[0] + "/inscriptions", {"session_id": programme.session_id}
    )
    assert registered.status_code == 303, registered.text
    slip_url = registered.headers["location"]
    assert slip_url.startswith("/accueil/fiches/inscription/")
    slip = api.client.get(slip_url)
    assert slip.status_code == 200
    text = slip.text
    assert "Vous êtes inscrit" in text and "Atelier numérique seniors" in text
    assert "Grande salle" in text and "Karim Benali" in text and "Lucienne Moreau" in text
    assert "14:00" in text and "16:00" in text
    # How to cancel: by phone, the site's number from the site file, as people dial it.
    assert "appelez l'accueil au 01 60 09 78 10" in html.unescape(text)
    assert "2 rue de Meaux, 77470 Trilport" in text
    assert 'media="print"' in text and "/static/print-a6.css" in text
    assert "/static/print-a4.css" in api.client.get(slip_url + "?format=a4").text
    print_css = api.client.get("/static/print-a6.css").text
    assert "@page { size: 105mm 148mm" in print_css
    with api.runtime.db.session() as session:
        person = session.exec(select(Person).where(Person.name == "Lucienne Moreau")).one()
        assert person.phone == "0612345678" and person.consent and person.birth_year == 1948


def test_contact_details_need_consent_and_the_name_alone_is_enough(programme: Programme) -> None:
    api = programme.api
    login(api.client, api.users["animator"].email)
    refused = post(api, "/accueil", "/accueil/personnes", {"name": "Jean Petit", "phone": "0601020304"})
    assert refused.status_code == 422 and 'id="erreur-person"' in refused.text
    assert 'aria-describedby="erreur-person"' in refused.text
    name_only = post(api, "/accueil", "/accueil/personnes", {"name": "Jean Petit"})
    assert name_only.status_code == 303
    with api.runtime.db.session() as session:
        person = session.exec(select(Person).where(Person.name == "Jean Petit")).one()
        assert person.phone is None and person.email is None and not person.consent


def test_a_class_takes_its_head_count_and_the_next_person_waits(programme: Programme) -> None:
    api = programme.api
    morning = programme.start.replace(hour=9)
    make_class = make_session(api, capacity=30, title="Fabriquer un objet avec l'imprimante 3D", start=morning)
    login(api.client, api.users["staff"].email)
    group = post(
        api,
        "/accueil",
        "/accueil/groupes",
        {
            "session_id": make_class.session_id,
            "contact_name": "M. Garnier",
            "organisation": "Collège de Trilport",
            "head_count": "28",
            "public": "scolaires",
        },
    )
    assert group.status_code == 303, group.text
    slip = api.client.get(group.headers["location"]).text
    assert "28 personnes" in slip and "M. Garnier" in slip
    assert "2 places restantes" in api.client.get("/accueil").text

    # The 3-seat session: three members fill it, the fourth person is waitlisted.
    for n in range(3):
        member = create_user(api.runtime, "member", email=f"senior{n}@trilport.test", name=f"Senior {n}")
        page = f"/accueil/membres/{member.id}"
        assert post(api, page, page + "/inscriptions", {"session_id": programme.session_id}).status_code == 303
    person = post(api, "/accueil", "/accueil/personnes", {"name": "Dernière Arrivée"})
    page = person.headers["location"].split("?")[0]
    waiting = post(api, page, page + "/inscriptions", {"session_id": programme.session_id})
    slip = html.unescape(api.client.get(waiting.headers["location"]).text)
    assert "liste d'attente" in slip and "Place sur la liste d'attente" in slip


def test_front_desk_refusals_are_explained_by_the_form(programme: Programme) -> None:
    api = programme.api
    login(api.client, api.users["staff"].email)
    nameless = post(api, "/accueil", "/accueil/personnes", {"name": "  "})
    assert nameless.status_code == 422 and 'aria-describedby="erreur-person"' in nameless.text
    member_page = f"/accueil/membres/{api.users['member'].id}"
    scan = post(api, member_page, member_page + "/badge", {"device_id": 1})
    assert scan.status_code == 422 and "Aucun badge inconnu" in scan.text
    closed = post(
        api,
        member_page,
        member_page + "/rendez-vous",
        {"advisor_id": api.users["animator"].id, "resource_id": 1, "day": "2020-01-01", "at": "03:00"},
    )
    assert closed.status_code in (409, 422) and 'id="erreur-appointment"' in closed.text


def test_posts_without_the_form_token_are_refused(programme: Programme) -> None:
    api = programme.api
    login(api.client, api.users["staff"].email)
    for action in ("/accueil/personnes", f"/seances/{programme.session_id}/venus", "/rendez-vous", "/ateliers"):
        response = api.client.post(action, data={"name": "Sans jeton"})
        assert response.status_code == 403, action
        assert "Le formulaire a expiré" in response.text


# Workshops, sessions and the roll-call --------------------------------------------------------


def test_staff_create_a_workshop_and_a_refused_session_shows_the_engine_words(api: AppHarness) -> None:
    load_trilport(api.runtime, always_open=None)
    login(api.client, api.users["staff"].email)
    created = post(
        api,
        "/ateliers",
        "/ateliers",
        {
            "title": "Premiers pas sur smartphone",
            "themes": "Maîtrise des outils numériques du quotidien",
            "publics": "seniors",
            "duration_minutes": "90",
            "capacity": "6",
        },
    )
    assert created.status_code == 303, created.text
    workshop_page = created.headers["location"].split("?")[0]
    with api.runtime.db.session() as session:
        room = session.exec(select(Resource).where(Resource.name == "Salle de visio")).one()
    sunday = next_open_weekday(utcnow().date(), days_ahead=3)
    sunday += timedelta(days=6 - sunday.weekday())
    closed = post(
        api,
        workshop_page,
        workshop_page + "/seances",
        {"resource_id": room.id, "day": sunday.isoformat(), "at": "10:00", "weeks": "1"},
    )
    assert closed.status_code in (409, 422) and 'role="alert"' in closed.text
    assert "fermé" in closed.text.lower()
    day = next_open_weekday(utcnow().date(), days_ahead=4)
    weekly = post(
        api,
        workshop_page,
        workshop_page + "/seances",
        {"resource_id": room.id, "day": day.isoformat(), "at": "10:00", "weeks": "3", "public": "1"},
    )
    assert weekly.status_code == 303, weekly.text
    listed = api.client.get(workshop_page).text
    assert listed.count('href="/seances/') >= 2  # a weekly series (a holiday may take one)
    taken = post(
        api,
        workshop_page,
        workshop_page + "/seances",
        {"resource_id": room.id, "day": day.isoformat(), "at": "10:00", "weeks": "1"},
    )
    assert taken.status_code == 409 and 'role="alert"' in taken.text


def starting_soon() -> datetime:
    """The next :00 or :30 at least five minutes ahead: within the roll-call's opening hour."""
    now = utcnow()
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=30 - now.minute % 30)
    return start + timedelta(minutes=30) if start - now < timedelta(minutes=5) else start


def test_roll_call_ticks_and_walk_ins(api: AppHarness) -> None:
    # The roll-call opens an hour before the start: a session in the next half hour, in a
    # site open day and night so the test runs at any hour.
    load_trilport(api.runtime)
    programme = make_session(api, capacity=3, start=starting_soon())
    member = api.users["member"]
    login(api.client, api.users["staff"].email)
    page = f"/accueil/membres/{member.id}"
    post(api, page, page + "/inscriptions", {"session_id": programme.session_id})

    api.client.cookies.clear()
    login(api.client, programme.leader_email)
    roll_call = f"/seances/{programme.session_id}/appel"
    sheet = api.client.get(roll_call)
    assert sheet.status_code == 200 and member.email not in sheet.text  # names, never e-mails
    with api.runtime.db.session() as session:
        name = member_service.get_member(session, member.id).name
    assert f'<span class="who">{name}' in sheet.text
    registration_id = int(re.search(r'id="inscription-(\d+)"', sheet.text).group(1))  # type: ignore[union-attr]
    ticked = post(api, roll_call, f"{roll_call}/{registration_id}", {"present": "1"})
    assert ticked.status_code == 303 and ticked.headers["location"].endswith(f"#inscription-{registration_id}")
    walk_in = post(api, roll_call, f"/seances/{programme.session_id}/venus", {"public": "seniors", "seats": "1"})
    assert walk_in.status_code == 303
    after = api.client.get(roll_call).text
    assert "Présents : 2" in after and 'aria-pressed="true"' in after
    with api.runtime.db.session() as session:
        rows = session.exec(select(Attendance).where(col(Attendance.session_id) == programme.session_id)).all()
        assert sorted((r.source, r.present) for r in rows) == [("roll_call", True), ("walk_in", True)]


def test_cancelling_a_session_frees_the_room(programme: Programme) -> None:
    api = programme.api
    login(api.client, api.users["staff"].email)
    page = f"/seances/{programme.session_id}"
    cancelled = post(api, page, page + "/annuler", {"reason": "Animateur malade"})
    assert cancelled.status_code == 303
    assert "Annulée" in api.client.get(page).text
    with api.runtime.db.session() as session:
        ws = session.get(WorkshopSession, programme.session_id)
        assert ws is not None and ws.status == "cancelled"


# Appointments and the partner's view ---------------------------------------------------------


def test_partner_books_for_a_person_and_sees_only_its_own(programme: Programme) -> None:
    api = programme.api
    with api.runtime.db.session() as session:
        room = session.exec(select(Resource).where(Resource.name == "Salle de la conseillère numérique")).one()
        advisor = session.exec(select(Member).where(Member.email == api.users["animator"].email)).one()
    day = next_open_weekday(utcnow().date(), days_ahead=3)
    while day.weekday() != 3:  # the advisor's Thursday mornings
        day = next_open_weekday(day, days_ahead=1)
    login(api.client, api.users["partner"].email)
    assert api.client.get("/accueil").status_code == 403
    booked = post(
        api,
        "/rendez-vous",
        "/rendez-vous",
        {
            "name": "Paulette Durand",
            "phone": "01 60 00 00 00",
            "consent": "1",
            "advisor_id": advisor.id,
            "resource_id": room.id,
            "day": day.isoformat(),
            "at": "09:30",
            "minutes": "60",
            "people": "1",
        },
    )
    assert booked.status_code == 303, booked.text
    detail = booked.headers["location"].split("?")[0]
    page = api.client.get(detail)
    assert page.status_code == 200 and "Paulette Durand" in page.text and "compte-rendu" not in page.text
    assert "Paulette Durand" in api.client.get("/rendez-vous").text

    other = create_user(api.runtime, "partner", email="mediatheque@trilport.test", name="Médiathèque")
    api.client.cookies.clear()
    login(api.client, other.email)
    assert "Paulette Durand" not in api.client.get("/rendez-vous").text
    assert api.client.get(detail).status_code in (403, 404)

    api.client.cookies.clear()
    login(api.client, api.users["animator"].email)
    report = post(
        api,
        detail,
        detail + "/compte-rendu",
        {
            "kind": "individual",
            "duration_minutes": "55",
            "themes": "Aide aux démarches administratives",
            "publics": "seniors",
            "referred_to": "France Services, CAF",
        },
    )
    assert report.status_code == 303, report.text
    assert "Compte rendu écrit" in api.client.get(detail).text


# The public agenda and the kiosk -------------------------------------------------------------


def test_public_agenda_and_kiosk_without_log_in(programme: Programme) -> None:
    api = programme.api
    agenda = api.client.get("/agenda")
    assert agenda.status_code == 200
    assert "Atelier numérique seniors" in agenda.text and "3 places restantes" in agenda.text
    assert 'href="/api/v1/public/sessions.ics"' in agenda.text
    assert "appelez le 01 60 09 78 10" in html.unescape(agenda.text)
    kiosk = api.client.get("/kiosk/agenda")
    assert kiosk.status_code == 200 and kiosk.headers["refresh"] == "60"
    assert "Atelier numérique seniors" in kiosk.text
    with api.runtime.db.session() as session:
        space_id = session.exec(select(Resource).where(Resource.name == "Grande salle")).one().space_id
    assert "Atelier numérique seniors" in api.client.get(f"/kiosk/{space_id}").text


def test_navigation_by_role(programme: Programme) -> None:
    api = programme.api
    expected = {
        "staff": {"/accueil", "/ateliers", "/rendez-vous", "/rapports/inclusion"},
        "animator": {"/accueil", "/ateliers", "/rendez-vous"},
        "partner": {"/rendez-vous"},
        "member": {"/agenda"},
    }
    for role, hrefs in expected.items():
        api.client.cookies.clear()
        login(api.client, api.users[role].email)
        home = api.client.get("/")
        nav = re.search(r'<nav aria-label="Menu principal".*?</nav>', home.text, re.S)
        assert nav is not None, role
        links = set(re.findall(r'href="([^"]+)"', nav.group(0)))
        assert hrefs <= links, (role, links)
        if role == "partner":
            assert "/reserver" not in links and home.url.path == "/rendez-vous"
        if role == "member":
            assert not {"/accueil", "/ateliers", "/rendez-vous"} & links
    with api.runtime.db.session() as session:
        assert session.exec(select(Registration)).all() == []


# What the programme achieved -----------------------------------------------------------------


def test_inclusion_report_page_has_figures_charts_tables_and_csv(programme: Programme) -> None:
    api = programme.api
    login(api.client, api.users["municipal"].email)
    page = api.client.get("/rapports/inclusion?du=2026-01-01&au=2026-12-31")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Chiffres clés" in text and "Personnes touchées" in text and "Taux de présence" in text
    assert text.count('role="region" tabindex="0"') == 6  # every table reachable by keyboard
    assert "/api/v1/reports/inclusion?format=csv&from=2026-01-01&to=2026-12-31" in text
    csv = api.client.get("/api/v1/reports/inclusion?format=csv&from=2026-01-01&to=2026-12-31")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    backwards = api.client.get("/rapports/inclusion?du=2026-12-31&au=2026-01-01")
    assert backwards.status_code == 422 and 'id="erreur-periode"' in backwards.text
    assert "Période invalide" in html.unescape(backwards.text)
