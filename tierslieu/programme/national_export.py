"""The place in France's national standard for digital-mediation places (LaMednum's
``standard-mediation-num`` v1.0.2, a copy in ``tierslieu/standards/``): one row per site,
built from the site file's public description, the opening hours of its buildings and the
themes and publics of the workshops it runs. Everything here is public information."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, select

from tierslieu.models import Appointment, Site, Workshop
from tierslieu.models.programme import NATIONAL_PUBLICS, Public
from tierslieu.programme.report_csv import safe_cell
from tierslieu.programme.workshops import workshops_at
from tierslieu.services.sites import SiteScope, site_opening_hours, site_timezone
from tierslieu.site.profile import (
    Access,
    Accompaniment,
    Fee,
    NationalProgramme,
    NationalPublic,
    PublicProfile,
    Service,
    SpecificSupport,
)

__all__ = ["FIELDS", "SCHEMA_PATH", "export_csv", "export_rows", "schema"]

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "standards" / "lieux-mediation-numerique.schema.json"
SOURCE = "tierslieu"
# Free text a spreadsheet could take for a formula is neutralised; the standard's coded fields
# (patterns: telephone "+33…", vocabularies) are left exactly as the standard wants them.
_FREE_TEXT = {"nom", "commune", "adresse", "complement_adresse", "presentation_resume", "presentation_detail",
              "structure_parente", "autres_formations_labels", "typologie"}  # fmt: skip


@cache
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


def _field_names() -> tuple[str, ...]:
    return tuple(f["name"] for f in schema()["fields"])


FIELDS = _field_names()


def _ordered(values: Iterable[str], vocabulary: Sequence[str]) -> str:
    wanted = set(values)
    return "|".join(v for v in vocabulary if v in wanted)


def _at_site(site_id: int | None) -> SiteScope:
    return SiteScope(frozenset({site_id} if site_id is not None else ()))


def _site_workshops(site_id: int | None) -> ColumnElement[bool]:
    """The site's workshops: held there, or not scheduled anywhere yet."""
    return workshops_at(_at_site(site_id))


def _programme(session: Session, site_id: int | None) -> tuple[set[str], set[str], bool, bool]:
    """Themes and national publics of the site's active workshops; whether the site has
    workshops and individual appointments."""
    themes: set[str] = set()
    publics: set[str] = set()
    workshops = session.exec(select(Workshop).where(col(Workshop.active).is_(True), _site_workshops(site_id))).all()
    for workshop in workshops:
        themes.update(workshop.themes)
        publics.update(
            NATIONAL_PUBLICS[Public(p)] for p in workshop.publics if p in set(Public) and Public(p) in NATIONAL_PUBLICS
        )
    appointments = session.exec(
        select(func.count()).select_from(Appointment).where(_at_site(site_id).where_resource(Appointment.resource_id))
    ).one()
    return themes, publics, bool(workshops), bool(appointments)


def _last_change(session: Session, profile: Site, tz: ZoneInfo) -> date:
    latest = session.exec(select(func.max(Workshop.created_at)).where(_site_workshops(profile.id))).one()
    moments: list[datetime] = [profile.updated_at, *([latest] if isinstance(latest, datetime) else [])]
    return max(m if m.tzinfo else m.replace(tzinfo=ZoneInfo("UTC")) for m in moments).astimezone(tz).date()


def _row(session: Session, profile: Site, tz: ZoneInfo) -> dict[str, Any]:
    data = dict(profile.data)
    info = PublicProfile.model_validate({k: v for k, v in data.items() if k in PublicProfile.model_fields})
    address = info.address
    themes, publics, collective, individual = _programme(session, profile.id)
    accompaniment = set(info.accompaniment)
    if collective:
        accompaniment.add("Dans un atelier collectif")
    if individual:
        accompaniment.add("Accompagnement individuel")
    row: dict[str, Any] = {
        "id": f"{SOURCE}-{profile.id}",
        "pivot": info.siret,
        "nom": profile.name,
        "commune": address.commune if address else None,
        "code_postal": address.postal_code if address else None,
        "code_insee": address.insee_code if address else None,
        "adresse": address.street if address else None,
        "complement_adresse": address.complement if address else None,
        "latitude": address.latitude if address else None,
        "longitude": address.longitude if address else None,
        "typologie": "|".join(info.typology) or None,
        "telephone": info.phone,
        "courriels": "|".join(info.emails) or None,
        "site_web": "|".join(info.websites) or None,
        "horaires": site_opening_hours(session, profile) or None,
        "presentation_resume": info.summary,
        "presentation_detail": info.presentation,
        "source": SOURCE,
        "itinerance": "Itinérant" if info.itinerant else "Fixe",
        "structure_parente": info.parent_structure,
        "date_maj": _last_change(session, profile, tz).isoformat(),
        "services": _ordered({*themes, *info.services}, get_args(Service)) or None,
        "publics_specifiquement_adresses": _ordered({*publics, *info.publics}, get_args(NationalPublic)) or None,
        "prise_en_charge_specifique": _ordered(info.specific_support, get_args(SpecificSupport)) or None,
        "frais_a_charge": _ordered(info.fees, get_args(Fee)) or None,
        "dispositif_programmes_nationaux": _ordered(info.national_programmes, get_args(NationalProgramme)) or None,
        "formations_labels": None,
        "autres_formations_labels": info.other_labels,
        "modalites_acces": _ordered(info.access, get_args(Access)) or None,
        "modalites_accompagnement": _ordered(accompaniment, get_args(Accompaniment)) or None,
        "fiche_acces_libre": info.accessibility_url,
        "prise_rdv": info.appointment_url,
    }
    return {name: row.get(name) for name in FIELDS}


def export_rows(session: Session, tz: ZoneInfo) -> list[dict[str, Any]]:
    """One row per site loaded (``tierslieu site load``), in the schema's field order; each
    site's themes, publics and dates from its own workshops, in its own timezone (``tz`` is
    the deployment's, for a site without one)."""
    profiles = session.exec(select(Site).order_by(col(Site.id))).all()
    return [_row(session, profile, site_timezone(profile) if profile.timezone else tz) for profile in profiles]


def export_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Comma-separated with a header, as the standard's example file; empty cells for nulls."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for row in rows:
        cells = []
        for name in FIELDS:
            value = row.get(name)
            text = "" if value is None else str(value)
            cells.append(safe_cell(text) if name in _FREE_TEXT else text)
        writer.writerow(cells)
    return out.getvalue()
