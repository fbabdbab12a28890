"""Following the OctoPrint-MQTT plugin: prompt progress, and a dispatcher pass when a printer
says something happened (see :mod:`tierslieu.printing.plugin` for what is trusted and why).

The transport calls :meth:`PluginListener._on_message` in its own thread, which must stay quick:
it only interprets the message and leaves a note. A worker (``tierslieu.workers``) turns the
notes into one database write (the latest progress of each print) and one wake of the
dispatcher, and re-reads which printers have a base topic (after API changes, and every minute
for changes made by other processes such as the site loader; not on the change feed: the
dispatcher writes the printers' rows at each of its passes).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Final

from sqlalchemy import update
from sqlmodel import Session, col, select

from devices.transport import Transport, TransportError, Unsubscribe
from tierslieu.db import Database
from tierslieu.events import Event, EventHub
from tierslieu.metrics import Metrics
from tierslieu.models import Printer, PrintJob
from tierslieu.models.printing import JobStatus
from tierslieu.printing.plugin import ProgressSeen, Route, interpret, routes_of, subscriptions
from tierslieu.runtime import Component, Runtime
from tierslieu.workers import PeriodicWorker, Scheduler

__all__ = [
    "PluginListener",
    "PluginMetrics",
    "build_plugin_components",
    "record_progress",
]

log = logging.getLogger(__name__)

REFRESH_SECONDS: Final = 60.0


@dataclass
class PluginMetrics:
    received: int = 0  # messages on the plugin's topics
    malformed: int = 0
    progress_updates: int = 0  # jobs whose progress a message moved forward
    passes_requested: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def record_progress(session: Session, seen: ProgressSeen) -> bool:
    """Move the job's progress forward; True when it changed.

    Only a job printing that very file on one of the route's printers, and only forward: a
    retained or late message must not take a print back, and never ends it.
    """
    statement = (
        update(PrintJob)
        .where(
            col(PrintJob.id) == seen.job_id,
            col(PrintJob.printer_id).in_(seen.printer_ids),
            col(PrintJob.status) == JobStatus.printing,
            col(PrintJob.octoprint_path) == seen.path,
            col(PrintJob.progress) < seen.percent,
        )
        .values(progress=seen.percent)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(statement)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


class PluginListener:
    """A ``Component``; ``runtime.controller.plugin``."""

    name = "octoprint-mqtt"

    def __init__(
        self,
        db: Database,
        transport: Transport,
        wake: Callable[[], None],
        *,
        scheduler: Scheduler,
        events: EventHub | None = None,
        refresh_seconds: float = REFRESH_SECONDS,
        metrics: Metrics | None = None,
    ) -> None:
        self._db = db
        self._transport = transport
        self._wake = wake
        self._events = events
        self._refresh_seconds = refresh_seconds
        self.metrics = PluginMetrics()
        self._routes: tuple[Route, ...] = ()  # replaced whole: the transport thread reads it unlocked
        self._subscribed: dict[str, Unsubscribe] = {}  # topic filter -> how to leave it
        self._lock = threading.Lock()
        self._progress: dict[tuple[int, str], ProgressSeen] = {}
        self._pass_needed = False
        self._reload_needed = False
        self._next_refresh = 0.0
        self._worker = PeriodicWorker(
            self.name, self._pass, scheduler, refresh_seconds, run_at_start=False, metrics=metrics
        )

    # --- component ----------------------------------------------------------------------------

    def start(self) -> None:
        self._next_refresh = time.monotonic() + self._refresh_seconds
        self._worker.start()
        try:
            self.reload()
        except Exception:  # the database may be busy: the worker tries again
            log.exception("OctoPrint-MQTT: printers not read at start")
            self.request_reload()

    def stop(self) -> None:
        self._worker.stop()

    def request_reload(self) -> None:
        """Re-read the printers' base topics soon (a printer was created, changed or removed)."""
        with self._lock:
            self._reload_needed = True
        self._worker.wake()

    def reload(self) -> None:
        with self._db.session() as session:
            rows = session.exec(select(Printer.id, Printer.mqtt_base_topic)).all()
        routes = routes_of((printer_id, base) for printer_id, base in rows if printer_id is not None)
        wanted = subscriptions(routes)
        self._routes = routes
        try:
            for topic_filter in sorted(wanted - self._subscribed.keys()):
                self._subscribed[topic_filter] = self._transport.subscribe(topic_filter, self._on_message, 1)
            for topic_filter in sorted(self._subscribed.keys() - wanted):
                self._subscribed.pop(topic_filter)()
        except TransportError as error:
            log.error("OctoPrint-MQTT: subscriptions not updated: %s", error)
            with self._lock:
                self._reload_needed = True  # try again on the next round
            return
        if routes:
            log.info("OctoPrint-MQTT: following %s", ", ".join(r.base_topic for r in routes))

    # --- incoming (transport thread) --------------------------------------------------------------

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        try:
            action = interpret(self._routes, topic, payload)
        except Exception as error:  # malformed JSON, wrong types, absurd nesting: dropped, logged
            with self._lock:
                self.metrics.received += 1
                self.metrics.malformed += 1
            log.warning("OctoPrint-MQTT: message on %s dropped: %s", topic, error)
            return
        if action is None:
            return
        with self._lock:
            self.metrics.received += 1
            if isinstance(action, ProgressSeen):
                key = (action.job_id, action.path)
                known = self._progress.get(key)
                if known is None or known.percent < action.percent:
                    self._progress[key] = action
            else:
                log.info("OctoPrint-MQTT: %s on %s, dispatcher pass requested", action.event, topic)
                self._pass_needed = True
        self._worker.wake()

    # --- worker --------------------------------------------------------------------------------

    def _pass(self) -> None:
        # Woken (notes to handle) or scheduled (the safety re-read of the printers).
        if time.monotonic() >= self._next_refresh:
            self._next_refresh = time.monotonic() + self._refresh_seconds
            with self._lock:
                self._reload_needed = True
        self.work()  # a failure keeps the notes for the next pass

    def work(self) -> None:
        """Handle what arrived since the last round (the worker thread calls this; tests may too)."""
        with self._lock:
            progress, self._progress = self._progress, {}
            pass_needed, self._pass_needed = self._pass_needed, False
            reload_needed, self._reload_needed = self._reload_needed, False
        if reload_needed:
            self.reload()
        if progress:
            try:
                self._write(list(progress.values()))
            except Exception:
                with self._lock:  # put them back, unless newer ones arrived meanwhile
                    for key, seen in progress.items():
                        self._progress.setdefault(key, seen)
                raise
        if pass_needed:
            with self._lock:
                self.metrics.passes_requested += 1
            self._wake()

    def _write(self, seen: list[ProgressSeen]) -> None:
        with self._db.session(write=True) as session:
            moved = [s for s in seen if record_progress(session, s)]
            session.commit()
        with self._lock:
            self.metrics.progress_updates += len(moved)
        if self._events is not None:
            for s in moved:
                self._events.publish(
                    Event("printing", {"job_id": s.job_id, "status": JobStatus.printing, "progress": s.percent})
                )


def build_plugin_components(runtime: Runtime) -> list[Component]:
    """After the device components and the dispatcher: the listener uses the hub's transport."""
    hub = runtime.controller.hub
    if hub is None:
        log.info("OctoPrint-MQTT: no MQTT transport, printers are followed by polling only")
        return []
    listener = PluginListener(
        runtime.db,
        hub.transport,
        runtime.controller.wake_dispatcher,
        scheduler=runtime.scheduler,
        events=runtime.events,
        metrics=runtime.metrics,
    )
    runtime.controller.plugin = listener
    return [listener]
