"""3D printers: OctoPrint servers behind printer resources, and "the bed is clear" confirmations."""

from __future__ import annotations

from fastapi import BackgroundTasks, Depends, status
from sqlmodel import Session

from tierslieu.api.deps import EVERYONE, STAFF, IdPath, LanguageDep, RuntimeDep, SessionDep, SiteScopeDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.printing import (
    JobSummary,
    PrinterCreate,
    PrinterPublic,
    PrinterUpdate,
    TemperaturePublic,
)
from tierslieu.db.types import utcnow
from tierslieu.models import Member, Printer
from tierslieu.printing import service as queue
from tierslieu.printing.plugin import normalize_base_topic
from tierslieu.printing.reasons import describe
from tierslieu.printing.service import site_of_printer
from tierslieu.runtime import Runtime
from tierslieu.services import printers as printer_service
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import SiteScope, site_of_resource, timezone_of_site

router = PrefixRouter(prefix="/printers", tags=["printers"])


def to_public(session: Session, printer: Printer, language: str = "fr") -> PrinterPublic:
    job = printer_service.current_job(session, printer)
    return PrinterPublic(
        id=printer.id or 0,
        name=printer.name,
        resource_id=printer.resource_id or 0,
        octoprint_url=printer.octoprint_url,
        mqtt_base_topic=printer.mqtt_base_topic,
        state=printer.state,
        state_reason=describe(printer.state_reason_code, printer.state_reason_params, language),
        state_reason_code=printer.state_reason_code,
        bed_clear=printer.bed_clear,
        current_job=JobSummary.model_validate(job, from_attributes=True) if job else None,
        temperatures={
            name: TemperaturePublic.model_validate(value)
            for name, value in printer.temperatures.items()
            if isinstance(value, dict)
        },
        last_seen=printer.last_seen,
    )


def _changed(runtime: Runtime, tasks: BackgroundTasks) -> None:
    """A printer was added or changed: the dispatcher looks now, and once the request's
    transaction is committed (background tasks run after it) the MQTT listener re-reads the topics."""
    runtime.controller.wake_dispatcher()
    tasks.add_task(runtime.controller.reload_printers)


@router.get("", response_model=list[PrinterPublic], dependencies=[Depends(EVERYONE)])
def list_printers(session: SessionDep, language: LanguageDep, scope: SiteScopeDep) -> list[PrinterPublic]:
    return [to_public(session, p, language) for p in printer_service.list_printers(session, scope)]


def _in_scope(session: Session, scope: SiteScope, printer_id: int) -> Printer:
    """The printer, 403 ``site_forbidden`` when its resource is in a site outside the caller's."""
    printer = printer_service.get_printer(session, printer_id)
    scope.check(site_of_printer(session, printer))
    return printer


def _check_resource(session: Session, scope: SiteScope, resource_id: int) -> None:
    space_service.get_resource(session, resource_id)  # 404 for a resource that does not exist
    scope.check(site_of_resource(session, resource_id))


@router.post("", response_model=PrinterPublic, status_code=status.HTTP_201_CREATED, dependencies=[Depends(STAFF)])
def create_printer(
    body: PrinterCreate,
    session: SessionDep,
    runtime: RuntimeDep,
    language: LanguageDep,
    tasks: BackgroundTasks,
    scope: SiteScopeDep,
) -> PrinterPublic:
    _check_resource(session, scope, body.resource_id)
    base_topic = normalize_base_topic(body.mqtt_base_topic)
    printer = printer_service.upsert_printer(session, runtime.secrets, **body.model_dump(exclude={"mqtt_base_topic"}))
    printer.mqtt_base_topic = base_topic
    session.add(printer)
    _changed(runtime, tasks)
    return to_public(session, printer, language)


@router.get("/{printer_id}", response_model=PrinterPublic, dependencies=[Depends(EVERYONE)])
def get_printer(printer_id: IdPath, session: SessionDep, language: LanguageDep, scope: SiteScopeDep) -> PrinterPublic:
    return to_public(session, _in_scope(session, scope, printer_id), language)


@router.patch("/{printer_id}", response_model=PrinterPublic, dependencies=[Depends(STAFF)])
def update_printer(
    printer_id: IdPath,
    body: PrinterUpdate,
    session: SessionDep,
    runtime: RuntimeDep,
    language: LanguageDep,
    tasks: BackgroundTasks,
    scope: SiteScopeDep,
) -> PrinterPublic:
    printer = _in_scope(session, scope, printer_id)
    if body.resource_id is not None:  # not moved to a site outside the caller's
        _check_resource(session, scope, body.resource_id)
    # Absent: unchanged; null or "": no longer followed.
    base_topic = printer.mqtt_base_topic
    if "mqtt_base_topic" in body.model_fields_set:
        base_topic = normalize_base_topic(body.mqtt_base_topic)
    printer = printer_service.upsert_printer(
        session,
        runtime.secrets,
        name=body.name or printer.name,
        resource_id=body.resource_id or printer.resource_id or 0,
        octoprint_url=body.octoprint_url or printer.octoprint_url,
        api_key=body.api_key,
        existing=printer,
    )
    printer.mqtt_base_topic = base_topic
    session.add(printer)
    _changed(runtime, tasks)
    return to_public(session, printer, language)


@router.delete("/{printer_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(STAFF)])
def delete_printer(
    printer_id: IdPath, session: SessionDep, runtime: RuntimeDep, tasks: BackgroundTasks, scope: SiteScopeDep
) -> None:
    printer_service.delete_printer(session, _in_scope(session, scope, printer_id))
    tasks.add_task(runtime.controller.reload_printers)


@router.post("/{printer_id}/bed-cleared", response_model=PrinterPublic)
def bed_cleared(
    printer_id: IdPath,
    session: SessionDep,
    runtime: RuntimeDep,
    language: LanguageDep,
    actor: Member = Depends(EVERYONE),
) -> PrinterPublic:
    """Whoever took the part off says the bed is clear (trained members, animators, staff)."""
    printer = printer_service.get_printer(session, printer_id)
    site_id = site_of_printer(session, printer)
    today = utcnow().astimezone(timezone_of_site(session, site_id, runtime.settings.tz)).date()
    printer = queue.confirm_bed_cleared(session, actor, printer, today)
    runtime.controller.wake_dispatcher()
    return to_public(session, printer, language)
