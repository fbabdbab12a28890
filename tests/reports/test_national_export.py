"""The national export: Trilport's site file and programme in the national standard of
digital-mediation places, validated by ``frictionless`` against the schema kept in the project;
opening hours in OpenStreetMap syntax."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from frictionless import Resource, Schema

from tests.conftest import AppHarness
from tests.support.programme_rows import ProgrammeRows
from tests.support.site import load_trilport
from tierslieu.db.types import utcnow
from tierslieu.programme.national_export import SCHEMA_PATH
from tierslieu.site.opening_hours import osm_opening_hours

EXPORT = "/api/v1/export/lieux-mediation-numerique"


def _validate(csv_text: str, folder: Path) -> list[list[str]]:
    """Frictionless's verdict on the CSV against the schema copy: the list of errors."""
    (folder / "lieux.csv").write_text(csv_text, encoding="utf-8")
    schema = Schema.from_descriptor(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    report = Resource(path="lieux.csv", basepath=str(folder), schema=schema).validate()
    errors: list[list[str]] = report.flatten(["type", "fieldName", "message"])
    return errors


def _programme(api: AppHarness) -> None:
    with api.runtime.db.session(write=True) as session:
        rows = ProgrammeRows(session)
        room = rows.room()
        rows.workshop("Tablette pour les seniors", ["Maîtrise des outils numériques du quotidien"], ["seniors"])
        rows.workshop("Un objet imprimé en 3D", ["Loisirs et créations numériques"], ["scolaires", "centre_de_loisirs"])
        rows.workshop("Sécuriser ses comptes", ["Utilisation sécurisée du numérique"], ["habitants"])
        advisor, start = rows.member("Sophie Conseillère"), utcnow() + timedelta(days=3)
        rows.appointment(advisor, room, start, start + timedelta(minutes=45), person=rows.person("Léon"))
        session.commit()


def test_trilport_exports_one_row_that_validates(api: AppHarness, tmp_path: Path) -> None:
    load_trilport(api.runtime, always_open=None)  # the real opening hours
    _programme(api)
    response = api.client.get(EXPORT, params={"format": "csv"})  # public: no token
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert _validate(response.text, tmp_path) == []
    (row,) = list(csv.DictReader(io.StringIO(response.text)))
    assert (row["nom"], row["pivot"], row["commune"], row["code_postal"], row["code_insee"]) == (
        "Tiers-lieu de Trilport",
        "21770475900014",
        "Trilport",
        "77470",
        "77475",
    )
    assert row["horaires"] == "Mo-Fr 08:30-19:00; Sa 09:00-13:00; PH off"
    assert row["services"] == (
        "Maîtrise des outils numériques du quotidien|Utilisation sécurisée du numérique|"
        "Loisirs et créations numériques|Accès internet et matériel informatique"
    )
    assert row["publics_specifiquement_adresses"] == "Jeunes|Seniors"
    assert row["modalites_accompagnement"] == "En autonomie|Accompagnement individuel|Dans un atelier collectif"
    assert row["telephone"] == "+33160097810" and row["frais_a_charge"] == "Gratuit"
    assert row["date_maj"] == utcnow().astimezone(api.runtime.settings.tz).date().isoformat()
    as_json = api.client.get(EXPORT, params={"format": "json"}).json()
    assert len(as_json) == 1 and as_json[0]["horaires"] == row["horaires"] and as_json[0]["latitude"] == 48.9576


def test_a_bad_row_does_not_validate(api: AppHarness, tmp_path: Path) -> None:
    """The check has teeth: the same export with a malformed phone number is refused."""
    load_trilport(api.runtime, always_open=None)
    text = api.client.get(EXPORT).text.replace("+33160097810", "01 60 09 78 10")
    errors = _validate(text, tmp_path)
    assert [(kind, field) for kind, field, _message in errors] == [("constraint-error", "telephone")]


def test_a_site_without_public_description_still_loads_and_says_what_is_missing(
    api: AppHarness, tmp_path: Path
) -> None:
    from tierslieu.site import load_site, parse_site_text

    site, problems = parse_site_text("site: {name: Petit lieu}\nspaces: [{name: Salle, kind: building}]\n")
    assert site is not None, problems
    with api.runtime.db.session(write=True) as session:
        load_site(session, api.runtime.secrets, site)
        session.commit()
    text = api.client.get(EXPORT).text
    errors = _validate(text, tmp_path)
    missing = sorted(field for kind, field, _ in errors if kind == "constraint-error")
    assert missing == ["adresse", "code_postal", "commune", "pivot"]  # required, not described yet
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["horaires"] == "24/7" or row["horaires"].endswith("PH off")


@pytest.mark.parametrize(
    ("hours", "holidays", "expected"),
    [
        ({d: ["08:30-19:00"] for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": ["09:00-13:00"]}, True,
         "Mo-Fr 08:30-19:00; Sa 09:00-13:00; PH off"),
        ({"mon": ["14:00-18:00", "09:00-12:00"], "tue": ["09:00-12:00", "14:00-18:00"], "thu": ["09:00-12:00"]},
         False, "Mo-Tu 09:00-12:00,14:00-18:00; Th 09:00-12:00"),
        ({d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}, False, "24/7"),
        ({d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}, True,
         "Mo-Su 00:00-24:00; PH off"),
        ({"sun": ["10:00-12:00"]}, False, "Su 10:00-12:00"),
        ({}, False, "closed"),
    ],
)  # fmt: skip
def test_osm_opening_hours(hours: dict[str, list[str]], holidays: bool, expected: str) -> None:
    assert osm_opening_hours(hours, public_holidays_closed=holidays) == expected
