"""The inclusion report as one CSV table (``;``-separated, as French spreadsheets expect).

Cells that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) are prefixed with ``'``: a workshop title or a place typed by staff
must never run as a formula on the town's computers (CSV injection).
"""

from __future__ import annotations

import csv
import io

from tierslieu.programme.inclusion_report import Breakdown, InclusionReport

__all__ = ["COLUMNS", "inclusion_csv", "safe_cell"]

COLUMNS = (
    "section",
    "cle",
    "seances",
    "heures",
    "presents",
    "places_confirmees",
    "presents_inscrits",
    "taux_presence",
    "personnes",
    "type",
    "duree_minutes",
    "thematiques",
    "publics",
    "orientation",
    "lieu",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _rate(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.4f}"


def _row(**cells: object) -> list[str]:
    return [safe_cell(cells.get(column, "")) for column in COLUMNS]


def _breakdown(section: str, b: Breakdown) -> list[str]:
    return _row(
        section=section,
        cle=b.key,
        seances=b.sessions,
        heures=f"{b.hours:.2f}",
        presents=b.present,
        places_confirmees=b.seats_confirmed,
        presents_inscrits=b.registered_present,
        taux_presence=_rate(b.attendance_rate),
    )


def inclusion_csv(report: InclusionReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerow(
        _row(
            section="total",
            cle=f"{report.first.isoformat()}/{report.last.isoformat()}",
            seances=report.sessions_held,
            heures=f"{report.session_hours:.2f}",
            presents=report.present,
            places_confirmees=report.seats_confirmed,
            presents_inscrits=report.registered_present,
            taux_presence=_rate(report.attendance_rate),
            personnes=report.people_reached,
        )
    )
    indicators = {
        "personnes_touchees": report.people_reached,
        "premiere_visite": report.first_time,
        "deja_venues": report.returning,
        "effectifs_groupes": report.group_heads,
        "venus_sans_inscription": report.walk_ins,
        "seances_tenues": report.sessions_held,
        "rendez_vous_tenus": report.appointments_held,
        "heures_accompagnement": f"{report.hours:.2f}",
        "absents": report.absent,
        "non_venus": report.no_shows,
    }
    for key, value in indicators.items():
        writer.writerow(_row(section="indicateur", cle=key, personnes=value))
    sections = (
        ("thematique", report.by_theme),
        ("public", report.by_public),
        ("tranche_age", report.by_age_band),
        ("lieu", report.by_place),
        ("mois", report.by_month),
    )
    for section, lines in sections:
        for line in lines:
            writer.writerow(_breakdown(section, line))
    for a in report.activities:
        writer.writerow(
            _row(
                section="activite",
                cle=a.date.isoformat(),
                personnes=a.people,
                type=a.kind,
                duree_minutes=a.duration_minutes,
                thematiques="|".join(a.themes),
                publics="|".join(a.publics),
                orientation="|".join(a.referred_to),
                lieu=a.place,
            )
        )
    return out.getvalue()
