"""The print queue as the API uses it: queue a G-code file, list, cancel, requeue, reorder,
confirm a printer's bed is clear. Who may do what is decided here, once.

Starting, following and ending prints is the dispatcher's job (:mod:`tierslieu.printing.dispatcher`);
this module only records what people ask for. A job is created ``queued`` or ``waiting_booking``
and the dispatcher re-derives that on every pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from tierslieu.db.types import utcnow
from tierslieu.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tierslieu.models import Booking, Member, Printer, PrintJob, PrintRun
from tierslieu.models.printing import IN_FLIGHT, PENDING, JobStatus, RunOutcome
from tierslieu.printing.decisions import booking_for
from tierslieu.printing.gcode import InvalidGcode, read_metadata, validate_gcode
from tierslieu.printing.queries import active_bookings, facts
from tierslieu.printing.reasons import Reason
from tierslieu.printing.storage import GcodeStore
from tierslieu.services.members import get_member, trainings_of
from tierslieu.services.printers import get_printer, printer_for_resource
from tierslieu.services.sites import ALL_SITES, SiteScope, roles_at, site_of_resource, timezone_of_site
from tierslieu.services.spaces import get_resource, resource_rules

__all__ = [
    "SUPERVISORS",
    "JobFilter",
    "NewJob",
    "UploadTooLarge",
    "cancel_job",
    "close_run",
    "confirm_bed_cleared",
    "get_visible_job",
    "list_jobs",
    "may_supervise",
    "requeue_job",
    "resolve_printer",
    "set_priority",
    "set_reason",
    "submit_job",
]

# Animators run workshops and staff run the place: they may act on anyone's prints.
SUPERVISORS = frozenset({"admin", "staff", "animator"})
TERMINAL = frozenset({JobStatus.done, JobStatus.failed, JobStatus.cancelled})
REQUEUEABLE = frozenset({JobStatus.failed, JobStatus.cancelled})


class UploadTooLarge(InvalidGcode):
    """The upload is past the size limit: refused before it is read whole (HTTP 413)."""

    status = 413
    title = "Content too large"

    @classmethod
    def for_limit(cls, max_bytes: int) -> UploadTooLarge:
        limit_mib = max_bytes / (1024 * 1024)
        return cls("gcode_too_large", limit_mib=limit_mib, extra={"max_bytes": max_bytes})


def may_supervise(member: Member, site_id: int | None = None) -> bool:
    """Animators and staff supervise prints (at ``site_id``: where their roles apply there)."""
    roles = roles_at(member, site_id) if site_id is not None else frozenset(member.roles)
    return bool(SUPERVISORS & roles)


def site_of_printer(session: Session, printer: Printer) -> int | None:
    return site_of_resource(session, printer.resource_id)


def _missing_trainings(session: Session, member: Member, printer: Printer, today: date) -> list[str]:
    rules = resource_rules(session, get_resource(session, printer.resource_id or 0))
    held = trainings_of(session, member.id or 0)
    return [
        name
        for name in rules.required_training
        if name not in held or (held[name] is not None and held[name] < today)  # type: ignore[operator]
    ]


def _check_may_print(session: Session, actor: Member, printer: Printer, today: date) -> None:
    """Trained members print; animators and staff (of the printer's site) supervise whoever prints."""
    if may_supervise(actor, site_of_printer(session, printer)):
        return
    missing = _missing_trainings(session, actor, printer, today)
    if missing:
        names = ", ".join(missing)
        raise PermissionDenied(
            "training_required", msgid="training_required.printer", names=names, extra={"missing_trainings": missing}
        )


def _check_owner_or_supervisor(actor: Member, job: PrintJob) -> None:
    if job.member_id != actor.id and not may_supervise(actor):
        raise PermissionDenied("not_your_job")


def resolve_printer(session: Session, printer_id: int | None, resource_id: int | None) -> Printer:
    if printer_id is None and resource_id is None:
        raise InvalidInput("printer_required")
    printer = get_printer(session, printer_id) if printer_id is not None else None
    if resource_id is not None:
        by_resource = printer_for_resource(session, resource_id)
        if by_resource is None:
            raise NotFound("printer_for_resource_not_found", id=resource_id)
        if printer is not None and printer.id != by_resource.id:
            raise InvalidInput("printer_mismatch")
        printer = by_resource
    assert printer is not None
    return printer


def _check_booking(session: Session, actor: Member, owner: Member, printer: Printer, booking_id: int) -> None:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("booking_not_found", id=booking_id)
    if booking.resource_id != printer.resource_id:
        raise InvalidInput("booking_other_resource")
    if booking.member_id not in (actor.id, owner.id) and not may_supervise(actor, site_of_printer(session, printer)):
        raise PermissionDenied("not_your_booking")
    if booking.status not in ("pending", "confirmed", "checked_in") or booking.end <= utcnow():
        raise Conflict("booking_over")


@dataclass(frozen=True, slots=True)
class NewJob:
    filename: str
    data: bytes
    printer_id: int | None = None
    resource_id: int | None = None
    booking_id: int | None = None
    member_id: int | None = None
    copies: int = 1
    note: str = ""


def set_reason(job: PrintJob, reason: Reason | None, tz: ZoneInfo) -> None:
    """Store why a job waits or stopped: its code and parameters (put into words when shown)."""
    job.reason_code = reason.code if reason else ""
    job.reason_params = reason.params(tz) if reason else {}


def submit_job(
    session: Session, store: GcodeStore, actor: Member, request: NewJob, *, max_bytes: int, tz: ZoneInfo
) -> PrintJob:
    """Check and queue a G-code file. Nothing is stored unless every check passes."""
    now = utcnow()
    printer = resolve_printer(session, request.printer_id, request.resource_id)
    today = now.astimezone(timezone_of_site(session, site_of_printer(session, printer), tz)).date()
    owner = actor
    if request.member_id is not None and request.member_id != actor.id:
        if not may_supervise(actor, site_of_printer(session, printer)):
            raise PermissionDenied("cannot_queue_for_others")
        owner = get_member(session, request.member_id)
    _check_may_print(session, actor, printer, today)
    if request.booking_id is not None:
        _check_booking(session, actor, owner, printer, request.booking_id)
    validate_gcode(request.filename, request.data, max_bytes)
    metadata = read_metadata(request.data)
    job = PrintJob(
        printer_id=printer.id or 0,
        member_id=owner.id or 0,
        created_by=actor.id,
        booking_id=request.booking_id,
        filename=request.filename,
        file_sha256=store.save(request.data),
        size_bytes=len(request.data),
        estimated_seconds=metadata.estimated_seconds,
        filament_mm=metadata.filament_mm,
        slicer=metadata.slicer,
        copies=request.copies,
        note=request.note,
    )
    session.add(job)
    session.flush()
    # A first guess for the answer; the dispatcher's next pass decides for real.
    bookings = active_bookings(session, printer.resource_id or 0, now)
    if booking_for(facts(job), bookings) is None:
        job.status = JobStatus.waiting_booking
        set_reason(job, Reason("booking_not_active" if job.booking_id else "no_active_booking"), tz)
    session.add(job)
    session.flush()
    return job


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobFilter:
    status: str | None = None
    printer_id: int | None = None
    member_id: int | None = None
    limit: int = 200


def list_jobs(session: Session, actor: Member, wanted: JobFilter, scope: SiteScope = ALL_SITES) -> Sequence[PrintJob]:
    """Members see their own jobs; animators and staff see everyone's (at the sites of ``scope``)."""
    member_id = wanted.member_id
    if not may_supervise(actor):
        if member_id is not None and member_id != actor.id:
            raise PermissionDenied("forbidden", msgid="forbidden.own_prints")
        member_id = actor.id
    printers_in_scope = select(Printer.id).where(scope.where_resource(Printer.resource_id))
    query = select(PrintJob).where(col(PrintJob.printer_id).in_(printers_in_scope))
    query = query.order_by(col(PrintJob.id).desc()).limit(wanted.limit)
    if wanted.status is not None:
        query = query.where(PrintJob.status == wanted.status)
    if wanted.printer_id is not None:
        query = query.where(PrintJob.printer_id == wanted.printer_id)
    if member_id is not None:
        query = query.where(PrintJob.member_id == member_id)
    return session.exec(query).all()


def get_visible_job(session: Session, actor: Member, job_id: int, scope: SiteScope = ALL_SITES) -> PrintJob:
    job = session.get(PrintJob, job_id)
    # Someone else's job is reported missing rather than forbidden: ids reveal nothing
    # (a supervisor of another site is told the job is outside their sites).
    if job is None:
        raise NotFound("print_job_not_found", id=job_id)
    site_id = site_of_printer(session, get_printer(session, job.printer_id))
    if job.member_id == actor.id or may_supervise(actor, site_id):
        scope.check(site_id)
        return job
    if may_supervise(actor):
        raise PermissionDenied("site_forbidden")
    raise NotFound("print_job_not_found", id=job_id)


# --- changes ------------------------------------------------------------------------------------


def _open_run(session: Session, job: PrintJob) -> PrintRun | None:
    return session.exec(
        select(PrintRun).where(PrintRun.job_id == job.id, PrintRun.outcome == RunOutcome.printing)
    ).first()


def close_run(
    run: PrintRun,
    outcome: RunOutcome,
    now: datetime,
    *,
    filament_mm: float | None,
    progress: float,
    reason: tuple[str, dict[str, Any]] | None = None,
) -> None:
    """End a run in the history, with its print time, the filament it used and why (code, parameters)."""
    run.outcome, run.ended_at = outcome, now
    run.reason_code, run.reason_params = reason or ("", {})
    if run.print_time_s is None:
        run.print_time_s = max(0, round((now - run.started_at).total_seconds()))
    if filament_mm is not None:
        # A print stopped halfway used about half the filament.
        share = 1.0 if outcome is RunOutcome.done else min(1.0, max(0.0, progress / 100))
        run.filament_mm = round(filament_mm * share, 2)


def cancel_job(session: Session, actor: Member, job: PrintJob, *, now: datetime) -> PrintJob:
    """Cancel a waiting or running job. A running print is stopped on OctoPrint by the
    dispatcher's next pass (it stops any print whose job is cancelled)."""
    _check_owner_or_supervisor(actor, job)
    if job.status in TERMINAL:
        raise Conflict("job_finished", status=job.status)
    was_running = job.status in IN_FLIGHT
    job.status, job.ended_at = JobStatus.cancelled, now
    # No time in this reason, so the zone does not matter.
    set_reason(job, Reason("cancelled_by", actor.name), ZoneInfo("UTC"))
    if was_running:
        run = _open_run(session, job)
        if run is not None:
            reason = (job.reason_code, job.reason_params)
            close_run(run, RunOutcome.cancelled, now, filament_mm=job.filament_mm, progress=job.progress, reason=reason)
            session.add(run)
        printer = session.get(Printer, job.printer_id)
        if printer is not None and printer.current_job_id == job.id:
            printer.current_job_id = None
            session.add(printer)
    session.add(job)
    session.flush()
    return job


def requeue_job(session: Session, actor: Member, job: PrintJob) -> PrintJob:
    _check_owner_or_supervisor(actor, job)
    if job.status not in REQUEUEABLE:
        raise Conflict("job_not_requeueable")
    job.status, job.progress, job.octoprint_path = JobStatus.queued, 0.0, None
    job.reason_code, job.reason_params = "", {}
    job.dispatched_at = job.started_at = job.ended_at = None
    session.add(job)
    session.flush()
    return job


def set_priority(session: Session, job: PrintJob, priority: int) -> PrintJob:
    if job.status not in PENDING:
        raise Conflict("job_not_waiting")
    job.priority = priority
    session.add(job)
    session.flush()
    return job


def confirm_bed_cleared(session: Session, actor: Member, printer: Printer, today: date) -> Printer:
    """Whoever takes the part off the bed says so; the next job may then start."""
    _check_may_print(session, actor, printer, today)
    if printer.current_job_id is not None or printer.state in ("printing", "paused"):
        raise Conflict("printer_busy")
    printer.bed_clear = True
    session.add(printer)
    session.flush()
    return printer
