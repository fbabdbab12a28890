"""What the API asks of the occupancy subsystem, whether or not the tracker runs."""

from __future__ import annotations

from tierslieu.cluster.relay import relayed_statuses
from tierslieu.occupancy.state import SpaceStatus
from tierslieu.occupancy.tracker import OccupancyTracker, compute_from_database
from tierslieu.runtime import Runtime

__all__ = ["current_statuses", "tracker_of"]


def tracker_of(runtime: Runtime) -> OccupancyTracker | None:
    return runtime.controller.occupancy


def current_statuses(runtime: Runtime) -> list[SpaceStatus]:
    """Live statuses from the tracker; in a process without one (an ``api`` process, a standby),
    the leader's as relayed through the broker; before they arrive, or with background work
    off, from what the database holds (device states written by the hub, bookings running now)."""
    tracker = tracker_of(runtime)
    if tracker is not None:
        return tracker.snapshot()
    relayed = relayed_statuses(runtime)
    if relayed is not None:
        return relayed
    return compute_from_database(runtime)
