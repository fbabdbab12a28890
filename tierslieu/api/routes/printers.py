"""3D printers: OctoPrint servers behind printer resources, and "the bed is clear" confirmations."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Depends, status
from sqlmodel import Session

from tierslieu.api.deps import EVERYONE, STAFF, IdPath, LanguageDep, RuntimeDep, SessionDep
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
from tierslieu.runtime import Runtime
from tierslieu.services import printers as printer_service

router = APIRouter(prefix="/printers", tags=["printers"])


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
def list_printers(session: SessionDep, language: LanguageDep) -> list[PrinterPublic]:
    return [to_public(session, p, language) for p in printer_service.list_printers(session)]


@router.post("", response_model=PrinterPublic, status_code=status.HTTP_201_CREATED, dependencies=[Depends(STAFF)])
def create_printer(
    body: PrinterCreate, session: SessionDep, runtime: RuntimeDep, language: LanguageDep, tasks: BackgroundTasks
) -> PrinterPublic:
    base_topic = normalize_base_topic(body.mqtt_base_topic)
    printer = printer_service.upsert_printer(session, runtime.secrets, **body.model_dump(exclude={"mqtt_base_topic"}))
    printer.mqtt_base_topic = base_topic
    session.add(printer)
    _changed(runtime, tasks)
    return to_public(session, printer, language)


@router.get("/{printer_id}", response_model=PrinterPublic, dependencies=[Depends(EVERYONE)])
def get_printer(printer_id: IdPath, session: SessionDep, language: LanguageDep) -> PrinterPublic:
    return to_public(session, printer_service.get_printer(session, printer_id), language)


@router.patch("/{printer_id}", response_model=PrinterPublic, dependencies=[Depends(STAFF)])
def update_printer(
    printer_id: IdPath,
    body: PrinterUpdate,
    session: SessionDep,
    runtime: RuntimeDep,
    language: LanguageDep,
    tasks: BackgroundTasks,
) -> PrinterPublic:
    printer = printer_service.get_printer(session, printer_id)
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
def delete_printer(printer_id: IdPath, session: SessionDep, runtime: RuntimeDep, tasks: BackgroundTasks) -> None:
    printer_service.delete_printer(session, printer_service.get_printer(session, printer_id))
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
    today = utcnow().astimezone(runtime.settings.tz).date()
    printer = queue.confirm_bed_cleared(session, actor, printer, today)
    runtime.controller.wake_dispatcher()
    return to_public(session, printer, language)
