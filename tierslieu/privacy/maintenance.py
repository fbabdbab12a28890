"""The maintenance workers: the access-log retention purge, the programme's attendance
retention (nightly), and the cleaning of abandoned upload previews. Each runs at start to catch
up, then on its schedule; errors are logged and the next run retries."""

from __future__ import annotations

import logging

from apscheduler.triggers.cron import CronTrigger

from tierslieu.db.types import utcnow
from tierslieu.printing.previews import PreviewStore
from tierslieu.privacy.retention import PurgeReport, purge_access_log
from tierslieu.programme.retention import purge_attendance
from tierslieu.runtime import Runtime
from tierslieu.workers import PeriodicWorker

__all__ = ["MaintenanceScheduler"]

log = logging.getLogger(__name__)

# Previews expire after an hour by default: look for them a few times per hour.
PREVIEW_CLEAN_SECONDS = 300.0
# Attendance lists become counts after months: once a night (site time) is plenty.
ATTENDANCE_PURGE_AT = {"hour": 3, "minute": 30}


class MaintenanceScheduler:
    name = "maintenance"

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        settings = runtime.settings
        scheduler, metrics = runtime.scheduler, runtime.metrics
        clean_s = min(PREVIEW_CLEAN_SECONDS, settings.print_preview_expiry_minutes * 60 / 4)
        nightly = CronTrigger(timezone=settings.tz, **ATTENDANCE_PURGE_AT)
        self._workers = [
            PeriodicWorker("access-purge", self.purge, scheduler, settings.privacy_purge_hours * 3600, metrics=metrics),
            PeriodicWorker("attendance-purge", self.purge_attendance, scheduler, nightly, metrics=metrics),
            PeriodicWorker("preview-clean", self.clean_previews, scheduler, clean_s, metrics=metrics),
        ]

    def start(self) -> None:
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        for worker in self._workers:
            worker.stop()

    def purge(self) -> PurgeReport | None:
        runtime = self._runtime
        settings = runtime.settings
        try:
            with runtime.db.session(write=True) as session:
                report = purge_access_log(session, utcnow(), settings.access_log_retention_days, settings.tz)
                session.commit()
        except Exception:
            log.exception("access-log purge failed; retrying at the next run")
            return None
        log.info("access-log purge: %s line(s) before %s", report.deleted, report.cutoff.isoformat())
        return report

    def purge_attendance(self) -> int:
        """The programme's privacy pass: attendance lists past the retention period become counts."""
        runtime = self._runtime
        with runtime.db.session(write=True) as session:
            purged = purge_attendance(session, now=utcnow(), months=runtime.settings.attendance_retention_months)
            session.commit()
        if purged:
            log.info("attendance of %d session(s) reduced to counts", len(purged))
        return len(purged)

    def clean_previews(self) -> int:
        settings = self._runtime.settings
        try:
            removed = PreviewStore(settings.upload_dir).clean(settings.print_preview_expiry_minutes * 60)
        except OSError:
            log.exception("cleaning upload previews failed; retrying at the next run")
            return 0
        if removed:
            log.info("upload previews: %d expired preview(s) deleted", removed)
        return removed
