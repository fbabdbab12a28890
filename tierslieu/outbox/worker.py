"""The outbox worker: every ``outbox_pass_seconds`` it claims the messages that are due, sends
each through the transport (SMTP, or ``.eml`` files), and records the outcome. A failed try is
retried with exponential back-off, up to ``outbox_max_attempts``; a message is sent by the one
worker whose claim succeeded (see :mod:`tierslieu.outbox.store`).

:func:`deliver_pass` is a plain function (tests call it with any ``now`` and transport);
:class:`OutboxWorker` runs it as a worker of the process's scheduler.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from tierslieu.db import Database
from tierslieu.db.types import utcnow
from tierslieu.models import OutboxMessage, Site
from tierslieu.outbox import store
from tierslieu.outbox.compose import compose
from tierslieu.outbox.programme import enqueue_reminders
from tierslieu.outbox.transports import DeliveryError, FileTransport, SmtpTransport, Transport
from tierslieu.runtime import Runtime
from tierslieu.settings import Settings
from tierslieu.workers import PeriodicWorker

__all__ = ["DeliveryReport", "OutboxWorker", "deliver_pass", "transport_for"]

log = logging.getLogger(__name__)
DEFAULT_SITE_NAME = "Tiers-lieu"
REMINDER_PASS_SECONDS = 300.0


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.sent or self.retrying or self.failed)


def transport_for(settings: Settings) -> Transport:
    if settings.smtp_url:
        return SmtpTransport(settings.smtp_url)
    return FileTransport(settings.outbox_dir)


def deliver_pass(
    db: Database,
    transport: Transport,
    now: datetime,
    *,
    sender: str,
    tz: ZoneInfo,
    max_attempts: int = 8,
    limit: int = 20,
) -> DeliveryReport:
    """Claim what is due, send it outside any transaction, record each outcome."""
    report = DeliveryReport()
    with db.session(write=True) as session:
        claimed = store.claim_due(session, now, limit=limit)
        profile = session.exec(select(Site).order_by(col(Site.id))).first()
    site_name = profile.name if profile else DEFAULT_SITE_NAME
    try:
        _deliver(db, transport, claimed, now, sender=sender, site_name=site_name, tz=tz,
                 max_attempts=max_attempts, report=report)  # fmt: skip
    finally:
        transport.close()
    return report


def _deliver(
    db: Database,
    transport: Transport,
    claimed: list[tuple[OutboxMessage, str]],
    now: datetime,
    *,
    sender: str,
    site_name: str,
    tz: ZoneInfo,
    max_attempts: int,
    report: DeliveryReport,
) -> None:
    for message, token in claimed:
        assert message.id is not None
        error = None
        try:
            transport.send(compose(message, sender=sender, site_name=site_name, tz=tz), message.key)
        except DeliveryError as exc:
            error = str(exc)
        except Exception as exc:  # a bad message (texts, parameters) must not stop the others
            log.exception("outbox message %s could not be composed", message.id)
            error = f"{type(exc).__name__}: {exc}"
        with db.session(write=True) as session:
            if error is None:
                store.mark_sent(session, message.id, token, transport=transport.name, now=now)
                report.sent.append(message.id)
            else:
                status = store.mark_failed(session, message, token, error, now=now, max_attempts=max_attempts)
                (report.failed if status == "failed" else report.retrying).append(message.id)
            session.commit()


class OutboxWorker:
    """The background component: two workers, :func:`deliver_pass` and the reminders."""

    name = "outbox-worker"

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._transport = transport_for(runtime.settings)
        scheduler, metrics = runtime.scheduler, runtime.metrics
        self._workers = [
            PeriodicWorker("outbox", self.tick, scheduler, runtime.settings.outbox_pass_seconds, metrics=metrics),
            PeriodicWorker("outbox-reminders", self.remind, scheduler, REMINDER_PASS_SECONDS, metrics=metrics),
        ]
        # Not woken by the change feed: a pass claims and marks messages in write transactions,
        # which during a burst of registrations (each writes its e-mail) would compete with the
        # requests for SQLite's one writer; a message leaving within a pass is soon enough.

    def start(self) -> None:
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        for worker in self._workers:
            worker.stop()

    def remind(self) -> None:
        """Write the reminders of tomorrow's sessions and appointments (once each), and forget
        the messages older than ``outbox_retention_days``."""
        settings = self._runtime.settings
        try:
            with self._runtime.db.session(write=True) as session:
                now = utcnow()
                enqueue_reminders(session, now, settings.tz)
                store.forget_old(session, now, settings.outbox_retention_days)
                session.commit()
        except Exception:
            log.exception("reminder pass failed; retrying at the next one")

    def tick(self) -> DeliveryReport | None:
        settings = self._runtime.settings
        try:
            report = deliver_pass(
                self._runtime.db,
                self._transport,
                utcnow(),
                sender=settings.mail_from,
                tz=settings.tz,
                max_attempts=settings.outbox_max_attempts,
            )
        except Exception:
            log.exception("outbox pass failed; retrying at the next tick")
            return None
        if report.changed:
            log.info("outbox pass: %s", report)
        return report
