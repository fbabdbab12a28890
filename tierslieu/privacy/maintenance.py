"""The maintenance worker: the access-log retention purge and the cleaning of abandoned
upload previews, on the same shape as the booking scheduler (one APScheduler job per task,
run at start to catch up, then every interval; errors logged, the next run retries)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from tierslieu.db.types import utcnow
from tierslieu.printing.previews import PreviewStore
from tierslieu.privacy.retention import PurgeReport, purge_access_log
from tierslieu.runtime import Runtime

__all__ = ["MaintenanceScheduler"]

log = logging.getLogger(__name__)

# Previews expire after an hour by default: look for them a few times per hour.
PREVIEW_CLEAN_SECONDS = 300.0


class MaintenanceScheduler:
    name = "maintenance"

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._scheduler: BackgroundScheduler | None = None

    def start(self) -> None:
        settings = self._runtime.settings
        scheduler = BackgroundScheduler(timezone=UTC)
        every = {"max_instances": 1, "coalesce": True, "next_run_time": datetime.now(UTC)}
        scheduler.add_job(self.purge, "interval", hours=settings.privacy_purge_hours, id="access-purge", **every)
        clean_s = min(PREVIEW_CLEAN_SECONDS, settings.print_preview_expiry_minutes * 60 / 4)
        scheduler.add_job(self.clean_previews, "interval", seconds=clean_s, id="preview-clean", **every)
        scheduler.start()
        self._scheduler = scheduler

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None

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
