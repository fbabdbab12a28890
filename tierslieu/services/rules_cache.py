"""The effective booking rules of each resource (its row, its site), kept until a space, a resource or a site changes.

Judging a booking needs the rules of the resource merged with those of its space and every
parent space: two to four primary-key reads and as many validations per request, for values that
change only when staff edit a space or a resource. The cache listens to the database's change
feed and forgets everything after any committed write to ``space`` or ``resource``. It is reached
from the request's session (``session.info``), so the booking service keeps its signature.

Across processes, a rule edited through another process is seen here when that process's change
reaches this one through the broker (``tierslieu.cluster.relay``), right after its commit; until
then this process judges with the rules it had, as it would have a moment before the edit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from sqlmodel import Session

from tierslieu.booking.ruleset import EffectiveRules
from tierslieu.db.changes import Changes, written_in_transaction
from tierslieu.db.detached import detached_copy
from tierslieu.models import Resource, Site, Space

__all__ = ["RULES_TABLES", "Place", "RulesCache", "edited_here", "rules_cache_of"]

# A site's timezone is part of how a resource's rules read (opening hours are local times).
RULES_TABLES = ("space", "resource", "site")
_KEY = "tierslieu.rules_cache"
V = TypeVar("V")
# A resource's site id and that site's timezone name.
Place = tuple[int | None, str | None]


class RulesCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_resource: dict[int, EffectiveRules] = {}
        self._rows: dict[int, Resource] = {}  # detached copies
        self._places: dict[int, Place] = {}
        self._era = 0  # bumped on every change, so a value computed before it is not stored after

    def on_change(self, changes: Changes) -> None:
        if changes.touches(*RULES_TABLES):
            with self._lock:
                self._era += 1
                self._by_resource.clear()
                self._rows.clear()
                self._places.clear()

    def get(self, resource_id: int, compute: Callable[[], EffectiveRules]) -> EffectiveRules:
        return self._get(self._by_resource, resource_id, compute)

    def row(self, resource_id: int, load: Callable[[], Resource]) -> Resource:
        """The resource's row as a detached copy (merge it into a session, never modify it)."""
        return self._get(self._rows, resource_id, lambda: detached_copy(load()))

    def place(
        self, resource_id: int, load: Callable[[], tuple[int | None, str | None]]
    ) -> tuple[int | None, str | None]:
        """The resource's site id and that site's timezone name."""
        return self._get(self._places, resource_id, load)

    def _get(self, values: dict[int, V], resource_id: int, compute: Callable[[], V]) -> V:
        with self._lock:
            found, era = values.get(resource_id), self._era
        if found is not None:
            return found
        value = compute()
        with self._lock:
            if era == self._era:
                values[resource_id] = value
        return value

    def attach(self, session: Session) -> None:
        session.info[_KEY] = self


def rules_cache_of(session: Session) -> RulesCache | None:
    cache: RulesCache | None = session.info.get(_KEY)
    return cache


def edited_here(session: Session) -> bool:
    """This transaction changed a space, a resource or a site: the cache cannot know it yet."""
    pending = (*session.new, *session.dirty, *session.deleted)
    unflushed = any(isinstance(obj, (Space, Resource, Site)) for obj in pending)
    return unflushed or bool(written_in_transaction(session) & set(RULES_TABLES))
