"""The print dispatcher: a level-triggered loop that makes printers do what the queue says.

Each pass, for every printer: poll OctoPrint (outside any transaction), then in one write
transaction record the printer's state, reconcile the jobs that hold it, stop a print whose job
was cancelled, adopt a print of ours it does not know about, and re-derive the status of every
waiting job; then, if :func:`~tierslieu.printing.decisions.plan_queue` picked a job, upload and
start it. A pass only depends on the database and what OctoPrint reports, so a restart or a
missed answer heals on the next pass.

No job starts twice: a job is claimed (``uploading``) with a conditional UPDATE before its
upload, a print counts as started only when OctoPrint says so, and an upload whose answer was
lost stays ``uploading`` until a snapshot shows whether the printer runs it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from firmware_bridges.octoprint import (
    OctoPrintClient,
    OctoPrintError,
    OctoPrintProtocolError,
    OctoPrintUnavailable,
    PrinterState,
)
from tierslieu.db import Database
from tierslieu.db.types import utcnow
from tierslieu.events import Event, EventHub
from tierslieu.metrics import Metrics
from tierslieu.models import Printer, PrintJob, PrintRun
from tierslieu.models.printing import IN_FLIGHT, PENDING, JobStatus, RunOutcome
from tierslieu.printing import decisions as d
from tierslieu.printing.poller import ClientFactory, PrinterClients, problem_of
from tierslieu.printing.queries import active_bookings, facts, jobs_of_printer, opening_window
from tierslieu.printing.reasons import Reason
from tierslieu.printing.service import close_run
from tierslieu.printing.storage import GcodeStore
from tierslieu.runtime import Runtime
from tierslieu.security import Secrets
from tierslieu.services.spaces import get_resource, resource_rules
from tierslieu.settings import Settings
from tierslieu.workers import PeriodicWorker, Scheduler

__all__ = ["PrintDispatcher", "build_print_dispatcher"]

log = logging.getLogger(__name__)


@dataclass
class _Outcome:
    """What a pass's transaction leaves to do after commit."""

    launch: int | None = None
    stop_print: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)


class PrintDispatcher:
    name = "print-dispatcher"

    def __init__(
        self,
        db: Database,
        secrets: Secrets,
        settings: Settings,
        *,
        scheduler: Scheduler,
        events: EventHub | None = None,
        client_factory: ClientFactory | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.events = events
        self.store = GcodeStore(settings.upload_dir)
        timeout = settings.octoprint_timeout_seconds
        self.clients = PrinterClients(
            secrets, client_factory or (lambda url, key: OctoPrintClient(url, key, timeout=timeout))
        )
        self._worker = PeriodicWorker(
            self.name, lambda: self.run_pass(), scheduler, settings.printing_poll_seconds, metrics=metrics
        )

    # --- component ----------------------------------------------------------------------------

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()
        self.clients.close()

    def wake(self) -> None:
        """Run a pass now (a job was queued, a bed cleared, a job cancelled)."""
        self._worker.wake()

    # --- one pass -----------------------------------------------------------------------------

    def run_pass(self, now: datetime | None = None) -> None:
        with self.db.session() as session:
            printer_ids = [pid for pid in session.exec(select(Printer.id)).all() if pid is not None]
        for printer_id in printer_ids:
            try:
                self._pass_printer(printer_id, now or utcnow())
            except Exception:  # one broken printer must not stop the others
                log.exception("print dispatch failed for printer %s", printer_id)

    def _pass_printer(self, printer_id: int, now: datetime) -> None:
        with self.db.session() as session:
            printer = session.get(Printer, printer_id)
            if printer is None:
                return
            url, key = printer.octoprint_url, printer.api_key_encrypted
        seen = self.clients.observe(printer_id, url, key)
        with self.db.session(write=True) as session:
            outcome = self._converge(session, printer_id, seen, now)
            session.commit()
        self._publish(outcome.events)
        if outcome.stop_print:
            self._stop_print(printer_id, url, key)
        if outcome.launch is not None:
            self._launch(printer_id, outcome.launch, url, key, now)

    def _converge(self, session: Session, printer_id: int, seen: d.Observation, now: datetime) -> _Outcome:
        # On PostgreSQL the row lock serializes passes of several processes on one printer.
        printer = session.exec(select(Printer).where(Printer.id == printer_id).with_for_update()).one()
        outcome = _Outcome()
        _record_observation(printer, seen, now, self.settings.tz)
        self._follow_running(session, printer, seen, now, outcome)
        in_flight = jobs_of_printer(session, printer_id, IN_FLIGHT)
        printer.current_job_id = in_flight[0].id if in_flight else None
        not_ready = d.readiness(seen, bed_clear=printer.bed_clear, holds_job=bool(in_flight))
        waiting = jobs_of_printer(session, printer_id, PENDING)
        resource = get_resource(session, printer.resource_id or 0)
        window = opening_window(resource_rules(session, resource), now, self.settings.tz)
        bookings = active_bookings(session, resource.id or 0, now)
        plan = d.plan_queue(now, not_ready, [facts(job) for job in waiting], bookings, window)
        for job in waiting:
            job_id = job.id or 0
            status, reason = plan.statuses[job_id]
            values: dict[str, Any] = {"status": status, **self._reason(reason)}
            starts = job_id == plan.start
            if starts:
                attempt = job.attempts + 1
                values.update(attempts=attempt, dispatched_at=now, octoprint_path=d.octoprint_name(job_id, attempt))
            changed = (job.status, job.reason_code) != (status, reason.code if reason else "")
            if (changed or starts) and _update_if(session, job_id, PENDING, values):
                outcome.events.append({"job_id": job_id, "status": status})
                if starts:
                    outcome.launch = job_id
        session.add(printer)
        return outcome

    def _follow_running(
        self, session: Session, printer: Printer, seen: d.Observation, now: datetime, outcome: _Outcome
    ) -> None:
        """Reconcile our in-flight jobs; stop or adopt a print of ours the queue does not expect."""
        for job in jobs_of_printer(session, printer.id or 0, IN_FLIGHT):
            change = d.reconcile(facts(job), seen, now)
            if change is not None:
                self._apply(session, job, change, now, outcome)
        snapshot = seen.snapshot
        if snapshot is None or snapshot.state not in (PrinterState.PRINTING, PrinterState.PAUSED):
            return
        running = session.get(PrintJob, d.job_id_of(snapshot.job_file) or 0, populate_existing=True)
        if running is None or running.printer_id != printer.id:
            return  # someone printing from OctoPrint itself: the printer is simply busy
        if running.status == JobStatus.cancelled:
            outcome.stop_print = True
        elif running.status in PENDING:
            # Started by a pass whose record was lost: it runs, so it is printing (once).
            values = {"status": JobStatus.printing, "octoprint_path": snapshot.job_file, "started_at": now}
            if _update_if(session, running.id or 0, PENDING, values):
                _open_run(session, running, now)
                printer.bed_clear = False

    def _apply(self, session: Session, job: PrintJob, change: d.JobChange, now: datetime, outcome: _Outcome) -> None:
        values: dict[str, Any] = {"status": change.status, **self._reason(change.reason)}
        if change.progress is not None:
            values["progress"] = change.progress
        if change.started:
            values["started_at"] = now
        if change.status == JobStatus.queued:
            values["dispatched_at"] = None
        if change.outcome is not None:
            values["ended_at"] = now
            if change.outcome is RunOutcome.done:
                values["copies_done"] = job.copies_done + 1
                if job.copies_done + 1 < job.copies:  # another copy once the bed is cleared
                    values.update(
                        status=JobStatus.queued,
                        progress=0.0,
                        ended_at=None,
                        **self._reason(Reason("next_copy", extra={"copy": job.copies_done + 2, "copies": job.copies})),
                    )
        if not _update_if(session, job.id or 0, IN_FLIGHT, values):
            return  # cancelled meanwhile: the cancel closed its run
        run = _find_open_run(session, job) or (_open_run(session, job, now) if change.started else None)
        if run is not None and change.print_time_s is not None:
            run.print_time_s = change.print_time_s
        if run is not None and change.outcome is not None:
            progress = job.progress if change.progress is None else change.progress
            reason = (values["reason_code"], values["reason_params"])
            close_run(run, change.outcome, now, filament_mm=job.filament_mm, progress=progress, reason=reason)
        if run is not None:
            session.add(run)
        if values["status"] != job.status:
            outcome.events.append({"job_id": job.id, "status": values["status"]})

    def _reason(self, reason: Reason | None) -> dict[str, Any]:
        if reason is None:
            return {"reason_code": "", "reason_params": {}}
        return {"reason_code": reason.code, "reason_params": reason.params(self.settings.tz)}

    # --- after commit: talking to OctoPrint --------------------------------------------------------

    def _launch(self, printer_id: int, job_id: int, url: str, key: str, now: datetime) -> None:
        with self.db.session() as session:
            job = session.get(PrintJob, job_id)
            if job is None or job.octoprint_path is None:
                return
            path, sha256 = job.octoprint_path, job.file_sha256
        data = self.store.read(sha256)
        client = self.clients.client(printer_id, url, key) if data is not None else Reason("file_missing")
        if data is None or isinstance(client, Reason):
            assert isinstance(client, Reason)
            self._settle(job_id, JobStatus.failed if data is None else JobStatus.queued, client, now)
            return
        try:
            result = client.upload(path, data, select=True, print_=True)
        except (OctoPrintUnavailable, OctoPrintProtocolError) as error:
            # The upload may have reached OctoPrint: the job stays "uploading" and the next
            # passes see from the printer's own state whether it runs (see decisions.reconcile).
            log.warning("upload of job %s: no clear answer (%s)", job_id, error)
            return
        except OctoPrintError as error:
            self._settle(job_id, JobStatus.queued, problem_of(error), now)
            return
        if not result.effective_print:
            self._settle(job_id, JobStatus.queued, Reason("not_started"), now)
            return
        with self.db.session(write=True) as session:
            values = {"status": JobStatus.printing, "octoprint_path": result.path, "started_at": now, "progress": 0.0}
            if _update_if(session, job_id, frozenset({JobStatus.uploading}), values):
                job = session.get(PrintJob, job_id)
                assert job is not None
                _open_run(session, job, now)
                printer = session.get(Printer, job.printer_id)
                if printer is not None:
                    printer.bed_clear, printer.current_job_id = False, job_id
                    printer.state = PrinterState.PRINTING.value
                    printer.state_reason_code, printer.state_reason_params = "", {}
                    session.add(printer)
            session.commit()
        self._publish([{"job_id": job_id, "status": JobStatus.printing}])

    def _settle(self, job_id: int, status: JobStatus, reason: Reason, now: datetime) -> None:
        """A launch that definitely did not start: back to the queue (or failed), with why."""
        with self.db.session(write=True) as session:
            values: dict[str, Any] = {"status": status, "dispatched_at": None, **self._reason(reason)}
            if status == JobStatus.failed:
                values["ended_at"] = now
            _update_if(session, job_id, frozenset({JobStatus.uploading}), values)
            session.commit()
        self._publish([{"job_id": job_id, "status": status}])

    def _stop_print(self, printer_id: int, url: str, key: str) -> None:
        client = self.clients.client(printer_id, url, key)
        if isinstance(client, Reason):
            return
        try:
            client.cancel_job()
        except OctoPrintError as error:  # tried again on the next pass
            log.warning("could not stop the cancelled print on printer %s: %s", printer_id, error)

    def _publish(self, changes: list[dict[str, Any]]) -> None:
        if self.events is None:
            return
        for change in changes:
            self.events.publish(Event("printing", change))


# --- row helpers -------------------------------------------------------------------------------


def _update_if(session: Session, job_id: int, expected: frozenset[str], values: dict[str, Any]) -> bool:
    """Write ``values`` only if the job is still in one of the ``expected`` statuses.

    A conditional UPDATE rather than read-then-write: a user may cancel the job between our read
    and our write, and their decision wins.
    """
    statement = (
        update(PrintJob)
        .where(col(PrintJob.id) == job_id, col(PrintJob.status).in_(expected))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(statement)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _find_open_run(session: Session, job: PrintJob) -> PrintRun | None:
    return session.exec(
        select(PrintRun).where(PrintRun.job_id == job.id, PrintRun.outcome == RunOutcome.printing)
    ).first()


def _open_run(session: Session, job: PrintJob, now: datetime) -> PrintRun:
    run = PrintRun(job_id=job.id or 0, printer_id=job.printer_id, member_id=job.member_id, started_at=now)
    session.add(run)
    session.flush()
    return run


def _record_observation(printer: Printer, seen: d.Observation, now: datetime, tz: ZoneInfo) -> None:
    printer.state = seen.state.value
    if seen.snapshot is not None:
        printer.last_seen = now
        printer.temperatures = {
            name: {"actual": t.actual, "target": t.target} for name, t in seen.snapshot.temperatures.items()
        }
        state, error = seen.snapshot.state, seen.snapshot.error or ""
        trouble = {PrinterState.OFFLINE: "printer_offline", PrinterState.ERROR: "printer_error"}.get(state)
        reason = Reason(trouble, error) if trouble else None
    else:
        assert seen.problem is not None
        reason = seen.problem
    printer.state_reason_code = reason.code if reason else ""
    printer.state_reason_params = reason.params(tz) if reason else {}


def build_print_dispatcher(runtime: Runtime) -> PrintDispatcher:
    """The dispatcher of a running service, ``runtime.controller.dispatcher``."""
    dispatcher = PrintDispatcher(
        runtime.db,
        runtime.secrets,
        runtime.settings,
        scheduler=runtime.scheduler,
        events=runtime.events,
        metrics=runtime.metrics,
    )
    runtime.controller.dispatcher = dispatcher
    return dispatcher
