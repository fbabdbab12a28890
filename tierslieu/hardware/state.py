"""What the devices last told us, kept in memory and written to the database in batches.

The ingest path must not wait on the database: every event updates an in-memory record at
once (the controllers read it from there), and a flusher writes the changed records
(``Device.online``, ``last_seen``, ``reported``) every few seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from devices.model import (
    BadgeScanned,
    BatteryLevel,
    CommandAck,
    ContactChanged,
    DeviceAvailability,
    DeviceEvent,
    FireAlarmChanged,
    Illuminance,
    LockStateChanged,
    OccupancyChanged,
    PeopleCount,
    RelayStateChanged,
)
from tierslieu.db import Database
from tierslieu.hardware.quiet import chunked, let_others_run
from tierslieu.models import Device

__all__ = ["DeviceState", "StateBook", "door_unlocked"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeviceState:
    # None: the device never said whether it is online (it is then assumed reachable).
    online: bool | None = None
    last_seen: datetime | None = None
    reported: Mapping[str, Any] = field(default_factory=dict)


def door_unlocked(reported: Mapping[str, Any]) -> bool | None:
    """A door's reported state: True unlocked, False locked, None unknown (or jammed)."""
    if "locked" in reported:
        locked = reported["locked"]
        return None if locked is None else not bool(locked)
    if "relay_on" in reported:
        return bool(reported["relay_on"])
    return None


def _reported_changes(event: DeviceEvent) -> dict[str, Any]:
    match event:
        case LockStateChanged(locked=locked, raw_state=raw):
            return {"locked": locked, "lock_state": raw}
        case RelayStateChanged(on=on):
            return {"relay_on": on}
        case ContactChanged(open=is_open):
            return {"open": is_open}
        case FireAlarmChanged(alarm=alarm):
            return {"alarm": alarm}
        case OccupancyChanged(occupied=occupied):
            return {"occupied": occupied}
        case PeopleCount(count=count):
            return {"people": count}
        case BatteryLevel(percent=percent):
            return {"battery": percent}
        case Illuminance(lux=lux):
            return {"illuminance": lux}
        case BadgeScanned() | CommandAck() | DeviceAvailability():
            return {}
    return {}


class _Live:
    """A device's state as its events arrive. The immutable ``DeviceState`` readers get is
    built when first asked for after a change: most events are never read one by one."""

    __slots__ = ("last_seen", "online", "reported", "snapshot")

    def __init__(self, state: DeviceState) -> None:
        self.online = state.online
        self.last_seen = state.last_seen
        self.reported = dict(state.reported)
        self.snapshot: DeviceState | None = state

    def frozen(self) -> DeviceState:
        if self.snapshot is None:
            self.snapshot = DeviceState(self.online, self.last_seen, dict(self.reported))
        return self.snapshot


class StateBook:
    """Thread-safe in-memory device states plus the set of ids not yet written."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[int, _Live] = {}
        self._dirty: set[int] = set()

    def seed(self, states: Mapping[int, DeviceState]) -> None:
        with self._lock:
            for device_id, state in states.items():
                if device_id not in self._states:
                    self._states[device_id] = _Live(state)

    def get(self, device_id: int) -> DeviceState | None:
        with self._lock:
            live = self._states.get(device_id)
            return live.frozen() if live is not None else None

    def note(self, device_id: int, event: DeviceEvent, at: datetime) -> None:
        # Called for every event on the ingest path: updates in place, builds nothing.
        online = event.online if isinstance(event, DeviceAvailability) else True
        changes = _reported_changes(event)
        with self._lock:
            live = self._states.get(device_id)
            if live is None:
                live = self._states[device_id] = _Live(_UNKNOWN)
            # A last will ("offline") is not a sign of life: keep last_seen as it was.
            if online:
                live.last_seen = at
            live.online = online
            if changes:
                live.reported.update(changes)
            live.snapshot = None
            self._dirty.add(device_id)

    def forget(self, keep: set[int]) -> None:
        with self._lock:
            for device_id in set(self._states) - keep:
                del self._states[device_id]
            self._dirty &= keep

    def has_dirty(self) -> bool:
        return bool(self._dirty)  # unlocked: a state noted just after is written on the next pass

    def take_dirty(self) -> dict[int, DeviceState]:
        with self._lock:
            taken = {
                device_id: self._states[device_id].frozen() for device_id in self._dirty if device_id in self._states
            }
            self._dirty.clear()
            return taken

    def put_back(self, device_ids: set[int]) -> None:
        with self._lock:
            self._dirty |= device_ids & set(self._states)


_UNKNOWN = DeviceState()


def load_states(db: Database) -> dict[int, DeviceState]:
    with db.session() as session:
        rows = session.exec(select(Device)).all()
        return {
            row.id: DeviceState(
                online=row.online if row.last_seen is not None else None,
                last_seen=row.last_seen,
                reported=dict(row.reported or {}),
            )
            for row in rows
            if row.id is not None
        }


def write_states(db: Database, states: Mapping[int, DeviceState]) -> None:
    """One transaction for the whole batch; rows deleted meanwhile are skipped (nothing matches).

    A plain executemany in small chunks, not ORM objects: this runs beside the thread
    answering badges and must not hold the interpreter lock for long (see quiet.py).
    """
    if not states:
        return
    statement = (
        sa.update(Device)
        .where(col(Device.id) == sa.bindparam("d_id"))
        .values(online=sa.bindparam("d_online"), last_seen=sa.bindparam("d_seen"), reported=sa.bindparam("d_reported"))
    )
    params = [
        {"d_id": device_id, "d_online": bool(s.online), "d_seen": s.last_seen, "d_reported": dict(s.reported)}
        for device_id, s in states.items()
    ]
    with db.session(write=True) as session:
        connection = session.connection()
        for chunk in chunked(params):
            connection.execute(statement, chunk)
            let_others_run()
        session.commit()
