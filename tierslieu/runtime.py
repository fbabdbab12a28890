"""The long-lived objects of one running service, created by the app's lifespan (no globals).

``Runtime`` is handed to routes through ``request.app.state.runtime`` and to background
components at construction. Components are started in order and stopped in reverse.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from tierslieu.db import Database
from tierslieu.events import EventHub
from tierslieu.secret_key import load_or_create_key
from tierslieu.security import Secrets
from tierslieu.settings import Settings

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
    # Filled by start_background(); optional so the API can run without devices (tools, tests).
    services: dict[str, object] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        key = settings.secret_key or load_or_create_key(settings.data_dir)
        return cls(settings=settings, db=Database(settings.resolved_database_url), secrets=Secrets(key))

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
        self.db.dispose()
