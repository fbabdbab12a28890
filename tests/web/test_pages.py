"""Web routes through the real app (TestClient, SQLite): log-in and cookies, CSRF, roles,
languages, booking and cancelling, admin actions, the one-time password link, kiosk, CSV."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from tests.conftest import PASSWORD, AppHarness
from tests.support.site import load_trilport
from tests.web.support import csrf_of, login, next_open_weekday
from tierslieu.api.deps import SESSION_COOKIE
from tierslieu.db.types import utcnow
from tierslieu.models import Booking, Resource
from tierslieu.services import members as member_service


@pytest.fixture
def site(api: AppHarness) -> AppHarness:
    load_trilport(api.runtime, always_open=None)
    return api


def _token(api: AppHarness, path: str) -> str:
    return csrf_of(api.client.get(path).text)


def test_anonymous_visitors_are_sent_to_log_in(api: AppHarness) -> None:
    response = api.client.get("/mes-reservations", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/connexion?suivant=%2Fmes-reservations"
    page = api.client.get("/connexion")
    assert page.status_code == 200 and '<html lang="fr">' in page.text
    assert 'href="#contenu"' in page.text and "<main" in page.text


def test_log_in_sets_a_safe_session_cookie_the_api_accepts(api: AppHarness) -> None:
    login(api.client, api.users["member"].email)
    cookie = next(c for c in api.client.cookies.jar if c.name == SESSION_COOKIE)
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert api.client.get("/api/v1/members/me").json()["email"] == api.users["member"].email
    api.client.post("/deconnexion", data={"csrf_token": _token(api, "/reserver")})
    assert api.client.get("/api/v1/members/me").status_code == 401


def test_set_cookie_flags(api: AppHarness) -> None:
    page = api.client.get("/connexion")
    response = api.client.post(
        "/connexion",
        data={"email": api.users["member"].email, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "secure" not in header


def test_wrong_password_is_explained_and_linked_to_the_fields(api: AppHarness) -> None:
    page = api.client.get("/connexion")
    response = api.client.post(
        "/connexion", data={"email": "x@y.fr", "password": "nope", "csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 401
    assert "Adresse e-mail ou mot de passe incorrect." in response.text
    assert 'aria-describedby="erreur-connexion"' in response.text


def test_posts_without_a_valid_form_token_are_refused(api: AppHarness) -> None:
    api.client.get("/connexion")
    for token in ("", "forged-token"):
        response = api.client.post("/connexion", data={"email": "a@b.fr", "password": "x", "csrf_token": token})
        assert response.status_code == 403
        assert "Le formulaire a expiré" in response.text


def test_members_cannot_open_staff_pages(site: AppHarness) -> None:
    login(site.client, site.users["member"].email)
    for path in ("/admin", "/admin/membres", "/admin/rapports", "/occupation"):
        response = site.client.get(path)
        assert response.status_code == 403, path
        assert "Votre rôle ne permet pas cette action." in response.text


def test_english_from_the_switch_or_the_browser(api: AppHarness) -> None:
    english = api.client.get("/connexion", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.text and "Log in" in english.text
    api.client.get("/langue/en?retour=/connexion")
    assert '<html lang="en">' in api.client.get("/connexion").text
    assert api.client.get("/langue/en?retour=https://evil.example", follow_redirects=False).headers["location"] == "/"


def test_book_a_desk_then_cancel_it(site: AppHarness) -> None:
    login(site.client, site.users["member"].email)
    day = next_open_weekday(utcnow().date(), days_ahead=2)
    with site.runtime.db.session() as session:
        desk = session.exec(select(Resource).where(Resource.name == "Poste 3")).one()
    grid = site.client.get(f"/reserver?ressource={desk.id}&jour={day.isoformat()}")
    assert grid.status_code == 200 and "Poste 3" in grid.text
    start = re.search(r'name="start" value="([^"]+)"', grid.text)
    assert start is not None
    form = {
        "csrf_token": csrf_of(grid.text),
        "resource_id": desk.id,
        "start": start.group(1),
        "minutes": 240,
        "jour": day.isoformat(),
    }
    booked = site.client.post("/reserver", data=form, follow_redirects=False)
    assert booked.status_code == 303 and booked.headers["location"].startswith("/mes-reservations?nouvelle=")
    mine = site.client.get(booked.headers["location"])
    assert "Poste 3" in mine.text and "Confirmée" in mine.text and "/api/v1/calendars/members/" in mine.text

    again = site.client.post("/reserver", data={**form, "csrf_token": csrf_of(mine.text)})
    assert again.status_code == 409
    assert 'role="alert"' in again.text and "Impossible" in again.text

    booking_id = int(booked.headers["location"].rsplit("=", 1)[1])
    cancelled = site.client.post(f"/mes-reservations/{booking_id}/annuler", data={"csrf_token": csrf_of(mine.text)})
    assert cancelled.status_code == 200 and "Votre réservation est annulée." in cancelled.text
    with site.runtime.db.session() as session:
        assert session.get(Booking, booking_id).status == "cancelled"  # type: ignore[union-attr]


def test_staff_manage_a_member_badge_training_and_password_link(site: AppHarness) -> None:
    login(site.client, site.users["staff"].email)
    member_id = site.users["member"].id
    page = site.client.get(f"/admin/membres/{member_id}")
    token = csrf_of(page.text)
    assert (
        site.client.post(
            f"/admin/membres/{member_id}/badges", data={"csrf_token": token, "uid": "04:a1:b2:c3"}
        ).status_code
        == 200
    )
    bad = site.client.post(f"/admin/membres/{member_id}/badges", data={"csrf_token": token, "uid": "zz"})
    assert bad.status_code == 422 and 'aria-describedby="erreur-badge"' in bad.text
    scan = site.client.post(f"/admin/membres/{member_id}/badges/scan", data={"csrf_token": token, "device_id": 1})
    assert scan.status_code == 422 and "Aucun badge inconnu" in scan.text
    site.client.post(f"/admin/membres/{member_id}/formations", data={"csrf_token": token, "training": "impression-3d"})
    with site.runtime.db.session() as session:
        member = member_service.get_member(session, member_id)
        assert [b.uid for b in member_service.active_badges(session, member)] == ["04A1B2C3"]
        assert "impression-3d" in member_service.trainings_of(session, member_id)

    linked = site.client.post(f"/admin/membres/{member_id}/lien", data={"csrf_token": token})
    link = re.search(r'value="https?://[^/]+(/mot-de-passe/[^"]+)"', linked.text)
    assert link is not None
    site.client.cookies.clear()
    form = site.client.get(link.group(1))
    assert form.status_code == 200
    done = site.client.post(
        link.group(1),
        data={"csrf_token": csrf_of(form.text), "password": "nouveau-secret-1", "confirm": "nouveau-secret-1"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert site.client.get(link.group(1)).status_code == 422  # used once, void after
    login(site.client, site.users["member"].email, "nouveau-secret-1")


def test_staff_cannot_take_over_an_admin(site: AppHarness) -> None:
    login(site.client, site.users["staff"].email)
    admin_id = site.users["admin"].id
    token = _token(site, f"/admin/membres/{admin_id}")
    response = site.client.post(
        f"/admin/membres/{admin_id}/mot-de-passe", data={"csrf_token": token, "password": "pris-en-otage"}
    )
    assert response.status_code == 403


def test_kiosk_is_public_read_only_and_refreshes(site: AppHarness) -> None:
    response = site.client.get("/kiosk/1")
    assert response.status_code == 200
    assert response.headers["refresh"] == "60"
    assert "<form" not in response.text
    assert site.client.get("/kiosk/999999").status_code == 404


def test_reports_show_charts_with_tables_and_export_csv(site: AppHarness) -> None:
    login(site.client, site.users["staff"].email)
    page = site.client.get("/admin/rapports")
    assert page.status_code == 200 and "<table>" in page.text and "<caption id=" in page.text
    assert 'role="region" tabindex="0"' in page.text  # a table that scrolls sideways is reachable by keyboard
    csv = site.client.get("/admin/rapports.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.lstrip("\ufeff").startswith("periode;debut;heures_reservees")
    assert len(csv.text.strip().splitlines()) == 1 + 12 + 12


def test_fablab_two_step_upload_and_reorder(site: AppHarness) -> None:
    login(site.client, site.users["animator"].email)
    with site.runtime.db.session(write=True) as session:
        animator = member_service.get_member(session, site.users["animator"].id)
        member_service.grant_training(session, animator, "impression-3d", expires_on=None, granted_by=None)
        session.commit()
    page = site.client.get("/fablab")
    printer_id = int(re.search(r'<option value="(\d+)">Imprimante 1', page.text).group(1))  # type: ignore[union-attr]
    ids = []
    for name in ("a.gcode", "b.gcode"):
        preview = site.client.post(
            "/fablab/apercu",
            data={"csrf_token": csrf_of(page.text), "printer_id": printer_id},
            files={"file": (name, b";TIME:600\nG28\nG1 X1\n", "text/plain")},
        )
        assert preview.status_code == 200 and "10 min" in preview.text
        ticket = re.search(r'name="ticket" value="([^"]+)"', preview.text).group(1)  # type: ignore[union-attr]
        confirmed = site.client.post(
            "/fablab/confirmer", data={"csrf_token": csrf_of(preview.text), "ticket": ticket}, follow_redirects=False
        )
        assert confirmed.status_code == 303
        ids.append(int(re.findall(r"/fablab/travaux/(\d+)/annuler", site.client.get("/fablab").text)[-1]))
    refused = site.client.post(
        "/fablab/apercu",
        data={"csrf_token": csrf_of(page.text), "printer_id": printer_id},
        files={"file": ("photo.png", b"\x89PNG\r\n", "image/png")},
    )
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    moved = site.client.post(
        f"/fablab/travaux/{ids[1]}/deplacer", data={"csrf_token": csrf_of(page.text), "sens": "haut"}
    )
    assert moved.status_code == 200
    order = [int(i) for i in re.findall(r"/fablab/travaux/(\d+)/annuler", moved.text)]
    assert order.index(ids[1]) < order.index(ids[0])


def test_members_cannot_reorder_the_queue(site: AppHarness) -> None:
    login(site.client, site.users["member"].email)
    token = _token(site, "/fablab")
    assert site.client.post("/fablab/travaux/1/deplacer", data={"csrf_token": token, "sens": "haut"}).status_code == 403


def test_staff_approve_a_pending_request(site: AppHarness) -> None:
    from tierslieu.booking import service as booking_service

    hall_day = next_open_weekday(utcnow().date(), days_ahead=4)
    with site.runtime.db.session(write=True) as session:
        hall = session.exec(select(Resource).where(Resource.name == "Grande salle")).one()
        member = member_service.get_member(session, site.users["member"].id)
        start = utcnow().replace(
            year=hall_day.year, month=hall_day.month, day=hall_day.day, hour=12, minute=0, second=0, microsecond=0
        )
        booking, _ = booking_service.create_booking(
            session,
            actor=member,
            resource_id=hall.id or 0,
            member_id=None,
            start=start,
            end=start + timedelta(hours=2),
            now=utcnow(),
            tz=site.runtime.settings.tz,
        )
        session.commit()
        assert booking.status == "pending"
        booking_id = booking.id
    login(site.client, site.users["staff"].email)
    page = site.client.get("/admin/validations")
    assert "Grande salle" in page.text
    decided = site.client.post(
        f"/admin/validations/{booking_id}", data={"csrf_token": csrf_of(page.text), "decision": "valider"}
    )
    assert decided.status_code == 200 and "Décision enregistrée." in decided.text
    with site.runtime.db.session() as session:
        assert session.get(Booking, booking_id).status == "confirmed"  # type: ignore[union-attr]


def test_unknown_pages_and_bad_ids_render_html_errors(site: AppHarness) -> None:
    login(site.client, site.users["staff"].email)
    missing = site.client.get("/nulle-part")
    assert missing.status_code == 404 and "Page introuvable" in missing.text
    bad_id = site.client.get("/admin/membres/0")
    assert bad_id.status_code == 422 and "text/html" in bad_id.headers["content-type"]
    api_missing = site.client.get("/api/v1/nulle-part")
    assert api_missing.headers["content-type"].startswith("application/problem+json")
