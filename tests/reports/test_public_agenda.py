"""The public agenda: anyone reads upcoming public sessions and their seats left — and
nothing personal (no names, e-mails, phones, leaders or registrations), in JSON or iCalendar."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import AppHarness
from tests.support.programme_rows import ProgrammeRows
from tierslieu.booking.calendar import parse_feed
from tierslieu.db.types import utcnow

PERSONAL = ("Alice", "alice@", "Jeanne", "06 12", "Durand", "Sophie", "sophie@")


def _agenda(api: AppHarness) -> dict[str, int]:
    now = utcnow().replace(microsecond=0)
    with api.runtime.db.session(write=True) as session:
        rows = ProgrammeRows(session)
        room = rows.room("Grande salle")
        leader = rows.member("Sophie Animatrice", "sophie@trilport.test")
        seniors = rows.workshop(
            "Tablette pour les seniors", ["Maîtrise des outils numériques du quotidien"], ["seniors"]
        )
        seniors.leader_id = leader.id
        open_session = rows.session_of(seniors, room, now + timedelta(days=2), now + timedelta(days=2, hours=2))
        open_session.leader_id = leader.id
        rows.register(open_session, member=rows.member("Alice Martin", "alice@trilport.test"))
        person = rows.person("Jeanne Petit", email="jeanne@trilport.test", birth_year=1948)
        person.phone = "06 12 34 56 78"
        rows.register(open_session, person=person)
        rows.register(open_session, group=rows.group("M. Durand", "École", 3, "scolaires", "6-10"))
        full = rows.session_of(seniors, room, now + timedelta(days=3), now + timedelta(days=3, hours=2), capacity=1)
        rows.register(full, member=rows.member("Alice Martin", "alice2@trilport.test"))
        rows.session_of(seniors, room, now + timedelta(days=4), now + timedelta(days=4, hours=1), public=False)
        rows.session_of(seniors, room, now + timedelta(days=5), now + timedelta(days=5, hours=1), status="cancelled")
        rows.session_of(seniors, room, now - timedelta(days=1), now - timedelta(days=1) + timedelta(hours=1))
        session.commit()
        assert open_session.id is not None and full.id is not None
        return {"open": open_session.id, "full": full.id}


def test_public_sessions_without_login_and_without_personal_data(api: AppHarness) -> None:
    ids = _agenda(api)
    response = api.client.get("/api/v1/public/sessions")  # no token
    assert response.status_code == 200, response.text
    items = response.json()
    assert [i["id"] for i in items] == [ids["open"], ids["full"]]  # private, cancelled and past ones left out
    first = items[0]
    assert set(first) == {
        "id", "workshop_id", "title", "description", "themes", "publics", "start", "end", "place", "capacity",
        "seats_left",
    }  # fmt: skip
    assert (first["title"], first["place"], first["capacity"], first["seats_left"]) == (
        "Tablette pour les seniors",
        "Grande salle",
        12,
        7,  # 12 − Alice − Jeanne − a group of 3
    )
    assert items[1]["seats_left"] == 0
    for word in PERSONAL:
        assert word not in response.text
    available = api.client.get("/api/v1/public/sessions", params={"available": "true"}).json()
    assert [i["id"] for i in available] == [ids["open"]]
    assert response.headers["cache-control"] == "public, max-age=300"


def test_public_feed_is_an_icalendar_without_personal_data(api: AppHarness) -> None:
    ids = _agenda(api)
    response = api.client.get("/api/v1/public/sessions.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    events = parse_feed(response.content)
    assert [str(e["uid"]) for e in events] == [f"session-{ids['open']}@tierslieu", f"session-{ids['full']}@tierslieu"]
    assert str(events[0]["summary"]) == "Tablette pour les seniors" and str(events[0]["location"]) == "Grande salle"
    text = response.content.decode()
    for word in PERSONAL:
        assert word not in text
    assert "X-WR-CALNAME:Agenda des ateliers" in text


def test_bad_period_is_a_clear_422(api: AppHarness) -> None:
    for period in ({"from": "2030-05-02", "to": "2030-05-01"}, {"from": "0001-01-01", "to": "0001-01-02"}):
        response = api.client.get("/api/v1/public/sessions", params=period)
        assert response.status_code == 422 and response.json()["code"] == "invalid_period"
    assert response.json()["detail"].startswith("Période invalide : du 1er janvier 1 au 2 janvier 1")


def test_agenda_page_without_login(api: AppHarness) -> None:
    _agenda(api)
    response = api.client.get("/agenda")
    assert response.status_code == 200
    html = response.text
    assert "<h1>Agenda des ateliers</h1>" in html and "Tablette pour les seniors" in html
    assert "7 places restantes" in html and "Complet : liste d&#39;attente" in html
    assert 'href="/api/v1/public/sessions.ics"' in html
    for word in PERSONAL:
        assert word not in html
    kiosk = api.client.get("/agenda", params={"ecran": "1"})
    assert kiosk.headers["refresh"] == "60" and "sessions.ics" not in kiosk.text
    english = api.client.get("/agenda", headers={"Accept-Language": "en"})
    assert "<h1>Workshop agenda</h1>" in english.text and "7 seats left" in english.text
