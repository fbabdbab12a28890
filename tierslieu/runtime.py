"""The long-lived objects of one running service, created by the app's lifespan (no globals).

``Runtime`` is handed to routes through ``request.app.state.runtime`` and to background
components at construction. Components are started in order and stopped in reverse; then the
process's one scheduler (every background loop is a worker on it) is shut down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from devices.transport import Transport
from tierslieu.cluster.roles import Leadership
from tierslieu.controller import ControllerServices
from tierslieu.db import Database, PoolSizing
from tierslieu.events import EventHub
from tierslieu.metrics import Metrics
from tierslieu.outbox.programme import on_programme_event
from tierslieu.programme.events import ProgrammeEvents
from tierslieu.secret_key import load_or_create_key
from tierslieu.security import Secrets
from tierslieu.services.identity import IdentityCache
from tierslieu.services.rules_cache import RulesCache
from tierslieu.settings import Settings
from tierslieu.workers import Scheduler

if TYPE_CHECKING:  # the relay is a component, which imports the runtime
    from tierslieu.cluster.relay import EventRelay

log = logging.getLogger(__name__)


class Component(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Runtime:
    settings: Settings
    db: Database
    secrets: Secrets
    events: EventHub = field(default_factory=EventHub)
    components: list[Component] = field(default_factory=list)
    # Cluster: this process's role and whether it leads the controllers (tierslieu.cluster).
    leadership: Leadership = field(default_factory=Leadership)
    metrics: Metrics = field(default_factory=Metrics)
    # Listeners of the programme's changes (the notifications outbox), called in the change's
    # transaction; built in ``__post_init__`` so they share ``events``.
    programme_events: ProgrammeEvents = field(init=False)
    # The controller side while this process leads (empty otherwise: api role, tools, tests).
    controller: ControllerServices = field(default_factory=ControllerServices)
    # The MQTT connection of a process that drives no device (its readiness probe).
    mqtt_probe: Transport | None = None
    # Events and committed changes to and from the other processes, through the broker.
    relay: EventRelay | None = None
    # The one APScheduler scheduler of the process: every background loop is a job on it.
    scheduler: Scheduler = field(default_factory=Scheduler)

    # Callers' identities per token, revoked at once through the database's identity generation.
    identities: IdentityCache = field(default_factory=IdentityCache)
    # The merged booking rules of each resource, until a space or resource changes.
    rules: RulesCache = field(default_factory=RulesCache)

    def __post_init__(self) -> None:
        self.programme_events = ProgrammeEvents(self.events)
        self.identities.install(self.db.changes)
        self.db.changes.subscribe(self.rules.on_change)
        self.db.on_session(self.rules.attach)
        # Every change of the programme writes its message in the same transaction.
        self.programme_events.subscribe(on_programme_event)

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        key = settings.secret_key or load_or_create_key(settings.data_dir)
        pool = PoolSizing(settings.db_pool_size, settings.db_pool_overflow, settings.db_pool_timeout_seconds)
        db = Database(settings.resolved_database_url, pool=pool)
        return cls(settings=settings, db=db, secrets=Secrets(key), leadership=Leadership(role=settings.role))

    def start(self) -> None:
        for component in self.components:
            log.info("starting %s", component.name)
            component.start()

    def stop(self) -> None:
        for component in reversed(self.components):
            try:
                component.stop()
            except Exception:  # a failing stop must not keep the others running
                log.exception("stopping %s failed", component.name)
        self.scheduler.shutdown()
        self.db.dispose()
