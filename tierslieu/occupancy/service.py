"""What the API asks of the occupancy subsystem, whether or not the tracker runs."""

from __future__ import annotations

from tierslieu.occupancy.state import SpaceStatus
from tierslieu.occupancy.tracker import OccupancyTracker, compute_from_database
from tierslieu.runtime import Runtime

__all__ = ["current_statuses", "tracker_of"]


def tracker_of(runtime: Runtime) -> OccupancyTracker | None:
    return runtime.controller.occupancy


def current_statuses(runtime: Runtime) -> list[SpaceStatus]:
    """Live statuses from the tracker; without one (background work off), from what the
    database holds (device states written by the hub, bookings running now)."""
    tracker = tracker_of(runtime)
    if tracker is not None:
        return tracker.snapshot()
    return compute_from_database(runtime)
