"""The effective booking rules of each resource, kept until a space or a resource changes.

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

from sqlmodel import Session

from tierslieu.booking.ruleset import EffectiveRules
from tierslieu.db.changes import Changes

__all__ = ["RULES_TABLES", "RulesCache", "rules_cache_of"]

RULES_TABLES = ("space", "resource")
_KEY = "tierslieu.rules_cache"


class RulesCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_resource: dict[int, EffectiveRules] = {}
        self._era = 0  # bumped on every change, so a value computed before it is not stored after

    def on_change(self, changes: Changes) -> None:
        if changes.touches(*RULES_TABLES):
            with self._lock:
                self._era += 1
                self._by_resource.clear()

    def get(self, resource_id: int, compute: Callable[[], EffectiveRules]) -> EffectiveRules:
        with self._lock:
            found, era = self._by_resource.get(resource_id), self._era
        if found is not None:
            return found
        rules = compute()
        with self._lock:
            if era == self._era:
                self._by_resource[resource_id] = rules
        return rules

    def attach(self, session: Session) -> None:
        session.info[_KEY] = self


def rules_cache_of(session: Session) -> RulesCache | None:
    cache: RulesCache | None = session.info.get(_KEY)
    return cache
