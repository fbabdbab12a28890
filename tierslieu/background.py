"""Background components of a running service (device controller, scheduler, printer dispatch).

Each subsystem contributes a factory here; ``Settings.run_background`` turns them all off for
tools and API-only tests. What the controller side runs is set, typed, on
``runtime.controller`` (see ``tierslieu.controller``); every loop is a worker on the runtime's
one scheduler (see ``tierslieu.workers``).
"""

from __future__ import annotations

from tierslieu.booking.jobs import BookingScheduler
from tierslieu.cluster import LeaderGate, leader_lock_for
from tierslieu.cluster.probe import broker_probe
from tierslieu.cluster.relay import build_event_relay
from tierslieu.controller import ControllerServices
from tierslieu.hardware.wiring import TransportComponent, build_device_components
from tierslieu.occupancy.wiring import build_occupancy_components
from tierslieu.outbox.worker import OutboxWorker
from tierslieu.printing.dispatcher import build_print_dispatcher
from tierslieu.printing.mqtt import build_plugin_components
from tierslieu.privacy.maintenance import MaintenanceScheduler
from tierslieu.runtime import Component, Runtime
from tierslieu.simulator.wiring import build_simulator_components


def build_components(runtime: Runtime) -> list[Component]:
    """An ``api`` process runs none; a controller (or ``all``) runs them while it leads."""
    settings = runtime.settings
    # A process with a role of its own joins the broker under a client id of its own.
    connection: list[Component] = []
    transport = None
    if settings.role != "all" and settings.mqtt_url:
        transport = runtime.mqtt_probe = broker_probe(settings, settings.mqtt_url)
        connection.append(TransportComponent(transport))
    # Events and committed changes to and from the other processes, on this process's own
    # connection. The relay starts before the connection: its filters go in the first SUBSCRIBE,
    # so "connected" means it hears the others (started after, it subscribed once READY, and a
    # message sent before the broker had that SUBSCRIBE was lost).
    probe = [*build_event_relay(runtime, transport), *connection]
    if settings.role == "api":
        return probe

    def on_change(leading: bool) -> None:
        runtime.leadership.leader = leading

    lock = leader_lock_for(runtime.db.url, settings.data_dir, settings.controller_group)
    gate = LeaderGate(
        lock, lambda: build_controller_components(runtime), poll_s=settings.leader_poll_interval, on_change=on_change
    )
    return [*probe, gate]


def build_controller_components(runtime: Runtime) -> list[Component]:
    """Each builder below sets what it builds on ``runtime.controller`` (a fresh one here)."""
    runtime.controller = ControllerServices()
    # Devices first: the broker must be up before anything publishes to it.
    components: list[Component] = [
        *build_device_components(runtime),
        # After the devices: the tracker listens to the hub, the publisher uses its transport.
        *build_occupancy_components(runtime),
        BookingScheduler(runtime),
        OutboxWorker(runtime),
        # Access-log retention purge and abandoned upload previews.
        MaintenanceScheduler(runtime),
        build_print_dispatcher(runtime),
        # After the dispatcher it wakes, on the devices' transport.
        *build_plugin_components(runtime),
        # Last: simulated devices (demo) talk to a service that is already listening.
        *build_simulator_components(runtime),
    ]
    return components
