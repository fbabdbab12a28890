"""Rendering codes: placeholders, Babel's dates and times in the site's timezone, the choice of
language, and the domain errors that carry a code and parameters."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tierslieu.errors import Conflict, NotFound
from tierslieu.i18n import Message, MessageFormatter, format_duration, pick_language, render, supported

PARIS = ZoneInfo("Europe/Paris")
MAY_DAY = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)  # 10:00 in Paris (summer time)


@pytest.mark.parametrize(
    ("spec", "french", "english"),
    [
        ("time", "10:00", "10:00"),
        ("date", "1er mai 2026", "May 1, 2026"),
        ("daymonth", "1er mai", "May 1"),
        ("day", "vendredi 1er mai", "Friday May 1"),
        ("fullday", "vendredi 1er mai 2026", "Friday May 1, 2026"),
        ("weekday", "vendredi", "Friday"),
        ("datetime", "vendredi 1er mai 2026 à 10:00", "Friday May 1, 2026 at 10:00"),
    ],
)
def test_moment_specs_in_the_site_timezone(spec: str, french: str, english: str) -> None:
    template = "{m:" + spec + "}"
    assert MessageFormatter("fr", PARIS).format(template, m=MAY_DAY) == french
    assert MessageFormatter("en", PARIS).format(template, m=MAY_DAY) == english


def test_days_other_than_the_first_have_no_ordinal_and_winter_time_applies() -> None:
    winter = datetime(2026, 12, 14, 8, 0, tzinfo=UTC)
    assert MessageFormatter("fr", PARIS).format("{m:day} {m:time}", m=winter) == "lundi 14 décembre 09:00"


def test_dates_iso_strings_and_naive_datetimes() -> None:
    french = MessageFormatter("fr", PARIS)
    assert french.format("{d:date}", d=date(2026, 7, 14)) == "14 juillet 2026"
    assert french.format("{d:day}", d="2026-07-14") == "mardi 14 juillet"  # read back from JSON
    assert french.format("{m:time}", m="2026-07-14T08:00:00+00:00") == "10:00"
    assert french.format("{m:time}", m=datetime(2026, 7, 14, 8, 0)) == "10:00"  # naive = UTC
    with pytest.raises(ValueError, match="needs a datetime"):
        french.format("{d:time}", d=date(2026, 7, 14))


@pytest.mark.parametrize(
    ("minutes", "french", "english"),
    [(45, "45 min", "45 min"), (120, "2 h", "2 h"), (90, "1 h 30", "1 h 30 min"), (65, "1 h 05", "1 h 5 min")],
)
def test_durations(minutes: int, french: str, english: str) -> None:
    assert format_duration(minutes, "fr") == french
    assert format_duration(minutes, "en") == english
    assert MessageFormatter("en", PARIS).format("{n:duration}", n=minutes) == english


def test_roles_and_nested_messages() -> None:
    assert MessageFormatter("fr").format("{r:roles}", r=["animator", "member"]) == "animateurs, adhérents"
    assert MessageFormatter("en").format("{r:roles}", r=[]) == "nobody"
    assert MessageFormatter("en").format("({m})", m=Message("forbidden")) == "(Forbidden.)"


def test_render_picks_the_language_and_falls_back_to_french() -> None:
    assert render("forbidden", {}, "fr") == "Accès refusé."
    assert render("forbidden", None, "en-GB") == "Forbidden."
    assert render("forbidden", {}, "de") == "Accès refusé."
    fields = {"where": "start", "msg": "bad"}
    assert render("validation_error", fields, "en") == "Invalid request: start: bad"


def test_an_unknown_code_renders_as_itself_and_a_missing_parameter_leaves_the_template() -> None:
    assert render("no_such_code_anywhere", {}, "fr") == "no_such_code_anywhere"
    assert render("validation_error", {}, "en") == "Invalid request: {where}: {msg}"


def test_language_choice() -> None:
    assert pick_language("en-GB,en;q=0.9,fr;q=0.8") == "en"
    assert pick_language("de-DE, fr;q=0.5, en;q=0.4") == "fr"
    assert pick_language(None) == "fr"
    assert pick_language("de") == "fr"
    assert supported("EN") == "en" and supported(None) == "fr"


def test_errors_carry_a_code_and_parameters_rendered_through_the_catalogue() -> None:
    error = Conflict("validation_error", where="start", msg="bad")
    assert (error.code, error.params, error.status) == ("validation_error", {"where": "start", "msg": "bad"}, 409)
    assert error.message("en") == "Invalid request: start: bad"
    assert error.message("fr") == "Requête invalide : le champ « start » est incorrect (bad)."
    assert str(error) == "Invalid request: start: bad"
    assert NotFound("not_found", extra={"id": 3}).extra == {"id": 3}


def test_one_code_may_have_several_sentences() -> None:
    error = Conflict("invalid_transition", msgid="invalid_transition.reject", status="confirmée")
    assert error.code == "invalid_transition"
    assert error.message("fr") == "Impossible de refuser cette réservation : elle est « confirmée »."
