"""The print queue: upload G-code, follow, cancel, requeue and reorder jobs."""

from __future__ import annotations

from fastapi import Depends, File, Form, Query, UploadFile, status

from tierslieu.api.deps import EVERYONE, MAX_ID, Allow, IdPath, LanguageDep, RuntimeDep, SessionDep, SiteScopeDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.printing import PrintJobPublic, PriorityUpdate
from tierslieu.db.types import utcnow
from tierslieu.models import Member, PrintJob
from tierslieu.models.printing import JobStatus
from tierslieu.printing import service as queue
from tierslieu.printing.reasons import describe
from tierslieu.printing.storage import GcodeStore
from tierslieu.runtime import Runtime

router = PrefixRouter(prefix="/print-jobs", tags=["print jobs"])

SUPERVISOR = Allow(*sorted(queue.SUPERVISORS))
MAX_COPIES = 20


def to_public(job: PrintJob, language: str = "fr") -> PrintJobPublic:
    public = PrintJobPublic.model_validate(job, from_attributes=True)
    public.reason = describe(job.reason_code, job.reason_params, language)
    return public


def _changed(job: PrintJob, runtime: Runtime, language: str) -> PrintJobPublic:
    """After a change to the queue: let the dispatcher act on it now, answer with the job."""
    runtime.controller.wake_dispatcher()
    return to_public(job, language)


@router.post("", response_model=PrintJobPublic, status_code=status.HTTP_201_CREATED)
def submit_job(
    session: SessionDep,
    runtime: RuntimeDep,
    language: LanguageDep,
    file: UploadFile = File(description="G-code (.gcode, .gco, .g), text"),
    printer_id: int | None = Form(default=None, ge=1, le=MAX_ID),
    resource_id: int | None = Form(default=None, ge=1, le=MAX_ID),
    booking_id: int | None = Form(default=None, ge=1, le=MAX_ID, description="a workshop's booking"),
    member_id: int | None = Form(default=None, ge=1, le=MAX_ID, description="animators/staff: print for"),
    copies: int = Form(default=1, ge=1, le=MAX_COPIES),
    note: str = Form(default="", max_length=500),
    actor: Member = Depends(EVERYONE),
) -> PrintJobPublic:
    limit = runtime.settings.max_upload_bytes
    # Read one byte past the limit: enough to refuse a huge upload without holding it all.
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise queue.UploadTooLarge.for_limit(limit)
    request = queue.NewJob(
        filename=file.filename or "",
        data=data,
        printer_id=printer_id,
        resource_id=resource_id,
        booking_id=booking_id,
        member_id=member_id,
        copies=copies,
        note=note.strip(),
    )
    store = GcodeStore(runtime.settings.upload_dir)
    job = queue.submit_job(session, store, actor, request, max_bytes=limit, tz=runtime.settings.tz)
    return _changed(job, runtime, language)


@router.get("", response_model=list[PrintJobPublic])
def list_jobs(
    session: SessionDep,
    language: LanguageDep,
    scope: SiteScopeDep,
    status: JobStatus | None = None,
    printer_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    member_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    limit: int = Query(default=200, ge=1, le=1000),
    actor: Member = Depends(EVERYONE),
) -> list[PrintJobPublic]:
    """Members see their own jobs; animators and staff see everyone's (newest first)."""
    wanted = queue.JobFilter(status=status, printer_id=printer_id, member_id=member_id, limit=limit)
    return [to_public(job, language) for job in queue.list_jobs(session, actor, wanted, scope)]


@router.get("/{job_id}", response_model=PrintJobPublic)
def get_job(
    job_id: IdPath, session: SessionDep, language: LanguageDep, scope: SiteScopeDep, actor: Member = Depends(EVERYONE)
) -> PrintJobPublic:
    return to_public(queue.get_visible_job(session, actor, job_id, scope), language)


@router.post("/{job_id}/cancel", response_model=PrintJobPublic)
def cancel_job(
    job_id: IdPath,
    session: SessionDep,
    runtime: RuntimeDep,
    language: LanguageDep,
    actor: Member = Depends(EVERYONE),
) -> PrintJobPublic:
    """Cancel a job; a running print is stopped on OctoPrint by the dispatcher right after."""
    job = queue.cancel_job(session, actor, queue.get_visible_job(session, actor, job_id), now=utcnow())
    return _changed(job, runtime, language)


@router.post("/{job_id}/requeue", response_model=PrintJobPublic)
def requeue_job(
    job_id: IdPath,
    session: SessionDep,
    runtime: RuntimeDep,
    language: LanguageDep,
    actor: Member = Depends(EVERYONE),
) -> PrintJobPublic:
    job = queue.requeue_job(session, actor, queue.get_visible_job(session, actor, job_id))
    return _changed(job, runtime, language)


@router.post("/{job_id}/priority", response_model=PrintJobPublic)
def set_priority(
    job_id: IdPath,
    body: PriorityUpdate,
    session: SessionDep,
    runtime: RuntimeDep,
    language: LanguageDep,
    actor: Member = Depends(SUPERVISOR),
) -> PrintJobPublic:
    """Reorder the queue (animators and staff): higher priority prints first."""
    job = queue.set_priority(session, queue.get_visible_job(session, actor, job_id), body.priority)
    return _changed(job, runtime, language)
