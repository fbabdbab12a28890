"""Writes announce what changed, after commit, with the ids: one typed mechanism for every writer.

Every session that :class:`~tierslieu.db.Database` hands out records, at each flush, the rows it
inserted, updated or deleted, by table. When the transaction commits, the feed calls each
subscriber once with one :class:`Changes`; a rollback announces nothing. Writers therefore never
have to remember whom to wake, and a listener (a cache, a controller) receives ids it can act on
incrementally, or simply coalesces its wake-ups.

A bulk ``UPDATE``/``DELETE`` statement run through the ORM is recorded with unknown ids
(:meth:`Changes.ids` returns ``None``): listeners then treat the whole table as changed.

The changes committed by the other processes of the deployment reach this feed too, relayed
through the broker (``tierslieu.cluster.relay`` calls :meth:`ChangeFeed.announce` with their
``origin``): a listener hears every committed write, wherever it was made.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session

__all__ = [
    "UNKNOWN_ID",
    "ChangeFeed",
    "Changes",
    "FlushHook",
    "Listener",
    "TrackedSession",
    "record_insert",
    "record_update",
    "written_in_transaction",
]

log = logging.getLogger(__name__)

_FEED = "tierslieu.change_feed"
_PENDING = "tierslieu.pending_changes"
UNKNOWN_ID = -1  # in a table's ids: a bulk statement, ids unknown (the whole table may have changed)
_UNKNOWN: frozenset[int] = frozenset({UNKNOWN_ID})


@dataclass(frozen=True)
class Changes:
    """The tables one committed transaction wrote, with the ids of the rows it touched.

    ``rows``: every row inserted, updated or deleted; ``altered``: only those updated or deleted
    (an insert cannot make a cached copy of another row stale).
    """

    rows: Mapping[str, frozenset[int]] = field(default_factory=dict)
    altered: Mapping[str, frozenset[int]] = field(default_factory=dict)
    # None: committed in this process; otherwise the process it was relayed from.
    origin: str | None = None

    @classmethod
    def whole(cls, tables: Iterable[str], *, origin: str | None = None) -> Changes:
        """Every row of ``tables`` may have changed (ids unknown)."""
        found = dict.fromkeys(tables, _UNKNOWN)
        return cls(found, dict(found), origin)

    @classmethod
    def merged(cls, changes: Iterable[Changes]) -> Changes:
        """What several commits wrote, as one (an origin only when they all share it)."""
        rows: dict[str, frozenset[int]] = {}
        altered: dict[str, frozenset[int]] = {}
        origins: set[str | None] = set()
        for one in changes:
            for merged, found in ((rows, one.rows), (altered, one.altered)):
                for table, ids in found.items():
                    merged[table] = merged.get(table, frozenset()) | ids
            origins.add(one.origin)
        return cls(rows, altered, origins.pop() if len(origins) == 1 else None)

    def touches(self, *tables: str) -> bool:
        return any(table in self.rows for table in tables)

    def ids(self, table: str) -> frozenset[int] | None:
        """The ids written in ``table`` (empty if untouched); ``None`` when a bulk statement hid them."""
        found = self.rows.get(table, frozenset())
        return None if found >= _UNKNOWN else found


Listener = Callable[[Changes], None]
FlushHook = Callable[[Session, frozenset[str], frozenset[str]], None]


class ChangeFeed:
    """Subscribers to the committed changes of one database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: tuple[Listener, ...] = ()
        # Called during the flush, in the writing transaction (e.g. to bump a counter that other
        # processes read): ``(session, tables written, tables whose rows were updated or deleted)``.
        self._in_transaction: tuple[FlushHook, ...] = ()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after each commit that wrote something; returns the unsubscribe."""
        with self._lock:
            self._listeners = (*self._listeners, listener)

        def unsubscribe() -> None:
            with self._lock:
                self._listeners = tuple(x for x in self._listeners if x is not listener)

        return unsubscribe

    def on_flush(self, hook: FlushHook) -> None:
        with self._lock:
            self._in_transaction = (*self._in_transaction, hook)

    def announce(self, changes: Changes, *, origin: str | None = None) -> None:
        """Call every listener with ``changes``; ``origin`` names the process that committed them
        when it is not this one (changes relayed through the broker)."""
        if origin is not None:
            changes = replace(changes, origin=origin)
        for listener in self._listeners:
            try:
                listener(changes)
            except Exception:  # one listener's bug must not hide the change from the others
                log.exception("change listener %r failed", listener)

    def attach(self, session: Session) -> None:
        session.info[_FEED] = self

    def written_in_transaction(self, session: Session, written: frozenset[str], altered: frozenset[str]) -> None:
        for hook in self._in_transaction:
            hook(session, written, altered)


class TrackedSession(Session):
    """The session class of the application: it records its writes for the :class:`ChangeFeed`."""


def _record(session: Session, rows: Iterable[tuple[str, int, bool]]) -> None:
    """Note ``(table, id, altered)`` rows in the session's pending changes."""
    pending: tuple[dict[str, set[int]], dict[str, set[int]]] = session.info.setdefault(_PENDING, ({}, {}))
    for table, row_id, altered in rows:
        pending[0].setdefault(table, set()).add(row_id)
        if altered:
            pending[1].setdefault(table, set()).add(row_id)


def _record_statement(session: Session, table: str, row_id: int, altered: bool) -> None:
    feed: ChangeFeed | None = session.info.get(_FEED)
    if feed is None:
        return
    _record(session, [(table, row_id, altered)])
    feed.written_in_transaction(session, frozenset({table}), frozenset({table}) if altered else frozenset())


def record_insert(session: Session, table: str, row_id: int) -> None:
    """Note a row inserted without a flush (:func:`tierslieu.db.rows.insert_row`), as a flush would."""
    _record_statement(session, table, row_id, altered=False)


def record_update(session: Session, table: str, row_id: int) -> None:
    """Note a row updated by a Core statement (which neither a flush nor the ORM's bulk path
    sees), as a flush would."""
    _record_statement(session, table, row_id, altered=True)


def written_in_transaction(session: Session) -> frozenset[str]:
    """The tables this session has flushed writes to in its current transaction."""
    pending: tuple[dict[str, set[int]], dict[str, set[int]]] | None = session.info.get(_PENDING)
    return frozenset(pending[0]) if pending else frozenset()


def _row(obj: Any, altered: bool) -> tuple[str, int, bool]:
    row_id = getattr(obj, "id", None)
    return str(obj.__table__.name), row_id if isinstance(row_id, int) else -1, altered


@event.listens_for(TrackedSession, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    feed: ChangeFeed | None = session.info.get(_FEED)
    if feed is None:
        return
    rows = [_row(obj, False) for obj in session.new]
    rows += [_row(obj, True) for obj in session.dirty if session.is_modified(obj)]
    rows += [_row(obj, True) for obj in session.deleted]
    if not rows:
        return
    _record(session, rows)
    written = frozenset(table for table, _id, _altered in rows)
    altered = frozenset(table for table, _id, was_altered in rows if was_altered)
    feed.written_in_transaction(session, written, altered)


@event.listens_for(TrackedSession, "do_orm_execute")
def _bulk_statement(state: ORMExecuteState) -> None:
    feed: ChangeFeed | None = state.session.info.get(_FEED)
    if not (state.is_update or state.is_delete) or feed is None or state.bind_mapper is None:
        return
    table = str(getattr(state.bind_mapper.local_table, "name", ""))
    session = state.session
    assert isinstance(session, TrackedSession)
    _record(session, [(table, -1, True)])
    feed.written_in_transaction(session, frozenset({table}), frozenset({table}))


@event.listens_for(TrackedSession, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released (SQLAlchemy calls after_commit for it too): not committed yet
    pending: tuple[dict[str, set[int]], dict[str, set[int]]] | None = session.info.pop(_PENDING, None)
    feed: ChangeFeed | None = session.info.get(_FEED)
    if pending and feed is not None:
        rows, altered = ({table: frozenset(ids) for table, ids in found.items()} for found in pending)
        feed.announce(Changes(rows, altered))


@event.listens_for(TrackedSession, "after_rollback")
def _after_rollback(session: Session) -> None:
    if session.in_nested_transaction():
        return  # back to a savepoint: what was written before it may still commit (announcing more is harmless)
    session.info.pop(_PENDING, None)
