"""Job, run and printer reasons are stored as a code and JSON parameters and put into words from
the catalogue in the reader's language; the sentences older versions stored are read once, by
the 0013 migration."""

from __future__ import annotations

import importlib.util
import json
import string
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic import command
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import AppHarness
from tests.printing.support import FabLab, gcode, make_fablab, trained_user
from tierslieu.db.engine import Database
from tierslieu.i18n.catalogue import read_catalog
from tierslieu.migrations import alembic_config, current_revisions, upgrade_database
from tierslieu.models import Printer
from tierslieu.printing.reasons import WITH_DETAIL, Reason, describe

PARIS = ZoneInfo("Europe/Paris")
NOON_UTC = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
MIGRATION = Path(__file__).resolve().parents[2] / "tierslieu/migrations/versions/0013_i18n.py"

# Every code, with the values its sentence carries.
SAMPLES = [
    Reason("no_active_booking"),
    Reason("booking_not_active"),
    Reason("fablab_closed"),
    Reason("does_not_fit", until=NOON_UTC),
    Reason("behind_other_job"),
    Reason("next_copy", extra={"copy": 2, "copies": 3}),
    Reason("bed_not_clear"),
    Reason("printer_busy"),
    Reason("printer_offline", "Printer is not operational"),
    Reason("printer_offline"),
    Reason("printer_unreachable", "All connection attempts failed"),
    Reason("printer_error", "Thermal Runaway (E1), system stopped!"),
    Reason("octoprint_auth"),
    Reason("octoprint_garbled", "expected a JSON object, got list"),
    Reason("no_api_key"),
    Reason("not_started"),
    Reason("file_missing"),
    Reason("print_failed", "error"),
    Reason("print_failed"),
    Reason("print_interrupted"),
    Reason("print_lost"),
    Reason("paused"),
    Reason("cancelled_by", "Jeanne Dupont (animatrice)"),
]


def _say(reason: Reason, language: str) -> str:
    return describe(reason.code, reason.params(PARIS), language)


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("migration_0013", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_code_is_sampled_and_has_two_languages() -> None:
    ids = [m.id for m in read_catalog("fr") if isinstance(m.id, str)]
    catalogued = {msgid.split(".")[1] for msgid in ids if msgid.startswith("print_reason.")}
    assert {r.code for r in SAMPLES} == catalogued - {"former_text"}
    for reason in SAMPLES:
        assert _say(reason, "fr") != _say(reason, "en")
    assert describe("", {}, "en") == ""


def test_parameters_are_json_and_times_local() -> None:
    late = Reason("does_not_fit", until=NOON_UTC).params(PARIS)
    assert late == {"until": "2025-03-14T13:00:00+01:00"}
    assert "13:00" in describe("does_not_fit", late, "fr")  # Paris in winter
    assert describe("does_not_fit", late, "en").startswith("The estimated print would not finish before 13:00 ")
    copy = Reason("next_copy", extra={"copy": 2, "copies": 3}).params(PARIS)
    assert describe("next_copy", copy, "en") == "Copy 2 of 3: it starts once the bed has been cleared."
    assert describe("printer_error", {}, "en") == "The printer reports an error"
    assert describe("printer_error", {"detail": "E1"}, "en") == "The printer reports an error (E1)"


def _old_sentences() -> list[tuple[str, str]]:
    """What older versions stored: each French template filled with sample values."""
    values = {"until": "13:00", "copy": "2", "copies": "3", "detail": "Jeanne (animatrice)"}
    stored = []
    for code, (template, detail_suffix) in _migration()._FRENCH.items():
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        sentence = template.format(**{name: values[name] for name in names})
        stored.append((code, sentence))
        if detail_suffix:
            stored.append((code, f"{sentence} (Heater decoupled)"))
    return stored


@pytest.mark.parametrize(("code", "sentence"), _old_sentences())
def test_the_migration_reads_every_stored_sentence_back_to_the_same_french(code: str, sentence: str) -> None:
    read_sentence = _migration().read_sentence
    for known in (code, ""):  # printers stored no code: the sentence alone says which one it is
        found_code, params = read_sentence(sentence, known)
        assert found_code == code
        assert describe(found_code, params, "fr") == sentence
        assert describe(found_code, params, "en") != sentence


@pytest.mark.parametrize(
    ("stored", "code", "expected"),
    [
        ("Une phrase écrite à la main.", "", ("former_text", {"detail": "Une phrase écrite à la main."})),
        ("L'imprimante est occupée par une autre", "printer_busy", ("printer_busy", {})),  # cut short
        ("Texte inconnu", "code_from_the_future", ("former_text", {"detail": "Texte inconnu"})),
        ("", "printer_busy", ("printer_busy", {})),
        ("Clé d'API OctoPrint non renseignée.", "", ("no_api_key", {})),  # an earlier wording
    ],
)
def test_the_migration_keeps_unreadable_sentences(stored: str, code: str, expected: tuple[str, dict[str, str]]) -> None:
    assert _migration().read_sentence(stored, code) == expected
    if expected[0] == "former_text":  # the words are shown as they were, in every language
        assert describe(*expected, "en") == describe(*expected, "fr") == stored


# "?" alone is what the old sentences printed for a missing detail, so it reads back as none.
@given(detail=st.text(min_size=1, max_size=300).filter(lambda text: text != "?"))
def test_any_octoprint_words_survive_the_migration(detail: str) -> None:
    read_sentence = _migration().read_sentence
    for code in sorted(WITH_DETAIL | {"cancelled_by"}):
        found_code, params = read_sentence(_say(Reason(code, detail), "fr"), code)
        assert describe(found_code, params, "en") == _say(Reason(code, detail), "en")


def test_the_migration_converts_stored_rows(db_url: str) -> None:
    command.downgrade(alembic_config(db_url), "0013_i18n-1")  # back to the sentences, then up again
    assert "0006_printer_mqtt" in current_revisions(db_url)
    db = Database(db_url)
    stored = "OctoPrint ne répond pas ; nouvel essai automatique. (All connection attempts failed)"
    with db.engine.begin() as conn:
        # Only the printing branch went down: the space is in a site (0012_sites stays applied).
        conn.execute(
            sa.text(
                "INSERT INTO site (slug, name, timezone, data, updated_at)"
                " VALUES ('fablab', 'FabLab', 'Europe/Paris', '{}', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO space (name, kind, description, rules, site_id)"
                " VALUES ('FabLab', 'fablab', '', '{}', (SELECT id FROM site))"
            )
        )
        space_id = conn.execute(sa.text("SELECT id FROM space")).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO resource (space_id, name, kind, rules, active) VALUES (:s, 'Prusa', 'printer', '{}', true)"
            ),
            {"s": space_id},
        )
        resource_id = conn.execute(sa.text("SELECT id FROM resource")).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO printer (name, resource_id, octoprint_url, api_key_encrypted, state, state_reason,"
                " bed_clear, temperatures) VALUES ('Prusa', :r, 'http://o', '', 'offline', :why, true, '{}')"
            ),
            {"r": resource_id, "why": stored},
        )
    db.dispose()
    upgrade_database(db_url)
    assert "0013_i18n" in current_revisions(db_url)
    db = Database(db_url)
    with db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT state_reason_code, state_reason_params FROM printer")).one()
    db.dispose()
    params = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    assert (row[0], params) == ("printer_unreachable", {"detail": "All connection attempts failed"})
    english = describe(row[0], params, "en")
    assert english == "OctoPrint does not answer; retrying automatically. (All connection attempts failed)"


# --- through the API -------------------------------------------------------------------------------

EN = {"Accept-Language": "en-GB,en;q=0.9"}


@pytest.fixture
def lab(api: AppHarness) -> FabLab:
    return make_fablab(api.runtime)


def test_job_reason_follows_accept_language(api: AppHarness, lab: FabLab) -> None:
    bob = trained_user(api.runtime)  # no booking: the job waits for one
    sent = api.client.post(
        "/api/v1/print-jobs",
        headers={**bob.headers, **EN},
        files={"file": ("cube.gcode", gcode(), "text/plain")},
        data={"printer_id": str(lab.printer_id)},
    )
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["reason_code"] == "no_active_booking"
    assert body["reason"].startswith("Waiting for a booking of this printer")
    url = f"/api/v1/print-jobs/{body['id']}"

    french = api.client.get(url, headers=bob.headers).json()
    assert french["reason"].startswith("En attente d'une réservation")
    assert api.client.get(url, headers={**bob.headers, "Accept-Language": "de, fr;q=0.5"}).json() == french
    listed = api.client.get("/api/v1/print-jobs", headers={**bob.headers, **EN}).json()
    assert [j["reason"] for j in listed] == [body["reason"]]

    cancelled = api.client.post(f"{url}/cancel", headers={**bob.headers, **EN}).json()
    name = bob.email.split("@")[0]
    assert (cancelled["reason_code"], cancelled["reason"]) == ("cancelled_by", f"Cancelled by {name}.")
    assert api.client.get(url, headers=bob.headers).json()["reason"] == f"Annulé par {name}."


def test_printer_state_reason_follows_accept_language(api: AppHarness, lab: FabLab) -> None:
    reason = Reason("printer_unreachable", "All connection attempts failed")
    with api.runtime.db.session(write=True) as session:
        row = session.get(Printer, lab.printer_id)
        assert row is not None
        row.state, row.state_reason_code, row.state_reason_params = "offline", reason.code, reason.params(PARIS)
        session.add(row)
        session.commit()
    url = f"/api/v1/printers/{lab.printer_id}"
    member = api.users["member"].headers

    english = api.client.get(url, headers={**member, **EN}).json()
    assert (
        english["state_reason"] == "OctoPrint does not answer; retrying automatically. (All connection attempts failed)"
    )
    assert english["state_reason_code"] == "printer_unreachable"
    french = api.client.get(url, headers=member).json()
    assert (
        french["state_reason"] == "OctoPrint ne répond pas ; nouvel essai automatique. (All connection attempts failed)"
    )
    assert french["state_reason_code"] == "printer_unreachable"
    listed = api.client.get("/api/v1/printers", headers={**member, **EN}).json()
    assert [p["state_reason"] for p in listed] == [english["state_reason"]]
