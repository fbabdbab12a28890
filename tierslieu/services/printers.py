"""Printer rows: an OctoPrint server behind a bookable resource. The API key is stored encrypted."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlmodel import Session, select

from tierslieu.errors import Conflict, InvalidInput, NotFound
from tierslieu.models import Printer, PrintJob
from tierslieu.security import Secrets
from tierslieu.services.sites import ALL_SITES, SiteScope
from tierslieu.services.spaces import get_resource


def check_octoprint_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("invalid_octoprint_url", url=url)
    return url.strip().rstrip("/")


def get_printer(session: Session, printer_id: int) -> Printer:
    printer = session.get(Printer, printer_id)
    if printer is None:
        raise NotFound("printer_not_found", id=printer_id)
    return printer


def list_printers(session: Session, scope: SiteScope = ALL_SITES) -> Sequence[Printer]:
    return session.exec(select(Printer).where(scope.where_resource(Printer.resource_id)).order_by(Printer.name)).all()


def printer_for_resource(session: Session, resource_id: int) -> Printer | None:
    return session.exec(select(Printer).where(Printer.resource_id == resource_id)).first()


def upsert_printer(
    session: Session,
    secrets: Secrets,
    *,
    name: str,
    resource_id: int,
    octoprint_url: str,
    api_key: str | None,
    existing: Printer | None = None,
) -> Printer:
    resource = get_resource(session, resource_id)
    if resource.kind != "printer":
        raise InvalidInput("not_a_printer_resource", resource=resource.name)
    holder = printer_for_resource(session, resource_id)
    if holder is not None and (existing is None or holder.id != existing.id):
        raise Conflict("resource_has_printer", resource=resource.name)
    same_name = session.exec(select(Printer).where(Printer.name == name)).first()
    if same_name is not None and (existing is None or same_name.id != existing.id):
        raise Conflict("duplicate_name", name=name)
    printer = existing or Printer(name=name, resource_id=resource_id, octoprint_url="", api_key_encrypted="")
    printer.name, printer.resource_id = name, resource_id
    printer.octoprint_url = check_octoprint_url(octoprint_url)
    if api_key is not None:
        if not api_key.strip():
            raise InvalidInput("invalid_api_key")
        printer.api_key_encrypted = secrets.encrypt(api_key.strip())
    elif existing is None:
        # Declared in a site file before its key is known: kept offline until a key is set.
        printer.api_key_encrypted = ""
        printer.state_reason_code = "no_api_key"
    session.add(printer)
    session.flush()
    return printer


def delete_printer(session: Session, printer: Printer) -> None:
    """Printers with print history are kept (the history names them): deactivate the resource instead."""
    if session.exec(select(PrintJob.id).where(PrintJob.printer_id == printer.id)).first() is not None:
        raise Conflict("printer_has_jobs")
    session.delete(printer)
    session.flush()


def current_job(session: Session, printer: Printer) -> PrintJob | None:
    return session.get(PrintJob, printer.current_job_id) if printer.current_job_id is not None else None
