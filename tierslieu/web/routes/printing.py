"""FabLab — file d'impression: printers' state, the queue per printer, the two-step upload
(file → preview with the slicer's estimate → confirm), cancel/requeue, reorder, bed cleared."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Form, UploadFile
from sqlmodel import Session
from starlette.responses import Response

from tierslieu.api.deps import EVERYONE, Allow, IdPath, SessionDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.db.types import utcnow
from tierslieu.errors import TiersLieuError
from tierslieu.models import Printer
from tierslieu.models.printing import PENDING
from tierslieu.printing import service as queue_service
from tierslieu.printing.gcode import read_metadata, validate_gcode
from tierslieu.printing.previews import PreviewQuota, PreviewStore
from tierslieu.printing.storage import GcodeStore
from tierslieu.services import printers as printer_service
from tierslieu.services.sites import site_of_resource, timezone_of_resource
from tierslieu.web.i18n import N_
from tierslieu.web.page import Page, PageDep
from tierslieu.web.print_queue import UploadTicket, expired_preview, moved_priorities, queues
from tierslieu.web.sites import SiteFilter

router = PrefixRouter(prefix="/fablab", dependencies=[Depends(EVERYONE)])

MAX_COPIES = 20
# The same policy as the API's reorder endpoint.
SUPERVISOR = Allow(*sorted(queue_service.SUPERVISORS))
_MESSAGES = {
    "file": N_("Your print is in the queue."),
    "annule": N_("The print was cancelled."),
    "relance": N_("The print is back in the queue."),
    "plateau": N_("Thank you: the bed is marked as cleared."),
    "ordre": N_("The queue order was changed."),
}


def _render(page: Page, session: Session, *, error: str | None = None, status: int = 200) -> Response:
    printers = SiteFilter(session, page.scope).resources(printer_service.list_printers(session))
    jobs = queue_service.list_jobs(session, page.actor, queue_service.JobFilter(limit=500))
    return page.render(
        "fablab.html",
        status=status,
        title=page.gettext("FabLab — print queue"),
        queues=queues(printers, jobs),
        supervisor=queue_service.may_supervise(page.actor),
        notice=page.notice(_MESSAGES),
        error=error,
        max_copies=MAX_COPIES,
        max_mib=page.runtime.settings.max_upload_bytes // (1024 * 1024),
    )


def _printer(page: Page, session: Session, printer_id: int) -> Printer:
    """A printer of one of the reader's sites (403 for another site's)."""
    printer = printer_service.get_printer(session, printer_id)
    page.check_site(site_of_resource(session, printer.resource_id))
    return printer


def _failed(page: Page, session: Session, exc: TiersLieuError) -> Response:
    session.rollback()
    return _render(page, session, error=exc.message(page.lang), status=exc.status)


@router.get("")
def fablab(page: PageDep, session: SessionDep) -> Response:
    return _render(page, session)


@router.post("/apercu")
def preview(
    page: PageDep,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    printer_id: Annotated[int, Form(ge=1)],
    copies: Annotated[int, Form(ge=1, le=MAX_COPIES)] = 1,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Step 1: check the file and show what the slicer says before anything is queued."""
    settings = page.runtime.settings
    limit = settings.max_upload_bytes
    try:
        printer = _printer(page, session, printer_id)
        data = file.file.read(limit + 1)
        if len(data) > limit:
            raise queue_service.UploadTooLarge.for_limit(limit)
        filename = file.filename or ""
        validate_gcode(filename, data, limit)
        assert page.actor.id is not None
        quota = PreviewQuota(settings.print_preview_max_count, settings.print_preview_max_bytes)
        sha256 = PreviewStore(settings.upload_dir).save(page.actor.id, data, quota)
    except TiersLieuError as exc:
        return _failed(page, session, exc)
    ticket = UploadTicket(page.runtime.secrets).issue(
        page.actor.id, sha256=sha256, filename=filename, printer_id=printer_id, copies=copies, note=note.strip()
    )
    return page.render(
        "fablab_preview.html",
        title=page.gettext("Check before printing"),
        printer=printer,
        filename=filename,
        size_bytes=len(data),
        metadata=read_metadata(data),
        copies=copies,
        note=note.strip(),
        ticket=ticket,
    )


@router.post("/confirmer")
def confirm(page: PageDep, session: SessionDep, ticket: Annotated[str, Form()] = "") -> Response:
    """Step 2: queue the file the preview stored, with every check of the print service."""
    settings = page.runtime.settings
    store = GcodeStore(settings.upload_dir)
    previews = PreviewStore(settings.upload_dir)
    try:
        assert page.actor.id is not None
        fields = UploadTicket(page.runtime.secrets).read(ticket, page.actor.id)
        data = previews.read(page.actor.id, str(fields["sha256"]))
        if data is None:  # expired and cleaned, or already confirmed
            raise expired_preview()
        printer = _printer(page, session, int(fields["printer_id"]))
        request = queue_service.NewJob(
            filename=str(fields["filename"]),
            data=data,
            printer_id=int(fields["printer_id"]),
            copies=int(fields["copies"]),
            note=str(fields["note"]),
        )
        tz = timezone_of_resource(session, printer.resource_id, page.tz)
        queue_service.submit_job(session, store, page.actor, request, max_bytes=settings.max_upload_bytes, tz=tz)
        session.commit()  # queued for good before the preview goes
    except TiersLieuError as exc:
        return _failed(page, session, exc)
    previews.discard(page.actor.id, str(fields["sha256"]))
    page.runtime.controller.wake_dispatcher()
    return page.redirect("/fablab?message=file")


def _job_action(page: Page, session: Session, job_id: int, action: str) -> Response:
    try:
        job = queue_service.get_visible_job(session, page.actor, job_id)
        _printer(page, session, job.printer_id)
        if action == "annule":
            queue_service.cancel_job(session, page.actor, job, now=utcnow())
        else:
            queue_service.requeue_job(session, page.actor, job)
    except TiersLieuError as exc:
        return _failed(page, session, exc)
    page.runtime.controller.wake_dispatcher()
    return page.redirect(f"/fablab?message={action}")


@router.post("/travaux/{job_id}/annuler")
def cancel(page: PageDep, session: SessionDep, job_id: IdPath) -> Response:
    return _job_action(page, session, job_id, "annule")


@router.post("/travaux/{job_id}/relancer")
def requeue(page: PageDep, session: SessionDep, job_id: IdPath) -> Response:
    return _job_action(page, session, job_id, "relance")


@router.post("/travaux/{job_id}/deplacer", dependencies=[Depends(SUPERVISOR)])
def move(page: PageDep, session: SessionDep, job_id: IdPath, sens: Annotated[str, Form()] = "") -> Response:
    """Up/down buttons (animators and staff), the keyboard-friendly stand-in for drag and drop."""
    try:
        job = queue_service.get_visible_job(session, page.actor, job_id)
        _printer(page, session, job.printer_id)
        waiting = queue_service.list_jobs(session, page.actor, queue_service.JobFilter(printer_id=job.printer_id))
        pending = [j for j in waiting if j.status in PENDING]
        for moved_id, priority in moved_priorities(pending, job_id, -1 if sens == "haut" else 1).items():
            target = next(j for j in pending if j.id == moved_id)
            queue_service.set_priority(session, target, priority)
    except TiersLieuError as exc:
        return _failed(page, session, exc)
    page.runtime.controller.wake_dispatcher()
    return page.redirect("/fablab?message=ordre")


@router.post("/imprimantes/{printer_id}/plateau-libere")
def bed_cleared(page: PageDep, session: SessionDep, printer_id: IdPath) -> Response:
    try:
        printer = _printer(page, session, printer_id)
        today = utcnow().astimezone(timezone_of_resource(session, printer.resource_id, page.tz)).date()
        queue_service.confirm_bed_cleared(session, page.actor, printer, today)
    except TiersLieuError as exc:
        return _failed(page, session, exc)
    page.runtime.controller.wake_dispatcher()
    return page.redirect("/fablab?message=plateau")
