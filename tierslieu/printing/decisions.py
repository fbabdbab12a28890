"""What the dispatcher should do with one printer, decided from plain values (no I/O, no clock).

The dispatcher is level-triggered: on every pass it reads the jobs and bookings from the
database and the printer's state from OctoPrint, and these functions say

- :func:`reconcile` — what became of a job that holds the printer (uploading/printing);
- :func:`readiness` — whether the printer could take a new job now, and if not why;
- :func:`plan_queue` — which waiting job (if any) starts now, and the status and reason of
  every other one (``queued``: it may print now but the printer is not free;
  ``waiting_booking``: no active booking lets it start yet).

A job started on OctoPrint is named ``tierslieu-job-<id>-<attempt>.gcode``, so a restart can
tell which job the printer is running (:func:`job_id_of`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from firmware_bridges.octoprint import PrinterSnapshot, PrinterState
from tierslieu.models.printing import JobStatus, RunOutcome
from tierslieu.printing.reasons import Reason

__all__ = [
    "START_GRACE",
    "BookingFacts",
    "JobChange",
    "JobFacts",
    "Observation",
    "QueuePlan",
    "Window",
    "booking_for",
    "job_id_of",
    "octoprint_name",
    "plan_queue",
    "queue_order",
    "readiness",
    "reconcile",
]

# How long after an upload a job may still look idle on OctoPrint (the printer is "Starting").
START_GRACE: Final = timedelta(seconds=20)
_NAME: Final = re.compile(r"(?:^|/)tierslieu-job-(\d+)-\d+\.gcode$")


def octoprint_name(job_id: int, attempt: int) -> str:
    return f"tierslieu-job-{job_id}-{attempt}.gcode"


def job_id_of(path: str | None) -> int | None:
    """The job id carried by an OctoPrint file name we chose, or None for any other file."""
    match = _NAME.search(path or "")
    return int(match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class Observation:
    """What one poll learned: the printer's snapshot, or why it could not be read at all.

    ``snapshot`` is None when OctoPrint could not be read (down, refused key, garbage): a job
    running there is then neither done nor failed, only unknown.
    """

    snapshot: PrinterSnapshot | None
    problem: Reason | None = None

    @property
    def state(self) -> PrinterState:
        if self.snapshot is not None:
            return self.snapshot.state
        assert self.problem is not None
        offline = self.problem.code in ("printer_unreachable", "no_api_key")
        return PrinterState.OFFLINE if offline else PrinterState.ERROR


@dataclass(frozen=True, slots=True)
class JobFacts:
    id: int
    member_id: int
    status: str
    booking_id: int | None = None
    priority: int = 0
    estimated_seconds: int | None = None
    octoprint_path: str | None = None
    dispatched_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BookingFacts:
    """A booking of the printer's resource that is active now (confirmed or checked in)."""

    id: int
    member_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Window:
    """When prints may run: the end of the FabLab's current opening (None: closed now) and how
    long a print may run past the end of its booking."""

    closes_at: datetime | None
    overrun: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True)
class JobChange:
    """A new status for an in-flight job; ``outcome`` is set when its run on the printer ended."""

    status: JobStatus
    progress: float | None = None
    print_time_s: int | None = None
    outcome: RunOutcome | None = None
    reason: Reason | None = None
    started: bool = False  # the print was seen running for the first time


# --- in-flight jobs -----------------------------------------------------------------------------


def reconcile(job: JobFacts, seen: Observation, now: datetime) -> JobChange | None:
    """Compare an uploading/printing job with what OctoPrint reports; None = nothing to change."""
    snapshot = seen.snapshot
    if snapshot is None or snapshot.state is PrinterState.OFFLINE:
        return None  # unknown until the printer answers again: keep the job as it is
    ours = job.octoprint_path is not None and job_id_of(snapshot.job_file) == job.id
    running = snapshot.state in (PrinterState.PRINTING, PrinterState.PAUSED)
    young = job.dispatched_at is not None and now - job.dispatched_at < START_GRACE
    finished = snapshot.progress is not None and snapshot.progress >= 100.0
    if ours and (running or (finished and job.status == JobStatus.uploading)):
        # Running, or already finished while we were not looking: it did start (once).
        return JobChange(
            JobStatus.printing,
            progress=snapshot.progress,
            print_time_s=snapshot.print_time_s,
            reason=Reason("paused") if snapshot.state is PrinterState.PAUSED else None,
            started=job.status == JobStatus.uploading,
        )
    if job.status == JobStatus.uploading:
        if young:
            return None
        # The upload never turned into a print (crash, or OctoPrint did not start it): retry.
        return JobChange(JobStatus.queued, progress=0.0, reason=Reason("not_started"))
    if snapshot.state is PrinterState.ERROR:
        return _ended(RunOutcome.failed, snapshot, Reason("print_failed", snapshot.error or ""))
    if ours and finished:
        return _ended(RunOutcome.done, snapshot, None)
    if young:
        return None
    if ours:
        return _ended(RunOutcome.failed, snapshot, Reason("print_interrupted"))
    return _ended(RunOutcome.failed, snapshot, Reason("print_lost"))


def _ended(outcome: RunOutcome, snapshot: PrinterSnapshot, reason: Reason | None) -> JobChange:
    status = JobStatus.done if outcome is RunOutcome.done else JobStatus.failed
    return JobChange(
        status,
        progress=snapshot.progress if outcome is not RunOutcome.done else 100.0,
        print_time_s=snapshot.print_time_s,
        outcome=outcome,
        reason=reason,
    )


# --- the queue ----------------------------------------------------------------------------------


def readiness(seen: Observation, *, bed_clear: bool, holds_job: bool) -> Reason | None:
    """Why the printer cannot take a new job now, or None when it can."""
    if seen.snapshot is None:
        assert seen.problem is not None
        return seen.problem
    state = seen.snapshot.state
    if holds_job or state in (PrinterState.PRINTING, PrinterState.PAUSED):
        return Reason("printer_busy")
    if state is PrinterState.OFFLINE:
        return Reason("printer_offline", seen.snapshot.error or "")
    if state is PrinterState.ERROR:
        return Reason("printer_error", seen.snapshot.error or "")
    if not bed_clear:
        return Reason("bed_not_clear")
    return None


def booking_for(job: JobFacts, active: Sequence[BookingFacts]) -> BookingFacts | None:
    """The active booking that lets this job print: the one it is attached to, or its owner's."""
    if job.booking_id is not None:
        return next((b for b in active if b.id == job.booking_id), None)
    return next((b for b in active if b.member_id == job.member_id), None)


@dataclass(frozen=True, slots=True)
class QueuePlan:
    start: int | None = None
    statuses: dict[int, tuple[JobStatus, Reason | None]] = field(default_factory=dict)


def _blocker(job: JobFacts, active: Sequence[BookingFacts], window: Window, now: datetime) -> Reason | None:
    booking = booking_for(job, active)
    if booking is None:
        return Reason("booking_not_active" if job.booking_id is not None else "no_active_booking")
    if window.closes_at is None:
        return Reason("fablab_closed")
    deadline = min(booking.end + window.overrun, window.closes_at)
    # An unknown estimate cannot be checked; the booking's end still bounds who watches it.
    if job.estimated_seconds is not None and now + timedelta(seconds=job.estimated_seconds) > deadline:
        return Reason("does_not_fit", until=deadline)
    return None


def queue_order(job: JobFacts) -> tuple[int, int]:
    return (-job.priority, job.id)


def plan_queue(
    now: datetime,
    not_ready: Reason | None,
    waiting: Sequence[JobFacts],
    active: Sequence[BookingFacts],
    window: Window,
) -> QueuePlan:
    """Pick the first waiting job (by priority, then arrival) allowed to print now.

    ``not_ready`` is :func:`readiness`'s answer: when set, nothing starts and jobs that could
    print carry that reason.
    """
    start: int | None = None
    statuses: dict[int, tuple[JobStatus, Reason | None]] = {}
    for job in sorted(waiting, key=queue_order):
        blocker = _blocker(job, active, window, now)
        if blocker is not None:
            statuses[job.id] = (JobStatus.waiting_booking, blocker)
        elif not_ready is not None:
            statuses[job.id] = (JobStatus.queued, not_ready)
        elif start is None:
            start = job.id
            statuses[job.id] = (JobStatus.uploading, None)
        else:
            statuses[job.id] = (JobStatus.queued, Reason("behind_other_job"))
    return QueuePlan(start=start, statuses=statuses)
