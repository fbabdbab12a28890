"""Fire alarm release: the state the door controller reads, kept in the access log.

An alarm from any fire panel latches: every egress door is held open until staff reset it
(a panel back to normal does not relock a building being evacuated). The latch lives in the
append-only access log — the alarm and the reset are lines there anyway — so a restart in
the middle of an evacuation comes back in alarm. A panel going offline is an alert, never a
release: a cut cable must not open a building at night.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from devices.model import DeviceRef
from tierslieu.models import AccessEvent

__all__ = [
    "EMERGENCY",
    "FIRE_ALARM",
    "FIRE_PANEL_OFFLINE",
    "FIRE_RELEASE",
    "FIRE_RESET",
    "EmergencyLatch",
    "alarm_in_log",
    "emergency_line",
    "recent_lines",
]

EMERGENCY = "emergency"  # the access_event decision of every line below
FIRE_ALARM, FIRE_RELEASE, FIRE_RESET = "fire_alarm", "fire_release", "fire_reset"
FIRE_PANEL_OFFLINE = "fire_panel_offline"


def alarm_in_log(session: Session) -> datetime | None:
    """When the alarm in force started, from the access log; None when the last word was a reset."""
    query = (
        sa.select(col(AccessEvent.reason), col(AccessEvent.at))
        .where(col(AccessEvent.decision) == EMERGENCY, col(AccessEvent.reason).in_((FIRE_ALARM, FIRE_RESET)))
        .order_by(col(AccessEvent.id).desc())
        .limit(1)
    )
    row = session.connection().execute(query).first()
    return row[1] if row is not None and row[0] == FIRE_ALARM else None


def recent_lines(session: Session, limit: int = 12) -> list[AccessEvent]:
    """The latest alarm, release, reset and offline-panel lines, newest first."""
    query = (
        sa.select(AccessEvent)
        .where(col(AccessEvent.decision) == EMERGENCY)
        .order_by(col(AccessEvent.id).desc())
        .limit(limit)
    )
    return list(session.exec(query).scalars())  # type: ignore[call-overload]


def emergency_line(
    reason: str,
    at: datetime,
    device: DeviceRef | None,
    space_id: int | None,
    detail: str = "",
    member_id: int | None = None,
) -> AccessEvent:
    return AccessEvent(
        at=at,
        device_id=device.id if device is not None else None,
        device_name=device.name if device is not None else "",
        space_id=space_id,
        member_id=member_id,
        decision=EMERGENCY,
        reason=reason,
        detail=detail[:500],
    )


@dataclass(frozen=True)
class PendingLine:
    reason: str
    at: datetime
    device: DeviceRef | None
    space_id: int | None
    detail: str = ""


class EmergencyLatch:
    """The alarm latch in memory (thread-safe), with the log lines still to write."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: datetime | None = None
        self._released: set[int] = set()  # doors whose release is logged for this alarm
        self._pending: list[PendingLine] = []

    @property
    def active(self) -> bool:
        return self._since is not None

    @property
    def since(self) -> datetime | None:
        return self._since

    def restore(self, since: datetime | None) -> None:
        """The state found in the access log at start."""
        with self._lock:
            self._since = since

    def alarm(self, panel: DeviceRef, space_id: int, at: datetime) -> bool:
        """A panel reports an alarm; True when this starts one (the first panel to say so)."""
        with self._lock:
            self._pending.append(PendingLine(FIRE_ALARM, at, panel, space_id))
            if self._since is not None:
                return False
            self._since, self._released = at, set()
            return True

    def offline(self, panel: DeviceRef, space_id: int, at: datetime) -> None:
        with self._lock:
            self._pending.append(PendingLine(FIRE_PANEL_OFFLINE, at, panel, space_id))

    def released(self, door: DeviceRef, space_id: int, at: datetime) -> None:
        with self._lock:
            if door.id not in self._released:
                self._released.add(door.id)
                self._pending.append(PendingLine(FIRE_RELEASE, at, door, space_id))

    def reset(self) -> None:
        """Staff reset (the API writes the reset line in its own transaction)."""
        with self._lock:
            self._since, self._released = None, set()

    def take_pending(self) -> list[PendingLine]:
        with self._lock:
            pending, self._pending = self._pending, []
            return pending

    def put_back(self, lines: list[PendingLine]) -> None:
        with self._lock:
            self._pending[:0] = lines
