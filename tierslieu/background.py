"""Background components of a running service (device controller, scheduler, printer dispatch).

Each subsystem contributes a factory here; ``Settings.run_background`` turns them all off for
tools and API-only tests.
"""

from __future__ import annotations

from tierslieu.booking.jobs import BookingScheduler
from tierslieu.hardware.wiring import build_device_components
from tierslieu.occupancy.wiring import build_occupancy_components
from tierslieu.outbox.worker import OutboxWorker
from tierslieu.printing.dispatcher import build_print_dispatcher
from tierslieu.printing.mqtt import build_plugin_components
from tierslieu.runtime import Component, Runtime
from tierslieu.simulator.wiring import build_simulator_components


def build_components(runtime: Runtime) -> list[Component]:
    # Devices first: the broker must be up before anything publishes to it.
    components: list[Component] = [
        *build_device_components(runtime),
        # After the devices: the tracker listens to the hub, the publisher uses its transport.
        *build_occupancy_components(runtime),
        BookingScheduler(runtime),
        OutboxWorker(runtime),
        build_print_dispatcher(runtime),
        # After the dispatcher it wakes, on the devices' transport.
        *build_plugin_components(runtime),
        # Last: simulated devices (demo) talk to a service that is already listening.
        *build_simulator_components(runtime),
    ]
    return components
