"""The inclusion report on a hand-built programme, on SQLite and PostgreSQL: every figure
checked by hand, breakdowns that add up, the same answer after the retention purge reduced old
attendance lists to counts, and a CSV that spreadsheets cannot be tricked by."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from tests.conftest import AppHarness
from tests.support.programme_rows import ProgrammeRows
from tierslieu.models import Attendance, WorkshopSession
from tierslieu.programme import activity
from tierslieu.programme.attendance import compute_tally
from tierslieu.programme.report_csv import safe_cell
from tierslieu.programme.retention import purge_attendance

TZ = ZoneInfo("Europe/Paris")
OUTILS = "Maîtrise des outils numériques du quotidien"
LOISIRS = "Loisirs et créations numériques"
MONDE = "Compréhension du monde numérique"
DEMARCHES = "Aide aux démarches administratives"
INJECTED_PLACE = '=HYPERLINK("http://x.test";"Conteneur")'
PERIOD = {"from": "2025-03-01", "to": "2025-04-30"}


def local(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=TZ).astimezone(UTC)


def _programme(api: AppHarness) -> None:
    with api.runtime.db.session(write=True) as session:
        rows = ProgrammeRows(session)
        salle, conteneur = rows.room("Grande salle"), rows.room(INJECTED_PLACE)
        seniors = rows.workshop("Tablette pour les seniors", [OUTILS], ["seniors"])
        fablab = rows.workshop("Un objet imprimé en 3D", [LOISIRS, MONDE], ["scolaires"], capacity=30)
        alice = rows.member("Alice Martin")
        jeanne = rows.person("Jeanne Petit", birth_year=1950)
        marc = rows.person("Marc Roy", birth_year=1990)
        advisor = rows.member("Sophie Conseillère")
        # Before the period: Alice came once already (so she is "returning").
        s0 = rows.session_of(seniors, salle, local("2025-02-10", "14:00"), local("2025-02-10", "15:30"))
        rows.attend(rows.register(s0, member=alice))
        # 4 March: Alice and Jeanne come, Marc does not, an anonymous walk-in joins.
        s1 = rows.session_of(seniors, salle, local("2025-03-04", "14:00"), local("2025-03-04", "15:30"))
        rows.attend(rows.register(s1, member=alice))
        rows.attend(rows.register(s1, person=jeanne))
        rows.attend(rows.register(s1, person=marc), present=False)
        rows.walk_in(s1, public="habitants", age_band="60-69")
        # 11 March: Alice and Jeanne again (not new people).
        s2 = rows.session_of(seniors, salle, local("2025-03-11", "14:00"), local("2025-03-11", "15:30"))
        rows.attend(rows.register(s2, member=alice))
        rows.attend(rows.register(s2, person=jeanne))
        # 8 April: a class of 28 at the FabLab (counted by head, apart).
        s3 = rows.session_of(fablab, conteneur, local("2025-04-08", "09:00"), local("2025-04-08", "11:00"))
        classe = rows.register(s3, group=rows.group("M. Durand", "Collège Jean-Jaurès", 28, "scolaires", "11-14"))
        rows.attend(classe)
        rows.attend(rows.register(s3, person=jeanne))  # Jeanne again: still one person, after the purge too
        # Cancelled: not held, not counted.
        rows.session_of(seniors, salle, local("2025-03-18", "14:00"), local("2025-03-18", "15:30"), status="cancelled")
        # 20 March: Marc's appointment with the advisor, done, sent on to France Services.
        appointment = rows.appointment(
            advisor, conteneur, local("2025-03-20", "10:00"), local("2025-03-20", "10:45"), person=marc
        )
        appointment.status = "done"
        rows.report(appointment.start, kind="individual", minutes=45, themes=[DEMARCHES], publics=["habitants"],
                    appointment=appointment, room=conteneur, referred_to=["France Services"])  # fmt: skip
        for ws in (s0, s1, s2, s3):  # what the roll-call does: the session's collective report
            activity.refresh_session_report(session, ws, compute_tally(session, ws))
        session.commit()


def report_ids(session: Session) -> dict[str, int]:
    april = session.exec(select(WorkshopSession.id).where(col(WorkshopSession.start) > local("2025-04-01", "00:00")))
    return {"april": int(april.one() or 0)}


def _report(api: AppHarness, **extra: str) -> Any:
    response = api.client.get(
        "/api/v1/reports/inclusion", params={**PERIOD, **extra}, headers=api.users["staff"].headers
    )
    assert response.status_code == 200, response.text
    return response


def _by_key(lines: list[dict[str, Any]]) -> dict[str, tuple[int, float, int]]:
    return {line["key"]: (line["sessions"], line["hours"], line["present"]) for line in lines}


def test_report_adds_up_and_survives_the_purge(api_any_db: AppHarness) -> None:
    api = api_any_db
    _programme(api)
    report = _report(api).json()
    expected_totals = {
        "people_reached": 3,  # Alice, Jeanne, Marc — each once
        "first_time": 2,  # Jeanne and Marc
        "returning": 1,  # Alice came in February
        "group_heads": 28,
        "walk_ins": 1,
        "sessions_held": 3,
        "appointments_held": 1,
        "session_hours": 5.0,
        "appointment_hours": 0.75,
        "hours": 5.75,
        "present": 34,
        "absent": 1,
        "no_shows": 1,
        "seats_confirmed": 34,
        "registered_present": 33,
        "attendance_rate": round(33 / 34, 4),
    }
    assert {k: report[k] for k in expected_totals} == expected_totals
    assert _by_key(report["by_theme"]) == {OUTILS: (2, 3.0, 5), LOISIRS: (1, 2.0, 29), MONDE: (1, 2.0, 29)}
    assert _by_key(report["by_place"]) == {"Grande salle": (2, 3.0, 5), INJECTED_PLACE: (1, 2.0, 29)}
    assert _by_key(report["by_month"]) == {"2025-03": (2, 3.0, 5), "2025-04": (1, 2.0, 29)}
    assert {b["key"]: b["present"] for b in report["by_public"]} == {"habitants": 1, "scolaires": 29, "seniors": 4}
    ages = {b["key"]: b["present"] for b in report["by_age_band"]}
    assert ages == {"11-14": 28, "60-69": 1, "70+": 3, "non_renseigne": 2}
    # Breakdowns of people add up to the people present; places and months to everything.
    for section in ("by_public", "by_age_band", "by_place", "by_month"):
        assert sum(b["present"] for b in report[section]) == report["present"], section
    assert sum(b["sessions"] for b in report["by_month"]) == report["sessions_held"]
    kinds = [(a["kind"], a["duration_minutes"], a["people"], a["referred_to"]) for a in report["activities"]]
    assert kinds == [
        ("collective", 90, 3, []),
        ("collective", 90, 2, []),
        ("individual", 45, 1, ["France Services"]),
        ("collective", 120, 29, []),
    ]
    assert "Alice" not in _report(api).text and "Jeanne" not in _report(api).text  # counts, never names

    # A year later the retention purge (12 months) reduces February's and March's lists to counts.
    with api.runtime.db.session(write=True) as session:
        purged = purge_attendance(session, now=local("2026-03-31", "12:00"), months=12)
        session.commit()
    assert len(purged) == 4  # February, the two March sessions, the cancelled one
    with api.runtime.db.session() as session:
        assert session.exec(select(Attendance)).all() != []  # April's list is still there
        assert {a.session_id for a in session.exec(select(Attendance)).all()} == {report_ids(session)["april"]}
    after = _report(api).json()
    assert after == report
    assert _report(api, format="csv").content == _report(api, format="csv").content


def test_csv_is_one_table_with_formulas_neutralised(api: AppHarness) -> None:
    _programme(api)
    response = _report(api, format="csv")
    assert response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    places = {r["cle"]: r for r in rows if r["section"] == "lieu"}
    assert set(places) == {"Grande salle", "'" + INJECTED_PLACE}
    assert places["Grande salle"]["presents"] == "5" and places["Grande salle"]["taux_presence"] == "0.8000"
    indicators = {r["cle"]: r["personnes"] for r in rows if r["section"] == "indicateur"}
    assert indicators["personnes_touchees"] == "3" and indicators["heures_accompagnement"] == "5.75"
    activity = next(r for r in rows if r["section"] == "activite" and r["type"] == "individual")
    assert (activity["orientation"], activity["lieu"]) == ("France Services", "'" + INJECTED_PLACE)
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values() if cell)


@pytest.mark.parametrize(
    ("value", "safe"),
    [("=1+1", "'=1+1"), ("+33 1 23", "'+33 1 23"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("Salle", "Salle"),
     ("\tx", "'\tx"), (12, "12"), (None, "")],
)  # fmt: skip
def test_safe_cell(value: object, safe: str) -> None:
    assert safe_cell(value) == safe


def test_only_report_readers(api: AppHarness) -> None:
    for role, status in [("municipal", 200), ("animator", 200), ("member", 403), ("partner", 403)]:
        response = api.client.get("/api/v1/reports/inclusion", headers=api.users[role].headers)
        assert response.status_code == status, role
    bad = api.client.get("/api/v1/reports/inclusion", params={"from": "2025-05-01", "to": "2025-04-01"},
                         headers=api.users["staff"].headers)  # fmt: skip
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_period"
    ancient = api.client.get("/api/v1/reports/inclusion", params={"from": "0001-01-01", "to": "0001-01-05"},
                             headers=api.users["staff"].headers)  # fmt: skip
    assert ancient.status_code == 422


def test_report_page_shows_the_same_figures(api: AppHarness) -> None:
    _programme(api)
    headers = api.users["municipal"].headers
    response = api.client.get("/rapports/inclusion", params={"du": "2025-03-01", "au": "2025-04-30"}, headers=headers)
    assert response.status_code == 200, response.text
    html = response.text
    assert "<h1>Bilan du programme</h1>" in html
    assert "<dt>Personnes touchées (personnes inscrites et membres)</dt><dd>3 — " in html
    assert "<dt>Heures d&#39;accompagnement</dt><dd>5.75 h</dd>" in html
    assert "France Services" in html and "<td>Individuel</td>" in html
    assert "Alice" not in html and "Jeanne" not in html
    wrong = api.client.get("/rapports/inclusion", params={"du": "2025-05-01", "au": "2025-04-01"}, headers=headers)
    assert wrong.status_code == 422 and "Période invalide" in wrong.text and 'id="erreur-periode"' in wrong.text
    assert api.client.get("/rapports/inclusion", headers=api.users["member"].headers).status_code == 403
