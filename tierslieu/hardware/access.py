"""The access controller: badge scans in, doors opened, readers answered, decisions audited.

Hot path, in the transport's thread: drop a QoS 1 redelivery, decide from the in-memory facts
(a denial is re-decided on that badge's rows read again, so a booking made a moment ago
works at once), pulse the doors, answer the reader —
and only then hand the audit line and the check-in to the ``AuditWriter``. A walk-in at a free
desk needs a booking written first, so its answer comes from the writer thread.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from devices.model import BadgeScanned, DeviceEvent, DeviceKind, DeviceRef, Feedback
from tierslieu.booking.service import create_walk_in
from tierslieu.errors import TiersLieuError
from tierslieu.events import Event
from tierslieu.hardware.audit import AuditEntry, AuditWriter, CheckIn
from tierslieu.hardware.decisions import Decision, Reason, Scan, decide
from tierslieu.hardware.doors import DoorController
from tierslieu.hardware.facts import FactsCache
from tierslieu.hardware.hub import DeviceHub
from tierslieu.hardware.registry import RegisteredDevice
from tierslieu.models import AccessEvent
from tierslieu.runtime import Runtime

__all__ = ["AccessController"]

log = logging.getLogger(__name__)


class AccessController:
    """A ``Component`` (its audit writer); ``runtime.controller.access``."""

    name = "access-controller"

    def __init__(self, runtime: Runtime, hub: DeviceHub, facts: FactsCache, doors: DoorController) -> None:
        self._runtime = runtime
        self._hub = hub
        self._facts = facts
        self._doors = doors
        self.audit = AuditWriter(runtime.db, runtime.scheduler, hub.quiet, runtime.events, metrics=runtime.metrics)
        self._recent: dict[tuple[int, str], float] = {}
        self._recent_lock = threading.Lock()
        self.duplicates = 0
        hub.add_listener(self._on_event)

    def start(self) -> None:
        self._remember_last_decisions()
        self.audit.start()

    def _remember_last_decisions(self) -> None:
        """A controller taking over (or restarting) may receive again, by QoS 1 redelivery, a
        scan the one before it decided but had not acknowledged when it died: the last scans
        of the audit log count as just handled, so that door opens once. Measured from the
        last line, not from now: the takeover may come long after the death."""
        window = self._runtime.settings.access_dedupe_seconds
        if window <= 0:
            return
        with self._runtime.db.session() as session:
            last = session.exec(select(func.max(AccessEvent.at))).one()
            if last is None:
                return
            rows = session.exec(
                select(AccessEvent.device_id, AccessEvent.badge_uid).where(
                    col(AccessEvent.at) >= last - timedelta(seconds=window), col(AccessEvent.badge_uid).is_not(None)
                )
            ).all()
        clock = time.monotonic()
        with self._recent_lock:
            for device_id, uid in rows:
                if device_id is not None and uid is not None:
                    self._recent[(device_id, uid)] = clock

    def stop(self) -> None:
        self.audit.stop()

    # -- the hot path ----------------------------------------------------------------------

    def _on_event(self, device: DeviceRef, event: DeviceEvent, at: datetime) -> None:
        if isinstance(event, BadgeScanned) and device.kind == DeviceKind.BADGE_READER:
            self.handle_scan(event.device_id, event.uid, at, authenticated=event.authenticated)

    def handle_scan(self, reader_id: int, uid: str, at: datetime, *, authenticated: bool = True) -> Decision | None:
        """Decide and act on one scan; None when it repeats one just handled."""
        reader = self._hub.entry(reader_id)
        if reader is None or self._is_repeat(reader_id, uid if authenticated else f"{uid}/auth-failed"):
            return None
        scan = replace(self._scan(reader, uid, at), authenticated=authenticated)
        tz = self._runtime.settings.tz
        decision = decide(scan, self._facts.current, tz)
        if not decision.granted and authenticated:
            decision = decide(scan, self._facts.recheck(uid, at), tz)
        if decision.walk_in:
            self.audit.submit(lambda session: self._walk_in(session, reader, scan, decision))
            return decision
        for door_id in decision.unlock:
            self._doors.pulse(door_id)
        self._hub.send(reader_id, Feedback(decision.granted))
        self.audit.log(self._entry(reader, scan, decision))
        return decision

    def _is_repeat(self, reader_id: int, uid: str) -> bool:
        window = self._runtime.settings.access_dedupe_seconds
        clock = time.monotonic()
        with self._recent_lock:
            last = self._recent.get((reader_id, uid))
            if last is not None and clock - last < window:
                self.duplicates += 1
                return True
            self._recent[(reader_id, uid)] = clock
            if len(self._recent) > 1000:  # forget old scans; the window is a few seconds
                self._recent = {k: v for k, v in self._recent.items() if clock - v < window}
        return False

    def _scan(self, reader: RegisteredDevice, uid: str, at: datetime) -> Scan:
        doors: tuple[int, ...] = ()
        offline: set[int] = set()
        if reader.resource_id is None:  # a desk reader opens no door
            doors = tuple(d.id for d in self._hub.registry.of_kind(DeviceKind.DOOR) if d.space_id == reader.space_id)
            for door_id in doors:
                state = self._hub.state(door_id)
                if state is not None and state.online is False:
                    offline.add(door_id)
        return Scan(reader.id, reader.space_id, uid, at, reader.resource_id, doors, frozenset(offline))

    # -- after the doors: audit, check-in, walk-in (writer thread) ---------------------------

    def _line(self, reader: RegisteredDevice, scan: Scan, decision: Decision, detail: str = "") -> dict[str, Any]:
        """The ``access_event`` column values."""
        return {
            "at": scan.now,
            "device_id": reader.id,
            "device_name": reader.ref.name,
            "space_id": reader.space_id,
            "member_id": decision.member_id,
            "badge_uid": scan.uid,
            "decision": decision.decision,
            "reason": str(decision.reason),
            "booking_id": decision.booking_id,
            "detail": detail[:500],
        }

    def _entry(self, reader: RegisteredDevice, scan: Scan, decision: Decision) -> AuditEntry:
        check_in = None
        if decision.check_in and decision.member_id is not None and decision.booking_id is not None:
            check_in = CheckIn(decision.booking_id, decision.member_id, scan.now)
        return AuditEntry(self._line(reader, scan, decision), check_in, self._event(reader, scan, decision))

    def _walk_in(self, session: Session, reader: RegisteredDevice, scan: Scan, decision: Decision) -> list[AccessEvent]:
        assert decision.member_id is not None and scan.resource_id is not None
        try:
            with session.begin_nested():
                booking = create_walk_in(
                    session,
                    decision.member_id,
                    scan.resource_id,
                    scan.now,
                    self._runtime.settings.tz,
                    events=self._runtime.events,
                )
        except TiersLieuError as error:
            refused = Decision(False, Reason.NO_BOOKING, decision.member_id)
            self._hub.send(reader.id, Feedback(False))
            self._runtime.events.publish(self._event(reader, scan, refused))
            return [AccessEvent(**self._line(reader, scan, refused, error.code))]  # a code, worded when shown
        done = Decision(True, Reason.GRANTED_WALK_IN, decision.member_id, booking.id)
        self._hub.send(reader.id, Feedback(True))
        self._runtime.events.publish(self._event(reader, scan, done))
        return [AccessEvent(**self._line(reader, scan, done))]

    def _event(self, reader: RegisteredDevice, scan: Scan, decision: Decision) -> Event:
        return Event(
            "access",
            {
                "device_id": reader.id,
                "space_id": reader.space_id,
                "member_id": decision.member_id,
                "decision": decision.decision,
                "reason": str(decision.reason),
                "booking_id": decision.booking_id,
                "at": scan.now.isoformat(),
            },
        )
