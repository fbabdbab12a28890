"""The live occupancy of the site: a device-hub listener plus a periodic pass (a ``Component``).

Hot path (the transport's thread): an event is folded into the device's reading under a lock
and the ``occupancy`` worker is woken; nothing else. That worker then recomputes the statuses
(within ``occupancy_debounce_seconds``, so a burst of sensor messages is one update),
publishes what changed on the ``occupancy`` topic of the event hub, and feeds the history.
The ``occupancy-pass`` worker re-reads the layout, the rules and the bookings running now from
the database (time-based alerts, bookings starting and ending) and writes the history buckets:
every ``occupancy_pass_seconds``, and soon after a commit writes a space, a resource, a device
or a booking, in this process or (relayed through the broker) in another one: a space created
at run time joins the view then, not at the next pass. When the commits since the last pass
wrote bookings only (a burst of booking creates), it re-reads the bookings running now only,
and recomputes only if they changed (a booking made for next week changes nothing now).
``runtime.controller.occupancy``.

Events published on ``runtime.events`` (topic ``occupancy``), data:
``{"type": "space", "status": SpaceStatus}`` for each space whose status changed and
``{"type": "alert", "state": "raised" | "cleared", "alert": Alert}``; render them with
``to_dict(locale)``. ``{"type": "spaces", "space_ids": [...]}`` (parents first) when the set of
spaces changes, before their statuses (other processes keep their copy in that order).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from devices.model import DeviceEvent, DeviceRef
from tierslieu.booking.rules import EffectiveRules
from tierslieu.db.types import utcnow
from tierslieu.events import Event
from tierslieu.occupancy.alerts import Alert, Limits
from tierslieu.occupancy.history import Bucket, HistoryAccumulator, load_open_buckets, write_buckets
from tierslieu.occupancy.state import (
    BookingNow,
    Layout,
    Reading,
    SpaceContext,
    SpaceStatus,
    apply_event,
    compute_statuses,
)
from tierslieu.occupancy.store import bookings_now, load_layout, load_readings, space_contexts, space_rules
from tierslieu.runtime import Runtime
from tierslieu.workers import PeriodicWorker

__all__ = ["EventSource", "OccupancyTracker", "compute_from_database", "tree_order"]

log = logging.getLogger(__name__)

TOPIC = "occupancy"
# Commits writing these tables change the layout or what is booked now: the database pass runs
# soon (within the debounce, so a burst of bookings is one pass).
LAYOUT_TABLES = ("space", "resource", "device", "booking")
# Commits writing only bookings among LAYOUT_TABLES re-read the bookings running now, nothing else.
_NOT_BOOKINGS = tuple(table for table in LAYOUT_TABLES if table != "booking")
ChangeListener = Callable[[list[SpaceStatus]], None]


class EventSource(Protocol):
    """The part of the device hub the tracker needs."""

    def add_listener(self, listener: Callable[[DeviceRef, DeviceEvent, datetime], None]) -> None: ...


def tree_order(statuses: dict[int, SpaceStatus], layout: Layout) -> list[SpaceStatus]:
    """Parents before their children (the reverse of the layout's bottom-up walk)."""
    return [statuses[sid] for sid in reversed(layout.bottom_up) if sid in statuses]


def _limits(runtime: Runtime, now: datetime, started_at: datetime) -> Limits:
    minutes = runtime.settings.device_silence_minutes
    return Limits(now=now, silence=timedelta(minutes=minutes) if minutes else None, started_at=started_at)


def compute_from_database(runtime: Runtime, now: datetime | None = None) -> list[SpaceStatus]:
    """The statuses from what the database holds, for a service running without the tracker."""
    now = now or utcnow()
    with runtime.db.session() as session:
        layout = load_layout(session)
        readings = load_readings(session)
        rules = space_rules(session)
        bookings = bookings_now(session, now, rules)
    contexts = space_contexts(rules, now, runtime.settings.tz)
    # Without a tracker nobody has been listening: a device never heard of is offline now.
    limits = _limits(runtime, now, started_at=now - timedelta(days=3650))
    return tree_order(compute_statuses(layout, readings, bookings, contexts, limits), layout)


class OccupancyTracker:
    name = "occupancy"

    def __init__(
        self, runtime: Runtime, source: EventSource | None = None, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._runtime = runtime
        self._clock = clock
        settings = runtime.settings
        self._debounce_seconds = settings.occupancy_debounce_seconds
        self._lock = threading.Lock()  # guards _readings and _dirty
        self._readings: dict[int, Reading] = {}
        self._dirty = False
        scheduler, metrics = runtime.scheduler, runtime.metrics
        pass_s = settings.occupancy_pass_seconds
        # Both run_at_start=False: start() makes the first pass itself, before serving.
        self._updates = PeriodicWorker(
            "occupancy", lambda: self.refresh(), scheduler, pass_s, run_at_start=False, metrics=metrics
        )
        self._passes = PeriodicWorker(
            "occupancy-pass", self._database_pass, scheduler, pass_s, run_at_start=False, metrics=metrics
        )
        self._passes.wake_on(runtime.db.changes, *LAYOUT_TABLES, delay=self._debounce_seconds)
        # Written by the pass worker under _refresh_lock (or by the caller of refresh/run_pass in tests).
        self._layout = Layout({}, {})
        self._bookings: list[BookingNow] = []
        self._rules: dict[int, EffectiveRules] | None = None  # None until a pass has read them
        self._contexts: dict[int, SpaceContext] = {}
        self._statuses: dict[int, SpaceStatus] = {}
        self._order: list[int] = []
        self._alerts: dict[tuple[str, int, int | None, int | None], Alert] = {}
        self._history = HistoryAccumulator()
        self._unwritten: list[Bucket] = []
        self._listeners: list[ChangeListener] = []
        self._started_at = clock()
        self._refresh_lock = threading.Lock()
        # Registered now (no I/O): state the broker replays on connection must not be missed.
        if source is not None:
            source.add_listener(self.on_device_event)

    # -- Component -------------------------------------------------------------------------

    def start(self) -> None:
        self._started_at = self._clock()
        try:
            self.load()
            self._history.seed(load_open_buckets(self._runtime.db, self._started_at))
            self.run_pass()
        except Exception:  # the database may be busy: the periodic pass will try again
            log.exception("occupancy: first pass failed")
        self._updates.start()
        self._passes.start()

    def stop(self) -> None:
        self._passes.stop()
        self._updates.stop()
        try:
            self._write_history()
        except Exception:
            log.exception("occupancy: history not written at stop")

    # -- inputs ----------------------------------------------------------------------------

    def on_device_event(self, device: DeviceRef, event: DeviceEvent, at: datetime) -> None:
        """The hub listener: fold the event in and wake the tracker. Never blocks on I/O."""
        self.apply(device.id, event, at)

    def apply(self, device_id: int, event: DeviceEvent, at: datetime) -> bool:
        with self._lock:
            reading = self._readings.get(device_id)
            if reading is None:
                reading = self._readings[device_id] = Reading()
            changed = apply_event(reading, event, at)
            wake = changed and not self._dirty
            self._dirty = self._dirty or changed
        if wake:
            # Let a burst settle: one recompute for many messages.
            self._updates.wake(self._debounce_seconds)
        return changed

    def reading(self, device_id: int) -> Reading | None:
        with self._lock:
            reading = self._readings.get(device_id)
            return replace(reading) if reading is not None else None

    def add_change_listener(self, listener: ChangeListener) -> None:
        """Called (in the tracker's thread) with the spaces whose status changed."""
        self._listeners.append(listener)

    # -- outputs ---------------------------------------------------------------------------

    @property
    def layout(self) -> Layout:
        return self._layout

    def snapshot(self) -> list[SpaceStatus]:
        return tree_order(dict(self._statuses), self._layout)

    def status(self, space_id: int) -> SpaceStatus | None:
        return self._statuses.get(space_id)

    # -- work ------------------------------------------------------------------------------

    def load(self) -> None:
        """Layout and, for devices not heard from yet, the states the hub stored."""
        with self._runtime.db.session() as session:
            layout = load_layout(session)
            stored = load_readings(session)
        with self._lock:
            for device_id, reading in stored.items():
                self._readings.setdefault(device_id, reading)
        self._layout = layout

    def run_pass(self, now: datetime | None = None) -> list[SpaceStatus]:
        """Re-read layout, rules and bookings, recompute, write the history."""
        now = now or self._clock()
        with self._runtime.db.session() as session:
            layout = load_layout(session)
            rules = space_rules(session)
            bookings = bookings_now(session, now, rules)
        contexts = space_contexts(rules, now, self._runtime.settings.tz)
        with self._refresh_lock:
            self._layout, self._bookings, self._contexts, self._rules = layout, bookings, contexts, rules
        changed = self.refresh(now)
        self._write_history()
        return changed

    def refresh_bookings(self, now: datetime | None = None) -> list[SpaceStatus]:
        """Re-read the bookings running now only (the layout and the rules as the last pass
        read them); recompute only if they changed. The history waits for the next pass."""
        now = now or self._clock()
        if self._rules is None:
            return self.run_pass(now)
        with self._runtime.db.session() as session:
            bookings = bookings_now(session, now, self._rules)
        with self._refresh_lock:
            if set(bookings) == set(self._bookings):
                return []
            self._bookings = bookings
        return self.refresh(now)

    def _database_pass(self) -> None:
        changes = self._passes.changes
        if changes is None or changes.touches(*_NOT_BOOKINGS):
            self.run_pass()
        else:
            self.refresh_bookings()

    def refresh(self, now: datetime | None = None) -> list[SpaceStatus]:
        """Recompute every status from the readings; publish and return the changed ones."""
        with self._refresh_lock:
            now = now or self._clock()
            with self._lock:
                readings = {device_id: replace(r) for device_id, r in self._readings.items()}
                self._dirty = False
            statuses = compute_statuses(
                self._layout, readings, self._bookings, self._contexts, _limits(self._runtime, now, self._started_at)
            )
            changed = [s for sid, s in statuses.items() if self._statuses.get(sid) != s]
            self._statuses = statuses
            self._history.observe(now, {sid: (s.people, s.occupied) for sid, s in statuses.items()})
            self._publish(changed, statuses)
        return changed

    def _publish(self, changed: list[SpaceStatus], statuses: dict[int, SpaceStatus]) -> None:
        events = self._runtime.events
        order = [status.space_id for status in tree_order(statuses, self._layout)]
        if order != self._order:
            self._order = order
            events.publish(Event(TOPIC, {"type": "spaces", "space_ids": order}))
        alerts = {alert.key: alert for status in statuses.values() for alert in status.alerts}
        for key, alert in alerts.items():
            if key not in self._alerts:
                log.warning("alerte : %s", alert.message("fr"))
                events.publish(Event(TOPIC, {"type": "alert", "state": "raised", "alert": alert}))
        for key, alert in self._alerts.items():
            if key not in alerts:
                log.info("alerte terminée : %s", alert.message("fr"))
                events.publish(Event(TOPIC, {"type": "alert", "state": "cleared", "alert": alert}))
        self._alerts = alerts
        for status in changed:
            events.publish(Event(TOPIC, {"type": "space", "status": status}))
        if changed:
            for listener in list(self._listeners):
                try:
                    listener(changed)
                except Exception:
                    log.exception("occupancy listener %r failed", listener)

    def _write_history(self) -> None:
        # Completed buckets stay queued until a write succeeds; the current one is rewritten.
        self._unwritten.extend(self._history.take_completed())
        write_buckets(self._runtime.db, self._layout, [*self._unwritten, *self._history.current()])
        self._unwritten.clear()
