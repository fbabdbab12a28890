"""Personal data in the web app: the privacy notice (public, linked from every page), "Mes
données" (own access log, export download), and an admin's erasure with a confirmation step."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import PASSWORD, AppHarness
from tests.web.support import csrf_of, login
from tierslieu.db.types import utcnow
from tierslieu.models import AccessEvent


@pytest.fixture
def lines(api: AppHarness) -> AppHarness:
    with api.runtime.db.session(write=True) as session:
        for who, door in ((api.users["member"].id, "Porte principale"), (api.users["staff"].id, "Porte FabLab")):
            session.add(
                AccessEvent(
                    at=utcnow() - timedelta(hours=2),
                    device_name=door,
                    member_id=who,
                    decision="granted",
                    reason="booking",
                )
            )
        session.commit()
    return api


def test_the_privacy_notice_is_public_and_linked_from_every_page(api: AppHarness) -> None:
    notice = api.client.get("/confidentialite")
    assert notice.status_code == 200
    assert "Données personnelles et confidentialité" in notice.text and "90 jours" in notice.text
    assert "délégué à la protection des données" in notice.text
    for path in ("/connexion", "/confidentialite"):
        assert 'href="/confidentialite"' in api.client.get(path).text
    login(api.client, api.users["member"].email)
    assert 'href="/confidentialite"' in api.client.get("/mes-reservations").text


def test_my_data_shows_my_access_log_only_and_offers_the_export(lines: AppHarness) -> None:
    api = lines
    assert api.client.get("/mes-donnees", follow_redirects=False).status_code in (303, 401)
    login(api.client, api.users["member"].email)
    page = api.client.get("/mes-donnees")
    assert page.status_code == 200
    assert "Porte principale" in page.text and "Porte FabLab" not in page.text
    assert 'href="/mes-donnees"' in page.text  # in the menu
    export = api.client.get("/mes-donnees/export.json")
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    assert export.json()["account"]["email"] == api.users["member"].email


def test_an_admin_erases_a_member_after_confirming(api: AppHarness) -> None:
    member = api.user("member", email="lea@trilport.test")
    login(api.client, api.users["staff"].email)
    assert api.client.get(f"/admin/membres/{member.id}/effacer").status_code == 403
    api.client.cookies.clear()
    login(api.client, api.users["admin"].email)
    detail = api.client.get(f"/admin/membres/{member.id}")
    assert f'href="/admin/membres/{member.id}/effacer"' in detail.text
    form = api.client.get(f"/admin/membres/{member.id}/effacer")
    assert form.status_code == 200 and "Cette action est définitive" in form.text
    unconfirmed = api.client.post(f"/admin/membres/{member.id}/effacer", data={"csrf_token": csrf_of(form.text)})
    assert unconfirmed.status_code == 422 and 'role="alert"' in unconfirmed.text
    done = api.client.post(
        f"/admin/membres/{member.id}/effacer",
        data={"csrf_token": csrf_of(form.text), "confirm": "oui"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = api.client.get(done.headers["location"])
    assert "Personne effacée" in page.text and "ont été effacées" in page.text
    refused = api.client.post("/api/v1/auth/token", data={"username": "lea@trilport.test", "password": PASSWORD})
    assert refused.status_code == 401
