"""Import a checked site description idempotently: upsert by name, never delete what is not listed.

Loading the same file twice changes nothing; an edited file updates rows in place, so bookings,
which point at ids, are kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from tierslieu.db.types import utcnow
from tierslieu.models import Device, Resource, Site, Space
from tierslieu.security import Secrets
from tierslieu.services import devices as device_service
from tierslieu.services import printers as printer_service
from tierslieu.site.schema import ResourceSpec, SiteEntry, SiteFile, SpaceSpec, walk_spaces

Progress = Callable[[str], None]


@dataclass
class LoadReport:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def summary(self) -> str:
        kinds = sorted(set(self.created) | set(self.updated) | set(self.unchanged))
        parts = [
            f"{k}: {self.created[k]} created, {self.updated[k]} updated, {self.unchanged[k]} unchanged" for k in kinds
        ]
        return "; ".join(parts)


def _apply(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


def _upsert(session: Session, report: LoadReport, kind: str, model: Any, name: str, values: dict[str, Any]) -> Any:
    row = session.exec(select(model).where(model.name == name)).first()
    if row is None:
        row = model(name=name, **values)
        report.created[kind] += 1
    elif _apply(row, values):
        report.updated[kind] += 1
    else:
        report.unchanged[kind] += 1
        return row
    session.add(row)
    session.flush()
    return row


def _rules(spec: SpaceSpec | ResourceSpec) -> dict[str, Any]:
    return spec.rules.model_dump(mode="json", exclude_none=True)


def load_site(session: Session, secrets: Secrets, site: SiteFile, *, progress: Progress | None = None) -> LoadReport:
    """Upsert every site the file lists, with its spaces and devices, inside the caller's transaction."""
    report = LoadReport()
    say = progress or (lambda _msg: None)
    space_ids: dict[str, int] = {}
    for _prefix, entry in site.entries():
        say(f"site {entry.site.name}")
        site_id = _load_site_row(session, report, entry)
        _load_spaces(session, secrets, report, entry, site_id, space_ids, say)
    for _path, spec, _parent in site.walk():
        for device in spec.devices:
            say(f"appareil {device.name}")
            resource_id = None
            if device.resource is not None:
                found = device_service.resource_by_name(session, device.resource)
                resource_id = found.id if found else None
            _upsert(
                session,
                report,
                "device",
                Device,
                device.name,
                {
                    "kind": device.kind.value,
                    "bridge": device.bridge.value,
                    "address": device.address,
                    "space_id": space_ids[spec.name],
                    "resource_id": resource_id,
                    "options": dict(device.options),
                },
            )
    return report


def _load_spaces(
    session: Session,
    secrets: Secrets,
    report: LoadReport,
    entry: SiteEntry,
    site_id: int,
    space_ids: dict[str, int],
    say: Progress,
) -> None:
    for _path, spec, parent in walk_spaces(entry.spaces):
        say(f"espace {spec.name}")
        row = _upsert(
            session,
            report,
            "space",
            Space,
            spec.name,
            {
                "kind": spec.kind.value,
                "site_id": site_id,
                "parent_id": space_ids[parent.name] if parent else None,
                "capacity": spec.capacity,
                "description": spec.description,
                "rules": _rules(spec),
            },
        )
        space_ids[spec.name] = row.id
        for resource in spec.resources:
            r_row = _upsert(
                session,
                report,
                "resource",
                Resource,
                resource.name,
                {
                    "kind": resource.kind.value,
                    "space_id": row.id,
                    "capacity": resource.capacity,
                    "rules": _rules(resource),
                },
            )
            if resource.printer is not None:
                _load_printer(session, secrets, report, resource, r_row.id)


def _load_printer(session: Session, secrets: Secrets, report: LoadReport, spec: ResourceSpec, resource_id: int) -> None:
    assert spec.printer is not None
    name = spec.name
    existing = printer_service.printer_for_resource(session, resource_id)
    api_key = spec.printer.resolved_api_key()
    url = printer_service.check_octoprint_url(spec.printer.octoprint_url)
    if (
        existing is not None
        and existing.octoprint_url == url
        and existing.name == name
        and (api_key is None or secrets.decrypt(existing.api_key_encrypted) == api_key)
        and existing.mqtt_base_topic == spec.printer.mqtt_base_topic
    ):
        report.unchanged["printer"] += 1
        return
    printer = printer_service.upsert_printer(
        session, secrets, name=name, resource_id=resource_id, octoprint_url=url, api_key=api_key, existing=existing
    )
    printer.mqtt_base_topic = spec.printer.mqtt_base_topic
    session.add(printer)
    (report.updated if existing else report.created)["printer"] += 1


def _load_site_row(session: Session, report: LoadReport, entry: SiteEntry) -> int:
    """Upsert the site by its slug; keep its ``site:`` block (and which spaces are its buildings)
    for the national export and the e-mails' signature."""
    info = entry.site
    data = info.model_dump(mode="json", exclude_none=True, exclude_defaults=True, exclude={"slug"})
    data["spaces"] = [space.name for space in entry.spaces]
    values: dict[str, Any] = {"name": info.name, "timezone": info.timezone, "data": data}
    slug = info.resolved_slug
    row = session.exec(select(Site).where(Site.slug == slug)).first()
    if row is None:
        row = Site(slug=slug, **values)
        report.created["site"] += 1
    elif _apply(row, values):
        report.updated["site"] += 1
    else:
        report.unchanged["site"] += 1
        assert row.id is not None
        return row.id
    row.updated_at = utcnow()  # created or changed: the national export's date_maj
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id
