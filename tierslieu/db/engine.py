"""Engine and session factory, owned by the application's lifespan (no module-level engine)."""

from __future__ import annotations

import select
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, create_engine

from tierslieu.db.changes import ChangeFeed, TrackedSession
from tierslieu.extras import require

SQLITE_BUSY_TIMEOUT_MS = 15_000


def _normalize_url(url: str) -> str:
    # Accept the plain "postgresql://" form installers write; we ship psycopg 3.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@dataclass(frozen=True, slots=True)
class PoolSizing:
    """Connections kept open, extra ones opened under load, and the longest wait for one
    (SQLAlchemy then raises ``TimeoutError``, answered 503): nobody waits forever."""

    size: int = 16
    overflow: int = 16
    timeout_s: float = 10.0


# The statement that opens a transaction, per connection (an execution option); ``None``: none,
# every statement commits on its own (a read-only request on PostgreSQL, see ``Database.session``).
BEGIN_OPTION = "tierslieu_begin"
_PENDING_BEGIN = "tierslieu.pending_begin"  # connection.info: the BEGIN not sent yet
_CONNECTION = "tierslieu.connection"  # session.info: the connection of its current transaction


def make_engine(url: str, *, echo: bool = False, pool: PoolSizing | None = None) -> Engine:
    url = _normalize_url(url)
    pool = pool or PoolSizing()
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg":
        require("psycopg", "postgres", "PostgreSQL")
    sizing: dict[str, Any] = {"pool_size": pool.size, "max_overflow": pool.overflow, "pool_timeout": pool.timeout_s}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            # Pooled: closing SQLite's last connection checkpoints and deletes the WAL (~2 ms).
            **sizing,
        )
        _configure_sqlite(engine)
    else:
        # The driver runs in autocommit and we send BEGIN ourselves (as on SQLite): a read-only
        # request then needs no BEGIN and no COMMIT, two round trips of its three or four.
        engine = create_engine(url, echo=echo, isolation_level="AUTOCOMMIT", **sizing)
        _configure_postgres(engine)
    _emit_begin(engine)
    return engine


def _emit_begin(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        statement = conn.get_execution_options().get(BEGIN_OPTION, "BEGIN")
        if statement is None:
            return
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(statement)
        else:
            conn.info[_PENDING_BEGIN] = statement  # sent with the transaction's first statement


def _configure_postgres(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _begin_first(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, _many: bool
    ) -> tuple[str, Any]:
        send_pending_begin(conn, cursor)  # usually sent with the identity read instead (read_first)
        return statement, parameters

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _nothing_pending(conn: Any) -> None:
        # A transaction that sent no statement: no BEGIN owed. An invalidated connection (its server
        # went away) forgets its info anyway, and reading it there would raise PendingRollbackError
        # out of the very rollback that ends the transaction.
        if not conn.invalidated:
            conn.info.pop(_PENDING_BEGIN, None)

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        # Instead of a ping per checkout (one round trip per request): an idle connection has
        # nothing to read, so a readable socket means the server closed it or sent its goodbye
        # (restart, killed backend); the pool then replaces it. A connection that dies while in
        # use fails its statement, and SQLAlchemy invalidates the whole pool at that moment.
        if dbapi_conn.closed or _readable(dbapi_conn.pgconn.socket):
            raise DisconnectionError("the server closed this pooled connection")


def _readable(fd: int) -> bool:
    try:
        ready, _, _ = select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(ready)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, emit BEGIN so that we can ask for BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()


class Database:
    """The engine plus session helpers; created once by the app and passed to whoever needs it."""

    def __init__(self, url: str, *, echo: bool = False, pool: PoolSizing | None = None) -> None:
        self.url = _normalize_url(url)
        self.engine = make_engine(self.url, echo=echo, pool=pool)
        # What each committed transaction wrote, announced to whoever listens (caches, controllers).
        self.changes = ChangeFeed()
        sqlite = self.is_sqlite
        self._write_bind = self.engine.execution_options(**{BEGIN_OPTION: "BEGIN IMMEDIATE"}) if sqlite else self.engine
        self._read_only_bind = self.engine.execution_options(**{BEGIN_OPTION: None})
        self._session_hooks: list[Callable[[Session], None]] = []

    def on_session(self, hook: Callable[[Session], None]) -> None:
        """Call ``hook`` on every new session (to reach a per-process cache from ``session.info``)."""
        self._session_hooks.append(hook)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def session(self, *, write: bool = False, read_only: bool = False) -> Session:
        """A session; ``write=True`` serializes writers on SQLite.

        SQLite in WAL mode cannot upgrade a stale read transaction to a write one (it fails at
        once with "database is locked"), so a session that will write takes the write lock at
        its first statement (``BEGIN IMMEDIATE``) and waits for it up to the busy timeout.
        PostgreSQL needs nothing here: its constraints and row locks do that job.

        ``read_only=True`` (a GET): no transaction, each statement on its own — on PostgreSQL
        under READ COMMITTED each one took its own snapshot anyway — so no BEGIN and no COMMIT
        (two round trips on PostgreSQL; on both, no thread switch to end the session). Should the
        session write or lock rows after all, a transaction opens right before
        (:func:`begin_before_writing`).
        """
        bind = self._write_bind if write else self._read_only_bind if read_only else self.engine
        session = TrackedSession(bind, expire_on_commit=False)
        self.changes.attach(session)
        for hook in self._session_hooks:
            hook(session)
        return session

    def dispose(self) -> None:
        self.engine.dispose()


def transaction_open(session: Session) -> bool:
    """Whether ending ``session`` has anything to send to the database (a COMMIT or ROLLBACK).

    False when the session's last transaction is over, never reached the database, or only ran
    statements in autocommit (a read-only request): ending it is then bookkeeping, no I/O."""
    conn: Connection | None = session.info.get(_CONNECTION)
    if conn is None or conn.closed or conn.invalidated:
        return False
    return _in_transaction(conn)


def _in_transaction(conn: Connection) -> bool:
    """Whether the driver's connection is inside a transaction (both drivers run in autocommit)."""
    driver = conn.connection.driver_connection
    if isinstance(driver, sqlite3.Connection):
        return driver.in_transaction
    return int(driver.info.transaction_status) != 0  # type: ignore[union-attr]  # psycopg: not IDLE


@event.listens_for(TrackedSession, "after_begin")
def _after_begin(session: Session, _transaction: Any, connection: Connection) -> None:
    session.info[_CONNECTION] = connection


def read_first(session: OrmSession, sql: str) -> Any:
    """The first value of the first row of ``sql`` (a read without parameters), or ``None``,
    sent straight on the driver's cursor of the session's connection: SQLAlchemy's execution
    (context, events, result) costs twice the statement's own round trip, and every
    authenticated request begins with such a read (the identity generation). On PostgreSQL a
    pending BEGIN goes with it, in the same round trip. On a driver error the statement runs
    again through SQLAlchemy, which raises its own exception (and replaces a dead connection)."""
    conn = session.connection()
    begin = conn.info.pop(_PENDING_BEGIN, None)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql if begin is None else f"{sql}; {begin}")
        row = cursor.fetchone()
    except conn.dialect.loaded_dbapi.Error:
        if begin is not None:
            conn.info[_PENDING_BEGIN] = begin
        return conn.exec_driver_sql(sql).scalar()
    finally:
        cursor.close()
    return None if row is None else row[0]


def send_pending_begin(conn: Connection, cursor: Any) -> None:
    """Send the BEGIN of the connection's transaction on ``cursor`` if it is still owed (PostgreSQL),
    before a statement sent on the driver's cursor."""
    begin = conn.info.pop(_PENDING_BEGIN, None)
    if begin is not None:
        cursor.execute(begin)


def begin_before_writing(session: OrmSession) -> None:
    """Open the transaction a read-only session is about to need, before its first write or lock
    (on SQLite with the write lock at once, as a write session does)."""
    if session.get_bind().get_execution_options().get(BEGIN_OPTION, "BEGIN") is not None:
        return
    conn = session.connection()
    if not _in_transaction(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.dialect.name == "sqlite" else "BEGIN")


@event.listens_for(TrackedSession, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    begin_before_writing(session)


@event.listens_for(TrackedSession, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    locks = state.is_select and getattr(state.statement, "_for_update_arg", None) is not None
    if state.is_insert or state.is_update or state.is_delete or locks:
        begin_before_writing(state.session)
