"""Background components of a running service (device controller, scheduler, printer dispatch).

Each subsystem contributes a factory here; ``Settings.run_background`` turns them all off for
tools and API-only tests.
"""

from __future__ import annotations

from tierslieu.booking.jobs import BookingScheduler
from tierslieu.runtime import Component, Runtime


def build_components(runtime: Runtime) -> list[Component]:
    components: list[Component] = [BookingScheduler(runtime)]
    return components
