"""Job and printer reasons are stored in French; the API answers in English on request."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import AppHarness
from tests.printing.support import FabLab, gcode, make_fablab, trained_user
from tierslieu.models import Printer
from tierslieu.printing.reasons import _TEXTS, Reason, describe, recognise, translate

PARIS = ZoneInfo("Europe/Paris")
NOON_UTC = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)

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


def test_every_code_is_sampled_and_has_two_languages() -> None:
    assert {r.code for r in SAMPLES} == set(_TEXTS)
    for reason in SAMPLES:
        assert describe(reason, PARIS, "fr") != describe(reason, PARIS, "en")


@pytest.mark.parametrize("reason", SAMPLES, ids=lambda r: f"{r.code}-{bool(r.detail)}")
def test_stored_french_comes_back_in_english(reason: Reason) -> None:
    french, english = describe(reason, PARIS, "fr"), describe(reason, PARIS, "en")
    assert translate(french, "en", reason.code) == english
    assert translate(french, "fr", reason.code) == french
    # Printers store no code: the sentence alone says which one it is.
    assert translate(french, "en") == english
    found = recognise(french)
    assert found is not None and found.code == reason.code


def test_values_are_carried_over() -> None:
    late = describe(Reason("does_not_fit", until=NOON_UTC), PARIS, "fr")
    assert "13:00" in late  # local time, Paris in winter
    assert translate(late, "en", "does_not_fit").startswith("The estimated print would not finish before 13:00 ")
    copy = describe(Reason("next_copy", extra={"copy": 2, "copies": 3}), PARIS)
    assert translate(copy, "en", "next_copy") == "Copy 2 of 3: it starts once the bed has been cleared."


@pytest.mark.parametrize(
    ("stored", "code"),
    [
        ("Une phrase écrite à la main.", ""),
        ("Une phrase écrite à la main.", "printer_busy"),
        ("L'imprimante est occupée par une autre", "printer_busy"),  # cut short
        ("Texte inconnu", "code_from_the_future"),
        ("", "printer_busy"),
    ],
)
def test_unknown_or_damaged_sentences_stay_as_stored(stored: str, code: str) -> None:
    assert translate(stored, "en", code) == stored


def test_an_earlier_wording_is_still_understood() -> None:
    assert translate("Clé d'API OctoPrint non renseignée.", "en") == "This printer's OctoPrint API key is not set."


@given(detail=st.text(min_size=1, max_size=300))
def test_any_octoprint_words_survive_the_round_trip(detail: str) -> None:
    for code in ("printer_error", "print_failed", "printer_offline", "cancelled_by"):
        reason = Reason(code, detail)
        assert translate(describe(reason, PARIS), "en", code) == describe(reason, PARIS, "en")


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
    stored = describe(Reason("printer_unreachable", "All connection attempts failed"), PARIS)
    with api.runtime.db.session(write=True) as session:
        row = session.get(Printer, lab.printer_id)
        assert row is not None
        row.state, row.state_reason = "offline", stored
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
    assert (french["state_reason"], french["state_reason_code"]) == (stored, "printer_unreachable")
    listed = api.client.get("/api/v1/printers", headers={**member, **EN}).json()
    assert [p["state_reason"] for p in listed] == [english["state_reason"]]
